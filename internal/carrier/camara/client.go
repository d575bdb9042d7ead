package camara

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/hex"
	"fmt"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// assertionTTL is how long a client assertion is good for: short, as
// operators (and numauth's own provider) accept at most 300 s.
const assertionTTL = 60 * time.Second

// assertionAlg is the algorithm a client key signs assertions with.
func assertionAlg(k crypto.Signer) (jose.SignatureAlgorithm, error) {
	switch pub := k.Public().(type) {
	case *rsa.PublicKey:
		if pub.N.BitLen() < 2048 {
			return "", fmt.Errorf("camara: the client key is RSA-%d; want at least 2048 bits", pub.N.BitLen())
		}
		return jose.RS256, nil
	case *ecdsa.PublicKey:
		if pub.Curve != elliptic.P256() {
			return "", fmt.Errorf("camara: the client key is an EC key on %s; want P-256", pub.Curve.Params().Name)
		}
		return jose.ES256, nil
	}
	return "", fmt.Errorf("camara: the client key is a %T; want RSA or EC P-256", k.Public())
}

// assertion signs a private_key_jwt client assertion for the token
// endpoint (RFC 7523): iss and sub the client, aud the endpoint, a fresh
// jti, exp a minute ahead.
func (a *Adapter) assertion(tokenURL string) (string, error) {
	alg, err := assertionAlg(a.cfg.ClientKey)
	if err != nil {
		return "", err
	}
	opts := (&jose.SignerOptions{}).WithType("JWT")
	key := jose.SigningKey{Algorithm: alg, Key: a.cfg.ClientKey}
	if a.cfg.KeyID != "" {
		key.Key = jose.JSONWebKey{Key: a.cfg.ClientKey, KeyID: a.cfg.KeyID, Algorithm: string(alg)}
	}
	sig, err := jose.NewSigner(key, opts)
	if err != nil {
		return "", err
	}
	now := a.cfg.Now()
	return jwt.Signed(sig).Claims(jwt.Claims{
		Issuer: a.cfg.ClientID, Subject: a.cfg.ClientID, Audience: jwt.Audience{tokenURL},
		ID: hex.EncodeToString(random(16)), IssuedAt: jwt.NewNumericDate(now),
		NotBefore: jwt.NewNumericDate(now.Add(-5 * time.Second)), Expiry: jwt.NewNumericDate(now.Add(assertionTTL)),
	}).Serialize()
}
