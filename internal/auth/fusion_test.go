package auth_test

import (
	"context"
	"errors"
	"net/netip"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/numauth/numauth/internal/auth"
	"github.com/numauth/numauth/internal/carrier"
	"github.com/numauth/numauth/internal/store"
	"github.com/numauth/numauth/internal/token"
)

func (e *env) fusionToken(t *testing.T, platform string) string {
	t.Helper()
	ft, err := e.svc.MintFusionToken(context.Background(), e.caller, auth.FusionTokenInput{
		SchemeCode: e.scheme.Code, Platform: platform, DurationSeconds: auth.FusionDurationMin,
	})
	if err != nil {
		t.Fatal(err)
	}
	return ft
}

func (e *env) fusionSession(t *testing.T) string {
	t.Helper()
	s, err := e.svc.OpenFusionSession(context.Background(), e.fusionToken(t, "H5"), origin, "")
	if err != nil {
		t.Fatal(err)
	}
	if s.Strategy != auth.FusionCarrierFirst {
		t.Fatalf("strategy %q, want the default %q", s.Strategy, auth.FusionCarrierFirst)
	}
	return s.ID
}

var netipWiFi = netip.MustParseAddr("192.0.2.1")

var smsCode = regexp.MustCompile(`验证码([0-9]+)`)

// lastCode reads the code of the last text sent to e164 from the sandbox outbox.
func (e *env) lastCode(t *testing.T, e164 string) string {
	t.Helper()
	out, err := e.durable.ListOutbox(context.Background(), e164, 1)
	if err != nil || len(out) == 0 {
		t.Fatalf("outbox of %s: %v, %d entries", e164, err, len(out))
	}
	m := smsCode.FindStringSubmatch(out[0].Text)
	if m == nil {
		t.Fatalf("no code in %q", out[0].Text)
	}
	return m[1]
}

func TestFusionCarrierPath(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	sid := e.fusionSession(t)
	m, err := e.svc.LoginMask(ctx, sid, origin, carrier.FrontRequest{Source: lineAddr})
	if err != nil || m.Masked != "138****8000" {
		t.Fatalf("mask = %+v, %v", m, err)
	}
	res, err := e.svc.MintLoginToken(ctx, sid, origin, "0013")
	if err != nil {
		t.Fatal(err)
	}
	// The VerifyToken is no login spToken.
	if _, err := e.svc.LoginNumber(ctx, e.caller, res.SPToken); !errors.Is(err, auth.ErrTokenInvalid) {
		t.Fatalf("VerifyToken as an spToken: %v", err)
	}
	got, err := e.svc.VerifyFusion(ctx, e.caller, res.SPToken)
	if err != nil || got.Result != carrier.Pass || got.Phone != "+86"+phone || got.PhoneScore != auth.PhoneScoreCarrier {
		t.Fatalf("VerifyFusion = %+v, %v", got, err)
	}
	if _, err := e.svc.VerifyFusion(ctx, e.caller, res.SPToken); !errors.Is(err, auth.ErrTokenInvalid) {
		t.Fatalf("VerifyToken used twice: %v", err)
	}
	// One durable record of kind fusion, a PASS.
	days, err := e.durable.DailyStats(ctx, store.VerificationFilter{AccountID: e.caller.AccountID, Kind: "fusion"})
	if err != nil {
		t.Fatal(err)
	}
	if len(days) != 1 || days[0].Pass != 1 || days[0].Reject+days[0].Unknown != 0 {
		t.Fatalf("fusion records by day: %+v, want one PASS", days)
	}
}

func TestFusionSMSPath(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	const num = "+8613900139000"
	sid := e.fusionSession(t)
	// On Wi-Fi the carrier cannot answer: the page falls back to SMS.
	if _, err := e.svc.LoginMask(ctx, sid, origin, carrier.FrontRequest{Source: netipWiFi}); !errors.Is(err, carrier.ErrNotCellular) {
		t.Fatalf("front leg off cellular: %v", err)
	}
	if _, err := e.svc.FusionSendSms(ctx, sid, origin, "139001"); !errors.Is(err, auth.ErrBadArgument) {
		t.Fatalf("bad number: %v", err)
	}
	if o, err := e.svc.FusionSendSms(ctx, sid, origin, "13900139000"); err != nil || o != origin {
		t.Fatalf("send: %q, %v", o, err)
	}
	if _, err := e.svc.FusionSendSms(ctx, sid, origin, "13900139000"); !errors.Is(err, auth.ErrSmsFrequency) {
		t.Fatalf("second send within the interval: %v", err)
	}
	code := e.lastCode(t, num)
	if _, err := e.svc.FusionCheckSms(ctx, sid, origin, "13900139000", wrongCode(code, 0)); !errors.Is(err, auth.ErrSmsCodeWrong) {
		t.Fatalf("wrong code: %v", err)
	}
	if _, err := e.svc.FusionCheckSms(ctx, sid, "https://evil.example", "13900139000", code); !errors.Is(err, auth.ErrIdentity) {
		t.Fatalf("another origin: %v", err)
	}
	res, err := e.svc.FusionCheckSms(ctx, sid, origin, "13900139000", code)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.FusionCheckSms(ctx, sid, origin, "13900139000", code); !errors.Is(err, auth.ErrSessionInvalid) {
		t.Fatalf("second check on the spent session: %v", err)
	}
	other := auth.Caller{AccountID: "acct2"}
	if _, err := e.svc.VerifyFusion(ctx, other, res.SPToken); !errors.Is(err, auth.ErrTokenInvalid) {
		t.Fatalf("another account's VerifyToken: %v", err)
	}
	got, err := e.svc.VerifyFusion(ctx, e.caller, res.SPToken)
	if err != nil || got.Result != carrier.Pass || got.Phone != num || got.PhoneScore != auth.PhoneScoreSMS {
		t.Fatalf("VerifyFusion = %+v, %v", got, err)
	}
	if _, err := e.svc.VerifyFusion(ctx, e.caller, res.SPToken); !errors.Is(err, auth.ErrTokenInvalid) {
		t.Fatalf("replayed VerifyToken: %v", err)
	}
}

func TestFusionVerifyTokenOnce(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	sid := e.fusionSession(t)
	if _, err := e.svc.LoginMask(ctx, sid, origin, carrier.FrontRequest{Source: lineAddr}); err != nil {
		t.Fatal(err)
	}
	res, err := e.svc.MintLoginToken(ctx, sid, origin, "0013")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	pass := 0
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if r, err := e.svc.VerifyFusion(ctx, e.caller, res.SPToken); err == nil && r.Result == carrier.Pass {
				mu.Lock()
				pass++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if pass != 1 {
		t.Fatalf("%d PASS answers for one VerifyToken, want 1", pass)
	}
}

func TestFusionTokenRefusals(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	spToken := e.verifyToken(t)
	app, err := e.svc.CreateScheme(ctx, e.caller, auth.SchemeInput{Name: "app", AppName: "App", OsType: "Android", PackName: "com.example.app", PackSign: "0123456789abcdef0123456789abcdef"})
	if err != nil {
		t.Fatal(err)
	}
	ios, err := e.svc.CreateScheme(ctx, e.caller, auth.SchemeInput{Name: "ios", AppName: "App", OsType: "iOS", BundleID: "com.example.ios"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		in   auth.FusionTokenInput
		want error
	}{
		{"H5", auth.FusionTokenInput{SchemeCode: e.scheme.Code, Platform: "H5", DurationSeconds: 900}, nil},
		{"max duration", auth.FusionTokenInput{SchemeCode: e.scheme.Code, Platform: "H5", DurationSeconds: 43200}, nil},
		{"Android", auth.FusionTokenInput{SchemeCode: app.Code, Platform: "Android", DurationSeconds: 900, PackageName: "com.example.app", PackageSign: "0123456789ABCDEF0123456789ABCDEF"}, nil},
		{"iOS", auth.FusionTokenInput{SchemeCode: ios.Code, Platform: "iOS", DurationSeconds: 900, BundleID: "com.example.ios"}, nil},
		{"short duration", auth.FusionTokenInput{SchemeCode: e.scheme.Code, Platform: "H5", DurationSeconds: 899}, auth.ErrInvalidParameters},
		{"long duration", auth.FusionTokenInput{SchemeCode: e.scheme.Code, Platform: "H5", DurationSeconds: 43201}, auth.ErrInvalidParameters},
		{"unknown platform", auth.FusionTokenInput{SchemeCode: e.scheme.Code, Platform: "Symbian", DurationSeconds: 900}, auth.ErrInvalidParameters},
		{"other platform than the scheme", auth.FusionTokenInput{SchemeCode: e.scheme.Code, Platform: "iOS", DurationSeconds: 900, BundleID: "x"}, auth.ErrInvalidParameters},
		{"no such scheme", auth.FusionTokenInput{SchemeCode: "FC999", Platform: "H5", DurationSeconds: 900}, auth.ErrSchemeNotExist},
		{"Android without sign", auth.FusionTokenInput{SchemeCode: app.Code, Platform: "Android", DurationSeconds: 900, PackageName: "com.example.app"}, auth.ErrInvalidParameters},
		{"Android other package", auth.FusionTokenInput{SchemeCode: app.Code, Platform: "Android", DurationSeconds: 900, PackageName: "com.evil", PackageSign: "0123456789abcdef0123456789abcdef"}, auth.ErrInvalidParameters},
		{"iOS other bundle", auth.FusionTokenInput{SchemeCode: ios.Code, Platform: "iOS", DurationSeconds: 900, BundleID: "com.evil"}, auth.ErrInvalidParameters},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tok, err := e.svc.MintFusionToken(ctx, e.caller, tc.in)
			if !errors.Is(err, tc.want) || (tc.want == nil && tok == "") {
				t.Fatalf("MintFusionToken = %q, %v; want %v", tok, err, tc.want)
			}
		})
	}
	// Another account's scheme is no scheme of the caller's.
	if _, err := e.svc.MintFusionToken(ctx, auth.Caller{AccountID: "acct2"}, auth.FusionTokenInput{SchemeCode: e.scheme.Code, Platform: "H5", DurationSeconds: 900}); !errors.Is(err, auth.ErrSchemeNotExist) {
		t.Fatalf("another account's scheme: %v", err)
	}

	// Sessions: an app platform's token, another origin, garbage, expired.
	if _, err := e.svc.OpenFusionSession(ctx, e.fusionTokenFor(t, app.Code, "Android"), origin, ""); !errors.Is(err, auth.ErrIdentity) {
		t.Fatalf("Android fusion token in a page: %v", err)
	}
	if _, err := e.svc.OpenFusionSession(ctx, e.fusionToken(t, "H5"), "https://evil.example", ""); !errors.Is(err, auth.ErrIdentity) {
		t.Fatalf("fusion token from another origin: %v", err)
	}
	if _, err := e.svc.OpenFusionSession(ctx, spToken, origin, ""); !errors.Is(err, auth.ErrIdentity) {
		t.Fatalf("an spToken as a fusion token: %v", err)
	}
	ft := e.fusionToken(t, "H5")
	e.now.Add(int64(901 * time.Second))
	if _, err := e.svc.OpenFusionSession(ctx, ft, origin, ""); !errors.Is(err, auth.ErrIdentity) {
		t.Fatalf("expired fusion token: %v", err)
	}

	// VerifyTokens: an spToken, a fusion token, garbage.
	for name, vt := range map[string]string{"spToken": spToken, "fusion token": e.fusionToken(t, "H5"), "garbage": "abc", "empty-ish": "A"} {
		if _, err := e.svc.VerifyFusion(ctx, e.caller, vt); !errors.Is(err, auth.ErrTokenInvalid) {
			t.Errorf("%s as a VerifyToken: %v", name, err)
		}
	}
	// A seed session takes no fusion operation.
	sid := e.session(t, carrier.KindLogin, token.BizAny)
	if _, err := e.svc.FusionSendSms(ctx, sid, origin, phone); !errors.Is(err, auth.ErrSessionInvalid) {
		t.Fatalf("SMS send on a seed session: %v", err)
	}
}

func (e *env) fusionTokenFor(t *testing.T, code, platform string) string {
	t.Helper()
	ft, err := e.svc.MintFusionToken(context.Background(), e.caller, auth.FusionTokenInput{
		SchemeCode: code, Platform: platform, DurationSeconds: 900,
		PackageName: "com.example.app", PackageSign: "0123456789abcdef0123456789abcdef",
	})
	if err != nil {
		t.Fatal(err)
	}
	return ft
}

func TestFusionStrategyConfigured(t *testing.T) {
	e := newEnv(t, func(c *auth.Config) { c.FusionStrategy = map[string]string{auth.OsH5: auth.FusionSMSOnly} })
	s, err := e.svc.OpenFusionSession(context.Background(), e.fusionToken(t, "H5"), origin, "")
	if err != nil || s.Strategy != auth.FusionSMSOnly {
		t.Fatalf("session = %+v, %v; want strategy %q", s, err, auth.FusionSMSOnly)
	}
}

// A scheme's own strategy (CreateSchemeConfig's FusionStrategy) wins over
// the deployment's; a strategy numauth does not know is refused.
func TestFusionStrategyOfTheScheme(t *testing.T) {
	e := newEnv(t) // the deployment's default: the carrier first
	ctx := context.Background()
	sc, err := e.svc.CreateScheme(ctx, e.caller, auth.SchemeInput{Name: "sms first", AppName: "App", OsType: "H5",
		Origin: "https://sms.example.com", URL: "https://sms.example.com/", FusionStrategy: auth.FusionSMSOnly})
	if err != nil {
		t.Fatal(err)
	}
	s, err := e.svc.OpenFusionSession(ctx, e.fusionTokenFor(t, sc.Code, "H5"), "https://sms.example.com", "")
	if err != nil || s.Strategy != auth.FusionSMSOnly {
		t.Fatalf("session of an sms scheme = %+v, %v; want strategy %q", s, err, auth.FusionSMSOnly)
	}
	if s, err := e.svc.OpenFusionSession(ctx, e.fusionToken(t, "H5"), origin, ""); err != nil || s.Strategy != auth.FusionCarrierFirst {
		t.Fatalf("session of a scheme without one = %+v, %v; want the deployment's %q", s, err, auth.FusionCarrierFirst)
	}
	if _, err := e.svc.CreateScheme(ctx, e.caller, auth.SchemeInput{Name: "bad", AppName: "App", OsType: "H5",
		Origin: "https://bad.example.com", URL: "https://bad.example.com/", FusionStrategy: "face"}); !errors.Is(err, auth.ErrInvalidParameters) {
		t.Fatalf("CreateScheme with FusionStrategy face = %v; want ErrInvalidParameters", err)
	}
}
