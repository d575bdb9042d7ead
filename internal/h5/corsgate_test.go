package h5

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/numauth/numauth/internal/auth"
	"github.com/numauth/numauth/internal/carrier"
)

// lenient is a service that accepts every call and reports the origin its
// sessions are bound to, whatever the request's Origin: a stand-in for a
// rules layer whose origin check broke.
type lenient struct{ bound string }

func (l lenient) OpenSession(context.Context, auth.SessionRequest) (auth.SessionInfo, error) {
	return auth.SessionInfo{ID: "s1", ExpiresIn: 60e9, Origin: l.bound}, nil
}
func (l lenient) MintVerifyToken(context.Context, string, string, carrier.FrontRequest) (auth.SPResult, error) {
	return auth.SPResult{SPToken: "sp", Operator: carrier.ChinaMobile, Origin: l.bound}, nil
}
func (l lenient) LoginMask(context.Context, string, string, carrier.FrontRequest) (auth.SPResult, error) {
	return auth.SPResult{Masked: "138****8000", Operator: carrier.ChinaMobile, Origin: l.bound}, nil
}
func (l lenient) MintLoginToken(context.Context, string, string, string) (auth.SPResult, error) {
	return auth.SPResult{SPToken: "sp", Operator: carrier.ChinaMobile, Origin: l.bound}, nil
}

// TestCORSGateOnItsOwn: the gateway lets only the bound origin read a
// successful answer, even when the rules layer accepted a call from another.
func TestCORSGateOnItsOwn(t *testing.T) {
	mux := http.NewServeMux()
	New(lenient{bound: "https://shop.example.com"}, nil, nil).Register(mux)
	for _, op := range []string{"check", "verify-token", "login-mask", "login-token"} {
		for _, tc := range []struct {
			origin string
			allow  bool
		}{
			{"https://shop.example.com", true},
			{"https://SHOP.example.com", true}, // the same origin, not normalised
			{"https://evil.example", false},
			{"null", false},
		} {
			req := httptest.NewRequest(http.MethodPost, "/h5/v1/"+op, strings.NewReader(`{"session":"s1","mask":"0013","accessToken":"a","jwtToken":"j","kind":"verify"}`))
			req.Header.Set("Origin", tc.origin)
			rec := httptest.NewRecorder()
			mux.ServeHTTP(rec, req)
			got := rec.Header().Get("Access-Control-Allow-Origin")
			if tc.allow && got != tc.origin {
				t.Errorf("%s from the bound origin %s: Access-Control-Allow-Origin %q", op, tc.origin, got)
			}
			if !tc.allow && got != "" {
				t.Errorf("%s from %s: Access-Control-Allow-Origin %q; a foreign origin read a successful answer", op, tc.origin, got)
			}
		}
	}
}
