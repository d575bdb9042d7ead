package token

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/numauth/numauth/internal/secret"
	"github.com/numauth/numauth/internal/store"
)

// useOIDC names the OpenID provider's signing keys in the durable store.
const useOIDC = "oidc"

// initialOIDCKeyID is fixed for the same reason as initialKeyID: instances
// starting together against an empty store agree on one key.
const initialOIDCKeyID = "rs256-1"

// OIDCKey is one of the OpenID provider's RS256 keys. Priv is nil for a key
// that only verifies (retired).
type OIDCKey struct {
	ID   string
	Pub  *rsa.PublicKey
	Priv *rsa.PrivateKey
}

// OIDCKeys holds the OpenID provider's ID-token signing keys: RSA 2048,
// RS256, the one algorithm OpenID Connect requires every provider to offer
// and every relying party to accept. They are kept sealed in the durable
// store like the JwtToken keys; every instance signs with the newest key
// and publishes all of them.
type OIDCKeys struct {
	ks  KeyStore
	box *secret.Box

	mu      sync.RWMutex
	keys    []OIDCKey // ordered by creation
	current OIDCKey
}

// LoadOIDCKeys loads the OpenID provider's keys, creating the first one if
// there is none.
func LoadOIDCKeys(ctx context.Context, ks KeyStore, box *secret.Box) (*OIDCKeys, error) {
	k := &OIDCKeys{ks: ks, box: box}
	keys, err := ks.ListSigningKeys(ctx, useOIDC)
	if err != nil {
		return nil, fmt.Errorf("token: load OpenID keys: %w", err)
	}
	if len(keys) == 0 {
		if err := k.create(ctx, initialOIDCKeyID); err != nil && !errors.Is(err, store.ErrConflict) {
			return nil, err
		}
	}
	return k, k.Reload(ctx)
}

// Rotate creates a new key: it is published at once and signs from the
// next Reload of each instance on.
func (k *OIDCKeys) Rotate(ctx context.Context) (string, error) {
	id := "rs256-" + NewID()[:12]
	if err := k.create(ctx, id); err != nil {
		return "", err
	}
	return id, k.Reload(ctx)
}

func (k *OIDCKeys) create(ctx context.Context, id string) error {
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return err
	}
	_, err = storeKey(ctx, k.ks, k.box, store.SigningKey{ID: id, Use: useOIDC, Alg: "RS256"}, priv, &priv.PublicKey)
	return err
}

// Reload reads the keys from the store again (after another instance
// rotated).
func (k *OIDCKeys) Reload(ctx context.Context) error {
	sks, err := k.ks.ListSigningKeys(ctx, useOIDC)
	if err != nil {
		return fmt.Errorf("token: load OpenID keys: %w", err)
	}
	var keys []OIDCKey
	var current OIDCKey
	for _, sk := range sks {
		p, err := x509.ParsePKIXPublicKey(sk.Public)
		pub, ok := p.(*rsa.PublicKey)
		if err != nil || !ok {
			return fmt.Errorf("token: OpenID key %s: bad public key", sk.ID)
		}
		key := OIDCKey{ID: sk.ID, Pub: pub}
		if sk.NotAfter.IsZero() || time.Now().Before(sk.NotAfter) {
			priv, err := openKey(k.box, sk)
			if err != nil {
				return err
			}
			rp, ok := priv.(*rsa.PrivateKey)
			if !ok {
				return fmt.Errorf("token: OpenID key %s: bad private key", sk.ID)
			}
			key.Priv = rp
			current = key // ordered by creation: the last usable one signs
		}
		keys = append(keys, key)
	}
	if current.Priv == nil {
		return errors.New("token: no usable OpenID signing key")
	}
	k.mu.Lock()
	k.keys, k.current = keys, current
	k.mu.Unlock()
	return nil
}

// Current is the key that signs.
func (k *OIDCKeys) Current() OIDCKey {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.current
}

// All is every published key, retired ones included.
func (k *OIDCKeys) All() []OIDCKey {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return append([]OIDCKey(nil), k.keys...)
}
