package auth_test

import (
	"context"
	"errors"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/numauth/numauth/internal/auth"
	"github.com/numauth/numauth/internal/carrier"
	"github.com/numauth/numauth/internal/store"
)

// appScheme registers an Android scheme of the env's account.
func (e *env) appScheme(t *testing.T, c auth.Caller, name string) store.Scheme {
	t.Helper()
	sc, err := e.svc.CreateScheme(context.Background(), c, auth.SchemeInput{Name: name, AppName: "App", OsType: "Android", PackName: "com.example.app", PackSign: "0123456789abcdef0123456789abcdef"})
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

func (e *env) appToken(t *testing.T, scheme string, kind carrier.Kind) string {
	t.Helper()
	tok, err := e.svc.IssueAppToken(context.Background(), scheme, kind, carrier.FrontRequest{Source: lineAddr})
	if err != nil {
		t.Fatalf("IssueAppToken(%s, %s) = %v", scheme, kind, err)
	}
	return tok
}

func TestAppTokenIssue(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	app := e.appScheme(t, e.caller, "app")
	for _, tt := range []struct {
		name   string
		scheme string
		kind   carrier.Kind
		src    netip.Addr
		want   error
	}{
		{"unknown scheme", "FC100000000000000", carrier.KindLogin, lineAddr, auth.ErrNotAppScheme},
		{"empty scheme", "", carrier.KindLogin, lineAddr, auth.ErrNotAppScheme},
		{"H5 scheme", e.scheme.Code, carrier.KindLogin, lineAddr, auth.ErrNotAppScheme},
		{"bad kind", app.Code, carrier.Kind("both"), lineAddr, auth.ErrInvalidParameters},
		{"unmapped address", app.Code, carrier.KindVerify, netip.MustParseAddr("192.0.2.1"), auth.ErrNotNetworkAuthenticated},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tok, err := e.svc.IssueAppToken(ctx, tt.scheme, tt.kind, carrier.FrontRequest{Source: tt.src})
			if !errors.Is(err, tt.want) || tok != "" {
				t.Fatalf("IssueAppToken = %q, %v; want %v", tok, err, tt.want)
			}
		})
	}
}

func TestAppLoginAndVerify(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	app := e.appScheme(t, e.caller, "app")
	other, err := e.svc.CreateAccessKey(ctx, "acct2", "", "", "test")
	if err != nil {
		t.Fatal(err)
	}
	otherCaller := auth.Caller{AccessKeyID: other.AccessKeyID, AccountID: other.AccountID}

	// Login: the number once; a replay, a foreign account, the other kind
	// and an H5 spToken's action are refused.
	login := e.appToken(t, app.Code, carrier.KindLogin)
	if _, err := e.svc.AppLogin(ctx, otherCaller, login); !errors.Is(err, auth.ErrTokenInvalid) {
		t.Fatalf("AppLogin by another account = %v, want ErrTokenInvalid", err)
	}
	if _, err := e.svc.AppVerify(ctx, e.caller, login, phone); !errors.Is(err, auth.ErrTokenUnauthorized) {
		t.Fatalf("AppVerify with a login token = %v, want ErrTokenUnauthorized", err)
	}
	if _, err := e.svc.LoginNumber(ctx, e.caller, login); !errors.Is(err, auth.ErrTokenInvalid) {
		t.Fatalf("GetPhoneWithToken with an app token = %v, want ErrTokenInvalid", err)
	}
	got, err := e.svc.AppLogin(ctx, e.caller, login)
	if err != nil || got != "+86"+phone {
		t.Fatalf("AppLogin = %q, %v", got, err)
	}
	if _, err := e.svc.AppLogin(ctx, e.caller, login); !errors.Is(err, auth.ErrTokenInvalid) {
		t.Fatalf("AppLogin replayed = %v, want ErrTokenInvalid", err)
	}

	// Verify: PASS, REJECT, a bad number, a replay.
	for _, tt := range []struct {
		number string
		want   carrier.Verdict
		err    error
	}{
		{phone, carrier.Pass, nil},
		{"13800138001", carrier.Reject, nil},
		{"12345", "", auth.ErrNumberInvalid},
		{"13000000000", "", auth.ErrOperatorMismatch}, // a CU block; the line is CM
	} {
		tok := e.appToken(t, app.Code, carrier.KindVerify)
		res, err := e.svc.AppVerify(ctx, e.caller, tok, tt.number)
		if !errors.Is(err, tt.err) || res.Result != tt.want {
			t.Fatalf("AppVerify(%s) = %+v, %v; want %s, %v", tt.number, res, err, tt.want, tt.err)
		}
		if err != nil {
			continue
		}
		if _, err := e.svc.AppVerify(ctx, e.caller, tok, tt.number); !errors.Is(err, auth.ErrTokenInvalid) {
			t.Fatalf("AppVerify replayed = %v, want ErrTokenInvalid", err)
		}
		rec, err := e.durable.GetVerification(ctx, res.VerifyID)
		if err != nil || rec.SchemeCode != app.Code || rec.Kind != "verify" || !rec.Billable || rec.AccountID != e.caller.AccountID {
			t.Fatalf("record = %+v, %v", rec, err)
		}
	}

	// Expired: past the spToken lifetime.
	tok := e.appToken(t, app.Code, carrier.KindVerify)
	e.now.Add(int64(auth.DefaultSPTokenTTL + time.Second))
	if _, err := e.svc.AppVerify(ctx, e.caller, tok, phone); !errors.Is(err, auth.ErrTokenInvalid) {
		t.Fatalf("AppVerify expired = %v, want ErrTokenInvalid", err)
	}
}

// One app token, many concurrent calls: exactly one answer.
func TestAppTokenConcurrentUse(t *testing.T) {
	e := newEnv(t)
	app := e.appScheme(t, e.caller, "app")
	tok := e.appToken(t, app.Code, carrier.KindLogin)
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok := 0
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := e.svc.AppLogin(context.Background(), e.caller, tok); err == nil {
				mu.Lock()
				ok++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if ok != 1 {
		t.Fatalf("%d calls answered, want 1", ok)
	}
}
