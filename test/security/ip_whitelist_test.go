package security

import (
	"net/http"
	"strings"
	"testing"
)

// Finding 13: a scheme's IpWhiteList was stored but never enforced. The
// calls that use the scheme (GetAuthToken for it, VerifyPhoneWithToken and
// GetPhoneWithToken with its spTokens) must come from a listed address
// (the TCP peer; a forwarded header does not count), else Forbidden
// (HTTP 403), without spending the spToken; a malformed list is refused at
// creation.
func TestIPWhiteListEnforced(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := testContext(t)
		s := startServer(t, b, serverOptions{})
		const origin, page = "https://ip.example.com", "https://ip.example.com/login"

		for _, bad := range []string{"127.0.0.*", "localhost", "127.0.0.1:8080", "10.0.0.0/40"} {
			r, err := s.call(ctx, "CreateVerifyScheme", map[string]string{"SchemeName": "bad " + bad, "AppName": "a",
				"OsType": "H5", "Origin": origin, "Url": page, "IpWhiteList": bad})
			if err != nil || r.Code != "isv.INVALID_PARAMETERS" {
				t.Errorf("IpWhiteList %q: %d %s, %v; want isv.INVALID_PARAMETERS", bad, r.Status, r.Code, err)
			}
		}
		// Only 127.0.0.2 (and a network the test never calls from) may use
		// the scheme. (Alibaba documents one entry per line; commas work too.)
		scheme := s.scheme(ctx, origin, page, map[string]string{"IpWhiteList": "198.51.100.0/24, " + otherSource})
		mint := map[string]string{"Url": page, "Origin": origin, "SceneCode": scheme, "BizType": "0"}

		r, err := s.call(ctx, "GetAuthToken", mint)
		if err != nil || r.Status != http.StatusForbidden || r.Code != "Forbidden" {
			t.Fatalf("GetAuthToken from 127.0.0.1 = HTTP %d %s, %v; want 403 Forbidden", r.Status, r.Code, err)
		}
		if msg, _ := r.Body["Message"].(string); !strings.Contains(msg, "127.0.0.1") {
			t.Errorf("Forbidden message %q does not name the caller's address", msg)
		}

		// From the listed address the flow works; the page's own calls
		// (from the phone, 127.0.0.1) are not the whitelist's business.
		sess, err := s.session(ctx, otherSource, scheme, origin, page, origin, "verify")
		if err != nil {
			t.Fatal(err)
		}
		a := s.gateway(ctx, "", http.MethodPost, "verify-token", origin, map[string]string{"session": sess})
		sp := a.field("spToken")
		if a.code() != "OK" || sp == "" {
			t.Fatalf("verify-token = %s %s", a.code(), a.field("msg"))
		}
		verify := map[string]string{"SpToken": sp, "PhoneNumber": phone}
		r, err = s.call(ctx, "VerifyPhoneWithToken", verify)
		if err != nil || r.Status != http.StatusForbidden || r.Code != "Forbidden" {
			t.Fatalf("VerifyPhoneWithToken from 127.0.0.1 = HTTP %d %s, %v; want 403 Forbidden", r.Status, r.Code, err)
		}
		// Headers a proxy would add, naming a listed address, change nothing.
		forwarded := s.client("")
		forwarded.Header = http.Header{"X-Forwarded-For": {otherSource}, "X-Real-Ip": {otherSource}, "Forwarded": {"for=" + otherSource}}
		r, err = forwarded.Call(ctx, "VerifyPhoneWithToken", verify)
		if err != nil || r.Status != http.StatusForbidden || r.Code != "Forbidden" {
			t.Fatalf("VerifyPhoneWithToken from 127.0.0.1 with X-Forwarded-For: %s = HTTP %d %s, %v; want 403 Forbidden", otherSource, r.Status, r.Code, err)
		}
		// The refusals did not spend the token: the listed server still verifies.
		r, err = s.callFrom(ctx, otherSource, "VerifyPhoneWithToken", verify)
		if err != nil || r.Code != "OK" || r.Get("GateVerify", "VerifyResult") != "PASS" {
			t.Fatalf("VerifyPhoneWithToken from %s = HTTP %d %s %v, %v; want PASS", otherSource, r.Status, r.Code, r.Body["GateVerify"], err)
		}

		// One-click login: the same for GetPhoneWithToken.
		sess, err = s.session(ctx, otherSource, scheme, origin, page, origin, "login")
		if err != nil {
			t.Fatal(err)
		}
		if a := s.gateway(ctx, "", http.MethodPost, "login-mask", origin, map[string]string{"session": sess}); a.code() != "OK" {
			t.Fatalf("login-mask = %s %s", a.code(), a.field("msg"))
		}
		a = s.gateway(ctx, "", http.MethodPost, "login-token", origin, map[string]string{"session": sess, "mask": phone[3:7]})
		if a.code() != "OK" {
			t.Fatalf("login-token = %s %s", a.code(), a.field("msg"))
		}
		login := map[string]string{"SpToken": a.field("spToken")}
		if r, err = s.call(ctx, "GetPhoneWithToken", login); err != nil || r.Status != http.StatusForbidden || r.Code != "Forbidden" {
			t.Fatalf("GetPhoneWithToken from 127.0.0.1 = HTTP %d %s, %v; want 403 Forbidden", r.Status, r.Code, err)
		}
		if r, err = s.callFrom(ctx, otherSource, "GetPhoneWithToken", login); err != nil || r.Get("Data", "Mobile") != phone {
			t.Fatalf("GetPhoneWithToken from %s = HTTP %d %s, %v; want the number", otherSource, r.Status, r.Code, err)
		}

		// Alibaba's own example, one entry per line, is accepted.
		s.scheme(ctx, "https://lines.example.com", "https://lines.example.com/", map[string]string{
			"IpWhiteList": "139.9.167.181\n122.112.210.205\n139.9.172.0/24"})
	})
}
