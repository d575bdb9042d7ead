package camara

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4/jwt"
)

func TestAuthorizeRefusals(t *testing.T) {
	w := newWorld(t)
	_, ch := pkce()
	scope := "openid " + PurposeVerify
	redirected := []struct {
		name string
		a    authz
		want string
	}{
		{"wifi", authz{client: "basic-client", scope: scope, challenge: ch, src: "127.0.0.2"}, "access_denied"},
		{"no PKCE", authz{client: "basic-client", scope: scope}, "invalid_request"},
		{"PKCE plain", authz{client: "basic-client", scope: scope, challenge: ch, method: "plain"}, "invalid_request"},
		{"no openid", authz{client: "basic-client", scope: PurposeVerify, challenge: ch}, "invalid_scope"},
		{"unknown scope", authz{client: "basic-client", scope: scope + " email-read", challenge: ch}, "invalid_scope"},
		{"unknown purpose", authz{client: "basic-client", scope: "openid dpv:Marketing#number-verification-verify-read", challenge: ch}, "invalid_scope"},
		{"two purposes", authz{client: "basic-client", scope: scope + " " + PurposeShare, challenge: ch}, "invalid_scope"},
		{"only openid", authz{client: "basic-client", scope: "openid", challenge: ch}, "invalid_scope"},
		{"scope not allowed", authz{client: "verify-only", scope: "openid " + ScopeShare, challenge: ch}, "invalid_scope"},
		{"bad tel hint", authz{client: "basic-client", scope: scope, challenge: ch, hint: "tel:0034666"}, "invalid_request"},
		{"unknown hint", authz{client: "basic-client", scope: scope, challenge: ch, hint: "sub:1234"}, "invalid_request"},
		{"other device's ipport", authz{client: "basic-client", scope: scope, challenge: ch, hint: "ipport:198.51.100.7:4000"}, "access_denied"},
	}
	for _, c := range redirected {
		q, status := w.authorize(c.a)
		if q.Get("error") != c.want || q.Get("code") != "" || q.Get("state") != "st-1" {
			t.Errorf("%s: %d %v, want error=%s with the state", c.name, status, q, c.want)
		}
	}
	// A tel hint of any number, and an ipport hint of the request's own
	// address, are accepted: the network decides which line it is.
	for _, hint := range []string{"tel:+34666666666", "ipport:127.0.0.1:1234", "ipport:127.0.0.1"} {
		if q, _ := w.authorize(authz{client: "basic-client", scope: scope, challenge: ch, hint: hint}); q.Get("code") == "" {
			t.Errorf("hint %s: %v", hint, q)
		}
	}
	// An unknown or disabled client, or a redirect URI it did not register,
	// is never redirected to.
	for _, c := range []authz{{client: "nobody", scope: scope, challenge: ch}, {client: "off", scope: scope, challenge: ch}} {
		if q, status := w.authorize(c); q != nil || status < 400 || status >= 500 {
			t.Errorf("client %s: %d %v", c.client, status, q)
		}
	}
	res, err := browser("127.0.0.1").Get(w.disc.Authorization + "?response_type=code&client_id=basic-client&scope=openid+" + ScopeVerify + "&redirect_uri=https://evil.example/cb&code_challenge=" + ch + "&code_challenge_method=S256")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode == http.StatusFound || res.StatusCode >= 500 {
		t.Errorf("foreign redirect_uri: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
}

func TestTokenRefusals(t *testing.T) {
	w := newWorld(t)
	scope := "openid " + ScopeVerify
	code := func(client string) (string, string) {
		v, c := pkce()
		q, _ := w.authorize(authz{client: client, scope: scope, challenge: c})
		return q.Get("code"), v
	}
	// PKCE: a wrong verifier, or none.
	c, _ := code("basic-client")
	if a := w.exchange("basic-client", c, "wrong-verifier-wrong-verifier-wrong-verifier-0", ""); a.Error != "invalid_grant" {
		t.Errorf("wrong verifier: %+v", a)
	}
	c, _ = code("basic-client")
	if a := w.exchange("basic-client", c, "", ""); a.Error != "invalid_grant" {
		t.Errorf("no verifier: %+v", a)
	}
	// A code serves once; a code of another client is refused.
	c, v := code("basic-client")
	if a := w.exchange("basic-client", c, v, ""); a.AccessToken == "" || a.ExpiresIn > 300 || a.ExpiresIn < 290 {
		t.Fatalf("first exchange: %+v", a)
	}
	if a := w.exchange("basic-client", c, v, ""); a.Error != "invalid_grant" {
		t.Errorf("code reused: %+v", a)
	}
	c, v = code("verify-only")
	if a := w.exchange("basic-client", c, v, ""); a.Error != "invalid_grant" {
		t.Errorf("another client's code: %+v", a)
	}
	// Client authentication.
	c, v = code("basic-client")
	w.wrongSecret = true
	a := w.exchange("basic-client", c, v, "")
	w.wrongSecret = false
	if a.status != 401 || a.Error != "invalid_client" {
		t.Errorf("wrong secret: %+v", a)
	}
	now := time.Now()
	assertions := []struct {
		name string
		mut  func(*jwt.Claims)
	}{
		{"wrong aud", func(c *jwt.Claims) { c.Audience = jwt.Audience{"https://other.example/token"} }},
		{"expired", func(c *jwt.Claims) {
			c.Expiry = jwt.NewNumericDate(now.Add(-time.Minute))
			c.IssuedAt = jwt.NewNumericDate(now.Add(-2 * time.Minute))
		}},
		{"lives too long", func(c *jwt.Claims) { c.Expiry = jwt.NewNumericDate(now.Add(10 * time.Minute)) }},
		{"iat in the future", func(c *jwt.Claims) { c.IssuedAt = jwt.NewNumericDate(now.Add(time.Minute)) }},
		{"no jti", func(c *jwt.Claims) { c.ID = "" }},
		{"sub is not iss", func(c *jwt.Claims) { c.Subject = "someone" }},
		{"unknown client", func(c *jwt.Claims) { c.Issuer, c.Subject = "nobody", "nobody" }},
		{"secret client", func(c *jwt.Claims) { c.Issuer, c.Subject = "basic-client", "basic-client" }},
	}
	for _, as := range assertions {
		c, v := code("jwt-client")
		if a := w.exchange("", c, v, w.assertion(as.mut)); a.status != 401 || a.Error != "invalid_client" {
			t.Errorf("assertion %s: %+v", as.name, a)
		}
	}
	// The issuer is an accepted aud too; a jti serves once.
	issAud := w.assertion(func(c *jwt.Claims) { c.Audience = jwt.Audience{w.issuer} })
	c, v = code("jwt-client")
	if a := w.exchange("", c, v, issAud); a.AccessToken == "" {
		t.Errorf("aud = issuer: %+v", a)
	}
	c, v = code("jwt-client")
	if a := w.exchange("", c, v, issAud); a.status != 401 || a.Error != "invalid_client" {
		t.Errorf("replayed jti: %+v", a)
	}
	// A private_key_jwt client cannot use a secret instead.
	c, v = code("jwt-client")
	w.clients.secrets["jwt-client"] = "s3cret"
	if a := w.exchange("jwt-client", c, v, ""); a.status != 401 || a.Error != "invalid_client" {
		t.Errorf("secret for a private_key_jwt client: %+v", a)
	}
	// A signature by another key.
	other := newWorld(t)
	other.disc.Token = w.disc.Token
	c, v = code("jwt-client")
	if a := w.exchange("", c, v, other.assertion(nil)); a.status != 401 || a.Error != "invalid_client" {
		t.Errorf("foreign key: %+v", a)
	}
}

func TestNVRefusals(t *testing.T) {
	w := newWorld(t)
	good := `{"phoneNumber": "+86` + linePhone + `"}`
	tok := w.token("basic-client", "openid "+ScopeVerify)
	cases := []struct {
		name, method, path, bearer, body string
		header                           map[string]string
		status                           int
		code                             string
	}{
		{"no token", "POST", "/verify", "", good, nil, 401, "UNAUTHENTICATED"},
		{"forged token", "POST", "/verify", "not-a-token", good, nil, 401, "UNAUTHENTICATED"},
		{"no body", "POST", "/verify", tok, "", map[string]string{"Content-Type": "application/json"}, 400, "INVALID_ARGUMENT"},
		{"empty object", "POST", "/verify", tok, `{}`, nil, 400, "INVALID_ARGUMENT"},
		{"both fields", "POST", "/verify", tok, `{"phoneNumber": "+8613812345678", "hashedPhoneNumber": "` + e164Hash("+8613812345678") + `"}`, nil, 400, "INVALID_ARGUMENT"},
		{"national form", "POST", "/verify", tok, `{"phoneNumber": "13812345678"}`, nil, 400, "INVALID_ARGUMENT"},
		{"short hash", "POST", "/verify", tok, `{"hashedPhoneNumber": "abc"}`, nil, 400, "INVALID_ARGUMENT"},
		{"unknown field", "POST", "/verify", tok, `{"phone": "+8613812345678"}`, nil, 400, "INVALID_ARGUMENT"},
		{"not JSON", "POST", "/verify", tok, `phoneNumber=+8613812345678`, nil, 400, "INVALID_ARGUMENT"},
		{"number as JSON number", "POST", "/verify", tok, `{"phoneNumber": 8613812345678}`, nil, 400, "INVALID_ARGUMENT"},
		{"text/plain", "POST", "/verify", tok, good, map[string]string{"Content-Type": "text/plain"}, 400, "INVALID_ARGUMENT"},
		{"bad correlator", "POST", "/verify", tok, good, map[string]string{"x-correlator": "a b"}, 400, "INVALID_ARGUMENT"},
		{"wrong scope", "GET", "/device-phone-number", tok, "", nil, 403, "PERMISSION_DENIED"},
		{"wrong method", "GET", "/verify", tok, "", nil, 405, "METHOD_NOT_ALLOWED"},
		{"unknown path", "GET", "/other", tok, "", nil, 404, "NOT_FOUND"},
	}
	for _, c := range cases {
		a := w.nv(c.method, c.path, c.bearer, c.body, c.header)
		if a.status != c.status || a.body["code"] != c.code || a.body["status"] != float64(c.status) || a.body["message"] == "" {
			t.Errorf("%s: %+v, want %d %s", c.name, a, c.status, c.code)
		}
	}
	// The refusals above did not use the token up.
	if a := w.nv("POST", "/verify", tok, good, nil); a.status != 200 || a.body["devicePhoneNumberVerified"] != true {
		t.Errorf("after refusals: %+v", a)
	}
}

// One token, one answer: of many concurrent calls with one access token,
// exactly one is answered; of many exchanges of one code, exactly one
// yields a token.
func TestSingleUseUnderRace(t *testing.T) {
	w := newWorld(t)
	const n = 24
	tok := w.token("basic-client", "openid "+ScopeVerify)
	var ok, refused atomic.Int32
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			switch a := w.nv("POST", "/verify", tok, `{"phoneNumber": "+86`+linePhone+`"}`, nil); a.status {
			case 200:
				ok.Add(1)
			case 401:
				refused.Add(1)
			}
		}()
	}
	wg.Wait()
	if ok.Load() != 1 || refused.Load() != n-1 {
		t.Errorf("token: %d answered, %d refused", ok.Load(), refused.Load())
	}
	v, c := pkce()
	q, _ := w.authorize(authz{client: "basic-client", scope: "openid " + ScopeVerify, challenge: c})
	ok.Store(0)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if a := w.exchange("basic-client", q.Get("code"), v, ""); a.AccessToken != "" {
				ok.Add(1)
			} else if a.Error != "invalid_grant" {
				t.Errorf("exchange: %+v", a)
			}
		}()
	}
	wg.Wait()
	if ok.Load() != 1 {
		t.Errorf("code: %d tokens", ok.Load())
	}
}

func TestScopes(t *testing.T) {
	cases := []struct {
		scopes, allowed string
		ops             []operation
		ok              bool
	}{
		{"openid " + ScopeVerify, "", []operation{opVerify}, true},
		{"openid " + PurposeShare, "", []operation{opShare}, true},
		{"openid " + ScopeVerify + " " + ScopeShare, "", []operation{opVerify, opShare}, true},
		{"openid " + PurposeVerify + " " + ScopeShare, "", []operation{opVerify, opShare}, true},
		{"openid " + PurposeVerify + " " + PurposeShare, "", nil, false},
		{ScopeVerify, "", nil, false},
		{"openid", "", nil, false},
		{"openid " + ScopeShare, ScopeVerify, nil, false},
		{"openid " + ScopeVerify, ScopeVerify, []operation{opVerify}, true},
		{"openid profile " + ScopeVerify, "", nil, false},
	}
	for _, c := range cases {
		ops, err := grantedOps(strings.Fields(c.scopes), strings.Fields(c.allowed))
		if (err == nil) != c.ok || strings.Join(opStrings(ops), ",") != strings.Join(opStrings(c.ops), ",") {
			t.Errorf("%q allowed %q: %v %v", c.scopes, c.allowed, ops, err)
		}
	}
}

func opStrings(ops []operation) []string {
	s := make([]string, len(ops))
	for i, o := range ops {
		s[i] = string(o)
	}
	return s
}

// The access token is opaque to the client; introspection (RFC 7662)
// tells the client that issued it what it stands for, amr included, until
// the one call it serves.
func TestIntrospection(t *testing.T) {
	w := newWorld(t)
	tok := w.token("basic-client", "openid "+ScopeVerify)
	introspect := func(client string) map[string]any {
		t.Helper()
		req, _ := http.NewRequest("POST", w.issuer+"/oauth/introspect", strings.NewReader("token="+tok))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(client, w.clients.secrets[client])
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var m map[string]any
		json.NewDecoder(res.Body).Decode(&m)
		return m
	}
	m := introspect("basic-client")
	if m["active"] != true || fmt.Sprint(m["amr"]) != "[nba]" || m["client_id"] != "basic-client" || m["scope"] != "openid "+ScopeVerify {
		t.Errorf("introspection: %v", m)
	}
	if m := introspect("verify-only"); m["active"] == true {
		t.Errorf("another client's introspection: %v", m)
	}
	if a := w.nv("POST", "/verify", tok, `{"phoneNumber": "+86`+linePhone+`"}`, nil); a.status != 200 {
		t.Fatalf("verify: %+v", a)
	}
	if m := introspect("basic-client"); m["active"] == true {
		t.Errorf("after its call: %v", m)
	}
}
