package h5

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/numauth/numauth/internal/auth"
	"github.com/numauth/numauth/internal/carrier"
)

// lenient is a service that accepts every call and reports the origin its
// sessions are bound to, whatever the request's Origin: a stand-in for a
// rules layer whose origin check broke.
type lenient struct {
	bound    string
	redirect bool // the front legs answer with a redirect
}

func (l lenient) OpenSession(context.Context, auth.SessionRequest) (auth.SessionInfo, error) {
	return auth.SessionInfo{ID: "s1", ExpiresIn: 60e9, Origin: l.bound}, nil
}
func (l lenient) MintVerifyToken(context.Context, string, string, carrier.FrontRequest) (auth.SPResult, error) {
	if l.redirect {
		return auth.SPResult{Redirect: &auth.FrontRedirect{URL: "https://op.example/authorize?state=s", Window: carrier.WindowFrame}, Origin: l.bound}, nil
	}
	return auth.SPResult{SPToken: "sp", Operator: carrier.ChinaMobile, Origin: l.bound}, nil
}
func (l lenient) LoginMask(ctx context.Context, id, o string, f carrier.FrontRequest) (auth.SPResult, error) {
	if l.redirect {
		return l.MintVerifyToken(ctx, id, o, f)
	}
	return auth.SPResult{Masked: "138****8000", Operator: carrier.ChinaMobile, Origin: l.bound}, nil
}
func (l lenient) CompleteRedirect(context.Context, string, string, url.Values) (auth.SPResult, error) {
	return auth.SPResult{SPToken: "sp", Operator: carrier.ChinaMobile, Origin: l.bound, Kind: carrier.KindVerify}, nil
}
func (l lenient) RedirectOrigin(context.Context, string) (string, error) { return l.bound, nil }
func (l lenient) MintLoginToken(context.Context, string, string, string) (auth.SPResult, error) {
	return auth.SPResult{SPToken: "sp", Operator: carrier.ChinaMobile, Origin: l.bound}, nil
}

func (l lenient) OpenFusionSession(context.Context, string, string, string) (auth.FusionSession, error) {
	return auth.FusionSession{SessionInfo: auth.SessionInfo{ID: "s1", ExpiresIn: 60e9, Origin: l.bound}, Strategy: auth.FusionCarrierFirst}, nil
}
func (l lenient) FusionSendSms(context.Context, string, string, string) (string, error) {
	return l.bound, nil
}
func (l lenient) FusionCheckSms(context.Context, string, string, string, string) (auth.SPResult, error) {
	return auth.SPResult{SPToken: "vt", Operator: "SMS", Origin: l.bound}, nil
}

// TestCORSGateOnItsOwn: the gateway lets only the bound origin read a
// successful answer, even when the rules layer accepted a call from another.
func TestCORSGateOnItsOwn(t *testing.T) {
	for _, redirect := range []bool{false, true} {
		testCORSGate(t, redirect)
	}
}

func testCORSGate(t *testing.T, redirect bool) {
	mux := http.NewServeMux()
	New(lenient{bound: "https://shop.example.com", redirect: redirect}, nil, nil).Register(mux)
	for _, op := range []string{"check", "verify-token", "login-mask", "login-token", "redirect-complete",
		"fusion-check", "fusion-sms-send", "fusion-sms-check"} {
		for _, tc := range []struct {
			origin string
			allow  bool
		}{
			{"https://shop.example.com", true},
			{"https://SHOP.example.com", true}, // the same origin, not normalised
			{"https://evil.example", false},
			{"null", false},
		} {
			req := httptest.NewRequest(http.MethodPost, "/h5/v1/"+op, strings.NewReader(`{"session":"s1","mask":"0013","accessToken":"a","jwtToken":"j","kind":"verify","query":"state=s&code=c"}`))
			req.Header.Set("Origin", tc.origin)
			rec := httptest.NewRecorder()
			mux.ServeHTTP(rec, req)
			got := rec.Header().Get("Access-Control-Allow-Origin")
			if tc.allow && got != tc.origin {
				t.Errorf("%s from the bound origin %s: Access-Control-Allow-Origin %q", op, tc.origin, got)
			}
			if !tc.allow && got != "" {
				t.Errorf("%s from %s (redirect %v): Access-Control-Allow-Origin %q; a foreign origin read a successful answer", op, tc.origin, redirect, got)
			}
		}
	}
}
