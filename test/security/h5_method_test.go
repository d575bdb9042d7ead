package security

import (
	"net/http"
	"strings"
	"testing"
)

// Finding 11: docs/h5-protocol.md says a wrong method gets 405, but the
// gateway answered 404. A known operation asked with another method is 405
// with an Allow header, an unknown operation 404, both in the gateway's
// JSON shape.
func TestGatewayWrongMethodIs405(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := testContext(t)
		s := startServer(t, b, serverOptions{})
		const page = "https://shop.example.com"
		for _, tc := range []struct {
			method, op string
			status     int
		}{
			{http.MethodGet, "check", http.StatusMethodNotAllowed},
			{http.MethodPut, "verify-token", http.StatusMethodNotAllowed},
			{http.MethodDelete, "login-mask", http.StatusMethodNotAllowed},
			{http.MethodGet, "login-token", http.StatusMethodNotAllowed},
			{http.MethodPost, "no-such-op", http.StatusNotFound},
			{http.MethodGet, "no-such-op", http.StatusNotFound},
		} {
			a := s.gateway(ctx, "", tc.method, tc.op, page, map[string]string{})
			if a.Status != tc.status {
				t.Errorf("%s /h5/v1/%s = %d, want %d", tc.method, tc.op, a.Status, tc.status)
				continue
			}
			if allow := a.Header.Get("Allow"); tc.status == http.StatusMethodNotAllowed && (!strings.Contains(allow, "POST") || !strings.Contains(allow, "OPTIONS")) {
				t.Errorf("%s /h5/v1/%s: Allow %q, want POST and OPTIONS", tc.method, tc.op, allow)
			}
			if a.code() != "BAD_ARGUMENT" || a.field("msg") == "" || !strings.HasPrefix(a.Header.Get("Content-Type"), "application/json") {
				t.Errorf("%s /h5/v1/%s: body %q (%s), want the gateway's JSON with code BAD_ARGUMENT", tc.method, tc.op, a.Raw, a.Header.Get("Content-Type"))
			}
		}
		// POST still reaches the operation.
		if a := s.gateway(ctx, "", http.MethodPost, "check", page, map[string]string{}); a.Status != http.StatusOK || a.code() != "BAD_ARGUMENT" {
			t.Errorf("POST /h5/v1/check with an empty body = %d %s, want 200 BAD_ARGUMENT", a.Status, a.code())
		}
	})
}
