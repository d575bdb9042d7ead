package camara

import (
	"context"
	"crypto/rand"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/numauth/numauth/test/harness"
)

const clientAssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// TestRelyingParty drives the whole flow as an independent relying party
// does, with coreos/go-oidc (discovery, ID token checked with the
// provider's JWKS, nonce) and golang.org/x/oauth2 (PKCE S256, the code
// exchange), for both ways of client authentication, then spends the
// tokens on the NV API: /verify true and false, hashed, /device-phone-number,
// each token once.
func TestRelyingParty(t *testing.T) {
	in := startNumauth(t)
	nv := newNV(t, in)
	ctx := oidc.ClientContext(context.Background(), &http.Client{Timeout: 15 * time.Second})
	provider, err := oidc.NewProvider(ctx, in.CamaraIssuer())
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	var md metadata
	if err := provider.Claims(&md); err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(md.CodeChallengeMethods, "S256") {
		t.Errorf("code_challenge_methods_supported = %v, want S256", md.CodeChallengeMethods)
	}
	for _, m := range []string{"private_key_jwt", "client_secret_basic"} {
		if !slices.Contains(md.TokenEndpointAuthMethods, m) {
			t.Errorf("token_endpoint_auth_methods_supported = %v, want %s", md.TokenEndpointAuthMethods, m)
		}
	}

	for _, c := range []struct {
		name   string
		secret bool
	}{{"private_key_jwt", false}, {"client_secret_basic", true}} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			rp := newOIDCParty(t, provider, md, in.NewCamaraClient(t, redirectURI, c.secret))

			tok := rp.flow(t, ctx, scopeVerify)
			if res := nv.verify(t, tok.AccessToken, map[string]string{"phoneNumber": linePhone}); !verified(t, res, true) {
				t.Errorf("verify of the line's own number: %s, want true", res)
			}
			// One call per token: the same token again is refused.
			res := nv.verify(t, tok.AccessToken, map[string]string{"phoneNumber": linePhone})
			wantError(t, res, http.StatusUnauthorized, "UNAUTHENTICATED")

			tok = rp.flow(t, ctx, scopeVerify)
			if res := nv.verify(t, tok.AccessToken, map[string]string{"phoneNumber": otherPhone}); !verified(t, res, false) {
				t.Errorf("verify of another number: %s, want false", res)
			}
			tok = rp.flow(t, ctx, scopeTechVerify)
			if res := nv.verify(t, tok.AccessToken, map[string]string{"hashedPhoneNumber": strings.ToUpper(hashed(linePhone))}); !verified(t, res, true) {
				t.Errorf("verify of the line's own hashed number (upper-case hex), technical scope: %s, want true", res)
			}

			for _, scope := range []string{scopeShare, scopeTechShare} {
				tok = rp.flow(t, ctx, scope)
				res := nv.share(t, tok.AccessToken)
				m, err := res.JSON()
				if err != nil || res.Status != http.StatusOK || m["devicePhoneNumber"] != linePhone {
					t.Errorf("device-phone-number with %q: %s, want %s", scope, res, linePhone)
				}
				wantError(t, nv.share(t, tok.AccessToken), http.StatusUnauthorized, "UNAUTHENTICATED")
			}
		})
	}
}

// TestFaults holds the provider and the API to their refusals, each with
// the error the OAuth, OpenID and CAMARA specifications name.
func TestFaults(t *testing.T) {
	in := startNumauth(t)
	nv := newNV(t, in)
	md := discover(t, in)
	keyed := in.NewCamaraClient(t, redirectURI, false)
	line := newParty(t, md, keyed, lineAddr)
	ctx := context.Background()

	t.Run("WiFi", func(t *testing.T) {
		t.Parallel()
		wifi := newParty(t, md, keyed, wifiAddr)
		r := wifi.newRequest(scopeVerify)
		back, err := wifi.authorize(ctx, r)
		if err != nil {
			t.Fatal(err)
		}
		if q := back.Query(); q.Get("error") != "access_denied" || q.Get("state") != r.State || q.Has("code") {
			t.Errorf("from an address the carrier does not know (Wi-Fi): redirected to %s, want error=access_denied and the state", back)
		}
	})

	t.Run("WrongRedirectURI", func(t *testing.T) {
		t.Parallel()
		r := line.newRequest(scopeVerify)
		r.Params.Set("redirect_uri", "https://attacker.example/callback")
		_, err := line.open(ctx, md.AuthorizationEndpoint+"?"+r.Params.Encode())
		var nr *notRedirected
		switch {
		case !errors.As(err, &nr):
			t.Fatalf("unregistered redirect_uri: %v, want numauth's own error page", err)
		case strings.Contains(nr.Location, "attacker.example"):
			t.Errorf("unregistered redirect_uri: numauth redirects to it (%s)", nr.Location)
		case nr.Status < 400:
			t.Errorf("unregistered redirect_uri: HTTP %d, want an error page (4xx)", nr.Status)
		}
	})

	t.Run("PKCERequired", func(t *testing.T) {
		t.Parallel()
		for name, change := range map[string]func(url.Values){
			"no code_challenge": func(v url.Values) { v.Del("code_challenge"); v.Del("code_challenge_method") },
			"plain": func(v url.Values) {
				v.Set("code_challenge_method", "plain")
				v.Set("code_challenge", rand.Text()+rand.Text())
			},
		} {
			r := line.newRequest(scopeVerify)
			change(r.Params)
			back, err := line.authorize(ctx, r)
			if err != nil {
				t.Errorf("%s: %v", name, err)
				continue
			}
			if q := back.Query(); q.Get("error") != "invalid_request" || q.Has("code") {
				t.Errorf("%s: redirected to %s, want error=invalid_request (S256 PKCE is required)", name, back)
			}
		}
	})

	t.Run("WrongVerifier", func(t *testing.T) {
		t.Parallel()
		code, r := line.code(t, scopeVerify)
		r.Verifier = rand.Text() + rand.Text()
		wantGrantError(t, line.exchange(t, code, r), "invalid_grant")
	})

	t.Run("CodeReused", func(t *testing.T) {
		t.Parallel()
		code, r := line.code(t, scopeVerify)
		if a := line.exchange(t, code, r); a.Status != http.StatusOK {
			t.Fatalf("first exchange: HTTP %d %s", a.Status, a.Error)
		}
		wantGrantError(t, line.exchange(t, code, r), "invalid_grant")
	})

	t.Run("ClientAssertion", func(t *testing.T) {
		t.Parallel()
		now := time.Now()
		replayed := rand.Text()
		for _, c := range []struct {
			name string
			a    harness.Assertion
			ok   bool
		}{
			{"audience the token endpoint", harness.Assertion{Audience: md.TokenEndpoint}, true},
			{"audience the issuer", harness.Assertion{Audience: md.Issuer}, true},
			{"first use of a jti", harness.Assertion{Audience: md.TokenEndpoint, ID: replayed}, true},
			{"wrong audience", harness.Assertion{Audience: "https://other-operator.example/token"}, false},
			{"expired", harness.Assertion{Audience: md.TokenEndpoint, IssuedAt: now.Add(-10 * time.Minute), Expiry: now.Add(-5 * time.Minute)}, false},
			{"replayed jti", harness.Assertion{Audience: md.TokenEndpoint, ID: replayed}, false},
		} {
			code, r := line.code(t, scopeVerify)
			assertion, err := keyed.ClientAssertion(c.a)
			if err != nil {
				t.Fatal(err)
			}
			a := line.token(t, url.Values{
				"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirectURI},
				"code_verifier": {r.Verifier}, "client_assertion_type": {clientAssertionType}, "client_assertion": {assertion},
			})
			switch {
			case c.ok && (a.Status != http.StatusOK || a.AccessToken == ""):
				t.Errorf("assertion with %s: HTTP %d %s (%s), want tokens", c.name, a.Status, a.Error, a.ErrorDescription)
			case !c.ok && (a.Error != "invalid_client" || a.Status != http.StatusUnauthorized && a.Status != http.StatusBadRequest || a.AccessToken != ""):
				t.Errorf("assertion with %s: HTTP %d %q, want 400 or 401 invalid_client", c.name, a.Status, a.Error)
			}
		}
	})

	t.Run("ScopeNotGranted", func(t *testing.T) {
		t.Parallel()
		tok := line.accessToken(t, scopeShare)
		wantError(t, nv.verify(t, tok, map[string]string{"phoneNumber": linePhone}), http.StatusForbidden, "PERMISSION_DENIED")
		tok = line.accessToken(t, scopeVerify)
		wantError(t, nv.share(t, tok), http.StatusForbidden, "PERMISSION_DENIED")
	})

	t.Run("InvalidPhoneNumber", func(t *testing.T) {
		t.Parallel()
		// CAMARA's C02.01 with the 3-legged token numauth issues: a
		// phoneNumber that breaks the schema is INVALID_ARGUMENT.
		tok := line.accessToken(t, scopeVerify)
		res := nv.must(t, nvRequest{Method: http.MethodPost, Path: "/verify", BreaksSchema: true,
			Body:   []byte(`{"phoneNumber":"` + lineMainland + `"}`),
			Header: http.Header{"Authorization": {"Bearer " + tok}, "Content-Type": {"application/json"}}})
		wantError(t, res, http.StatusBadRequest, "INVALID_ARGUMENT")
	})

	t.Run("TokenLifetime", func(t *testing.T) {
		t.Parallel()
		a := line.tokens(t, scopeVerify)
		if a.ExpiresIn <= 0 || a.ExpiresIn > 300 || a.RefreshToken != "" || !strings.EqualFold(a.TokenType, "Bearer") {
			t.Errorf("token answer: expires_in %d, token_type %q, refresh token %t; want a bearer token of at most 300 s and no refresh token",
				a.ExpiresIn, a.TokenType, a.RefreshToken != "")
		}
	})
}

// oidcParty is a relying party built on go-oidc and x/oauth2.
type oidcParty struct {
	provider *oidc.Provider
	md       metadata
	client   harness.CamaraClient
	browser  *party // the phone's browser: only its open is used
}

func newOIDCParty(t testing.TB, provider *oidc.Provider, md metadata, c harness.CamaraClient) *oidcParty {
	return &oidcParty{provider: provider, md: md, client: c, browser: newParty(t, md, c, lineAddr)}
}

// flow runs one verification's OpenID flow for scope and returns the
// token, its ID token verified.
func (p *oidcParty) flow(t testing.TB, ctx context.Context, scope string) *oauth2.Token {
	t.Helper()
	endpoint := p.provider.Endpoint()
	endpoint.AuthStyle = oauth2.AuthStyleInHeader
	if p.client.Key != nil {
		endpoint.AuthStyle = oauth2.AuthStyleInParams
	}
	conf := oauth2.Config{
		ClientID: p.client.ID, ClientSecret: p.client.Secret, Endpoint: endpoint,
		RedirectURL: p.client.RedirectURI, Scopes: strings.Fields(scope),
	}
	verifier, state, nonce := oauth2.GenerateVerifier(), rand.Text(), rand.Text()
	back, err := p.browser.open(ctx, conf.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier), oidc.Nonce(nonce)))
	if err != nil {
		t.Fatal(err)
	}
	q := back.Query()
	if q.Get("state") != state || q.Get("code") == "" {
		t.Fatalf("redirected to %s, want a code and state %s", back, state)
	}
	opts := []oauth2.AuthCodeOption{oauth2.VerifierOption(verifier)}
	if p.client.Key != nil {
		assertion, err := p.client.ClientAssertion(harness.Assertion{Audience: p.md.TokenEndpoint})
		if err != nil {
			t.Fatal(err)
		}
		opts = append(opts, oauth2.SetAuthURLParam("client_assertion_type", clientAssertionType),
			oauth2.SetAuthURLParam("client_assertion", assertion))
	}
	tok, err := conf.Exchange(ctx, q.Get("code"), opts...)
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	if !tok.Expiry.IsZero() && time.Until(tok.Expiry) > 300*time.Second {
		t.Errorf("access token expires in %v, want at most 300 s", time.Until(tok.Expiry).Round(time.Second))
	}
	raw, _ := tok.Extra("id_token").(string)
	id, err := p.provider.Verifier(&oidc.Config{ClientID: p.client.ID}).Verify(ctx, raw)
	if err != nil {
		t.Fatalf("ID token: %v", err)
	}
	if id.Nonce != nonce {
		t.Errorf("ID token nonce %q, want %q", id.Nonce, nonce)
	}
	if id.Subject == "" {
		t.Error("ID token has no sub")
	}
	return tok
}

// verified reports whether res is 200 with devicePhoneNumberVerified want.
func verified(t testing.TB, res *nvResponse, want bool) bool {
	t.Helper()
	m, err := res.JSON()
	return err == nil && res.Status == http.StatusOK && m["devicePhoneNumberVerified"] == want
}

// wantError checks a CAMARA error answer: status, and a body of that
// status, code and a message.
func wantError(t testing.TB, res *nvResponse, status int, code string) {
	t.Helper()
	m, err := res.JSON()
	if err != nil || res.Status != status || m["status"] != float64(status) || m["code"] != code || m["message"] == "" {
		t.Errorf("answer %s, want HTTP %d with {status: %d, code: %s, message}", res, status, status, code)
	}
}

// wantGrantError checks a token endpoint's refusal of a grant: 400 with
// the OAuth error code.
func wantGrantError(t testing.TB, a tokenAnswer, code string) {
	t.Helper()
	if a.Status != http.StatusBadRequest || a.Error != code || a.AccessToken != "" {
		t.Errorf("token endpoint: HTTP %d error %q, want 400 %s", a.Status, a.Error, code)
	}
}
