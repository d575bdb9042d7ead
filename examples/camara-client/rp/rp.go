// Package rp is a CAMARA Number Verification client as an operator's
// customer writes one, with nothing numauth-specific in it: OpenID Connect
// discovery and ID tokens with github.com/coreos/go-oidc/v3, the
// authorization-code flow with PKCE with golang.org/x/oauth2, client
// authentication with private_key_jwt (a client assertion signed with
// github.com/go-jose/go-jose/v4) or client_secret_basic, then one call of
// POST /number-verification/v2/verify with the access token.
//
// The phone's browser goes to Start's authorization URL over its mobile
// data connection; the operator identifies the line from the network and
// sends the browser back to the redirect URL, which Handler serves.
package rp

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"golang.org/x/oauth2"
)

// VerifyScope is the scope of POST /verify: CAMARA's purpose scope for
// fraud prevention (with openid, added by Client).
const VerifyScope = "dpv:FraudPreventionAndDetection#number-verification-verify-read"

// Config is what a client of one operator needs.
type Config struct {
	Issuer      string // the operator's OpenID issuer, e.g. http://127.0.0.1:8080/camara
	APIRoot     string // where the NV API is: APIRoot/number-verification/v2
	ClientID    string
	RedirectURL string // as registered with the operator; Handler serves its path
	// Key signs private_key_jwt client assertions, under KeyID (the kid
	// of the JWKS registered with the operator). Without a key the client
	// authenticates with ClientSecret (client_secret_basic).
	Key          *rsa.PrivateKey
	KeyID        string
	ClientSecret string
	HTTPClient   *http.Client // nil: http.DefaultClient
}

// Result is the answer of one verification.
type Result struct {
	Phone      string // the number asked about
	Verified   bool   // devicePhoneNumberVerified
	Correlator string // the x-correlator sent and echoed
}

func (r Result) String() string {
	verdict := "REJECT: the phone's line has another number"
	if r.Verified {
		verdict = "PASS: this is the phone's number"
	}
	return fmt.Sprintf("%s (%s, devicePhoneNumberVerified: %t)", verdict, r.Phone, r.Verified)
}

// Client runs verifications against one operator.
type Client struct {
	cfg      Config
	provider *oidc.Provider
	oauth    oauth2.Config
	verifier *oidc.IDTokenVerifier
	http     *http.Client

	mu      sync.Mutex
	pending map[string]pending // by state
}

// pending is a started verification waiting for the browser to come back.
type pending struct {
	phone, verifier, nonce string
	started                time.Time
}

// pendingTTL bounds how long a started verification waits.
const pendingTTL = 10 * time.Minute

// New discovers the operator's OpenID provider.
func New(ctx context.Context, cfg Config) (*Client, error) {
	if cfg.Key == nil && cfg.ClientSecret == "" {
		return nil, errors.New("rp: a client key (private_key_jwt) or a client secret is needed")
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = http.DefaultClient
	}
	provider, err := oidc.NewProvider(oidc.ClientContext(ctx, hc), cfg.Issuer)
	if err != nil {
		return nil, fmt.Errorf("rp: discovery: %w", err)
	}
	endpoint := provider.Endpoint()
	if cfg.Key != nil {
		endpoint.AuthStyle = oauth2.AuthStyleInParams // client_id in the form, the assertion beside it
	} else {
		endpoint.AuthStyle = oauth2.AuthStyleInHeader // client_secret_basic
	}
	return &Client{
		cfg: cfg, provider: provider, http: hc,
		oauth: oauth2.Config{
			ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret, Endpoint: endpoint,
			RedirectURL: cfg.RedirectURL, Scopes: []string{oidc.ScopeOpenID, VerifyScope},
		},
		verifier: provider.Verifier(&oidc.Config{ClientID: cfg.ClientID}),
		pending:  map[string]pending{},
	}, nil
}

// Start begins a verification of phone (E.164, +8613812345678) and returns
// the authorization URL the phone's browser is to open.
func (c *Client) Start(phone string) string {
	p := pending{phone: phone, verifier: oauth2.GenerateVerifier(), nonce: rand.Text(), started: time.Now()}
	state := rand.Text()
	c.mu.Lock()
	for s, old := range c.pending {
		if time.Since(old.started) > pendingTTL {
			delete(c.pending, s)
		}
	}
	c.pending[state] = p
	c.mu.Unlock()
	return c.oauth.AuthCodeURL(state, oauth2.S256ChallengeOption(p.verifier), oidc.Nonce(p.nonce))
}

// OAuthError is an error the operator sent the browser back with, such as
// access_denied when it could not identify the line (Wi-Fi).
type OAuthError struct{ Code, Description string }

func (e *OAuthError) Error() string {
	if e.Description == "" {
		return "error=" + e.Code
	}
	return fmt.Sprintf("error=%s: %s", e.Code, e.Description)
}

// Finish completes the verification the browser came back to the redirect
// URL for, with the redirect's query: it exchanges the code, verifies the
// ID token (signature, issuer, audience, expiry, nonce) and calls /verify.
func (c *Client) Finish(ctx context.Context, q url.Values) (Result, error) {
	c.mu.Lock()
	p, ok := c.pending[q.Get("state")]
	delete(c.pending, q.Get("state"))
	c.mu.Unlock()
	if !ok || time.Since(p.started) > pendingTTL {
		return Result{}, errors.New("rp: no verification was started with this state")
	}
	if e := q.Get("error"); e != "" {
		return Result{Phone: p.phone}, &OAuthError{Code: e, Description: q.Get("error_description")}
	}
	ctx = oidc.ClientContext(ctx, c.http)
	opts := []oauth2.AuthCodeOption{oauth2.VerifierOption(p.verifier)}
	if c.cfg.Key != nil {
		assertion, err := c.assertion()
		if err != nil {
			return Result{}, err
		}
		opts = append(opts,
			oauth2.SetAuthURLParam("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
			oauth2.SetAuthURLParam("client_assertion", assertion))
	}
	tok, err := c.oauth.Exchange(ctx, q.Get("code"), opts...)
	if err != nil {
		return Result{}, fmt.Errorf("rp: token: %w", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	id, err := c.verifier.Verify(ctx, raw)
	if err != nil {
		return Result{}, fmt.Errorf("rp: ID token: %w", err)
	}
	if id.Nonce != p.nonce {
		return Result{}, errors.New("rp: the ID token's nonce is not this verification's")
	}
	return c.verify(ctx, tok.AccessToken, p.phone)
}

// assertion signs a client assertion (RFC 7523) for the token endpoint:
// two minutes of life and a fresh jti, so that it serves one request.
func (c *Client) assertion() (string, error) {
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: c.cfg.Key},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", c.cfg.KeyID))
	if err != nil {
		return "", err
	}
	now := time.Now()
	return jwt.Signed(signer).Claims(jwt.Claims{
		Issuer: c.cfg.ClientID, Subject: c.cfg.ClientID, Audience: jwt.Audience{c.oauth.Endpoint.TokenURL},
		ID: rand.Text(), IssuedAt: jwt.NewNumericDate(now), Expiry: jwt.NewNumericDate(now.Add(2 * time.Minute)),
	}).Serialize()
}

// verify calls POST /verify once with the access token.
func (c *Client) verify(ctx context.Context, accessToken, phone string) (Result, error) {
	body, _ := json.Marshal(map[string]string{"phoneNumber": phone})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost,
		strings.TrimSuffix(c.cfg.APIRoot, "/")+"/number-verification/v2/verify", bytes.NewReader(body))
	if err != nil {
		return Result{}, err
	}
	correlator := rand.Text()
	req.Header.Set("Authorization", "Bearer "+accessToken)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("x-correlator", correlator)
	res, err := c.http.Do(req)
	if err != nil {
		return Result{}, fmt.Errorf("rp: verify: %w", err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(res.Body, 1<<16))
	if res.StatusCode != http.StatusOK {
		var e struct {
			Status  int    `json:"status"`
			Code    string `json:"code"`
			Message string `json:"message"`
		}
		if json.Unmarshal(b, &e) == nil && e.Code != "" {
			return Result{}, fmt.Errorf("rp: verify: HTTP %d %s: %s", res.StatusCode, e.Code, e.Message)
		}
		return Result{}, fmt.Errorf("rp: verify: HTTP %d: %.200q", res.StatusCode, b)
	}
	var out struct {
		Verified *bool `json:"devicePhoneNumberVerified"`
	}
	if err := json.Unmarshal(b, &out); err != nil || out.Verified == nil {
		return Result{}, fmt.Errorf("rp: verify: answer %.200q has no devicePhoneNumberVerified", b)
	}
	return Result{Phone: phone, Verified: *out.Verified, Correlator: correlator}, nil
}

// Handler serves the relying party's pages: GET / starts a verification of
// phone and sends the browser to the operator; the redirect URL's path
// finishes it and shows the result (or the operator's error). done, if not
// nil, is told every outcome.
func (c *Client) Handler(phone string, done func(Result, error)) (http.Handler, error) {
	u, err := url.Parse(c.cfg.RedirectURL)
	if err != nil {
		return nil, fmt.Errorf("rp: redirect URL: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, c.Start(phone), http.StatusFound)
	})
	mux.HandleFunc("GET "+u.Path, func(w http.ResponseWriter, r *http.Request) {
		res, err := c.Finish(r.Context(), r.URL.Query())
		if done != nil {
			done(res, err)
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		text := res.String()
		if err != nil {
			w.WriteHeader(http.StatusForbidden)
			text = err.Error()
		}
		fmt.Fprintf(w, "<!doctype html><title>Number verification</title><p id=result>%s</p>\n", html.EscapeString(text))
	})
	return mux, nil
}

// ParseKey reads an RSA private key in PEM (PKCS #8 or PKCS #1).
func ParseKey(data []byte) (*rsa.PrivateKey, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, errors.New("rp: no PEM block in the key file")
	}
	if k, err := x509.ParsePKCS1PrivateKey(block.Bytes); err == nil {
		return k, nil
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("rp: key: %w", err)
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("rp: key is a %T, want RSA", k)
	}
	return rk, nil
}

// KeyID is the kid of a key: its RFC 7638 thumbprint (SHA-256, base64url).
func KeyID(key *rsa.PrivateKey) (string, error) {
	tp, err := (&jose.JSONWebKey{Key: &key.PublicKey}).Thumbprint(crypto.SHA256)
	if err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(tp), nil
}

// JWKS is the public JWKS of key, to register the client with: its kid
// is KeyID(key).
func JWKS(key *rsa.PrivateKey) ([]byte, error) {
	kid, err := KeyID(key)
	if err != nil {
		return nil, err
	}
	return json.MarshalIndent(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{
		Key: &key.PublicKey, KeyID: kid, Algorithm: string(jose.RS256), Use: "sig",
	}}}, "", "  ")
}
