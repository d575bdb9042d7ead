// Package token mints and opens numauth's tokens.
//
//   - AccessToken and spToken are sealed tokens: AES-256-GCM over a small JSON
//     payload, under a key derived from the master key, so every instance
//     sharing the master key opens them and nobody else can read or forge
//     them. Each token type has its own associated data, so one type can
//     never be passed off as another.
//   - JwtToken is an EdDSA (Ed25519) JWT; the public keys are published as a JWKS.
//
// Tokens are stateless; single use (spTokens) is enforced by the caller with
// one atomic PutIfAbsent in the ephemeral store, keyed by the token's ID.
package token

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/numauth/numauth/internal/secret"
)

// ErrInvalid is returned for a token that is malformed, forged, of another
// type, or sealed under another key.
var ErrInvalid = errors.New("token: invalid")

// ErrExpired is returned for a well-formed token past its expiry.
var ErrExpired = errors.New("token: expired")

// Biz is the flow a pair of auth tokens may serve.
type Biz int

const (
	BizAny    Biz = -1 // both flows (GetAuthToken without BizType)
	BizVerify Biz = 0  // local-number verification
	BizLogin  Biz = 1  // one-click login
)

// Allows reports whether tokens minted for b serve the flow want (BizVerify or BizLogin).
func (b Biz) Allows(want Biz) bool { return b == BizAny || b == want }

// Access is the content of an AccessToken.
type Access struct {
	ID        string `json:"i"` // shared with the JwtToken's jti
	AccountID string `json:"a"`
	Scheme    string `json:"s"`
	Origin    string `json:"o"`
	URL       string `json:"u"`
	Biz       Biz    `json:"b"`
	Expires   int64  `json:"e"` // unix seconds
}

// SP is the content of an spToken (the carrier leg's result).
type SP struct {
	ID        string `json:"i"`
	AccountID string `json:"a"`
	Scheme    string `json:"s"`
	Kind      string `json:"k"` // "verify" or "login"
	Operator  string `json:"op"`
	Adapter   string `json:"ad"`
	Ticket    string `json:"t"`
	Masked    string `json:"m,omitempty"`
	Issued    int64  `json:"n"` // unix milliseconds
	Expires   int64  `json:"e"` // unix milliseconds
}

// Sealer seals and opens AccessTokens and spTokens.
type Sealer struct {
	aead cipher.AEAD
	now  func() time.Time
}

// WithClock makes the sealer judge expiry by now (for tests and replays).
func (s *Sealer) WithClock(now func() time.Time) *Sealer {
	s.now = now
	return s
}

// version prefixes every sealed token so the format can evolve.
const sealVersion = 'A'

// NewSealer derives the sealing key from the master key box.
func NewSealer(box *secret.Box) (*Sealer, error) {
	block, err := aes.NewCipher(box.Derive("numauth token seal v1", 32))
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Sealer{aead: aead, now: time.Now}, nil
}

var (
	aadAccess = []byte("numauth/access-token")
	aadSP     = []byte("numauth/sp-token")
)

func (s *Sealer) seal(v any, aad []byte) (string, error) {
	pt, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("token: %w", err)
	}
	ns := s.aead.NonceSize()
	buf := make([]byte, 1+ns, 1+ns+len(pt)+s.aead.Overhead())
	buf[0] = sealVersion
	if _, err := rand.Read(buf[1:]); err != nil {
		return "", err
	}
	buf = s.aead.Seal(buf, buf[1:1+ns], pt, aad)
	return base64.RawURLEncoding.EncodeToString(buf), nil
}

func (s *Sealer) open(tok string, aad []byte, v any) error {
	if len(tok) == 0 || len(tok) > 4096 {
		return ErrInvalid
	}
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	ns := s.aead.NonceSize()
	if err != nil || len(raw) < 1+ns+s.aead.Overhead() || raw[0] != sealVersion {
		return ErrInvalid
	}
	pt, err := s.aead.Open(nil, raw[1:1+ns], raw[1+ns:], aad)
	if err != nil {
		return ErrInvalid
	}
	if err := json.Unmarshal(pt, v); err != nil {
		return ErrInvalid
	}
	return nil
}

// SealAccess mints an AccessToken.
func (s *Sealer) SealAccess(a Access) (string, error) { return s.seal(a, aadAccess) }

// OpenAccess opens an AccessToken and checks its expiry.
func (s *Sealer) OpenAccess(tok string) (Access, error) {
	var a Access
	if err := s.open(tok, aadAccess, &a); err != nil {
		return Access{}, err
	}
	if s.now().Unix() >= a.Expires {
		return a, ErrExpired
	}
	return a, nil
}

// SealSP mints an spToken.
func (s *Sealer) SealSP(p SP) (string, error) { return s.seal(p, aadSP) }

// OpenSP opens an spToken and checks its expiry.
func (s *Sealer) OpenSP(tok string) (SP, error) {
	var p SP
	if err := s.open(tok, aadSP, &p); err != nil {
		return SP{}, err
	}
	if s.now().UnixMilli() >= p.Expires {
		return p, ErrExpired
	}
	return p, nil
}

// NewID returns a random 128-bit identifier, base64url without padding.
func NewID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}
