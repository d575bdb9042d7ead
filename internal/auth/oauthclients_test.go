package auth_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/numauth/numauth/internal/auth"
	"github.com/numauth/numauth/internal/auth/authtest"
	"github.com/numauth/numauth/internal/store"
)

// testKeys are generated once: RSA keys are slow to make under -race.
var testKeys = sync.OnceValue(func() (k struct {
	rsa2048, rsa1024 *rsa.PrivateKey
	p256, p384       *ecdsa.PrivateKey
	ed               ed25519.PrivateKey
}) {
	var err error
	if k.rsa2048, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		panic(err)
	}
	if k.rsa1024, err = rsa.GenerateKey(rand.Reader, 1024); err != nil {
		panic(err)
	}
	if k.p256, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		panic(err)
	}
	if k.p384, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader); err != nil {
		panic(err)
	}
	if _, k.ed, err = ed25519.GenerateKey(rand.Reader); err != nil {
		panic(err)
	}
	return k
})

// jwk is one key of a JWKS as JSON.
func jwk(t *testing.T, key any, kid, alg, use string) json.RawMessage {
	t.Helper()
	b, err := jose.JSONWebKey{Key: key, KeyID: kid, Algorithm: alg, Use: use}.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func jwks(keys ...json.RawMessage) []byte {
	b, _ := json.Marshal(map[string]any{"keys": keys})
	return b
}

func TestCheckJWKS(t *testing.T) {
	k := testKeys()
	ec := jwk(t, &k.p256.PublicKey, "ec", "ES256", "sig")
	for _, tc := range []struct {
		name string
		jwks []byte
		ok   bool
		says string // in the error
		algs []string
	}{
		{"EC P-256 ES256", jwks(ec), true, "", []string{"ES256"}},
		{"EC P-256 without alg and use", jwks(jwk(t, &k.p256.PublicKey, "", "", "")), true, "", []string{"ES256"}},
		{"RSA 2048 RS256", jwks(jwk(t, &k.rsa2048.PublicKey, "r", "RS256", "sig")), true, "", []string{"RS256"}},
		{"RSA 2048 PS256", jwks(jwk(t, &k.rsa2048.PublicKey, "r", "PS256", "")), true, "", []string{"PS256"}},
		{"RSA 2048 without alg", jwks(jwk(t, &k.rsa2048.PublicKey, "r", "", "")), true, "", []string{"RS256", "PS256"}},
		{"Ed25519 EdDSA", jwks(jwk(t, k.ed.Public(), "ed", "EdDSA", "sig")), true, "", []string{"EdDSA"}},
		{"several kinds", jwks(ec, jwk(t, k.ed.Public(), "ed", "", "")), true, "", []string{"ES256", "EdDSA"}},
		{"an encryption key beside a signing key", jwks(jwk(t, &k.rsa2048.PublicKey, "enc", "RSA-OAEP", "enc"), ec), true, "", []string{"ES256"}},
		{"an unknown key type beside a signing key", jwks(json.RawMessage(`{"kty":"XYZ","kid":"x"}`), ec), true, "", []string{"ES256"}},
		{"P-384 beside P-256", jwks(jwk(t, &k.p384.PublicKey, "p384", "ES384", ""), ec), true, "", []string{"ES256"}},
		{"whitespace is fine", []byte(" {\n \"keys\" : [" + string(ec) + "] }\n"), true, "", []string{"ES256"}},

		{"empty", nil, false, "required", nil},
		{"blank", []byte("  \n"), false, "required", nil},
		{"not JSON", []byte("keys: []"), false, "not a JSON Web Key Set", nil},
		{"an array, not a set", []byte("[" + string(ec) + "]"), false, "not a JSON Web Key Set", nil},
		{"a single key, not a set", ec, false, "no public signing key", nil},
		{"no keys", []byte(`{"keys":[]}`), false, "no public signing key", nil},
		{"keys null", []byte(`{"keys":null}`), false, "no public signing key", nil},
		{"a key that is not an object", []byte(`{"keys":[1]}`), false, "not a JSON Web Key Set", nil},
		{"trailing garbage", append(jwks(ec), "x"...), false, "not a JSON Web Key Set", nil},
		{"EC private key", jwks(jwk(t, k.p256, "ec", "ES256", "sig")), false, `private or symmetric member "d"`, nil},
		{"RSA private key", jwks(jwk(t, k.rsa2048, "r", "RS256", "sig")), false, `member "d"`, nil},
		{"Ed25519 private key", jwks(jwk(t, k.ed, "ed", "EdDSA", "")), false, `member "d"`, nil},
		{"private key beside a public one", jwks(ec, jwk(t, k.p256, "ec2", "ES256", "")), false, "key 2 has the private", nil},
		{"symmetric key", jwks(json.RawMessage(`{"kty":"oct","k":"c2VjcmV0","alg":"HS256"}`)), false, `member "k"`, nil},
		{"RSA too short", jwks(jwk(t, &k.rsa1024.PublicKey, "r", "RS256", "")), false, "no public signing key", nil},
		{"P-384 only", jwks(jwk(t, &k.p384.PublicKey, "p", "ES384", "")), false, "no public signing key", nil},
		{"encryption use only", jwks(jwk(t, &k.p256.PublicKey, "ec", "", "enc")), false, "no public signing key", nil},
		{"alg of another kind", jwks(jwk(t, &k.p256.PublicKey, "ec", "RS256", "")), false, "no public signing key", nil},
		{"alg none", jwks(json.RawMessage(`{"kty":"OKP","crv":"Ed25519","x":"` + base64.RawURLEncoding.EncodeToString(k.ed.Public().(ed25519.PublicKey)) + `","alg":"none"}`)), false, "no public signing key", nil},
		{"HS256 on an EC key", jwks(jwk(t, &k.p256.PublicKey, "ec", "HS256", "sig")), false, "no public signing key", nil},
		{"unknown key type only", jwks(json.RawMessage(`{"kty":"XYZ"}`)), false, "no public signing key", nil},
		{"EC point not on the curve", jwks(json.RawMessage(`{"kty":"EC","crv":"P-256","x":"AQ","y":"AQ"}`)), false, "key 1", nil},
		{"no kty", jwks(json.RawMessage(`{"crv":"P-256","x":"AQ","y":"AQ"}`)), false, "key 1", nil},
		{"two signing keys share a kid", jwks(ec, jwk(t, k.ed.Public(), "ec", "", "")), false, `keys 1 and 2 have the same kid "ec"`, nil},
		{"too large", jwks(json.RawMessage(`{"kty":"XYZ","pad":"` + strings.Repeat("a", 70<<10) + `"}`)), false, "at most", nil},
		{"too many keys", jwks(slices.Repeat([]json.RawMessage{ec}, 33)...), false, "at most 32", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := auth.CheckJWKS(tc.jwks)
			if !tc.ok {
				if !errors.Is(err, auth.ErrInvalidParameters) || !strings.Contains(err.Error(), tc.says) {
					t.Fatalf("CheckJWKS: %v, want ErrInvalidParameters saying %q", err, tc.says)
				}
				return
			}
			if err != nil {
				t.Fatalf("CheckJWKS: %v", err)
			}
			if !json.Valid(got) || strings.ContainsAny(string(got), " \n") {
				t.Fatalf("CheckJWKS returned %q, want compact JSON", got)
			}
			keys, err := auth.SigningJWKs(got)
			if err != nil {
				t.Fatal(err)
			}
			var algs []string
			for _, k := range keys {
				algs = append(algs, k.Algorithm)
				if !k.IsPublic() {
					t.Errorf("SigningJWKs returned a key that is not public: %+v", k)
				}
			}
			if !slices.Equal(algs, tc.algs) {
				t.Fatalf("SigningJWKs algorithms %v, want %v", algs, tc.algs)
			}
		})
	}
}

func TestCreateOAuthClientValidation(t *testing.T) {
	st := authtest.New(t, authtest.Options{})
	ctx := context.Background()
	if _, err := st.Svc.CreateAccessKey(ctx, "tenant-b", "", "", ""); err != nil {
		t.Fatal(err)
	}
	good := jwks(jwk(t, &testKeys().p256.PublicKey, "ec", "ES256", "sig"))
	base := func(mod func(*auth.OAuthClientInput)) auth.OAuthClientInput {
		in := auth.OAuthClientInput{AuthMethod: auth.AuthPrivateKeyJWT, JWKS: good, RedirectURIs: []string{"https://rp.example.com/cb"}}
		mod(&in)
		return in
	}
	for _, tc := range []struct {
		name string
		in   auth.OAuthClientInput
		err  error  // nil: accepted
		says string // in the error
	}{
		{"minimal", base(func(*auth.OAuthClientInput) {}), nil, ""},
		{"named account with a key", base(func(in *auth.OAuthClientInput) { in.AccountID = "tenant-b" }), nil, ""},
		{"default account by name", base(func(in *auth.OAuthClientInput) { in.AccountID = auth.DefaultAccount }), nil, ""},
		{"every scope, repeated", base(func(in *auth.OAuthClientInput) { in.Scopes = append(auth.NVScopes, auth.ScopeOpenID) }), nil, ""},
		{"loopback http", base(func(in *auth.OAuthClientInput) {
			in.RedirectURIs = []string{"http://127.0.0.1:8400/cb", "http://localhost/cb", "http://[::1]:9/cb", "http://127.9.9.9/cb"}
		}), nil, ""},
		{"https with port, query, IP host", base(func(in *auth.OAuthClientInput) {
			in.RedirectURIs = []string{"https://rp.example.com:8443/cb?tenant=1&x=%20y", "https://192.0.2.1/cb", "https://[2001:db8::1]/cb"}
		}), nil, ""},
		{"client secret", base(func(in *auth.OAuthClientInput) { in.AuthMethod, in.JWKS = auth.AuthClientSecretBasic, nil }), nil, ""},
		{"a name", base(func(in *auth.OAuthClientInput) { in.Name = "Shop 商店" }), nil, ""},

		{"unknown account", base(func(in *auth.OAuthClientInput) { in.AccountID = "tenant-c" }), auth.ErrAccountNotFound, `"tenant-c"`},
		{"bad account", base(func(in *auth.OAuthClientInput) { in.AccountID = "a b" }), auth.ErrInvalidParameters, "account must be"},
		{"no redirect URI", base(func(in *auth.OAuthClientInput) { in.RedirectURIs = nil }), auth.ErrInvalidParameters, "at least one redirect URI"},
		{"too many redirect URIs", base(func(in *auth.OAuthClientInput) {
			in.RedirectURIs = nil
			for i := range 17 {
				in.RedirectURIs = append(in.RedirectURIs, "https://rp.example.com/cb"+strings.Repeat("x", i))
			}
		}), auth.ErrInvalidParameters, "at most 16"},
		{"plain http", base(func(in *auth.OAuthClientInput) { in.RedirectURIs = []string{"http://rp.example.com/cb"} }), auth.ErrInvalidParameters, "must use https"},
		{"http to a name that looks loopback", base(func(in *auth.OAuthClientInput) { in.RedirectURIs = []string{"http://127.0.0.1.example.com/cb"} }), auth.ErrInvalidParameters, "must use https"},
		{"http to localhost's subdomain", base(func(in *auth.OAuthClientInput) { in.RedirectURIs = []string{"http://localhost.example/cb"} }), auth.ErrInvalidParameters, "must use https"},
		{"fragment", base(func(in *auth.OAuthClientInput) { in.RedirectURIs = []string{"https://rp.example.com/cb#x"} }), auth.ErrInvalidParameters, "fragment"},
		{"empty fragment", base(func(in *auth.OAuthClientInput) { in.RedirectURIs = []string{"https://rp.example.com/cb#"} }), auth.ErrInvalidParameters, "fragment"},
		{"relative", base(func(in *auth.OAuthClientInput) { in.RedirectURIs = []string{"/cb"} }), auth.ErrInvalidParameters, "absolute URL"},
		{"no scheme", base(func(in *auth.OAuthClientInput) { in.RedirectURIs = []string{"rp.example.com/cb"} }), auth.ErrInvalidParameters, "absolute URL"},
		{"custom scheme", base(func(in *auth.OAuthClientInput) { in.RedirectURIs = []string{"com.example.app:/cb"} }), auth.ErrInvalidParameters, "http or https"},
		{"javascript", base(func(in *auth.OAuthClientInput) { in.RedirectURIs = []string{"javascript://x/%0aalert(1)"} }), auth.ErrInvalidParameters, "http or https"},
		{"no host", base(func(in *auth.OAuthClientInput) { in.RedirectURIs = []string{"https:///cb"} }), auth.ErrInvalidParameters, "no host"},
		{"wildcard host", base(func(in *auth.OAuthClientInput) { in.RedirectURIs = []string{"https://*.example.com/cb"} }), auth.ErrInvalidParameters, "not a host name"},
		{"user info", base(func(in *auth.OAuthClientInput) { in.RedirectURIs = []string{"https://user:pw@rp.example.com/cb"} }), auth.ErrInvalidParameters, "user name"},
		{"space", base(func(in *auth.OAuthClientInput) { in.RedirectURIs = []string{"https://rp.example.com/c b"} }), auth.ErrInvalidParameters, "printable ASCII"},
		{"control character", base(func(in *auth.OAuthClientInput) { in.RedirectURIs = []string{"https://rp.example.com/cb\x1b[2J"} }), auth.ErrInvalidParameters, "printable ASCII"},
		{"non-ASCII", base(func(in *auth.OAuthClientInput) { in.RedirectURIs = []string{"https://bücher.example/cb"} }), auth.ErrInvalidParameters, "printable ASCII"},
		{"too long", base(func(in *auth.OAuthClientInput) {
			in.RedirectURIs = []string{"https://rp.example.com/" + strings.Repeat("a", 2048)}
		}), auth.ErrInvalidParameters, "at most 2048"},
		{"listed twice", base(func(in *auth.OAuthClientInput) {
			in.RedirectURIs = []string{"https://rp.example.com/cb", "https://rp.example.com/cb"}
		}), auth.ErrInvalidParameters, "redirect URI 2 is listed twice"},
		{"the bad one is named", base(func(in *auth.OAuthClientInput) {
			in.RedirectURIs = []string{"https://rp.example.com/cb", "ftp://rp.example.com/cb"}
		}), auth.ErrInvalidParameters, "redirect URI 2 must be an http or https URL"},
		{"unknown scope", base(func(in *auth.OAuthClientInput) { in.Scopes = []string{"openid", "profile"} }), auth.ErrInvalidParameters, `scope "profile"`},
		{"scope of another case", base(func(in *auth.OAuthClientInput) { in.Scopes = []string{"OpenID"} }), auth.ErrInvalidParameters, `scope "OpenID"`},
		{"empty scope", base(func(in *auth.OAuthClientInput) { in.Scopes = []string{""} }), auth.ErrInvalidParameters, `scope ""`},
		{"no auth method", base(func(in *auth.OAuthClientInput) { in.AuthMethod = "" }), auth.ErrInvalidParameters, "authentication method"},
		{"other auth method", base(func(in *auth.OAuthClientInput) { in.AuthMethod = "client_secret_post" }), auth.ErrInvalidParameters, "authentication method"},
		{"private_key_jwt without JWKS", base(func(in *auth.OAuthClientInput) { in.JWKS = nil }), auth.ErrInvalidParameters, "JWKS is required"},
		{"secret client with a JWKS", base(func(in *auth.OAuthClientInput) { in.AuthMethod = auth.AuthClientSecretBasic }), auth.ErrInvalidParameters, "has no JWKS"},
		{"private JWK", base(func(in *auth.OAuthClientInput) { in.JWKS = jwks(jwk(t, testKeys().p256, "ec", "", "")) }), auth.ErrInvalidParameters, "private"},
		{"name with a control character", base(func(in *auth.OAuthClientInput) { in.Name = "shop\x1b[31m" }), auth.ErrInvalidParameters, "control character"},
		{"name with a bidi override", base(func(in *auth.OAuthClientInput) { in.Name = "shop\u202e" }), auth.ErrInvalidParameters, "bidirectional"},
		{"name too long", base(func(in *auth.OAuthClientInput) { in.Name = strings.Repeat("n", 129) }), auth.ErrInvalidParameters, "at most 128"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before, err := st.Svc.ListOAuthClients(ctx, "")
			if err != nil {
				t.Fatal(err)
			}
			c, secret, err := st.Svc.CreateOAuthClient(ctx, tc.in)
			if tc.err != nil {
				if !errors.Is(err, tc.err) || !strings.Contains(err.Error(), tc.says) {
					t.Fatalf("CreateOAuthClient: %v, want %v saying %q", err, tc.err, tc.says)
				}
				if after, _ := st.Svc.ListOAuthClients(ctx, ""); len(after) != len(before) {
					t.Fatalf("a refused client was stored: %d clients, had %d", len(after), len(before))
				}
				return
			}
			if err != nil {
				t.Fatalf("CreateOAuthClient: %v", err)
			}
			got, err := st.Svc.GetOAuthClient(ctx, c.ID)
			if err != nil {
				t.Fatalf("GetOAuthClient: %v", err)
			}
			if !strings.HasPrefix(got.ID, "nv-") || got.Status != store.KeyActive || !slices.Equal(got.RedirectURIs, tc.in.RedirectURIs) {
				t.Fatalf("stored %+v for %+v", got, tc.in)
			}
			if want := tc.in.AccountID; got.AccountID != want && !(want == "" && got.AccountID == auth.DefaultAccount) {
				t.Fatalf("account %q, want %q", got.AccountID, want)
			}
			if (secret != "") != (tc.in.AuthMethod == auth.AuthClientSecretBasic) {
				t.Fatalf("secret %q for a %s client", secret, tc.in.AuthMethod)
			}
		})
	}
}

func TestOAuthClientSecret(t *testing.T) {
	st := authtest.New(t, authtest.Options{})
	ctx := context.Background()
	c, secret, err := st.Svc.CreateOAuthClient(ctx, auth.OAuthClientInput{
		AuthMethod: auth.AuthClientSecretBasic, RedirectURIs: []string{"http://127.0.0.1/cb"}, Scopes: []string{auth.ScopeOpenID, auth.ScopeNVVerify},
	})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := base64.RawURLEncoding.DecodeString(secret)
	if err != nil || len(raw) != 32 {
		t.Fatalf("secret %q: %d bytes (%v), want 32 random bytes base64url", secret, len(raw), err)
	}
	sum := sha256.Sum256([]byte(secret))
	if stored, _ := st.Durable.GetOAuthClient(ctx, c.ID); string(stored.SecretHash) != string(sum[:]) || stored.JWKS != nil ||
		!slices.Equal(stored.Scopes, []string{auth.ScopeOpenID, auth.ScopeNVVerify}) {
		t.Fatalf("stored %+v: want the secret's SHA-256, no JWKS and the scopes", stored)
	}
	if got, err := st.Svc.CheckOAuthClientSecret(ctx, c.ID, secret); err != nil || got.ID != c.ID {
		t.Fatalf("the right secret: %+v, %v", got, err)
	}
	for _, wrong := range []string{"", secret[:len(secret)-1], secret + "x", strings.ToUpper(secret), string(sum[:])} {
		if _, err := st.Svc.CheckOAuthClientSecret(ctx, c.ID, wrong); !errors.Is(err, auth.ErrOAuthClientSecret) {
			t.Errorf("secret %q: %v, want ErrOAuthClientSecret", wrong, err)
		}
	}
	if _, err := st.Svc.CheckOAuthClientSecret(ctx, "nv-nope", secret); !errors.Is(err, auth.ErrOAuthClientNotFound) {
		t.Errorf("unknown client: %v, want ErrOAuthClientNotFound", err)
	}
	// A private_key_jwt client has no secret that could match.
	jc, _, err := st.Svc.CreateOAuthClient(ctx, auth.OAuthClientInput{
		AuthMethod: auth.AuthPrivateKeyJWT, JWKS: jwks(jwk(t, testKeys().ed.Public(), "", "", "")), RedirectURIs: []string{"https://rp.example/cb"},
	})
	if err != nil {
		t.Fatal(err)
	}
	empty := sha256.Sum256(nil)
	for _, s := range []string{"", string(empty[:])} {
		if _, err := st.Svc.CheckOAuthClientSecret(ctx, jc.ID, s); !errors.Is(err, auth.ErrOAuthClientSecret) {
			t.Errorf("private_key_jwt client with secret %q: %v, want ErrOAuthClientSecret", s, err)
		}
	}

	// Disabled: the right secret learns so, a wrong one learns nothing more.
	if err := st.Svc.SetOAuthClientActive(ctx, c.ID, false); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Svc.CheckOAuthClientSecret(ctx, c.ID, secret); !errors.Is(err, auth.ErrOAuthClientInactive) {
		t.Errorf("disabled client, right secret: %v, want ErrOAuthClientInactive", err)
	}
	if _, err := st.Svc.CheckOAuthClientSecret(ctx, c.ID, "wrong"); !errors.Is(err, auth.ErrOAuthClientSecret) {
		t.Errorf("disabled client, wrong secret: %v, want ErrOAuthClientSecret", err)
	}
	if err := st.Svc.SetOAuthClientActive(ctx, c.ID, true); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Svc.CheckOAuthClientSecret(ctx, c.ID, secret); err != nil {
		t.Errorf("enabled again: %v", err)
	}
	if err := st.Svc.SetOAuthClientActive(ctx, "nv-nope", false); !errors.Is(err, auth.ErrOAuthClientNotFound) {
		t.Errorf("SetOAuthClientActive of an unknown client: %v, want ErrOAuthClientNotFound", err)
	}
}

// TestOAuthClientCache: a client read is reused for CacheTTL (a change made
// by another instance shows after it), a change made here shows at once,
// and what a caller does to the slices it got does not reach the cache.
func TestOAuthClientCache(t *testing.T) {
	var now atomic.Int64
	now.Store(time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	st := authtest.New(t, authtest.Options{Config: auth.Config{CacheTTL: 5 * time.Second, Now: func() time.Time { return time.Unix(0, now.Load()) }}})
	ctx := context.Background()
	c, _, err := st.Svc.CreateOAuthClient(ctx, auth.OAuthClientInput{
		AuthMethod: auth.AuthPrivateKeyJWT, JWKS: jwks(jwk(t, testKeys().ed.Public(), "", "", "")), RedirectURIs: []string{"https://rp.example/cb"},
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := st.Svc.GetOAuthClient(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	got.RedirectURIs[0] = "https://evil.example/cb"
	// Another instance disables it: this one notices within CacheTTL.
	if err := st.Durable.SetOAuthClientActive(ctx, c.ID, false); err != nil {
		t.Fatal(err)
	}
	got, err = st.Svc.GetOAuthClient(ctx, c.ID)
	if err != nil || got.RedirectURIs[0] != "https://rp.example/cb" {
		t.Fatalf("within CacheTTL: %v, %v; want the cached, active client with its own redirect URI", got.RedirectURIs, err)
	}
	now.Add(int64(6 * time.Second))
	if _, err := st.Svc.GetOAuthClient(ctx, c.ID); !errors.Is(err, auth.ErrOAuthClientInactive) {
		t.Fatalf("after CacheTTL: %v, want ErrOAuthClientInactive", err)
	}
	// Enabled here: at once.
	if err := st.Svc.SetOAuthClientActive(ctx, c.ID, true); err != nil {
		t.Fatal(err)
	}
	if got, err := st.Svc.GetOAuthClient(ctx, c.ID); err != nil || got.Status != store.KeyActive {
		t.Fatalf("after SetOAuthClientActive(true): %+v, %v", got, err)
	}
	if _, err := st.Svc.GetOAuthClient(ctx, "nv-nope"); !errors.Is(err, auth.ErrOAuthClientNotFound) {
		t.Fatalf("unknown client: %v, want ErrOAuthClientNotFound", err)
	}
}

func TestListOAuthClients(t *testing.T) {
	st := authtest.New(t, authtest.Options{})
	ctx := context.Background()
	if _, err := st.Svc.CreateAccessKey(ctx, "tenant-b", "", "", ""); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, account := range []string{"", "tenant-b", auth.DefaultAccount} {
		c, _, err := st.Svc.CreateOAuthClient(ctx, auth.OAuthClientInput{AccountID: account, AuthMethod: auth.AuthClientSecretBasic, RedirectURIs: []string{"http://localhost/cb"}})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, c.ID)
	}
	for account, want := range map[string][]string{"": ids, auth.DefaultAccount: {ids[0], ids[2]}, "tenant-b": {ids[1]}, "tenant-c": nil} {
		cs, err := st.Svc.ListOAuthClients(ctx, account)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, c := range cs {
			got = append(got, c.ID)
		}
		if !slices.Equal(got, want) && !(account == "" && len(got) == 3) {
			t.Errorf("ListOAuthClients(%q) = %v, want %v", account, got, want)
		}
	}
}
