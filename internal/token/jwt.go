package token

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/numauth/numauth/internal/secret"
	"github.com/numauth/numauth/internal/store"
)

// Issuer is the "iss" of every JwtToken.
const Issuer = "numauth"

// Claims are a JwtToken's claims. The ID (jti) is the AccessToken's ID, so
// the two tokens of one GetAuthToken answer are a verifiable pair.
type Claims struct {
	jwt.RegisteredClaims
	Origin string `json:"origin"`
	URL    string `json:"url"`
	Biz    Biz    `json:"biz"`
}

// KeyStore is what the keyring needs of the durable store.
type KeyStore interface {
	PutSigningKey(ctx context.Context, k store.SigningKey) error
	ListSigningKeys(ctx context.Context, use string) ([]store.SigningKey, error)
}

type jwtKey struct {
	id   string
	priv ed25519.PrivateKey
}

// Keyring signs and verifies JwtTokens with Ed25519 (JWS "EdDSA", RFC 8037) keys kept sealed in the
// durable store. Every instance sharing the store and the master key signs
// with the newest key and verifies with any of them.
type Keyring struct {
	ks  KeyStore
	box *secret.Box

	mu         sync.RWMutex
	current    jwtKey
	public     map[string]ed25519.PublicKey
	jwks       []byte
	lastReload time.Time
	parser     *jwt.Parser
}

const useJWT = "jwt"

// initialKeyID is fixed so that instances starting at once against an empty
// store agree on one key: the first PutSigningKey wins, the others conflict
// and load the winner's.
const initialKeyID = "ed25519-1"

// WithClock makes the keyring judge expiry by now (for tests and replays).
// Call it before the keyring is used.
func (k *Keyring) WithClock(now func() time.Time) *Keyring {
	k.parser = jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodEdDSA.Alg()}),
		jwt.WithIssuer(Issuer),
		jwt.WithExpirationRequired(),
		jwt.WithTimeFunc(now),
	)
	return k
}

// LoadKeyring loads the signing keys, creating the first one if there is none.
func LoadKeyring(ctx context.Context, ks KeyStore, box *secret.Box) (*Keyring, error) {
	k := &Keyring{ks: ks, box: box}
	k.WithClock(time.Now)
	keys, err := ks.ListSigningKeys(ctx, useJWT)
	if err != nil {
		return nil, fmt.Errorf("token: load signing keys: %w", err)
	}
	if len(keys) == 0 {
		if _, err := k.create(ctx, initialKeyID); err != nil && !errors.Is(err, store.ErrConflict) {
			return nil, err
		}
	}
	if err := k.reload(ctx); err != nil {
		return nil, err
	}
	return k, nil
}

// Rotate creates a new signing key; it signs from now on, and older keys
// still verify until they are removed from the store.
func (k *Keyring) Rotate(ctx context.Context) (string, error) {
	id := "ed25519-" + NewID()[:12]
	if _, err := k.create(ctx, id); err != nil {
		return "", err
	}
	return id, k.reload(ctx)
}

func (k *Keyring) create(ctx context.Context, id string) (store.SigningKey, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return store.SigningKey{}, err
	}
	return storeKey(ctx, k.ks, k.box, store.SigningKey{ID: id, Use: useJWT, Alg: "EdDSA"}, priv, pub)
}

// storeKey seals priv (PKCS #8) under the master key and stores it as sk,
// with pub (PKIX) beside it.
func storeKey(ctx context.Context, ks KeyStore, box *secret.Box, sk store.SigningKey, priv, pub any) (store.SigningKey, error) {
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return store.SigningKey{}, err
	}
	if sk.Public, err = x509.MarshalPKIXPublicKey(pub); err != nil {
		return store.SigningKey{}, err
	}
	sk.Sealed, sk.CreatedAt = box.Seal(der, []byte("signing-key/"+sk.ID)), time.Now().UTC()
	if err := ks.PutSigningKey(ctx, sk); err != nil {
		return store.SigningKey{}, fmt.Errorf("token: store signing key: %w", err)
	}
	return sk, nil
}

// openKey opens a stored key's private half.
func openKey(box *secret.Box, sk store.SigningKey) (any, error) {
	der, err := box.Open(sk.Sealed, []byte("signing-key/"+sk.ID))
	if err != nil {
		return nil, fmt.Errorf("token: signing key %s: %w (is NUMAUTH_MASTER_KEY the one the store was created with?)", sk.ID, err)
	}
	priv, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("token: signing key %s: bad private key", sk.ID)
	}
	return priv, nil
}

func (k *Keyring) reload(ctx context.Context) error {
	keys, err := k.ks.ListSigningKeys(ctx, useJWT)
	if err != nil {
		return fmt.Errorf("token: load signing keys: %w", err)
	}
	if len(keys) == 0 {
		return errors.New("token: no signing key")
	}
	public := make(map[string]ed25519.PublicKey, len(keys))
	type jwk struct {
		Kty string `json:"kty"`
		Crv string `json:"crv"`
		X   string `json:"x"`
		Kid string `json:"kid"`
		Use string `json:"use"`
		Alg string `json:"alg"`
	}
	set := struct {
		Keys []jwk `json:"keys"`
	}{Keys: []jwk{}}
	var current jwtKey
	for _, sk := range keys {
		p, err := x509.ParsePKIXPublicKey(sk.Public)
		pub, ok := p.(ed25519.PublicKey)
		if err != nil || !ok {
			return fmt.Errorf("token: signing key %s: bad public key", sk.ID)
		}
		public[sk.ID] = pub
		set.Keys = append(set.Keys, jwk{Kty: "OKP", Crv: "Ed25519", Kid: sk.ID, Use: "sig", Alg: "EdDSA",
			X: base64.RawURLEncoding.EncodeToString(pub)})
		if !sk.NotAfter.IsZero() && time.Now().After(sk.NotAfter) {
			continue
		}
		// Keys are ordered by creation: the last usable one signs.
		priv, err := openKey(k.box, sk)
		if err != nil {
			return err
		}
		ep, ok := priv.(ed25519.PrivateKey)
		if !ok {
			return fmt.Errorf("token: signing key %s: bad private key", sk.ID)
		}
		current = jwtKey{id: sk.ID, priv: ep}
	}
	if current.priv == nil {
		return errors.New("token: every signing key is retired")
	}
	jwks, err := json.Marshal(set)
	if err != nil {
		return err
	}
	k.mu.Lock()
	k.current, k.public, k.jwks, k.lastReload = current, public, jwks, time.Now()
	k.mu.Unlock()
	return nil
}

// Sign mints a JwtToken.
func (k *Keyring) Sign(c Claims) (string, error) {
	k.mu.RLock()
	cur := k.current
	k.mu.RUnlock()
	c.Issuer = Issuer
	t := jwt.NewWithClaims(jwt.SigningMethodEdDSA, c)
	t.Header["kid"] = cur.id
	s, err := t.SignedString(cur.priv)
	if err != nil {
		return "", fmt.Errorf("token: sign: %w", err)
	}
	return s, nil
}

// Verify checks a JwtToken's signature, issuer and expiry. A key id this
// instance does not know yet (another instance rotated) triggers one reload
// from the store, at most once a second.
func (k *Keyring) Verify(ctx context.Context, s string) (Claims, error) {
	if len(s) > 4096 {
		return Claims{}, ErrInvalid
	}
	var c Claims
	_, err := k.parser.ParseWithClaims(s, &c, func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		if pub := k.publicKey(ctx, kid); pub != nil {
			return pub, nil
		}
		return nil, ErrInvalid
	})
	switch {
	case err == nil:
		return c, nil
	case errors.Is(err, jwt.ErrTokenExpired):
		return c, ErrExpired
	default:
		return Claims{}, ErrInvalid
	}
}

func (k *Keyring) publicKey(ctx context.Context, kid string) ed25519.PublicKey {
	k.mu.RLock()
	pub, last := k.public[kid], k.lastReload
	k.mu.RUnlock()
	if pub != nil || kid == "" || time.Since(last) < time.Second {
		return pub
	}
	if err := k.reload(ctx); err != nil {
		return nil
	}
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.public[kid]
}

// JWKS returns the public keys as a JSON Web Key Set.
func (k *Keyring) JWKS() []byte {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.jwks
}
