package operator

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/go-jose/go-jose/v4"
	"golang.org/x/oauth2"
)

const (
	phoneA      = "+8613800138000" // the line of 127.0.0.1
	phoneB      = "+447700900123"  // the line of 127.0.0.2
	unknownAddr = "127.0.0.3"      // no line: Wi-Fi
	redirectURI = "https://rp.example/callback"

	scopeVerify = "number-verification:verify"
	scopeShare  = "number-verification:device-phone-number:read"
)

// TestOperator runs the operator's behaviour, area by area, on one operator; the subtests
// that change its state put it back. The key rotation runs last.
func TestOperator(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{})
	for _, area := range []struct {
		name string
		run  func(*testing.T, *fixture)
	}{
		{"Discovery", testDiscovery},
		{"Authorization", testAuthorization},
		{"TokenExchange", testTokenExchange},
		{"NumberVerification", testNumberVerification},
		{"ReusableAccessToken", testReusableAccessToken},
		{"CallLog", testCallLog},
		{"AdminAPI", testAdminAPI},
		{"Faults", testFaults},
		{"RotateKeys", testRotateKeys},
	} {
		if !t.Run(area.name, func(t *testing.T) { area.run(t, f) }) {
			return
		}
	}
}

func testReusableAccessToken(t *testing.T, f *fixture) {
	tok := f.token(t, "127.0.0.1")
	for i := range 3 {
		if a := f.nv(t, "verify", tok, "", `{"phoneNumber":"`+phoneA+`"}`); a.status != 200 {
			t.Fatalf("call %d: %d %s", i+1, a.status, a.raw)
		}
	}
}

// TestAccessTokenLifetime runs operators with single-use and short-lived access tokens.
func TestAccessTokenLifetime(t *testing.T) {
	t.Parallel()
	verify := `{"phoneNumber":"` + phoneA + `"}`
	t.Run("single use", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, Options{SingleUse: true})
		tok := f.token(t, "127.0.0.1")
		if a := f.nv(t, "verify", tok, "", verify); a.status != 200 {
			t.Fatalf("first call: %d %s", a.status, a.raw)
		}
		wantErrorInfo(t, f.nv(t, "verify", tok, "", verify), 401, "UNAUTHENTICATED")
		if a := f.nv(t, "device-phone-number", f.token(t, "127.0.0.1"), "", ""); a.status != 200 {
			t.Fatalf("a fresh token: %d %s", a.status, a.raw)
		}
		// Concurrent calls with one token: exactly one is answered.
		tok = f.token(t, "127.0.0.1")
		statuses := make(chan int, 10)
		for range cap(statuses) {
			go func() {
				req, _ := http.NewRequest(http.MethodGet, f.srv.APIRoot+"/number-verification/v2/device-phone-number", nil)
				req.Header.Set("Authorization", "Bearer "+tok)
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					statuses <- 0
					return
				}
				res.Body.Close()
				statuses <- res.StatusCode
			}()
		}
		counts := map[int]int{}
		for range cap(statuses) {
			counts[<-statuses]++
		}
		if counts[200] != 1 || counts[401] != cap(statuses)-1 {
			t.Fatalf("statuses of %d concurrent calls with one token: %v, want one 200", cap(statuses), counts)
		}
	})
	t.Run("expired", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, Options{AccessTokenTTL: 2 * time.Second})
		r := f.code(t, "127.0.0.1", &f.basic)
		tok, err := f.basic.Exchange(context.Background(), r.query.Get("code"), oauth2.VerifierOption(r.verifier))
		if err != nil {
			t.Fatal(err)
		}
		if tok.ExpiresIn != 2 {
			t.Errorf("expires_in %d, want 2", tok.ExpiresIn)
		}
		if a := f.nv(t, "verify", tok.AccessToken, "", verify); a.status != 200 {
			t.Fatalf("fresh token: %d %s", a.status, a.raw)
		}
		time.Sleep(2100 * time.Millisecond)
		wantErrorInfo(t, f.nv(t, "verify", tok.AccessToken, "", verify), 401, "UNAUTHENTICATED")
	})
}

// fixture is one operator with two relying parties: rp-basic (client_secret_basic) and rp-jwt
// (private_key_jwt, an ES256 key), both on golang.org/x/oauth2 and coreos/go-oidc.
type fixture struct {
	srv      *Server
	provider *oidc.Provider
	basic    oauth2.Config
	jwt      oauth2.Config
	key      *ecdsa.PrivateKey
	kid      string
}

func newFixture(t *testing.T, o Options) *fixture {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{key: key, kid: "rp-jwt-1"}
	jwks, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{
		Key: key.Public(), KeyID: f.kid, Algorithm: string(jose.ES256), Use: "sig",
	}}})
	if err != nil {
		t.Fatal(err)
	}
	o.Clients = []Client{
		{ID: "rp-basic", Secret: "rp-basic-secret", RedirectURIs: []string{redirectURI}},
		{ID: "rp-jwt", JWKS: jwks, RedirectURIs: []string{redirectURI}},
	}
	if o.Lines == nil {
		o.Lines = map[string]string{"127.0.0.1": phoneA, "127.0.0.2": phoneB}
	}
	f.srv = Start(t, o)
	f.provider, err = oidc.NewProvider(context.Background(), f.srv.Issuer)
	if err != nil {
		t.Fatal(err)
	}
	scopes := []string{oidc.ScopeOpenID, scopeVerify, scopeShare}
	f.basic = oauth2.Config{
		ClientID: "rp-basic", ClientSecret: "rp-basic-secret", RedirectURL: redirectURI, Scopes: scopes,
		Endpoint: f.provider.Endpoint(),
	}
	f.basic.Endpoint.AuthStyle = oauth2.AuthStyleInHeader
	f.jwt = oauth2.Config{ClientID: "rp-jwt", RedirectURL: redirectURI, Scopes: scopes, Endpoint: f.provider.Endpoint()}
	f.jwt.Endpoint.AuthStyle = oauth2.AuthStyleInParams
	return f
}

// browser is the phone's browser on the line of addr: it dials from that source address and
// does not follow redirects.
func browser(t *testing.T, addr string) *http.Client {
	t.Helper()
	dialer := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(addr)}, Timeout: 5 * time.Second}
	probe, err := dialer.Dial("tcp", "127.0.0.1:1")
	if probe != nil {
		probe.Close()
	}
	var opErr *net.OpError
	if err != nil && errors.As(err, &opErr) && opErr.Op == "dial" && strings.Contains(err.Error(), "assign") {
		t.Skipf("cannot dial from %s on this system: %v", addr, err)
	}
	return &http.Client{
		Transport:     &http.Transport{DialContext: dialer.DialContext, DisableKeepAlives: true},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       10 * time.Second,
	}
}

// authResult is the authorization endpoint's answer.
type authResult struct {
	res      *http.Response
	body     string
	query    url.Values // of the Location, when redirected
	verifier string
	nonce    string
}

// authorize sends the browser from addr to the authorization endpoint for cfg's client,
// with PKCE S256, a nonce and prompt=none; edit changes the query before it is sent.
func (f *fixture) authorize(t *testing.T, addr string, cfg *oauth2.Config, edit func(url.Values)) authResult {
	t.Helper()
	r := authResult{verifier: oauth2.GenerateVerifier(), nonce: rand.Text()}
	u, err := url.Parse(cfg.AuthCodeURL("state-1", oauth2.S256ChallengeOption(r.verifier),
		oidc.Nonce(r.nonce), oauth2.SetAuthURLParam("prompt", "none")))
	if err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		q := u.Query()
		edit(q)
		u.RawQuery = q.Encode()
	}
	r.res, err = browser(t, addr).Get(u.String())
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(r.res.Body)
	r.res.Body.Close()
	r.body = string(b)
	if loc := r.res.Header.Get("Location"); loc != "" {
		lu, err := url.Parse(loc)
		if err != nil {
			t.Fatal(err)
		}
		if got := lu.Scheme + "://" + lu.Host + lu.Path; got != redirectURI {
			t.Fatalf("redirected to %s, want %s", loc, redirectURI)
		}
		r.query = lu.Query()
	}
	return r
}

// code runs the authorization for cfg's client from addr and returns the code.
func (f *fixture) code(t *testing.T, addr string, cfg *oauth2.Config, scopes ...string) authResult {
	t.Helper()
	r := f.authorize(t, addr, cfg, func(q url.Values) {
		if scopes != nil {
			q.Set("scope", strings.Join(scopes, " "))
		}
	})
	if r.query.Get("code") == "" {
		t.Fatalf("authorization from %s: %s %v %s, want a code", addr, r.res.Status, r.query, r.body)
	}
	return r
}

// assertion is a private_key_jwt client assertion of rp-jwt; edit changes its claims.
func (f *fixture) assertion(t *testing.T, key *ecdsa.PrivateKey, edit func(map[string]any)) string {
	t.Helper()
	now := time.Now()
	claims := map[string]any{
		"iss": "rp-jwt", "sub": "rp-jwt", "aud": f.srv.Issuer, "jti": rand.Text(),
		"iat": now.Unix(), "exp": now.Add(time.Minute).Unix(),
	}
	if edit != nil {
		edit(claims)
	}
	signer, err := jose.NewSigner(jose.SigningKey{
		Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: key, KeyID: f.kid},
	}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	s, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (f *fixture) exchangeJWT(r authResult, assertion string) (*oauth2.Token, error) {
	return f.jwt.Exchange(context.Background(), r.query.Get("code"), oauth2.VerifierOption(r.verifier),
		oauth2.SetAuthURLParam("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
		oauth2.SetAuthURLParam("client_assertion", assertion))
}

// token runs the whole flow for rp-basic from addr and returns the access token.
func (f *fixture) token(t *testing.T, addr string, scopes ...string) string {
	t.Helper()
	r := f.code(t, addr, &f.basic, scopes...)
	tok, err := f.basic.Exchange(context.Background(), r.query.Get("code"), oauth2.VerifierOption(r.verifier))
	if err != nil {
		t.Fatal(err)
	}
	return tok.AccessToken
}

// nvAnswer is an answer of the NV API.
type nvAnswer struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

// nv calls the NV API: op "verify" posts body, "device-phone-number" gets.
func (f *fixture) nv(t *testing.T, op, token, correlator, body string) nvAnswer {
	t.Helper()
	method, rd := http.MethodGet, io.Reader(nil)
	if op == "verify" {
		method, rd = http.MethodPost, strings.NewReader(body)
	}
	req, err := http.NewRequest(method, f.srv.APIRoot+"/number-verification/v2/"+op, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if correlator != "" {
		req.Header.Set("x-correlator", correlator)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	a := nvAnswer{status: res.StatusCode, header: res.Header, raw: string(raw)}
	if err := json.Unmarshal(raw, &a.body); err != nil {
		t.Fatalf("%s %s: %s: body %q is not a JSON object", method, op, res.Status, raw)
	}
	return a
}

// wantErrorInfo checks a CAMARA ErrorInfo answer.
func wantErrorInfo(t *testing.T, a nvAnswer, status int, code string) {
	t.Helper()
	if a.status != status || a.body["code"] != code || a.body["status"] != float64(status) || a.body["message"] == "" {
		t.Fatalf("got %d %s, want %d ErrorInfo {status: %d, code: %s, message}", a.status, a.raw, status, status, code)
	}
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func testDiscovery(t *testing.T, f *fixture) {
	var meta struct {
		Issuer                 string   `json:"issuer"`
		AuthorizationEndpoint  string   `json:"authorization_endpoint"`
		TokenEndpoint          string   `json:"token_endpoint"`
		JWKSURI                string   `json:"jwks_uri"`
		ResponseTypes          []string `json:"response_types_supported"`
		CodeChallengeMethods   []string `json:"code_challenge_methods_supported"`
		Scopes                 []string `json:"scopes_supported"`
		TokenEndpointAuth      []string `json:"token_endpoint_auth_methods_supported"`
		IDTokenSigningAlgs     []string `json:"id_token_signing_alg_values_supported"`
		AuthorizationResponseI bool     `json:"authorization_response_iss_parameter_supported"`
	}
	if err := f.provider.Claims(&meta); err != nil {
		t.Fatal(err)
	}
	if meta.Issuer != f.srv.Issuer || !strings.HasPrefix(meta.AuthorizationEndpoint, f.srv.Issuer+"/") ||
		!strings.HasPrefix(meta.TokenEndpoint, f.srv.Issuer+"/") || !strings.HasPrefix(meta.JWKSURI, f.srv.Issuer+"/") {
		t.Errorf("endpoints %+v are not under the issuer %s", meta, f.srv.Issuer)
	}
	if !slices.Equal(meta.ResponseTypes, []string{"code"}) || !slices.Equal(meta.CodeChallengeMethods, []string{"S256"}) {
		t.Errorf("response types %v, PKCE methods %v: want only code and S256", meta.ResponseTypes, meta.CodeChallengeMethods)
	}
	for _, s := range []string{"openid", scopeVerify, scopeShare} {
		if !slices.Contains(meta.Scopes, s) {
			t.Errorf("scopes_supported %v lacks %s", meta.Scopes, s)
		}
	}
	slices.Sort(meta.TokenEndpointAuth)
	if !slices.Equal(meta.TokenEndpointAuth, []string{"client_secret_basic", "private_key_jwt"}) {
		t.Errorf("token_endpoint_auth_methods_supported %v", meta.TokenEndpointAuth)
	}
	if !slices.Contains(meta.IDTokenSigningAlgs, "RS256") {
		t.Errorf("id_token_signing_alg_values_supported %v lacks RS256", meta.IDTokenSigningAlgs)
	}
	keys := jwks(t, f)
	if len(keys.Keys) != 1 || keys.Keys[0].Algorithm != "RS256" || keys.Keys[0].KeyID == "" || !keys.Keys[0].IsPublic() {
		t.Errorf("JWKS %+v: want one public RS256 key with a kid", keys)
	}
}

func jwks(t *testing.T, f *fixture) jose.JSONWebKeySet {
	t.Helper()
	var meta struct {
		JWKSURI string `json:"jwks_uri"`
	}
	if err := f.provider.Claims(&meta); err != nil {
		t.Fatal(err)
	}
	res, err := http.Get(meta.JWKSURI)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var set jose.JSONWebKeySet
	if err := json.NewDecoder(res.Body).Decode(&set); err != nil {
		t.Fatal(err)
	}
	return set
}

func testAuthorization(t *testing.T, f *fixture) {
	cases := []struct {
		name      string
		from      string
		edit      func(url.Values)
		wantError string // "": a code
	}{
		{name: "known line", from: "127.0.0.1"},
		{name: "another known line", from: "127.0.0.2"},
		{name: "unknown line", from: unknownAddr, wantError: "access_denied"},
		{name: "login_hint of the line", from: "127.0.0.1", edit: func(q url.Values) { q.Set("login_hint", "tel:"+phoneA) }},
		{name: "login_hint of another number", from: "127.0.0.1", edit: func(q url.Values) { q.Set("login_hint", "tel:"+phoneB) }, wantError: "access_denied"},
		{name: "login_hint on an unknown line", from: unknownAddr, edit: func(q url.Values) { q.Set("login_hint", "tel:"+phoneA) }, wantError: "access_denied"},
		{name: "prompt implied", from: "127.0.0.1", edit: func(q url.Values) { q.Del("prompt") }},
		{name: "prompt=login: the network authenticates afresh", from: "127.0.0.1", edit: func(q url.Values) { q.Set("prompt", "login") }},
		{name: "max_age=0", from: "127.0.0.1", edit: func(q url.Values) { q.Set("max_age", "0") }},
		{name: "prompt=consent: nobody to ask", from: "127.0.0.1", edit: func(q url.Values) { q.Set("prompt", "consent") }, wantError: "consent_required"},
		{name: "prompt=login on an unknown line", from: unknownAddr, edit: func(q url.Values) { q.Set("prompt", "login") }, wantError: "access_denied"},
		{name: "no PKCE", from: "127.0.0.1", edit: func(q url.Values) { q.Del("code_challenge"); q.Del("code_challenge_method") }, wantError: "invalid_request"},
		{name: "PKCE plain", from: "127.0.0.1", edit: func(q url.Values) { q.Set("code_challenge_method", "plain") }, wantError: "invalid_request"},
		{name: "no openid scope", from: "127.0.0.1", edit: func(q url.Values) { q.Set("scope", scopeVerify) }, wantError: "invalid_request"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := f.authorize(t, c.from, &f.basic, c.edit)
			if r.res.StatusCode != http.StatusSeeOther {
				t.Fatalf("%s %s: want a redirect", r.res.Status, r.body)
			}
			wantFramable(t, r.res)
			if got := r.query.Get("state"); got != "state-1" {
				t.Errorf("state %q, want state-1", got)
			}
			if got := r.query.Get("iss"); got != f.srv.Issuer {
				t.Errorf("iss %q, want %s", got, f.srv.Issuer)
			}
			if c.wantError == "" && r.query.Get("code") == "" || c.wantError != "" && r.query.Get("error") != c.wantError {
				t.Fatalf("redirect query %v, want error %q (none: a code)", r.query, c.wantError)
			}
		})
	}

	t.Run("unregistered redirect_uri is not redirected to", func(t *testing.T) {
		r := f.authorize(t, "127.0.0.1", &f.basic, func(q url.Values) { q.Set("redirect_uri", "https://evil.example/cb") })
		if r.res.StatusCode != http.StatusBadRequest || r.res.Header.Get("Location") != "" || !strings.Contains(r.body, "redirect_uri") {
			t.Fatalf("%s %v %s: want 400 without a redirect", r.res.Status, r.res.Header, r.body)
		}
	})
	t.Run("a browser's session cookie does not authenticate", func(t *testing.T) {
		// Only the connection authenticates: a session cookie, even a live one, counts for nothing.
		u := f.basic.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()), oauth2.SetAuthURLParam("prompt", "none"))
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		req.Header.Set("Cookie", "_session=forged; _session.sig=forged")
		res, err := browser(t, unknownAddr).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		loc, _ := url.Parse(res.Header.Get("Location"))
		if loc.Query().Get("error") != "access_denied" {
			t.Fatalf("Location %s, want access_denied", res.Header.Get("Location"))
		}
	})
	t.Run("SetDenyError", func(t *testing.T) {
		f.srv.SetDenyError(t, "login_required")
		defer f.srv.SetDenyError(t, "access_denied")
		if r := f.authorize(t, unknownAddr, &f.basic, nil); r.query.Get("error") != "login_required" {
			t.Fatalf("query %v, want login_required", r.query)
		}
		// A mismatched login_hint stays access_denied: the line is known, the number is not its.
		if r := f.authorize(t, "127.0.0.1", &f.basic, func(q url.Values) { q.Set("login_hint", "tel:"+phoneB) }); r.query.Get("error") != "access_denied" {
			t.Fatalf("query %v, want access_denied", r.query)
		}
	})
	t.Run("SetLine", func(t *testing.T) {
		f.srv.SetLine(t, unknownAddr, "+8613900139000")
		tok := f.token(t, unknownAddr)
		if a := f.nv(t, "device-phone-number", tok, "", ""); a.body["devicePhoneNumber"] != "+8613900139000" {
			t.Fatalf("device-phone-number %d %s", a.status, a.raw)
		}
		f.srv.SetLine(t, unknownAddr, "")
		if r := f.authorize(t, unknownAddr, &f.basic, nil); r.query.Get("error") != "access_denied" {
			t.Fatalf("after removing the line: query %v, want access_denied", r.query)
		}
	})
}

// wantFramable checks that an authorization answer can run in a hidden iframe and leaves no
// state in the browser.
func wantFramable(t *testing.T, res *http.Response) {
	t.Helper()
	if v := res.Header.Get("X-Frame-Options"); v != "" {
		t.Errorf("X-Frame-Options %q", v)
	}
	if v := res.Header.Get("Content-Security-Policy"); strings.Contains(v, "frame-ancestors") {
		t.Errorf("Content-Security-Policy %q", v)
	}
	if v := res.Header.Values("Set-Cookie"); len(v) > 0 {
		t.Errorf("Set-Cookie %q: the flow must need no cookies", v)
	}
}

func testTokenExchange(t *testing.T, f *fixture) {
	ctx := context.Background()
	verifier := f.provider.Verifier(&oidc.Config{ClientID: "rp-basic"})

	checkIDToken := func(t *testing.T, tok *oauth2.Token, v *oidc.IDTokenVerifier, nonce string) {
		t.Helper()
		raw, _ := tok.Extra("id_token").(string)
		idt, err := v.Verify(ctx, raw)
		if err != nil {
			t.Fatalf("ID token: %v", err)
		}
		var claims struct {
			AMR []string `json:"amr"`
		}
		if err := idt.Claims(&claims); err != nil {
			t.Fatal(err)
		}
		if idt.Nonce != nonce || !slices.Equal(claims.AMR, []string{"nba"}) {
			t.Errorf("ID token nonce %q amr %v, want %q and [nba]", idt.Nonce, claims.AMR, nonce)
		}
		if idt.Subject == "" || strings.Contains(idt.Subject, "13800138000") || strings.Contains(idt.Subject, sha256Hex(phoneA)[:16]) {
			t.Errorf("sub %q is not pseudonymous", idt.Subject)
		}
		if tok.AccessToken == "" || tok.TokenType != "Bearer" || tok.ExpiresIn <= 0 || tok.ExpiresIn > 300 {
			t.Errorf("token %+v", tok)
		}
	}

	t.Run("client_secret_basic", func(t *testing.T) {
		r := f.code(t, "127.0.0.1", &f.basic)
		tok, err := f.basic.Exchange(ctx, r.query.Get("code"), oauth2.VerifierOption(r.verifier))
		if err != nil {
			t.Fatal(err)
		}
		checkIDToken(t, tok, verifier, r.nonce)
		if _, err := f.basic.Exchange(ctx, r.query.Get("code"), oauth2.VerifierOption(r.verifier)); retrieveError(err) != "invalid_grant" {
			t.Errorf("the code's second use: %v, want invalid_grant", err)
		}
	})
	t.Run("private_key_jwt", func(t *testing.T) {
		r := f.code(t, "127.0.0.1", &f.jwt)
		tok, err := f.exchangeJWT(r, f.assertion(t, f.key, nil))
		if err != nil {
			t.Fatal(err)
		}
		checkIDToken(t, tok, f.provider.Verifier(&oidc.Config{ClientID: "rp-jwt"}), r.nonce)
	})
	t.Run("same sub for the same line", func(t *testing.T) {
		sub := func() string {
			r := f.code(t, "127.0.0.1", &f.basic)
			tok, err := f.basic.Exchange(ctx, r.query.Get("code"), oauth2.VerifierOption(r.verifier))
			if err != nil {
				t.Fatal(err)
			}
			idt, err := verifier.Verify(ctx, tok.Extra("id_token").(string))
			if err != nil {
				t.Fatal(err)
			}
			return idt.Subject
		}
		if a, b := sub(), sub(); a != b {
			t.Errorf("sub %q then %q for one line", a, b)
		}
	})

	other, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	replayed := f.assertion(t, f.key, nil)
	if _, err := f.exchangeJWT(f.code(t, "127.0.0.1", &f.jwt), replayed); err != nil {
		t.Fatal(err)
	}
	bad := []struct {
		name      string
		assertion string
		want      string
	}{
		{"signed by another key", f.assertion(t, other, nil), "invalid_client"},
		{"wrong audience", f.assertion(t, f.key, func(c map[string]any) { c["aud"] = "https://other.example" }), "invalid_client"},
		{"expired", f.assertion(t, f.key, func(c map[string]any) { c["exp"] = time.Now().Add(-time.Minute).Unix() }), "invalid_client"},
		{"no jti", f.assertion(t, f.key, func(c map[string]any) { delete(c, "jti") }), "invalid_client"},
		{"iss not the client", f.assertion(t, f.key, func(c map[string]any) { c["iss"] = "rp-basic" }), "invalid_client"},
		{"replayed jti", replayed, "invalid_client"},
		// oidc-provider tells a malformed assertion from a bad one.
		{"not a JWT", "not-a-jwt", "invalid_request"},
	}
	for _, c := range bad {
		t.Run("assertion "+c.name, func(t *testing.T) {
			if _, err := f.exchangeJWT(f.code(t, "127.0.0.1", &f.jwt), c.assertion); retrieveError(err) != c.want {
				t.Fatalf("exchange: %v, want %s", err, c.want)
			}
		})
	}
	t.Run("wrong client secret", func(t *testing.T) {
		cfg := f.basic
		cfg.ClientSecret = "wrong"
		r := f.code(t, "127.0.0.1", &f.basic)
		if _, err := cfg.Exchange(ctx, r.query.Get("code"), oauth2.VerifierOption(r.verifier)); retrieveError(err) != "invalid_client" {
			t.Fatalf("exchange: %v, want invalid_client", err)
		}
	})
	t.Run("wrong PKCE verifier", func(t *testing.T) {
		r := f.code(t, "127.0.0.1", &f.basic)
		if _, err := f.basic.Exchange(ctx, r.query.Get("code"), oauth2.VerifierOption(oauth2.GenerateVerifier())); retrieveError(err) != "invalid_grant" {
			t.Fatalf("exchange: %v, want invalid_grant", err)
		}
	})
	t.Run("no PKCE verifier", func(t *testing.T) {
		r := f.code(t, "127.0.0.1", &f.basic)
		if _, err := f.basic.Exchange(ctx, r.query.Get("code")); retrieveError(err) != "invalid_grant" {
			t.Fatalf("exchange: %v, want invalid_grant", err)
		}
	})
}

func retrieveError(err error) string {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		return re.ErrorCode
	}
	return ""
}

func testNumberVerification(t *testing.T, f *fixture) {
	both := f.token(t, "127.0.0.1")
	onlyVerify := f.token(t, "127.0.0.1", "openid", scopeVerify)
	onlyShare := f.token(t, "127.0.0.1", "openid", scopeShare)
	lineB := f.token(t, "127.0.0.2")
	r := f.code(t, "127.0.0.1", &f.basic)
	tok, err := f.basic.Exchange(context.Background(), r.query.Get("code"), oauth2.VerifierOption(r.verifier))
	if err != nil {
		t.Fatal(err)
	}
	idToken := tok.Extra("id_token").(string)

	cases := []struct {
		name   string
		op     string
		token  string
		body   string
		want   map[string]any // a 200 body, or nil
		status int            // for an ErrorInfo answer
		code   string
	}{
		{name: "verify PASS", op: "verify", token: both, body: `{"phoneNumber":"` + phoneA + `"}`, want: map[string]any{"devicePhoneNumberVerified": true}},
		{name: "verify REJECT", op: "verify", token: both, body: `{"phoneNumber":"` + phoneB + `"}`, want: map[string]any{"devicePhoneNumberVerified": false}},
		{name: "verify hashed PASS", op: "verify", token: both, body: `{"hashedPhoneNumber":"` + sha256Hex(phoneA) + `"}`, want: map[string]any{"devicePhoneNumberVerified": true}},
		{name: "verify hashed upper case PASS", op: "verify", token: both, body: `{"hashedPhoneNumber":"` + strings.ToUpper(sha256Hex(phoneA)) + `"}`, want: map[string]any{"devicePhoneNumberVerified": true}},
		{name: "verify hashed REJECT", op: "verify", token: both, body: `{"hashedPhoneNumber":"` + sha256Hex(phoneB) + `"}`, want: map[string]any{"devicePhoneNumberVerified": false}},
		{name: "verify hashed without plus REJECT", op: "verify", token: both, body: `{"hashedPhoneNumber":"` + sha256Hex(phoneA[1:]) + `"}`, want: map[string]any{"devicePhoneNumberVerified": false}},
		{name: "verify on line B", op: "verify", token: lineB, body: `{"phoneNumber":"` + phoneB + `"}`, want: map[string]any{"devicePhoneNumberVerified": true}},
		{name: "device-phone-number", op: "device-phone-number", token: both, want: map[string]any{"devicePhoneNumber": phoneA}},
		{name: "device-phone-number on line B", op: "device-phone-number", token: lineB, want: map[string]any{"devicePhoneNumber": phoneB}},
		{name: "both numbers", op: "verify", token: both, body: `{"phoneNumber":"` + phoneA + `","hashedPhoneNumber":"` + sha256Hex(phoneA) + `"}`, status: 400, code: "INVALID_ARGUMENT"},
		{name: "no number", op: "verify", token: both, body: `{}`, status: 400, code: "INVALID_ARGUMENT"},
		{name: "not E.164", op: "verify", token: both, body: `{"phoneNumber":"13800138000"}`, status: 400, code: "INVALID_ARGUMENT"},
		{name: "hash too short", op: "verify", token: both, body: `{"hashedPhoneNumber":"abc"}`, status: 400, code: "INVALID_ARGUMENT"},
		{name: "extra property", op: "verify", token: both, body: `{"phoneNumber":"` + phoneA + `","x":1}`, status: 400, code: "INVALID_ARGUMENT"},
		{name: "not JSON", op: "verify", token: both, body: `phoneNumber=` + phoneA, status: 400, code: "INVALID_ARGUMENT"},
		{name: "no token", op: "verify", body: `{"phoneNumber":"` + phoneA + `"}`, status: 401, code: "UNAUTHENTICATED"},
		{name: "unknown token", op: "device-phone-number", token: "not-a-token", status: 401, code: "UNAUTHENTICATED"},
		{name: "ID token as access token", op: "device-phone-number", token: idToken, status: 401, code: "UNAUTHENTICATED"},
		{name: "verify without its scope", op: "verify", token: onlyShare, body: `{"phoneNumber":"` + phoneA + `"}`, status: 403, code: "PERMISSION_DENIED"},
		{name: "device-phone-number without its scope", op: "device-phone-number", token: onlyVerify, status: 403, code: "PERMISSION_DENIED"},
		{name: "verify with its scope only", op: "verify", token: onlyVerify, body: `{"phoneNumber":"` + phoneA + `"}`, want: map[string]any{"devicePhoneNumberVerified": true}},
		{name: "device-phone-number with its scope only", op: "device-phone-number", token: onlyShare, want: map[string]any{"devicePhoneNumber": phoneA}},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			correlator := "b4333c46-49c0-4f62-80d7-" + strings.Repeat("0", 11) + string(rune('a'+i%26))
			a := f.nv(t, c.op, c.token, correlator, c.body)
			if got := a.header.Get("x-correlator"); got != correlator {
				t.Errorf("x-correlator %q, want %q", got, correlator)
			}
			if ct := a.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("Content-Type %q", ct)
			}
			if c.want == nil {
				wantErrorInfo(t, a, c.status, c.code)
				return
			}
			if a.status != http.StatusOK || len(a.body) != len(c.want) {
				t.Fatalf("got %d %s, want 200 %v", a.status, a.raw, c.want)
			}
			for k, v := range c.want {
				if a.body[k] != v {
					t.Fatalf("got %d %s, want 200 %v", a.status, a.raw, c.want)
				}
			}
		})
	}
	t.Run("invalid x-correlator", func(t *testing.T) {
		a := f.nv(t, "device-phone-number", both, "has space", "")
		wantErrorInfo(t, a, 400, "INVALID_ARGUMENT")
		if a.header.Get("x-correlator") != "" {
			t.Errorf("an invalid x-correlator was echoed")
		}
	})
	t.Run("no x-correlator", func(t *testing.T) {
		if a := f.nv(t, "device-phone-number", both, "", ""); a.status != 200 || a.header.Get("x-correlator") != "" {
			t.Fatalf("got %d %v %s", a.status, a.header, a.raw)
		}
	})
	t.Run("not network-authenticated", func(t *testing.T) {
		f.srv.SetNetworkAuthenticated(t, false)
		for _, op := range []string{"verify", "device-phone-number"} {
			a := f.nv(t, op, both, "c-1", `{"phoneNumber":"`+phoneA+`"}`)
			wantErrorInfo(t, a, 403, "NUMBER_VERIFICATION.USER_NOT_AUTHENTICATED_BY_MOBILE_NETWORK")
		}
		f.srv.SetNetworkAuthenticated(t, true)
		if a := f.nv(t, "device-phone-number", both, "", ""); a.status != 200 {
			t.Fatalf("after SetNetworkAuthenticated(true): %d %s", a.status, a.raw)
		}
	})
}

func testFaults(t *testing.T, f *fixture) {
	t.Cleanup(func() { f.srv.ClearFaults(t) })
	tok := f.token(t, "127.0.0.1")

	// call makes one request to an endpoint and returns its status and body; a normal answer
	// is 200 (303 for authorize).
	call := func(t *testing.T, endpoint string) (int, string, http.Header) {
		t.Helper()
		var req *http.Request
		switch endpoint {
		case "discovery":
			req, _ = http.NewRequest(http.MethodGet, f.srv.Issuer+"/.well-known/openid-configuration", nil)
		case "jwks":
			req, _ = http.NewRequest(http.MethodGet, f.srv.Issuer+"/jwks", nil)
		case "authorize":
			u := f.basic.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()), oauth2.SetAuthURLParam("prompt", "none"))
			req, _ = http.NewRequest(http.MethodGet, u, nil)
		case "token":
			r := f.code(t, "127.0.0.1", &f.basic)
			form := url.Values{"grant_type": {"authorization_code"}, "code": {r.query.Get("code")},
				"redirect_uri": {redirectURI}, "code_verifier": {r.verifier}}
			req, _ = http.NewRequest(http.MethodPost, f.provider.Endpoint().TokenURL, strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.SetBasicAuth("rp-basic", "rp-basic-secret")
		case "verify":
			req, _ = http.NewRequest(http.MethodPost, f.srv.APIRoot+"/number-verification/v2/verify", strings.NewReader(`{"phoneNumber":"`+phoneA+`"}`))
			req.Header.Set("Authorization", "Bearer "+tok)
		case "device-phone-number":
			req, _ = http.NewRequest(http.MethodGet, f.srv.APIRoot+"/number-verification/v2/device-phone-number", nil)
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		req.Header.Set("x-correlator", "fault-1")
		res, err := browser(t, "127.0.0.1").Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b), res.Header
	}
	normal := func(endpoint string) int {
		if endpoint == "authorize" {
			return http.StatusSeeOther
		}
		return http.StatusOK
	}

	endpoints := []string{"discovery", "jwks", "authorize", "token", "verify", "device-phone-number"}
	type fault struct {
		status int
		code   string // Fault.Code
		want   string // the body's code
	}
	faults := []fault{{500, "", "INTERNAL"}, {503, "", "UNAVAILABLE"}, {429, "", "TOO_MANY_REQUESTS"}, {429, "QUOTA_EXCEEDED", "QUOTA_EXCEEDED"}}
	for _, endpoint := range endpoints {
		for _, fl := range faults {
			t.Run(endpoint+" "+http.StatusText(fl.status)+" "+fl.code, func(t *testing.T) {
				f.srv.SetFault(t, Fault{Endpoint: endpoint, Status: fl.status, Code: fl.code, Count: 1})
				status, body, header := call(t, endpoint)
				var info struct {
					Status  int    `json:"status"`
					Code    string `json:"code"`
					Message string `json:"message"`
				}
				if err := json.Unmarshal([]byte(body), &info); err != nil || status != fl.status || info.Status != fl.status || info.Code != fl.want || info.Message == "" {
					t.Fatalf("got %d %s, want %d ErrorInfo %s", status, body, fl.status, fl.want)
				}
				if header.Get("x-correlator") != "fault-1" {
					t.Errorf("x-correlator not echoed: %v", header)
				}
				if status, body, _ := call(t, endpoint); status != normal(endpoint) {
					t.Fatalf("after the fault's one call: %d %s", status, body)
				}
			})
		}
	}
	t.Run("token 401 invalid_client", func(t *testing.T) {
		f.srv.SetFault(t, Fault{Endpoint: "token", Status: 401, Count: 1})
		r := f.code(t, "127.0.0.1", &f.basic)
		if _, err := f.basic.Exchange(context.Background(), r.query.Get("code"), oauth2.VerifierOption(r.verifier)); retrieveError(err) != "invalid_client" {
			t.Fatalf("exchange: %v, want invalid_client", err)
		}
		if _, err := f.basic.Exchange(context.Background(), r.query.Get("code"), oauth2.VerifierOption(r.verifier)); err != nil {
			t.Fatalf("the refused exchange did not use the code: %v", err)
		}
	})
	t.Run("delay only", func(t *testing.T) {
		for _, endpoint := range endpoints {
			f.srv.SetFault(t, Fault{Endpoint: endpoint, Delay: 100 * time.Millisecond, Count: 1})
			start := time.Now()
			status, body, _ := call(t, endpoint)
			if elapsed := time.Since(start); status != normal(endpoint) || elapsed < 100*time.Millisecond {
				t.Fatalf("%s: %d %s after %v, want a normal answer after 100ms", endpoint, status, body, elapsed)
			}
		}
	})
	t.Run("delay and status", func(t *testing.T) {
		f.srv.SetFault(t, Fault{Endpoint: "verify", Status: 503, Delay: 100 * time.Millisecond, Count: 1})
		start := time.Now()
		if status, body, _ := call(t, "verify"); status != 503 || time.Since(start) < 100*time.Millisecond {
			t.Fatalf("%d %s after %v", status, body, time.Since(start))
		}
	})
	t.Run("count", func(t *testing.T) {
		f.srv.SetFault(t, Fault{Endpoint: "jwks", Status: 500, Count: 2})
		for i, want := range []int{500, 500, 200} {
			if status, body, _ := call(t, "jwks"); status != want {
				t.Fatalf("call %d: %d %s, want %d", i+1, status, body, want)
			}
		}
	})
	t.Run("until ClearFaults", func(t *testing.T) {
		f.srv.SetFault(t, Fault{Endpoint: "device-phone-number", Status: 503})
		f.srv.SetFault(t, Fault{Endpoint: "discovery", Status: 500})
		for range 3 {
			if status, body, _ := call(t, "device-phone-number"); status != 503 {
				t.Fatalf("%d %s, want 503", status, body)
			}
		}
		f.srv.ClearFaults(t)
		for _, endpoint := range []string{"device-phone-number", "discovery"} {
			if status, body, _ := call(t, endpoint); status != 200 {
				t.Fatalf("%s after ClearFaults: %d %s", endpoint, status, body)
			}
		}
	})
}

func testRotateKeys(t *testing.T, f *fixture) {
	ctx := context.Background()
	before := jwks(t, f)
	r := f.code(t, "127.0.0.1", &f.basic)
	old, err := f.basic.Exchange(ctx, r.query.Get("code"), oauth2.VerifierOption(r.verifier))
	if err != nil {
		t.Fatal(err)
	}
	pending := f.code(t, "127.0.0.1", &f.basic) // a code issued before the rotation

	f.srv.RotateKeys(t)

	after := jwks(t, f)
	if len(after.Keys) != 1 || after.Keys[0].KeyID == before.Keys[0].KeyID || after.Keys[0].Algorithm != "RS256" {
		t.Fatalf("JWKS after rotation %+v (before: kid %s): want one new RS256 key", after, before.Keys[0].KeyID)
	}
	// A relying party that fetches the JWKS afresh refuses what the old key signed...
	fresh, err := oidc.NewProvider(ctx, f.srv.Issuer)
	if err != nil {
		t.Fatal(err)
	}
	v := fresh.Verifier(&oidc.Config{ClientID: "rp-basic"})
	if _, err := v.Verify(ctx, old.Extra("id_token").(string)); err == nil {
		t.Error("an ID token of the old key verified against the new JWKS")
	}
	// ...and accepts what the new key signs, including for a code issued before.
	tok, err := f.basic.Exchange(ctx, pending.query.Get("code"), oauth2.VerifierOption(pending.verifier))
	if err != nil {
		t.Fatal(err)
	}
	raw := tok.Extra("id_token").(string)
	jws, err := jose.ParseSigned(raw, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		t.Fatal(err)
	}
	if kid := jws.Signatures[0].Header.KeyID; kid != after.Keys[0].KeyID {
		t.Errorf("new ID token kid %q, want %q", kid, after.Keys[0].KeyID)
	}
	if _, err := v.Verify(ctx, raw); err != nil {
		t.Errorf("new ID token: %v", err)
	}
	// Access tokens issued before the rotation still serve the NV API.
	if a := f.nv(t, "device-phone-number", old.AccessToken, "", ""); a.status != 200 {
		t.Errorf("access token from before the rotation: %d %s", a.status, a.raw)
	}
}

func testCallLog(t *testing.T, f *fixture) {
	tok := f.token(t, "127.0.0.1")
	before := len(f.srv.Calls(t))
	f.nv(t, "verify", tok, "log-1", `{"phoneNumber":"`+phoneA+`"}`)
	f.nv(t, "verify", tok, "log-2", `{"hashedPhoneNumber":"`+sha256Hex(phoneA)+`"}`)
	f.nv(t, "device-phone-number", tok, "", "")
	f.nv(t, "device-phone-number", "", "log-4", "")

	got := f.srv.Calls(t)[before:]
	want := []Call{
		{Path: "/number-verification/v2/verify", Correlator: "log-1", Number: "+86*********00", Status: 200},
		{Path: "/number-verification/v2/verify", Correlator: "log-2", Hashed: true, Status: 200},
		{Path: "/number-verification/v2/device-phone-number", Status: 200},
		{Path: "/number-verification/v2/device-phone-number", Correlator: "log-4", Status: 401},
	}
	if !slices.Equal(got, want) {
		t.Fatalf("calls\n%+v\nwant\n%+v", got, want)
	}
	raw, err := f.srv.adminRaw(http.MethodGet, "/test/calls", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, clear := range []string{phoneA, phoneA[1:], phoneA[3:], sha256Hex(phoneA)} {
		if strings.Contains(string(raw), clear) {
			t.Fatalf("the call log holds %q: %s", clear, raw)
		}
	}
}

func testAdminAPI(t *testing.T, f *fixture) {
	for _, auth := range []string{"", "Bearer wrong", "Basic " + f.srv.adminToken} {
		req, _ := http.NewRequest(http.MethodPost, f.srv.Issuer+"/test/keys/rotate", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusUnauthorized {
			t.Errorf("Authorization %q: %s, want 401", auth, res.Status)
		}
	}
}
