package camara

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/numauth/numauth/internal/auth/authtest"
	"github.com/numauth/numauth/internal/carrier/sandbox"
	"github.com/numauth/numauth/internal/store"
	"github.com/numauth/numauth/internal/token"
)

// The line the sandbox sees on 127.0.0.1; requests from 127.0.0.2 come
// over Wi-Fi.
const linePhone = "13812345678"

const redirectURI = "https://rp.example/cb"

// ukPhone is the line on 127.0.0.3: numbers of any country work end to end.
const ukPhone = "+447700900123"

// testClients is a client table for the provider's tests (the durable
// client registry is auth's and is tested there).
type testClients struct {
	mu      sync.Mutex
	m       map[string]ClientInfo
	secrets map[string]string
}

func (c *testClients) Client(_ context.Context, id string) (ClientInfo, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ci, ok := c.m[id]
	if !ok {
		return ClientInfo{}, store.ErrNotFound
	}
	return ci, nil
}

func (c *testClients) CheckSecret(_ context.Context, id, secret string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if want, ok := c.secrets[id]; !ok || subtle.ConstantTimeCompare([]byte(want), []byte(secret)) != 1 {
		return errors.New("wrong secret")
	}
	return nil
}

type world struct {
	t       *testing.T
	srv     *httptest.Server
	issuer  string
	stack   *authtest.Stack
	clients *testClients
	key     *ecdsa.PrivateKey
	// wrongSecret makes exchange send a wrong client secret.
	wrongSecret bool
	disc        struct {
		Authorization string `json:"authorization_endpoint"`
		Token         string `json:"token_endpoint"`
		JWKS          string `json:"jwks_uri"`
	}
}

func newWorld(t *testing.T, opts ...func(*Config)) *world {
	t.Helper()
	st := authtest.New(t, authtest.Options{Subscribers: []sandbox.Subscriber{
		{Prefix: netip.MustParsePrefix("127.0.0.1/32"), Phone: linePhone},
		{Prefix: netip.MustParsePrefix("127.0.0.3/32"), Phone: ukPhone},
	}})
	keys, err := token.LoadOIDCKeys(context.Background(), st.Durable, st.Box)
	if err != nil {
		t.Fatal(err)
	}
	w := &world{t: t, stack: st, clients: &testClients{m: map[string]ClientInfo{}, secrets: map[string]string{}}}
	mux := http.NewServeMux()
	w.srv = httptest.NewServer(mux)
	t.Cleanup(w.srv.Close)
	w.issuer = w.srv.URL + "/camara"
	var ck [32]byte
	copy(ck[:], st.Box.Derive("camara", 32))
	cfg := Config{Issuer: w.issuer, Service: st.Svc, Clients: w.clients, Store: st.Eph, Keys: keys, CryptoKey: ck}
	for _, o := range opts {
		o(&cfg)
	}
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mux.Handle(p.BasePath()+"/", p.Handler())
	w.key, _ = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	jwks := []jose.JSONWebKey{{Key: &w.key.PublicKey, KeyID: "k1", Algorithm: "ES256", Use: "sig"}}
	w.clients.m["jwt-client"] = ClientInfo{ID: "jwt-client", AccountID: "acct-jwt", RedirectURIs: []string{redirectURI}, AuthMethod: MethodPrivateKeyJWT, Keys: jwks, Active: true}
	w.clients.m["basic-client"] = ClientInfo{ID: "basic-client", AccountID: "acct-basic", RedirectURIs: []string{redirectURI}, AuthMethod: MethodSecretBasic, Active: true}
	w.clients.secrets["basic-client"] = "s3cret"
	w.clients.m["verify-only"] = ClientInfo{ID: "verify-only", AccountID: "acct-basic", RedirectURIs: []string{redirectURI}, AuthMethod: MethodSecretBasic, Active: true, Scopes: []string{ScopeVerify}}
	w.clients.secrets["verify-only"] = "s3cret"
	w.clients.m["off"] = ClientInfo{ID: "off", AccountID: "acct-basic", RedirectURIs: []string{redirectURI}, AuthMethod: MethodSecretBasic, Active: false}
	w.clients.secrets["off"] = "s3cret"
	res, err := http.Get(w.issuer + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if err := json.NewDecoder(res.Body).Decode(&w.disc); err != nil || w.disc.Token == "" {
		t.Fatalf("discovery: %v %+v", err, w.disc)
	}
	return w
}

// browser is an HTTP client from a loopback source address that does not
// follow redirects.
func browser(src string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}
	return &http.Client{
		Transport:     &http.Transport{DialContext: d.DialContext},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

type authz struct {
	client, scope, src, hint, verifier, challenge, method string
}

func pkce() (verifier, challenge string) {
	b := make([]byte, 32)
	rand.Read(b)
	verifier = base64.RawURLEncoding.EncodeToString(b)
	h := sha256.Sum256([]byte(verifier))
	return verifier, base64.RawURLEncoding.EncodeToString(h[:])
}

// authorize runs the authorization request and returns the redirect's query
// (code or error), or the status of an answer that is not a redirect.
func (w *world) authorize(a authz) (url.Values, int) {
	w.t.Helper()
	if a.src == "" {
		a.src = "127.0.0.1"
	}
	if a.method == "" {
		a.method = "S256"
	}
	q := url.Values{"response_type": {"code"}, "client_id": {a.client}, "redirect_uri": {redirectURI},
		"scope": {a.scope}, "state": {"st-1"}, "nonce": {"n-1"}}
	if a.challenge != "" {
		q.Set("code_challenge", a.challenge)
		q.Set("code_challenge_method", a.method)
	}
	if a.hint != "" {
		q.Set("login_hint", a.hint)
	}
	res, err := browser(a.src).Get(w.disc.Authorization + "?" + q.Encode())
	if err != nil {
		w.t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusFound {
		return nil, res.StatusCode
	}
	loc, err := url.Parse(res.Header.Get("Location"))
	if err != nil || !strings.HasPrefix(loc.String(), redirectURI+"?") {
		w.t.Fatalf("redirect to %q", res.Header.Get("Location"))
	}
	return loc.Query(), res.StatusCode
}

func (w *world) assertion(mut func(*jwt.Claims)) string {
	w.t.Helper()
	now := time.Now()
	c := jwt.Claims{Issuer: "jwt-client", Subject: "jwt-client", Audience: jwt.Audience{w.disc.Token},
		Expiry: jwt.NewNumericDate(now.Add(time.Minute)), IssuedAt: jwt.NewNumericDate(now), ID: token.NewID()}
	if mut != nil {
		mut(&c)
	}
	sig, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: w.key}, (&jose.SignerOptions{}).WithHeader("kid", "k1").WithType("JWT"))
	if err != nil {
		w.t.Fatal(err)
	}
	s, err := jwt.Signed(sig).Claims(c).Serialize()
	if err != nil {
		w.t.Fatal(err)
	}
	return s
}

type tokenAnswer struct {
	status                           int
	AccessToken, IDToken, Error, Why string
	ExpiresIn                        int
}

func (w *world) exchange(client, code, verifier, assertion string) tokenAnswer {
	w.t.Helper()
	f := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirectURI}}
	if verifier != "" {
		f.Set("code_verifier", verifier)
	}
	if assertion != "" {
		f.Set("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
		f.Set("client_assertion", assertion)
	}
	req, _ := http.NewRequest("POST", w.disc.Token, strings.NewReader(f.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if assertion == "" && client != "" {
		secret := w.clients.secrets[client]
		if w.wrongSecret {
			secret += "-wrong"
		}
		req.SetBasicAuth(client, secret)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		w.t.Fatal(err)
	}
	defer res.Body.Close()
	var body struct {
		AccessToken string `json:"access_token"`
		IDToken     string `json:"id_token"`
		ExpiresIn   int    `json:"expires_in"`
		Error       string `json:"error"`
		Desc        string `json:"error_description"`
	}
	b, _ := io.ReadAll(res.Body)
	json.Unmarshal(b, &body)
	return tokenAnswer{res.StatusCode, body.AccessToken, body.IDToken, body.Error, body.Desc, body.ExpiresIn}
}

// token runs the flow to an access token.
func (w *world) token(client, scope string) string {
	w.t.Helper()
	v, c := pkce()
	q, _ := w.authorize(authz{client: client, scope: scope, challenge: c})
	if q.Get("code") == "" {
		w.t.Fatalf("no code: %v", q)
	}
	var as string
	if client == "jwt-client" {
		as = w.assertion(nil)
	}
	tok := w.exchange(client, q.Get("code"), v, as)
	if tok.AccessToken == "" {
		w.t.Fatalf("token: %+v", tok)
	}
	return tok.AccessToken
}

type nvAnswer struct {
	status     int
	correlator string
	body       map[string]any
}

func (w *world) nv(method, path, bearer, body string, header map[string]string) nvAnswer {
	w.t.Helper()
	req, _ := http.NewRequest(method, w.issuer+"/number-verification/v2"+path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		w.t.Fatal(err)
	}
	defer res.Body.Close()
	a := nvAnswer{status: res.StatusCode, correlator: res.Header.Get("x-correlator")}
	if ct := res.Header.Get("Content-Type"); ct != "application/json" {
		w.t.Errorf("%s %s: Content-Type %q", method, path, ct)
	}
	json.NewDecoder(res.Body).Decode(&a.body)
	return a
}

func e164Hash(p string) string {
	h := sha256.Sum256([]byte(p))
	return hex.EncodeToString(h[:])
}

func TestFlow(t *testing.T) {
	w := newWorld(t)
	scopeV := "openid " + PurposeVerify
	for _, client := range []string{"basic-client", "jwt-client"} {
		t.Run(client, func(t *testing.T) {
			cases := []struct {
				body string
				want bool
			}{
				{`{"phoneNumber": "+86` + linePhone + `"}`, true},
				{`{"phoneNumber": "+8613900000000"}`, false},
				{`{"phoneNumber": "+447700900123"}`, false},
				{`{"hashedPhoneNumber": "` + e164Hash("+86"+linePhone) + `"}`, true},
				{`{"hashedPhoneNumber": "` + strings.ToUpper(e164Hash("+86"+linePhone)) + `"}`, true},
				{`{"hashedPhoneNumber": "` + e164Hash("+8613900000000") + `"}`, false},
			}
			for _, c := range cases {
				tok := w.token(client, scopeV)
				a := w.nv("POST", "/verify", tok, c.body, map[string]string{"x-correlator": "abc-123"})
				if a.status != 200 || a.body["devicePhoneNumberVerified"] != c.want || a.correlator != "abc-123" {
					t.Errorf("%s: %+v, want %v", c.body, a, c.want)
				}
				if again := w.nv("POST", "/verify", tok, c.body, nil); again.status != 401 || again.body["code"] != "UNAUTHENTICATED" {
					t.Errorf("token reused: %+v", again)
				}
			}
			tok := w.token(client, "openid "+PurposeShare)
			if a := w.nv("GET", "/device-phone-number", tok, "", nil); a.status != 200 || a.body["devicePhoneNumber"] != "+86"+linePhone {
				t.Errorf("share: %+v", a)
			}
		})
	}
	// Every answer given is recorded and billed to the client's account,
	// under the client as scheme.
	for _, f := range []store.VerificationFilter{{AccountID: "acct-jwt"}, {AccountID: "acct-jwt", SchemeCode: "jwt-client"}} {
		days, err := w.stack.Durable.DailyStats(context.Background(), f)
		if err != nil {
			t.Fatal(err)
		}
		if len(days) != 1 || days[0].Pass != 4 || days[0].Reject != 3 || days[0].Unknown != 0 {
			t.Errorf("statistics %+v: %+v, want 4 PASS and 3 REJECT", f, days)
		}
	}
}

func TestFlowOutsideChina(t *testing.T) {
	w := newWorld(t)
	token := func(scope string) string {
		v, c := pkce()
		q, _ := w.authorize(authz{client: "basic-client", scope: scope, challenge: c, src: "127.0.0.3"})
		tok := w.exchange("basic-client", q.Get("code"), v, "")
		if tok.AccessToken == "" {
			t.Fatalf("token: %v %+v", q, tok)
		}
		return tok.AccessToken
	}
	for body, want := range map[string]bool{
		`{"phoneNumber": "` + ukPhone + `"}`:                 true,
		`{"phoneNumber": "+447700900124"}`:                   false,
		`{"phoneNumber": "+86` + linePhone + `"}`:            false,
		`{"hashedPhoneNumber": "` + e164Hash(ukPhone) + `"}`: true,
	} {
		if a := w.nv("POST", "/verify", token("openid "+ScopeVerify), body, nil); a.status != 200 || a.body["devicePhoneNumberVerified"] != want {
			t.Errorf("%s: %+v, want %v", body, a, want)
		}
	}
	if a := w.nv("GET", "/device-phone-number", token("openid "+ScopeShare), "", nil); a.status != 200 || a.body["devicePhoneNumber"] != ukPhone {
		t.Errorf("share: %+v", a)
	}
}
