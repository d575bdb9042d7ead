package harness

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// CamaraIssuer is the issuer of the instance's northbound CAMARA OpenID
// provider (SPEC §7); discovery is at CamaraIssuer()/.well-known/openid-configuration.
func (in *Instance) CamaraIssuer() string { return in.URL + "/camara" }

// CamaraClient is an OAuth client of an instance's northbound CAMARA API,
// registered with `numauth camara clients create`.
type CamaraClient struct {
	ID          string
	Secret      string // client_secret_basic; "" for a private_key_jwt client
	RedirectURI string
	// Key signs the client assertions of a private_key_jwt client (its
	// public half is the JWKS the client was registered with); nil for a
	// secret client.
	Key   *rsa.PrivateKey
	KeyID string
}

// The RSA key every private_key_jwt client of a test process uses: making
// one costs more than a whole flow, and the clients differ by their ids.
var (
	clientKeyOnce sync.Once
	clientKey     *rsa.PrivateKey
	clientKeyErr  error
)

// ClientKeyID is the kid of the JWKS that private_key_jwt clients are
// registered with and of the assertions they sign.
const ClientKeyID = "numauth-test-client-key-1"

// NewCamaraClient registers a client of the instance's account "default"
// with one redirect URI: a client_secret_basic client if secret, else a
// private_key_jwt client whose JWKS holds the public half of Key.
func (in *Instance) NewCamaraClient(t testing.TB, redirectURI string, secret bool) CamaraClient {
	t.Helper()
	var auth []string
	c := CamaraClient{RedirectURI: redirectURI}
	if secret {
		auth = []string{"--secret"}
	} else {
		key, err := ClientKey()
		if err != nil {
			t.Fatal(err)
		}
		c.Key, c.KeyID = key, ClientKeyID
		jwks, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{
			Key: &key.PublicKey, KeyID: ClientKeyID, Algorithm: string(jose.RS256), Use: "sig",
		}}})
		if err != nil {
			t.Fatal(err)
		}
		file := filepath.Join(t.TempDir(), "client-jwks.json")
		if err := os.WriteFile(file, jwks, 0o600); err != nil {
			t.Fatal(err)
		}
		auth = []string{"--jwks-file", file}
	}
	c.ID, c.Secret = in.CreateCamaraClient(t, redirectURI, auth...)
	if secret && c.Secret == "" {
		t.Fatal("numauth camara clients create --secret printed no client_secret")
	}
	return c
}

// CreateCamaraClient runs `numauth camara clients create` for the account
// "default" with one redirect URI and the flags auth (--secret, or
// --jwks-file FILE) and returns the client id and secret it printed.
func (in *Instance) CreateCamaraClient(t testing.TB, redirectURI string, auth ...string) (id, secret string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := in.CLI(ctx, append([]string{"camara", "clients", "create", "--account", "default", "--redirect-uri", redirectURI}, auth...)...)
	if err != nil {
		t.Fatal(err)
	}
	var printed struct {
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
	}
	if err := json.Unmarshal([]byte(out), &printed); err != nil || printed.ClientID == "" {
		t.Fatalf("numauth camara clients create printed %q (%v), want {\"client_id\": ...}", out, err)
	}
	return printed.ClientID, printed.ClientSecret
}

// ClientKey returns the test process's client key (see NewCamaraClient).
func ClientKey() (*rsa.PrivateKey, error) {
	clientKeyOnce.Do(func() { clientKey, clientKeyErr = rsa.GenerateKey(rand.Reader, 2048) })
	return clientKey, clientKeyErr
}

// Assertion is the claims of a client assertion (RFC 7523) that tests
// vary; zero fields get the values a correct client sends.
type Assertion struct {
	Audience string    // the token endpoint or the issuer
	IssuedAt time.Time // default now
	Expiry   time.Time // default IssuedAt + 2 min
	ID       string    // jti; default a random one
}

// ClientAssertion signs a private_key_jwt client assertion for c: iss and
// sub are the client id, the other claims come from a.
func (c CamaraClient) ClientAssertion(a Assertion) (string, error) {
	if c.Key == nil {
		return "", fmt.Errorf("client %s has no key: it authenticates with a secret", c.ID)
	}
	if a.IssuedAt.IsZero() {
		a.IssuedAt = time.Now()
	}
	if a.Expiry.IsZero() {
		a.Expiry = a.IssuedAt.Add(2 * time.Minute)
	}
	if a.ID == "" {
		a.ID = rand.Text()
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: c.Key},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", c.KeyID))
	if err != nil {
		return "", err
	}
	return jwt.Signed(signer).Claims(jwt.Claims{
		Issuer: c.ID, Subject: c.ID, Audience: jwt.Audience{a.Audience}, ID: a.ID,
		IssuedAt: jwt.NewNumericDate(a.IssuedAt), Expiry: jwt.NewNumericDate(a.Expiry),
	}).Serialize()
}
