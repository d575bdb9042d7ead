package camara

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/numauth/numauth/internal/token"
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
		{"other device's ipport", authz{client: "basic-client", scope: scope, challenge: ch, hint: "ipport:198.51.100.7:4000"}, "access_denied"},
	}
	for _, c := range redirected {
		q, status := w.authorize(c.a)
		if q.Get("error") != c.want || q.Get("code") != "" || q.Get("state") != "st-1" {
			t.Errorf("%s: %d %v, want error=%s with the state", c.name, status, q, c.want)
		}
	}
	// A tel hint of any number, an ipport hint of the request's own
	// address, and a hint of a kind CAMARA does not define are accepted:
	// the network decides which line it is.
	for _, hint := range []string{"tel:+34666666666", "ipport:127.0.0.1:1234", "ipport:127.0.0.1", "sub:1234"} {
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
		{"name in another case", "POST", "/verify", tok, `{"PHONENUMBER": "+8613812345678"}`, nil, 400, "INVALID_ARGUMENT"},
		{"duplicate name", "POST", "/verify", tok, `{"phoneNumber": "+8613812345678", "phoneNumber": "+8613812345679"}`, nil, 400, "INVALID_ARGUMENT"},
		{"trailing bracket", "POST", "/verify", tok, `{"phoneNumber": "+8613812345678"}]`, nil, 400, "INVALID_ARGUMENT"},
		{"two objects", "POST", "/verify", tok, `{"phoneNumber": "+8613812345678"}{}`, nil, 400, "INVALID_ARGUMENT"},
		{"HEAD share", "HEAD", "/device-phone-number", tok, "", nil, 405, ""},
	}
	for _, c := range cases {
		a := w.nv(c.method, c.path, c.bearer, c.body, c.header)
		if c.method == "HEAD" { // no body to read
			if a.status != c.status {
				t.Errorf("%s: %+v, want %d", c.name, a, c.status)
			}
			continue
		}
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
		_, m := w.introspect(tok, url.Values{}, client)
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

func TestAssertionAlgorithmIsTheKeys(t *testing.T) {
	w := newWorld(t)
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	w.clients.m["rsa-client"] = ClientInfo{ID: "rsa-client", AccountID: "acct-jwt", RedirectURIs: []string{redirectURI}, AuthMethod: MethodPrivateKeyJWT, Active: true,
		Keys: []jose.JSONWebKey{{Key: &rk.PublicKey, KeyID: "r1", Algorithm: "RS256", Use: "sig"}}}
	sign := func(alg jose.SignatureAlgorithm) string {
		now := time.Now()
		sig, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: rk}, (&jose.SignerOptions{}).WithHeader("kid", "r1"))
		if err != nil {
			t.Fatal(err)
		}
		s, err := jwt.Signed(sig).Claims(jwt.Claims{Issuer: "rsa-client", Subject: "rsa-client", Audience: jwt.Audience{w.disc.Token},
			Expiry: jwt.NewNumericDate(now.Add(time.Minute)), IssuedAt: jwt.NewNumericDate(now), ID: token.NewID()}).Serialize()
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	for alg, ok := range map[jose.SignatureAlgorithm]bool{jose.RS256: true, jose.PS256: false} {
		v, c := pkce()
		q, _ := w.authorize(authz{client: "rsa-client", scope: "openid " + ScopeVerify, challenge: c})
		a := w.exchange("", q.Get("code"), v, sign(alg))
		if (a.AccessToken != "") != ok || (!ok && a.status != 401) {
			t.Errorf("%s with an RS256 key: %+v", alg, a)
		}
	}
}

// Introspection authenticates the client as the token endpoint does.
func TestIntrospectionClientAuthentication(t *testing.T) {
	w := newWorld(t)
	tok := w.token("jwt-client", "openid "+ScopeVerify)
	post := func(form url.Values, basic bool) (int, map[string]any) {
		t.Helper()
		client := ""
		if basic {
			client = "basic-client"
		}
		return w.introspect(tok, form, client)
	}
	as := w.assertion(func(c *jwt.Claims) { c.Audience = jwt.Audience{w.issuer + "/oauth/introspect"} })
	assertion := url.Values{"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "client_assertion": {as}}
	if st, m := post(assertion, false); st != 200 || m["active"] != true {
		t.Errorf("introspection with an assertion for the introspection endpoint: %d %v", st, m)
	}
	if st, m := post(assertion, false); st != 401 || m["error"] != "invalid_client" {
		t.Errorf("replayed assertion: %d %v", st, m)
	}
	long := w.assertion(func(c *jwt.Claims) { c.Expiry = jwt.NewNumericDate(time.Now().Add(27 * time.Hour)) })
	if st, m := post(url.Values{"client_assertion_type": assertion["client_assertion_type"], "client_assertion": {long}}, false); st != 401 {
		t.Errorf("long-lived assertion: %d %v", st, m)
	}
	if st, m := post(url.Values{"client_id": {"basic-client"}, "client_secret": {"s3cret"}}, false); st != 401 {
		t.Errorf("secret in the body: %d %v", st, m)
	}
	if st, m := post(url.Values{}, true); st != 200 || m["active"] == true {
		t.Errorf("another client: %d %v", st, m)
	}
}

func TestDiscoveryAdvertisesWhatIsServed(t *testing.T) {
	w := newWorld(t)
	res, err := http.Get(w.issuer + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var d map[string]any
	json.NewDecoder(res.Body).Decode(&d)
	for k, want := range map[string]string{
		"response_types_supported":              "[code]",
		"grant_types_supported":                 "[authorization_code]",
		"token_endpoint_auth_methods_supported": "[private_key_jwt client_secret_basic]",
		"code_challenge_methods_supported":      "[S256]",
	} {
		if got := fmt.Sprint(d[k]); got != want {
			t.Errorf("%s: %s, want %s", k, got, want)
		}
	}
	for _, k := range []string{"device_authorization_endpoint", "end_session_endpoint", "userinfo_endpoint"} {
		if d[k] != nil && d[k] != "" {
			t.Errorf("%s advertised: %v", k, d[k])
		}
		// and not served either
	}
	for _, p := range []string{"/device_authorization", "/end_session", "/userinfo"} {
		r, err := http.Post(w.issuer+p, "application/x-www-form-urlencoded", strings.NewReader("scope=openid"))
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
		if r.StatusCode != 404 {
			t.Errorf("%s: %d, want 404", p, r.StatusCode)
		}
	}
}

// Authorizations cost carrier calls: they are bounded per source address.
func TestAuthorizeIsThrottledPerSource(t *testing.T) {
	w := newWorld(t, func(c *Config) { c.AuthorizePerSource = 2 })
	_, ch := pkce()
	granted, refused := 0, 0
	for range 10 {
		q, _ := w.authorize(authz{client: "basic-client", scope: "openid " + ScopeVerify, challenge: ch})
		switch {
		case q.Get("code") != "":
			granted++
		case q.Get("error") == "temporarily_unavailable":
			refused++
		default:
			t.Errorf("authorize: %v", q)
		}
	}
	// Ten requests span at most two one-second windows.
	if granted > 4 || refused < 6 {
		t.Errorf("%d granted, %d refused", granted, refused)
	}
}

// introspect posts tok to the introspection endpoint with form, as client
// with its secret (client_secret_basic) unless client is "".
func (w *world) introspect(tok string, form url.Values, client string) (int, map[string]any) {
	w.t.Helper()
	form.Set("token", tok)
	req, _ := http.NewRequest("POST", w.issuer+"/oauth/introspect", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if client != "" {
		req.SetBasicAuth(client, w.clients.secrets[client])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		w.t.Fatal(err)
	}
	defer res.Body.Close()
	var m map[string]any
	json.NewDecoder(res.Body).Decode(&m)
	return res.StatusCode, m
}
