// Package token mints and opens numauth's tokens.
//
//   - AccessToken and spToken are sealed tokens: AES-256-GCM over a small
//     binary payload (package wire), under a key derived from the master key, so every instance
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
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"time"

	"github.com/numauth/numauth/internal/secret"
	"github.com/numauth/numauth/internal/wire"
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
	// The JwtToken minted with this AccessToken: its digest (JWTDigest) and
	// expiry, unix seconds. The gateway checks the pair by comparing digests
	// instead of verifying the Ed25519 signature again: the AccessToken is
	// authenticated, so a JwtToken with the digest it carries is the one
	// numauth signed. Empty in tokens minted before the binding existed.
	JWT        []byte `json:"-"`
	JWTExpires int64  `json:"-"`
}

// JWTDigest is the digest of a JwtToken that an AccessToken binds.
func JWTDigest(jwt string) []byte {
	d := sha256.Sum256([]byte(jwt))
	return d[:16]
}

// BindsJWT reports whether the AccessToken was minted with exactly this
// JwtToken (false for tokens without a binding).
func (a *Access) BindsJWT(jwt string) bool {
	return len(a.JWT) == 16 && subtle.ConstantTimeCompare(a.JWT, JWTDigest(jwt)) == 1
}

func (a *Access) encode(w *wire.Writer) {
	w.Strings(a.ID, a.AccountID, a.Scheme, a.Origin, a.URL)
	w.Int(int64(a.Biz))
	w.Int(a.Expires)
	w.Bytes(a.JWT)
	w.Int(a.JWTExpires)
}

func (a *Access) decode(r *wire.Reader) {
	a.ID, a.AccountID, a.Scheme, a.Origin, a.URL = r.String(), r.String(), r.String(), r.String(), r.String()
	a.Biz, a.Expires = Biz(r.Int()), r.Int()
	a.JWT, a.JWTExpires = r.Bytes(), r.Int()
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
	// Epoch is the ephemeral store's epoch marker when the token was
	// minted; 0 in tokens of older versions. The token's outcome state is
	// trusted only while the marker still holds it.
	Epoch int64 `json:"ep,omitempty"`
}

func (p *SP) encode(w *wire.Writer) {
	w.Strings(p.ID, p.AccountID, p.Scheme, p.Kind, p.Operator, p.Adapter, p.Ticket, p.Masked)
	w.Int(p.Issued)
	w.Int(p.Expires)
	if p.Epoch != 0 {
		w.Int(p.Epoch)
	}
}

func (p *SP) decode(r *wire.Reader) {
	p.ID, p.AccountID, p.Scheme, p.Kind = r.String(), r.String(), r.String(), r.String()
	p.Operator, p.Adapter, p.Ticket, p.Masked = r.String(), r.String(), r.String(), r.String()
	p.Issued, p.Expires = r.Int(), r.Int()
	if r.More() { // appended by a later version
		p.Epoch = r.Int()
	}
}

// payload is a sealed token's content.
type payload interface {
	encode(*wire.Writer)
	decode(*wire.Reader)
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

// The version byte prefixes every sealed token so the format can evolve.
// 'B' tokens hold a wire payload; 'A' tokens (JSON payloads, numauth before
// the binary format) are still opened, so that tokens minted by instances
// not yet upgraded keep working through a rolling upgrade.
const (
	sealVersion = 'B'
	jsonVersion = 'A'
)

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
	aadApp    = []byte("numauth/app-token")
)

// sealCap is a buffer size that holds any token numauth mints (version,
// nonce, payload, tag) without growing.
const sealCap = 512

func (s *Sealer) seal(v payload, aad []byte) (string, error) {
	ns := s.aead.NonceSize()
	buf := make([]byte, 1+ns, sealCap)
	buf[0] = sealVersion
	if _, err := rand.Read(buf[1:]); err != nil {
		return "", err
	}
	w := wire.NewWriter(buf)
	v.encode(w)
	buf = w.Out()
	// Seal in place: the plaintext after the nonce becomes the ciphertext.
	out := s.aead.Seal(buf[:1+ns], buf[1:1+ns], buf[1+ns:], aad)
	return base64.RawURLEncoding.EncodeToString(out), nil
}

func (s *Sealer) open(tok string, aad []byte, v payload) error {
	if len(tok) == 0 || len(tok) > 4096 {
		return ErrInvalid
	}
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	ns := s.aead.NonceSize()
	if err != nil || len(raw) < 1+ns+s.aead.Overhead() || (raw[0] != sealVersion && raw[0] != jsonVersion) {
		return ErrInvalid
	}
	// Open in place: the ciphertext becomes the plaintext.
	pt, err := s.aead.Open(raw[1+ns:1+ns], raw[1:1+ns], raw[1+ns:], aad)
	if err != nil {
		return ErrInvalid
	}
	if raw[0] == jsonVersion {
		if json.Unmarshal(pt, v) != nil {
			return ErrInvalid
		}
		return nil
	}
	r := wire.NewReader(pt)
	v.decode(r)
	if r.Done() != nil {
		return ErrInvalid
	}
	return nil
}

// SealAccess mints an AccessToken.
func (s *Sealer) SealAccess(a Access) (string, error) { return s.seal(&a, aadAccess) }

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
func (s *Sealer) SealSP(p SP) (string, error) { return s.seal(&p, aadSP) }

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

// SealApp mints an app token: the token a native app's carrier SDK gets
// (GetMobile's AccessToken, VerifyMobile's AccessCode). Its content is an
// spToken's, sealed with associated data of its own, so an app token never
// opens as an spToken nor the reverse.
func (s *Sealer) SealApp(p SP) (string, error) { return s.seal(&p, aadApp) }

// OpenApp opens an app token and checks its expiry.
func (s *Sealer) OpenApp(tok string) (SP, error) {
	var p SP
	if err := s.open(tok, aadApp, &p); err != nil {
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
