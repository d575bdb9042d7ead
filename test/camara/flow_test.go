package camara

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/numauth/numauth/test/harness"
)

// The sandbox lines of the package's numauth instances.
const (
	lineAddr     = "127.0.0.1"      // the phone, on cellular data
	lineMainland = "13812345678"    // its number as --sandbox-subscriber names it
	linePhone    = "+8613812345678" // and as the NV API speaks it (E.164)
	otherPhone   = "+8613912345678" // a valid number of another line
	wifiAddr     = "127.0.0.3"      // an address the sandbox does not map: Wi-Fi
)

// Scopes: CAMARA's purpose scopes and the technical scopes of the two
// operations.
const (
	scopeVerify     = "openid dpv:FraudPreventionAndDetection#number-verification-verify-read"
	scopeShare      = "openid dpv:FraudPreventionAndDetection#number-verification-share-read"
	scopeTechVerify = "openid number-verification:verify"
	scopeTechShare  = "openid number-verification:device-phone-number:read"
)

// redirectURI is the redirect URI of the tests' clients. Nothing listens
// there: the flow stops at numauth's redirect to it and reads the code or
// the error from the Location.
const redirectURI = "https://rp.example/camara/callback"

// startNumauth starts numauth with the sandbox mapping lineAddr to the line,
// plus serve's flags args.
func startNumauth(t testing.TB, args ...string) *harness.Instance {
	t.Helper()
	return harness.Start(t, harness.Options{Args: append([]string{"--sandbox-subscriber", lineAddr + "=" + lineMainland}, args...)})
}

// fromAddr returns a transport whose connections leave from the loopback
// address ip, so that numauth's sandbox carrier sees that source.
func fromAddr(t testing.TB, ip string) *http.Transport {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	tr := &http.Transport{DialContext: d.DialContext}
	t.Cleanup(tr.CloseIdleConnections)
	return tr
}

// metadata is the part of the OpenID provider's discovery document the
// tests use.
type metadata struct {
	Issuer                   string   `json:"issuer"`
	AuthorizationEndpoint    string   `json:"authorization_endpoint"`
	TokenEndpoint            string   `json:"token_endpoint"`
	JWKSURI                  string   `json:"jwks_uri"`
	ScopesSupported          []string `json:"scopes_supported"`
	ResponseTypesSupported   []string `json:"response_types_supported"`
	CodeChallengeMethods     []string `json:"code_challenge_methods_supported"`
	TokenEndpointAuthMethods []string `json:"token_endpoint_auth_methods_supported"`
}

// discover reads the provider's discovery document and checks that it
// names numauth's issuer.
func discover(t testing.TB, in *harness.Instance) metadata {
	t.Helper()
	res, err := http.Get(in.CamaraIssuer() + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var md metadata
	if err := json.NewDecoder(res.Body).Decode(&md); err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("discovery: HTTP %d, %v", res.StatusCode, err)
	}
	if md.Issuer != in.CamaraIssuer() {
		t.Fatalf("discovery names issuer %q, want %q", md.Issuer, in.CamaraIssuer())
	}
	if md.AuthorizationEndpoint == "" || md.TokenEndpoint == "" || md.JWKSURI == "" {
		t.Fatalf("discovery lacks an endpoint: %+v", md)
	}
	return md
}

// party is a relying party written by hand (no OAuth library): one client
// of numauth's OpenID provider, whose front channel (the phone's browser)
// leaves from one source address.
type party struct {
	md     metadata
	client harness.CamaraClient
	// browser follows numauth's own redirects but not the last one, to
	// the client's redirect URI.
	browser *http.Client
	// back is the relying party's own server: the token request.
	back *http.Client
}

func newParty(t testing.TB, md metadata, c harness.CamaraClient, from string) *party {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	back := &http.Transport{}
	t.Cleanup(back.CloseIdleConnections)
	return &party{md: md, client: c,
		browser: &http.Client{Transport: fromAddr(t, from), Jar: jar, Timeout: 15 * time.Second,
			CheckRedirect: func(req *http.Request, via []*http.Request) error {
				if strings.HasPrefix(req.URL.String(), c.RedirectURI) || len(via) > 10 {
					return http.ErrUseLastResponse
				}
				return nil
			}},
		back: &http.Client{Transport: back, Timeout: 15 * time.Second},
	}
}

// request is one authorization request: its parameters and what the
// relying party keeps of it.
type request struct {
	Params   url.Values
	Verifier string // PKCE code verifier
	State    string
}

// newRequest builds an authorization request for scope: code flow, PKCE
// S256, a fresh state and nonce.
func (p *party) newRequest(scope string) request {
	verifier := rand.Text() + rand.Text()
	sum := sha256.Sum256([]byte(verifier))
	state := rand.Text()
	return request{Verifier: verifier, State: state, Params: url.Values{
		"response_type":         {"code"},
		"client_id":             {p.client.ID},
		"redirect_uri":          {p.client.RedirectURI},
		"scope":                 {scope},
		"state":                 {state},
		"nonce":                 {rand.Text()},
		"code_challenge":        {base64.RawURLEncoding.EncodeToString(sum[:])},
		"code_challenge_method": {"S256"},
	}}
}

// authorize sends the browser to the authorization endpoint with r and
// returns where numauth sends it back: the client's redirect URI with a
// code or an error, or an error when numauth answers anything else (a
// page of its own, say).
func (p *party) authorize(ctx context.Context, r request) (*url.URL, error) {
	return p.open(ctx, p.md.AuthorizationEndpoint+"?"+r.Params.Encode())
}

// open is the browser opening an authorization URL: see authorize.
func (p *party) open(ctx context.Context, u string) (*url.URL, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	res, err := p.browser.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(res.Body, 2048))
	loc, err := res.Location()
	if err != nil || !strings.HasPrefix(loc.String(), p.client.RedirectURI) {
		return nil, &notRedirected{Status: res.StatusCode, Location: res.Header.Get("Location"), Body: string(body)}
	}
	return loc, nil
}

// notRedirected is numauth's answer at the authorization endpoint when it
// does not send the browser back to the client.
type notRedirected struct {
	Status   int
	Location string
	Body     string
}

func (e *notRedirected) Error() string {
	return fmt.Sprintf("the authorization endpoint answered HTTP %d (Location %q) instead of redirecting to the client: %.300q", e.Status, e.Location, e.Body)
}

// code runs the front channel for scope and returns the code and the
// request it answers, failing the test unless numauth redirects back with a
// code and the request's state.
func (p *party) code(t testing.TB, scope string) (string, request) {
	t.Helper()
	r := p.newRequest(scope)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	back, err := p.authorize(ctx, r)
	if err != nil {
		t.Fatal(err)
	}
	q := back.Query()
	if q.Get("state") != r.State {
		t.Fatalf("redirect %s: state %q, want %q", back, q.Get("state"), r.State)
	}
	if q.Get("code") == "" {
		t.Fatalf("redirect %s has no code (error %q: %q)", back, q.Get("error"), q.Get("error_description"))
	}
	return q.Get("code"), r
}

// tokenAnswer is the token endpoint's answer, success or error.
type tokenAnswer struct {
	Status           int    `json:"-"`
	AccessToken      string `json:"access_token"`
	TokenType        string `json:"token_type"`
	ExpiresIn        int    `json:"expires_in"`
	IDToken          string `json:"id_token"`
	Scope            string `json:"scope"`
	RefreshToken     string `json:"refresh_token"`
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description"`
}

// token posts form to the token endpoint, with the client's own
// authentication added unless form already holds a client assertion.
func (p *party) token(t testing.TB, form url.Values) tokenAnswer {
	t.Helper()
	if form.Get("client_assertion") == "" && p.client.Key != nil {
		a, err := p.client.ClientAssertion(harness.Assertion{Audience: p.md.TokenEndpoint})
		if err != nil {
			t.Fatal(err)
		}
		form.Set("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
		form.Set("client_assertion", a)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.md.TokenEndpoint, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if p.client.Secret != "" {
		req.SetBasicAuth(url.QueryEscape(p.client.ID), url.QueryEscape(p.client.Secret))
	}
	res, err := p.back.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	var a tokenAnswer
	if err := json.Unmarshal(body, &a); err != nil {
		t.Fatalf("token endpoint: HTTP %d, body %q: %v", res.StatusCode, body, err)
	}
	a.Status = res.StatusCode
	return a
}

// exchange trades a code for tokens.
func (p *party) exchange(t testing.TB, code string, r request) tokenAnswer {
	t.Helper()
	return p.token(t, url.Values{
		"grant_type":    {"authorization_code"},
		"code":          {code},
		"redirect_uri":  {r.Params.Get("redirect_uri")},
		"code_verifier": {r.Verifier},
	})
}

// tokens runs the whole flow for scope and returns the token answer,
// failing the test unless it carries an access token.
func (p *party) tokens(t testing.TB, scope string) tokenAnswer {
	t.Helper()
	code, r := p.code(t, scope)
	a := p.exchange(t, code, r)
	if a.Status != http.StatusOK || a.AccessToken == "" {
		t.Fatalf("token endpoint: HTTP %d, error %q (%s)", a.Status, a.Error, a.ErrorDescription)
	}
	return a
}

// accessToken runs the whole flow for scope and returns the access token.
func (p *party) accessToken(t testing.TB, scope string) string {
	t.Helper()
	return p.tokens(t, scope).AccessToken
}

// claims decodes a JWT's payload without checking it (the relying-party
// test checks ID tokens with go-oidc; here a test only reads them).
func claims(jwt string) (map[string]any, error) {
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return nil, errors.New("not a compact JWS")
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil, err
	}
	var m map[string]any
	return m, json.Unmarshal(b, &m)
}

// hashed is the hashedPhoneNumber of an E.164 number: lowercase hex SHA-256.
func hashed(e164 string) string {
	sum := sha256.Sum256([]byte(e164))
	return fmt.Sprintf("%x", sum)
}
