package auth_test

import (
	"bytes"
	"context"
	"errors"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/numauth/numauth/internal/auth"
	"github.com/numauth/numauth/internal/auth/authtest"
	"github.com/numauth/numauth/internal/carrier"
	"github.com/numauth/numauth/internal/carrier/sandbox"
	"github.com/numauth/numauth/internal/secret"
	"github.com/numauth/numauth/internal/store"
	"github.com/numauth/numauth/internal/token"
)

const (
	origin  = "https://shop.example.com"
	pageURL = "https://shop.example.com/login"
	phone   = "13800138000" // CM
)

var lineAddr = netip.MustParseAddr("10.1.2.3")

type env struct {
	svc     *auth.Service
	sb      *sandbox.Sandbox
	durable store.Durable
	eph     store.Ephemeral
	caller  auth.Caller
	scheme  store.Scheme
	now     *atomic.Int64
	box     *secret.Box
}

func newEnv(t *testing.T, opts ...func(*auth.Config)) *env {
	t.Helper()
	return newEnvWith(t, nil, opts...)
}

// newEnvWith is newEnv with the service's carrier wrapped by wrap (nil: none).
func newEnvWith(t *testing.T, wrap func(carrier.Adapter) carrier.Adapter, opts ...func(*auth.Config)) *env {
	t.Helper()
	return newEnvOpts(t, authtest.Options{WrapCarrier: wrap}, opts...)
}

// newEnvOpts is newEnv on a stack built with o (its Config and Subscribers are the env's).
func newEnvOpts(t *testing.T, o authtest.Options, opts ...func(*auth.Config)) *env {
	t.Helper()
	ctx := context.Background()
	e := &env{now: &atomic.Int64{}}
	e.now.Store(time.Now().UnixNano())
	cfg := auth.Config{MaskTries: 3, Now: func() time.Time { return time.Unix(0, e.now.Load()) }}
	for _, o := range opts {
		o(&cfg)
	}
	o.Config = cfg
	o.Subscribers = []sandbox.Subscriber{{Prefix: netip.PrefixFrom(lineAddr, 32), Phone: phone}}
	st := authtest.New(t, o)
	e.svc, e.sb, e.durable, e.eph, e.box = st.Svc, st.Sandbox, st.Durable, st.Eph, st.Box
	cred, err := e.svc.CreateAccessKey(ctx, "acct1", "", "", "test")
	if err != nil {
		t.Fatal(err)
	}
	e.caller = auth.Caller{AccessKeyID: cred.AccessKeyID, AccountID: cred.AccountID}
	e.scheme, err = e.svc.CreateScheme(ctx, e.caller, auth.SchemeInput{Name: "shop", AppName: "Shop", OsType: "H5", Origin: origin, URL: pageURL})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// session runs GetAuthToken and the gateway check for a flow.
func (e *env) session(t *testing.T, kind carrier.Kind, biz token.Biz) string {
	t.Helper()
	ctx := context.Background()
	ti, err := e.svc.IssuePageTokens(ctx, e.caller, auth.PageTokenRequest{URL: pageURL, Origin: origin, Biz: biz})
	if err != nil {
		t.Fatal(err)
	}
	s, err := e.svc.OpenSession(ctx, auth.SessionRequest{AccessToken: ti.AccessToken, JwtToken: ti.JwtToken, Origin: origin, Kind: kind})
	if err != nil {
		t.Fatal(err)
	}
	return s.ID
}

func (e *env) verifyToken(t *testing.T) string {
	t.Helper()
	sid := e.session(t, carrier.KindVerify, token.BizAny)
	res, err := e.svc.MintVerifyToken(context.Background(), sid, origin, carrier.FrontRequest{Source: lineAddr})
	if err != nil {
		t.Fatal(err)
	}
	return res.SPToken
}

func TestGetAuthTokenSchemeMatching(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	tests := []struct {
		name   string
		in     auth.PageTokenRequest
		caller auth.Caller
		want   error
	}{
		{"exact url", auth.PageTokenRequest{URL: pageURL, Origin: origin}, e.caller, nil},
		{"url below the registered path", auth.PageTokenRequest{URL: pageURL + "/step2?x=1", Origin: origin}, e.caller, nil},
		{"origin case and default port", auth.PageTokenRequest{URL: "HTTPS://Shop.Example.com:443/login", Origin: "https://SHOP.example.com:443"}, e.caller, nil},
		{"with scene code", auth.PageTokenRequest{URL: pageURL, Origin: origin, SceneCode: e.scheme.Code, Biz: token.BizLogin}, e.caller, nil},
		{"path only sharing a prefix", auth.PageTokenRequest{URL: "https://shop.example.com/loginx", Origin: origin}, e.caller, auth.ErrNoMatchingScheme},
		{"other origin", auth.PageTokenRequest{URL: "https://evil.example.com/login", Origin: "https://evil.example.com"}, e.caller, auth.ErrNoMatchingScheme},
		{"url not on origin", auth.PageTokenRequest{URL: "https://evil.example.com/login", Origin: origin}, e.caller, auth.ErrNoMatchingScheme},
		{"unknown scene code", auth.PageTokenRequest{URL: pageURL, Origin: origin, SceneCode: "FC1000"}, e.caller, auth.ErrNoMatchingScheme},
		{"another account", auth.PageTokenRequest{URL: pageURL, Origin: origin}, auth.Caller{AccountID: "acct2"}, auth.ErrNoMatchingScheme},
		{"bad origin", auth.PageTokenRequest{URL: pageURL, Origin: "javascript:alert(1)"}, e.caller, auth.ErrInvalidParameters},
		{"bad biz type", auth.PageTokenRequest{URL: pageURL, Origin: origin, Biz: 7}, e.caller, auth.ErrInvalidParameters},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ti, err := e.svc.IssuePageTokens(ctx, tt.caller, tt.in)
			if !errors.Is(err, tt.want) {
				t.Fatalf("GetAuthToken = %v, want %v", err, tt.want)
			}
			if err == nil && (ti.AccessToken == "" || ti.JwtToken == "" || ti.Scheme != e.scheme.Code) {
				t.Fatalf("tokens = %+v", ti)
			}
		})
	}
	// Two schemes matching the same page need SceneCode.
	if _, err := e.svc.CreateScheme(ctx, e.caller, auth.SchemeInput{Name: "shop2", OsType: "H5", Origin: origin, URL: origin + "/"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.IssuePageTokens(ctx, e.caller, auth.PageTokenRequest{URL: pageURL, Origin: origin}); !errors.Is(err, auth.ErrNoMatchingScheme) {
		t.Fatalf("ambiguous match: %v", err)
	}
	if _, err := e.svc.IssuePageTokens(ctx, e.caller, auth.PageTokenRequest{URL: pageURL, Origin: origin, SceneCode: e.scheme.Code}); err != nil {
		t.Fatalf("SceneCode resolves the ambiguity: %v", err)
	}
}

func TestSchemes(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	bad := []auth.SchemeInput{
		{Name: "", OsType: "H5", Origin: origin, URL: pageURL},
		{Name: "x", OsType: "Symbian"},
		{Name: "x", OsType: "H5"},
		{Name: "x", OsType: "H5", Origin: origin, URL: "https://other.example.com/"},
		{Name: "x", OsType: "H5", Origin: "ftp://a", URL: "ftp://a/"},
		{Name: "bad\x00name", OsType: "Android"},
	}
	for _, in := range bad {
		if _, err := e.svc.CreateScheme(ctx, e.caller, in); !errors.Is(err, auth.ErrInvalidParameters) {
			t.Errorf("CreateScheme(%+v) = %v, want ErrInvalidParameters", in, err)
		}
	}
	if _, err := e.svc.CreateScheme(ctx, e.caller, auth.SchemeInput{Name: "shop", OsType: "Android"}); !errors.Is(err, auth.ErrSchemeConflict) {
		t.Errorf("duplicate name: %v", err)
	}
	other := auth.Caller{AccountID: "acct2"}
	if _, err := e.svc.DescribeScheme(ctx, other, e.scheme.Code); !errors.Is(err, auth.ErrSchemeNotExist) {
		t.Errorf("another account's scheme is visible: %v", err)
	}
	if err := e.svc.DeleteScheme(ctx, other, e.scheme.Code); !errors.Is(err, auth.ErrSchemeNotExist) {
		t.Errorf("another account deleted the scheme: %v", err)
	}
	got, err := e.svc.DescribeScheme(ctx, e.caller, e.scheme.Code)
	if err != nil || got.Origin != origin || got.URL != pageURL {
		t.Fatalf("DescribeScheme = %+v, %v", got, err)
	}
	// Tokens minted before a deletion stop working at once.
	ti, _ := e.svc.IssuePageTokens(ctx, e.caller, auth.PageTokenRequest{URL: pageURL, Origin: origin})
	if err := e.svc.DeleteScheme(ctx, e.caller, e.scheme.Code); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.OpenSession(ctx, auth.SessionRequest{AccessToken: ti.AccessToken, JwtToken: ti.JwtToken, Origin: origin, Kind: carrier.KindVerify}); !errors.Is(err, auth.ErrSchemeGone) {
		t.Fatalf("check after deletion: %v", err)
	}
}

// TestSchemeNameRace: of concurrent creations of one name, one succeeds
// and every other is ErrSchemeConflict naming the winner.
func TestSchemeNameRace(t *testing.T) {
	e := newEnv(t)
	const n = 20
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range errs {
		wg.Go(func() {
			_, errs[i] = e.svc.CreateScheme(context.Background(), e.caller, auth.SchemeInput{Name: "race", OsType: "Android"})
		})
	}
	wg.Wait()
	won := 0
	for i, err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, auth.ErrSchemeConflict):
			t.Errorf("creation %d: %v, want nil or ErrSchemeConflict", i, err)
		}
	}
	if won != 1 {
		t.Fatalf("%d of %d concurrent creations of one name succeeded, want 1", won, n)
	}
}

func TestCheckH5(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	ti, _ := e.svc.IssuePageTokens(ctx, e.caller, auth.PageTokenRequest{URL: pageURL, Origin: origin, Biz: token.BizVerify})
	other, _ := e.svc.IssuePageTokens(ctx, e.caller, auth.PageTokenRequest{URL: pageURL, Origin: origin})
	tests := []struct {
		name string
		in   auth.SessionRequest
		want error
	}{
		{"ok", auth.SessionRequest{AccessToken: ti.AccessToken, JwtToken: ti.JwtToken, Origin: origin, Kind: carrier.KindVerify, Phone: phone}, nil},
		{"foreign origin", auth.SessionRequest{AccessToken: ti.AccessToken, JwtToken: ti.JwtToken, Origin: "https://evil.example.com", Kind: carrier.KindVerify}, auth.ErrIdentity},
		{"no origin", auth.SessionRequest{AccessToken: ti.AccessToken, JwtToken: ti.JwtToken, Kind: carrier.KindVerify}, auth.ErrIdentity},
		{"tokens of two pairs", auth.SessionRequest{AccessToken: ti.AccessToken, JwtToken: other.JwtToken, Origin: origin, Kind: carrier.KindVerify}, auth.ErrIdentity},
		{"jwt as access token", auth.SessionRequest{AccessToken: ti.JwtToken, JwtToken: ti.JwtToken, Origin: origin, Kind: carrier.KindVerify}, auth.ErrIdentity},
		{"login with verify tokens", auth.SessionRequest{AccessToken: ti.AccessToken, JwtToken: ti.JwtToken, Origin: origin, Kind: carrier.KindLogin}, auth.ErrBizMismatch},
		{"bad phone", auth.SessionRequest{AccessToken: ti.AccessToken, JwtToken: ti.JwtToken, Origin: origin, Kind: carrier.KindVerify, Phone: "12345"}, auth.ErrBadArgument},
		{"missing tokens", auth.SessionRequest{Origin: origin, Kind: carrier.KindVerify}, auth.ErrBadArgument},
		{"bad kind", auth.SessionRequest{AccessToken: ti.AccessToken, JwtToken: ti.JwtToken, Origin: origin, Kind: "steal"}, auth.ErrBadArgument},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := e.svc.OpenSession(ctx, tt.in); !errors.Is(err, tt.want) {
				t.Fatalf("OpenSession = %v, want %v", err, tt.want)
			}
		})
	}
	// Expired tokens fail the identity check.
	e.now.Add(int64(11 * time.Minute))
	if _, err := e.svc.OpenSession(ctx, tests[0].in); !errors.Is(err, auth.ErrIdentity) {
		t.Fatalf("expired tokens: %v", err)
	}
}

// The AccessToken binds its JwtToken: the gateway accepts only that exact
// JwtToken, and only until the JwtToken's own expiry.
func TestCheckH5TokenPair(t *testing.T) {
	e := newEnv(t, func(c *auth.Config) { c.JwtTokenTTL = time.Minute })
	ctx := context.Background()
	ti, _ := e.svc.IssuePageTokens(ctx, e.caller, auth.PageTokenRequest{URL: pageURL, Origin: origin})
	other, _ := e.svc.IssuePageTokens(ctx, e.caller, auth.PageTokenRequest{URL: pageURL, Origin: origin})
	check := func(access, jwt string) error {
		_, err := e.svc.OpenSession(ctx, auth.SessionRequest{AccessToken: access, JwtToken: jwt, Origin: origin, Kind: carrier.KindVerify})
		return err
	}
	// An AccessToken as minted before the binding existed (a rolling
	// upgrade): same content, no digest. Its JwtToken is verified in full.
	sealer, _ := token.NewSealer(e.box)
	a, err := sealer.OpenAccess(ti.AccessToken)
	if err != nil || len(a.JWT) == 0 {
		t.Fatalf("the AccessToken binds no JwtToken: %+v, %v", a, err)
	}
	a.JWT, a.JWTExpires = nil, 0
	legacy, _ := sealer.SealAccess(a)
	tampered := tamperJWT(t, ti.JwtToken)
	tests := []struct {
		name, access, jwt string
		want              error
	}{
		{"its own JwtToken", ti.AccessToken, ti.JwtToken, nil},
		{"another pair's JwtToken", ti.AccessToken, other.JwtToken, auth.ErrIdentity},
		{"tampered JwtToken", ti.AccessToken, tampered, auth.ErrIdentity},
		{"garbage JwtToken", ti.AccessToken, "a.b.c", auth.ErrIdentity},
		{"unbound AccessToken, its JwtToken", legacy, ti.JwtToken, nil},
		{"unbound AccessToken, another pair's JwtToken", legacy, other.JwtToken, auth.ErrIdentity},
		{"unbound AccessToken, tampered JwtToken", legacy, tampered, auth.ErrIdentity},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := check(tt.access, tt.jwt); !errors.Is(err, tt.want) {
				t.Fatalf("OpenSession = %v, want %v", err, tt.want)
			}
		})
	}
	// The JwtToken (1 min) expires before the AccessToken (10 min).
	e.now.Add(int64(2 * time.Minute))
	for _, access := range []string{ti.AccessToken, legacy} {
		if err := check(access, ti.JwtToken); !errors.Is(err, auth.ErrIdentity) || !errors.Is(err, token.ErrExpired) {
			t.Fatalf("expired JwtToken: %v", err)
		}
	}
}

// tamperJWT changes the first character of a JWS's signature to another
// base64url character, so the token and its decoded signature always differ.
// The end of the signature is no place for it: the last character carries
// padding bits that decoding ignores, and an Ed25519 signature's top bits are
// zero, so about one token in 16 already ended as a tamper to "AA" would.
func tamperJWT(t *testing.T, jws string) string {
	t.Helper()
	const b64url = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	i := strings.LastIndexByte(jws, '.') + 1
	if i == 0 || i == len(jws) || strings.IndexByte(b64url, jws[i]) < 0 {
		t.Fatalf("not a signed JWS: %q", jws)
	}
	b := []byte(jws)
	b[i] = b64url[(strings.IndexByte(b64url, b[i])+1)%len(b64url)]
	if string(b) == jws {
		t.Fatal("tampering left the token unchanged")
	}
	return string(b)
}

func TestVerifyPhoneWithToken(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()

	sp := e.verifyToken(t)
	res, err := e.svc.VerifyNumber(ctx, e.caller, sp, phone)
	if err != nil || res.Result != carrier.Pass || res.VerifyID == "" {
		t.Fatalf("verify = %+v, %v", res, err)
	}
	rec, err := e.durable.GetVerification(ctx, res.VerifyID)
	if err != nil || rec.Result != "PASS" || rec.MaskedPhone != "138****8000" || rec.PhoneHash != e.svc.PhoneHash(phone) || !rec.Billable || rec.Carrier != "CM" {
		t.Fatalf("record = %+v, %v", rec, err)
	}
	if _, err := e.svc.VerifyNumber(ctx, e.caller, sp, phone); !errors.Is(err, auth.ErrTokenInvalid) {
		t.Fatalf("replay: %v", err)
	}

	res, err = e.svc.VerifyNumber(ctx, e.caller, e.verifyToken(t), "13900139000")
	if err != nil || res.Result != carrier.Reject {
		t.Fatalf("another CM number = %+v, %v", res, err)
	}

	tests := []struct {
		name   string
		caller auth.Caller
		phone  string
		want   error
	}{
		{"another carrier's number", e.caller, "13000130000", auth.ErrOperatorMismatch},
		{"illegal number", e.caller, "1380013800", auth.ErrNumberInvalid},
		{"foreign account", auth.Caller{AccountID: "acct2"}, phone, auth.ErrTokenInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok := e.verifyToken(t)
			if _, err := e.svc.VerifyNumber(ctx, tt.caller, tok, tt.phone); !errors.Is(err, tt.want) {
				t.Fatalf("= %v, want %v", err, tt.want)
			}
			// A refused call does not spend the token for its owner.
			if r, err := e.svc.VerifyNumber(ctx, e.caller, tok, phone); err != nil || r.Result != carrier.Pass {
				t.Fatalf("token spent by a refused call: %+v, %v", r, err)
			}
		})
	}
	for _, bad := range []string{"", "garbage", sp + "x"} {
		if _, err := e.svc.VerifyNumber(ctx, e.caller, bad, phone); !errors.Is(err, auth.ErrTokenInvalid) {
			t.Errorf("token %q: %v", bad, err)
		}
	}
	// A login token cannot verify, and a verification token never reveals the number.
	if _, err := e.svc.LoginNumber(ctx, e.caller, e.verifyToken(t)); !errors.Is(err, auth.ErrTokenUnauthorized) {
		t.Fatalf("GetPhoneWithToken(verify token): %v", err)
	}
	// Expired: CM tokens live 2 minutes.
	old := e.verifyToken(t)
	e.now.Add(int64(3 * time.Minute))
	if _, err := e.svc.VerifyNumber(ctx, e.caller, old, phone); !errors.Is(err, auth.ErrTokenInvalid) {
		t.Fatalf("expired token: %v", err)
	}
}

func TestCarrierFailuresAreUnknown(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	sp := e.verifyToken(t)
	e.sb.SetFault(carrier.ChinaMobile, sandbox.Fault{ErrorRate: 1})
	res, err := e.svc.VerifyNumber(ctx, e.caller, sp, phone)
	if err != nil || res.Result != carrier.Unknown {
		t.Fatalf("failing carrier = %+v, %v", res, err)
	}
	rec, _ := e.durable.GetVerification(ctx, res.VerifyID)
	if rec.Billable || rec.Result != "UNKNOWN" {
		t.Fatalf("UNKNOWN must be recorded and not billed: %+v", rec)
	}
	sid := e.session(t, carrier.KindVerify, token.BizAny)
	for _, tc := range []struct {
		f    sandbox.Fault
		want error
	}{{sandbox.Fault{Maintenance: true}, carrier.ErrMaintenance}, {sandbox.Fault{QuotaExhausted: true}, carrier.ErrQuota}, {sandbox.Fault{ErrorRate: 1}, carrier.ErrFailed}} {
		e.sb.SetFault(carrier.ChinaMobile, tc.f)
		if _, err := e.svc.MintVerifyToken(ctx, sid, origin, carrier.FrontRequest{Source: lineAddr}); !errors.Is(err, tc.want) {
			t.Errorf("fault %+v: %v, want %v", tc.f, err, tc.want)
		}
	}
	e.sb.SetFault(carrier.ChinaMobile, sandbox.Fault{})
	if _, err := e.svc.MintVerifyToken(ctx, sid, origin, carrier.FrontRequest{Source: netip.MustParseAddr("192.0.2.1")}); !errors.Is(err, carrier.ErrNotCellular) {
		t.Fatalf("unmapped address: %v", err)
	}
	if _, err := e.svc.MintVerifyToken(ctx, sid, "https://evil.example.com", carrier.FrontRequest{Source: lineAddr}); !errors.Is(err, auth.ErrIdentity) {
		t.Fatalf("session used from another origin: %v", err)
	}
	if _, err := e.svc.LoginMask(ctx, sid, origin, carrier.FrontRequest{Source: lineAddr}); !errors.Is(err, auth.ErrSessionInvalid) {
		t.Fatalf("verify session used for login: %v", err)
	}
}

func TestLoginFlowAndMaskBudget(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	front := carrier.FrontRequest{Source: lineAddr}

	sid := e.session(t, carrier.KindLogin, token.BizLogin)
	if _, err := e.svc.MintLoginToken(ctx, sid, origin, "0013"); !errors.Is(err, auth.ErrMaskNotRequested) {
		t.Fatalf("token before mask: %v", err)
	}
	m, err := e.svc.LoginMask(ctx, sid, origin, front)
	if err != nil || m.Masked != "138****8000" || m.Operator != carrier.ChinaMobile {
		t.Fatalf("mask = %+v, %v", m, err)
	}
	for _, bad := range []string{"", "123", "12345", "abcd"} {
		if _, err := e.svc.MintLoginToken(ctx, sid, origin, bad); !errors.Is(err, auth.ErrBadArgument) {
			t.Errorf("mask %q: %v", bad, err)
		}
	}
	res, err := e.svc.MintLoginToken(ctx, sid, origin, "0013")
	if err != nil {
		t.Fatal(err)
	}
	got, err := e.svc.LoginNumber(ctx, e.caller, res.SPToken)
	if err != nil || got != "+86"+phone { // E.164 inside numauth; openapi answers the 11 digits
		t.Fatalf("GetPhoneWithToken = %q, %v", got, err)
	}
	if _, err := e.svc.LoginNumber(ctx, e.caller, res.SPToken); !errors.Is(err, auth.ErrTokenInvalid) {
		t.Fatalf("replayed login token: %v", err)
	}
	if _, err := e.svc.VerifyNumber(ctx, e.caller, res.SPToken, phone); !errors.Is(err, auth.ErrTokenUnauthorized) {
		t.Fatalf("login token used to verify: %v", err)
	}

	// Three wrong masks: two answered with tries left, the third locks.
	sid = e.session(t, carrier.KindLogin, token.BizAny)
	if _, err := e.svc.LoginMask(ctx, sid, origin, front); err != nil {
		t.Fatal(err)
	}
	for left := 2; left >= 1; left-- {
		_, err := e.svc.MintLoginToken(ctx, sid, origin, "9999")
		var mw *auth.MaskWrongError
		if !errors.As(err, &mw) || mw.TriesLeft != left {
			t.Fatalf("wrong mask: %v, want %d tries left", err, left)
		}
	}
	if _, err := e.svc.MintLoginToken(ctx, sid, origin, "9999"); !errors.Is(err, auth.ErrMaskLocked) {
		t.Fatalf("third wrong mask: %v", err)
	}
	if _, err := e.svc.MintLoginToken(ctx, sid, origin, "0013"); !errors.Is(err, auth.ErrSessionInvalid) && !errors.Is(err, auth.ErrMaskLocked) {
		t.Fatalf("right mask after the lock: %v", err)
	}
	// The number stays locked for new sessions too.
	sid = e.session(t, carrier.KindLogin, token.BizAny)
	if _, err := e.svc.LoginMask(ctx, sid, origin, front); !errors.Is(err, auth.ErrMaskLocked) {
		t.Fatalf("new session on a locked number: %v", err)
	}
}

func TestConcurrentDoubleSpend(t *testing.T) {
	e := newEnv(t)
	sp := e.verifyToken(t)
	var wg sync.WaitGroup
	var pass atomic.Int32
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if r, err := e.svc.VerifyNumber(context.Background(), e.caller, sp, phone); err == nil && r.Result == carrier.Pass {
				pass.Add(1)
			}
		}()
	}
	wg.Wait()
	if pass.Load() != 1 {
		t.Fatalf("%d PASS answers for one spToken, want exactly 1", pass.Load())
	}
}

func TestAccessKeys(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	c, err := e.svc.ResolveKey(ctx, e.caller.AccessKeyID)
	if err != nil || len(c.Secret) != 30 || c.AccountID != "acct1" {
		t.Fatalf("ResolveKey = %+v, %v", c, err)
	}
	if err := e.svc.SetAccessKeyActive(ctx, c.AccessKeyID, false); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.ResolveKey(ctx, c.AccessKeyID); !errors.Is(err, auth.ErrKeyInactive) {
		t.Fatalf("disabled key: %v", err)
	}
	if _, err := e.svc.ResolveKey(ctx, "LTAInope0000"); !errors.Is(err, auth.ErrKeyNotFound) {
		t.Fatalf("unknown key: %v", err)
	}
	if err := e.svc.EnsureAccessKey(ctx, "LTAIboot00000001", "bootstrap-secret-0001"); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.EnsureAccessKey(ctx, "LTAIboot00000001", "bootstrap-secret-0001"); err != nil {
		t.Fatalf("EnsureAccessKey is not idempotent: %v", err)
	}
	if err := e.svc.EnsureAccessKey(ctx, "LTAIboot00000001", "another-secret-00001"); err == nil {
		t.Fatal("EnsureAccessKey replaced a secret")
	}
	ks, err := e.durable.ListAccessKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sealed := 0
	for _, k := range ks {
		if bytes.Contains(k.SealedSecret, []byte("bootstrap-secret-0001")) {
			t.Fatal("secret stored in clear")
		}
		if k.ID == "LTAIboot00000001" && len(k.SealedSecret) > 0 {
			sealed++
		}
	}
	// The check above passes over an empty list too: the key must be there.
	if sealed != 1 {
		t.Fatalf("the bootstrap key with its sealed secret is not listed once: %+v", ks)
	}
	for _, bad := range [][2]string{{"short", ""}, {"LTAIok000000", "short"}, {"bad id with spaces", ""}} {
		if _, err := e.svc.CreateAccessKey(ctx, "", bad[0], bad[1], ""); !errors.Is(err, auth.ErrInvalidParameters) {
			t.Errorf("CreateAccessKey(%q, %q) = %v", bad[0], bad[1], err)
		}
	}
}

func TestStatistics(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	for _, p := range []string{phone, "13900139000", phone} {
		if _, err := e.svc.VerifyNumber(ctx, e.caller, e.verifyToken(t), p); err != nil {
			t.Fatal(err)
		}
	}
	day := time.Unix(0, e.now.Load()).UTC().Format("20060102")
	st, err := e.svc.Statistics(ctx, e.caller, auth.StatsInput{AuthenticationType: 2, StartDate: day, EndDate: day})
	if err != nil || st.Total != 3 || st.TotalSuccess != 2 || st.TotalFail != 1 || len(st.Days) != 1 {
		t.Fatalf("Statistics = %+v, %v", st, err)
	}
	if _, err := e.svc.Statistics(ctx, e.caller, auth.StatsInput{AuthenticationType: 9, StartDate: day, EndDate: day}); !errors.Is(err, auth.ErrInvalidParameters) {
		t.Fatalf("bad type: %v", err)
	}
	if _, err := e.svc.Statistics(ctx, e.caller, auth.StatsInput{AuthenticationType: 2, StartDate: "2026-01-01", EndDate: day}); !errors.Is(err, auth.ErrInvalidParameters) {
		t.Fatalf("bad date: %v", err)
	}
}

// When the ephemeral store loses its data (a Redis restarted without
// persistence), the marks of spent tokens are gone with it, so tokens issued
// before the loss are refused rather than spendable (again).
func TestEpochAfterEphemeralLoss(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	sp := e.verifyToken(t) // issued before the loss; its "spent" mark would live in the lost store
	before, _ := e.svc.Epoch(ctx)
	time.Sleep(5 * time.Millisecond)
	e.now.Store(time.Now().UnixNano())
	if err := e.eph.Delete(ctx, "epoch"); err != nil { // what a restart without data looks like to the marker
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Second)
	moved := func() bool { ep, _ := e.svc.Epoch(ctx); return ep.After(before) }
	for !moved() && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if !moved() {
		t.Fatal("the epoch did not move after the store lost its marker")
	}
	if _, err := e.svc.VerifyNumber(ctx, e.caller, sp, phone); !errors.Is(err, auth.ErrTokenInvalid) {
		t.Fatalf("token issued before the loss: %v, want ErrTokenInvalid", err)
	}
	if r, err := e.svc.VerifyNumber(ctx, e.caller, e.verifyToken(t), phone); err != nil || r.Result != carrier.Pass {
		t.Fatalf("token issued after the loss: %+v %v", r, err)
	}
}
