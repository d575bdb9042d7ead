package token

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/numauth/numauth/internal/secret"
	"github.com/numauth/numauth/internal/store"
)

// keyTable is a KeyStore over a slice, enough to exercise the keyring's own
// logic; the real backends are covered by the store conformance suite.
type keyTable struct {
	mu   sync.Mutex
	keys []store.SigningKey
}

func (t *keyTable) PutSigningKey(_ context.Context, k store.SigningKey) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, o := range t.keys {
		if o.ID == k.ID {
			return store.ErrConflict
		}
	}
	t.keys = append(t.keys, k)
	return nil
}

func (t *keyTable) ListSigningKeys(_ context.Context, use string) ([]store.SigningKey, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []store.SigningKey
	for _, k := range t.keys {
		if k.Use == use {
			out = append(out, k)
		}
	}
	return out, nil
}

func (t *keyTable) RetireSigningKey(_ context.Context, id string, notAfter time.Time) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	for i := range t.keys {
		if t.keys[i].ID == id {
			t.keys[i].NotAfter = notAfter
			return nil
		}
	}
	return store.ErrNotFound
}

func box(t testing.TB, b byte) *secret.Box {
	bx, err := secret.New(bytes.Repeat([]byte{b}, secret.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	return bx
}

func TestSealedTokens(t *testing.T) {
	s, _ := NewSealer(box(t, 1))
	a := Access{ID: NewID(), AccountID: "acct", Scheme: "FC1", Origin: "https://a.example", URL: "https://a.example/x", Biz: BizAny, Expires: time.Now().Add(time.Minute).Unix(),
		JWT: JWTDigest("a.b.c"), JWTExpires: time.Now().Add(time.Hour).Unix()}
	tok, err := s.SealAccess(a)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.OpenAccess(tok)
	if err != nil || !reflect.DeepEqual(got, a) {
		t.Fatalf("OpenAccess = %+v, %v", got, err)
	}
	if !got.BindsJWT("a.b.c") || got.BindsJWT("a.b.d") || got.BindsJWT("") {
		t.Fatal("BindsJWT does not tell the bound JwtToken from others")
	}
	// An AccessToken is never accepted as an spToken and the reverse.
	if _, err := s.OpenSP(tok); !errors.Is(err, ErrInvalid) {
		t.Fatalf("OpenSP(access token) = %v", err)
	}
	sp := SP{ID: NewID(), AccountID: "acct", Kind: "verify", Operator: "CM", Ticket: "t", Expires: time.Now().Add(time.Minute).UnixMilli()}
	spTok, _ := s.SealSP(sp)
	if _, err := s.OpenAccess(spTok); !errors.Is(err, ErrInvalid) {
		t.Fatalf("OpenAccess(sp token) = %v", err)
	}
	other, _ := NewSealer(box(t, 2))
	flipped := []byte(tok)
	flipped[len(flipped)/2] ^= 1
	for name, bad := range map[string]string{
		"empty": "", "garbage": "!!!", "other key": func() string { x, _ := other.SealAccess(a); return x }(),
		"flipped": string(flipped), "truncated": tok[:len(tok)-4], "huge": strings.Repeat("A", 5000),
	} {
		if _, err := s.OpenAccess(bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: OpenAccess = %v, want ErrInvalid", name, err)
		}
	}
	a.Expires = time.Now().Add(-time.Second).Unix()
	old, _ := s.SealAccess(a)
	if _, err := s.OpenAccess(old); !errors.Is(err, ErrExpired) {
		t.Fatalf("expired access token: %v", err)
	}
	sp.Expires = time.Now().Add(-time.Millisecond).UnixMilli()
	oldSP, _ := s.SealSP(sp)
	if _, err := s.OpenSP(oldSP); !errors.Is(err, ErrExpired) {
		t.Fatalf("expired sp token: %v", err)
	}
}

// sealJSON seals v the way numauth did before the binary payloads.
func sealJSON(t *testing.T, s *Sealer, v any, aad []byte) string {
	pt, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	ns := s.aead.NonceSize()
	buf := append([]byte{jsonVersion}, make([]byte, ns)...)
	return base64.RawURLEncoding.EncodeToString(s.aead.Seal(buf, buf[1:], pt, aad))
}

// Tokens minted by an instance that predates the binary payloads still open
// (a rolling upgrade), but carry no JwtToken binding.
func TestJSONTokensStillOpen(t *testing.T) {
	s, _ := NewSealer(box(t, 1))
	a := Access{ID: "id1", AccountID: "acct", Scheme: "FC1", Origin: "https://a.example", URL: "https://a.example/x", Biz: BizLogin, Expires: time.Now().Add(time.Minute).Unix()}
	got, err := s.OpenAccess(sealJSON(t, s, a, aadAccess))
	if err != nil || !reflect.DeepEqual(got, a) || got.BindsJWT("") {
		t.Fatalf("OpenAccess(JSON token) = %+v, %v", got, err)
	}
	sp := SP{ID: "sp1", AccountID: "acct", Kind: "login", Operator: "CU", Masked: "138****8000", Expires: time.Now().Add(time.Minute).UnixMilli()}
	gotSP, err := s.OpenSP(sealJSON(t, s, sp, aadSP))
	if err != nil || gotSP != sp {
		t.Fatalf("OpenSP(JSON token) = %+v, %v", gotSP, err)
	}
	if _, err := s.OpenSP(sealJSON(t, s, json.RawMessage(`"not an object"`), aadSP)); !errors.Is(err, ErrInvalid) {
		t.Fatalf("JSON token with a bad payload: %v", err)
	}
}

func TestKeyringSignVerifyRotate(t *testing.T) {
	ctx := context.Background()
	ks := &keyTable{}
	k1, err := LoadKeyring(ctx, ks, box(t, 1))
	if err != nil {
		t.Fatal(err)
	}
	// A second instance over the same store agrees on the same first key.
	k2, err := LoadKeyring(ctx, ks, box(t, 1))
	if err != nil || len(ks.keys) != 1 {
		t.Fatalf("second instance: %v, keys=%d", err, len(ks.keys))
	}
	claims := Claims{Origin: "https://a.example", Biz: BizLogin}
	claims.ID, claims.Subject = "jti1", "acct"
	claims.ExpiresAt = jwt.NewNumericDate(time.Now().Add(time.Hour))
	s, err := k1.Sign(claims)
	if err != nil {
		t.Fatal(err)
	}
	got, err := k2.Verify(ctx, s)
	if err != nil || got.ID != "jti1" || got.Origin != "https://a.example" || got.Biz != BizLogin {
		t.Fatalf("Verify = %+v, %v", got, err)
	}
	// Rotation on one instance: the other verifies the new key after a reload.
	k2.mu.Lock()
	k2.lastReload = time.Time{}
	k2.mu.Unlock()
	if _, _, err := k1.Rotate(ctx, 0); err != nil {
		t.Fatal(err)
	}
	s2, _ := k1.Sign(claims)
	if _, err := k2.Verify(ctx, s2); err != nil {
		t.Fatalf("verify after rotation on another instance: %v", err)
	}
	if _, err := k1.Verify(ctx, s); err != nil {
		t.Fatalf("old key no longer verifies: %v", err)
	}
	var set struct{ Keys []map[string]string }
	if err := json.Unmarshal(k1.JWKS(), &set); err != nil || len(set.Keys) != 2 || set.Keys[0]["kty"] != "OKP" {
		t.Fatalf("JWKS = %s, %v", k1.JWKS(), err)
	}
	// Tampering, another keyring's token, "none" and expired tokens fail.
	// Each bad token is checked to be built, so a refusal is for its defect
	// and not for being empty.
	other, err := LoadKeyring(ctx, &keyTable{}, box(t, 3))
	if err != nil {
		t.Fatal(err)
	}
	foreign, err := other.Sign(claims)
	if err != nil {
		t.Fatal(err)
	}
	none, err := jwt.NewWithClaims(jwt.SigningMethodNone, claims).SignedString(jwt.UnsafeAllowNoneSignatureType)
	if err != nil {
		t.Fatal(err)
	}
	for name, bad := range map[string]string{"tampered": tamperSignature(t, s), "foreign": foreign, "none": none, "garbage": "a.b.c"} {
		if _, err := k1.Verify(ctx, bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: Verify = %v, want ErrInvalid", name, err)
		}
	}
	claims.ExpiresAt = jwt.NewNumericDate(time.Now().Add(-time.Minute))
	expired, _ := k1.Sign(claims)
	if _, err := k1.Verify(ctx, expired); !errors.Is(err, ErrExpired) {
		t.Fatalf("expired: %v", err)
	}
}

// tamperSignature changes the first byte of a JWS's signature. Changing its
// last characters may change nothing: an Ed25519 signature's top bits are
// zero and the last base64url character carries bits that decoding ignores,
// so a tamper to "AAA" left about 2 tokens in 3,000 as they were.
func tamperSignature(t *testing.T, jws string) string {
	t.Helper()
	i := strings.LastIndexByte(jws, '.')
	sig, err := base64.RawURLEncoding.DecodeString(jws[i+1:])
	if i < 0 || err != nil || len(sig) == 0 {
		t.Fatalf("not a signed JWS: %q (%v)", jws, err)
	}
	sig[0] ^= 0xff
	out := jws[:i+1] + base64.RawURLEncoding.EncodeToString(sig)
	if out == jws {
		t.Fatal("tampering left the token unchanged")
	}
	return out
}

func FuzzOpenSP(f *testing.F) {
	s, _ := NewSealer(box(f, 1))
	tok, _ := s.SealSP(SP{ID: "x", Expires: time.Now().Add(time.Hour).UnixMilli()})
	f.Add(tok)
	f.Add("")
	f.Add("A")
	f.Fuzz(func(t *testing.T, in string) {
		p, err := s.OpenSP(in)
		if err == nil && in != tok && p.ID != "x" {
			t.Fatalf("forged token opened: %q", in)
		}
	})
}

func BenchmarkSealAccess(b *testing.B) {
	s, _ := NewSealer(box(b, 1))
	a := Access{ID: NewID(), AccountID: "acct", Scheme: "FC100000000001", Origin: "https://shop.example.com", URL: "https://shop.example.com/login", Biz: BizAny, Expires: time.Now().Add(time.Minute).Unix()}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.SealAccess(a); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkOpenAccess(b *testing.B) {
	s, _ := NewSealer(box(b, 1))
	a := Access{ID: NewID(), AccountID: "acct", Scheme: "FC100000000001", Origin: "https://shop.example.com", URL: "https://shop.example.com/login", Biz: BizAny,
		Expires: time.Now().Add(time.Minute).Unix(), JWT: JWTDigest("x"), JWTExpires: time.Now().Add(time.Hour).Unix()}
	tok, _ := s.SealAccess(a)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.OpenAccess(tok); err != nil {
			b.Fatal(err)
		}
	}
}

// benchKeyring is a keyring and the claims of a typical JwtToken.
func benchKeyring(b *testing.B) (*Keyring, Claims) {
	k, err := LoadKeyring(context.Background(), &keyTable{}, box(b, 1))
	if err != nil {
		b.Fatal(err)
	}
	c := Claims{Origin: "https://shop.example.com", URL: "https://shop.example.com/login"}
	c.ID, c.Subject = NewID(), "acct"
	c.ExpiresAt = jwt.NewNumericDate(time.Now().Add(time.Hour))
	return k, c
}

func BenchmarkSignJWT(b *testing.B) {
	k, c := benchKeyring(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := k.Sign(c); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPairCheck compares the two ways the gateway can check that a
// JwtToken belongs to its AccessToken: the digest the AccessToken binds,
// and verifying the JWT's signature (what unbound tokens still get).
func BenchmarkPairCheck(b *testing.B) {
	k, c := benchKeyring(b)
	tok, _ := k.Sign(c)
	a := Access{JWT: JWTDigest(tok)}
	b.Run("digest", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if !a.BindsJWT(tok) {
				b.Fatal("not bound")
			}
		}
	})
	b.Run("verify", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := k.Verify(context.Background(), tok); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// App tokens open as app tokens only: never as an spToken or an
// AccessToken, and neither of those as an app token.
func TestAppTokensAreTheirOwnType(t *testing.T) {
	s, _ := NewSealer(box(t, 1))
	p := SP{ID: NewID(), AccountID: "acct", Scheme: "FC1", Kind: "login", Operator: "CM", Adapter: "sandbox", Ticket: "t",
		Issued: time.Now().UnixMilli(), Expires: time.Now().Add(time.Minute).UnixMilli(), Epoch: 7}
	app, err := s.SealApp(p)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.OpenApp(app)
	if err != nil || !reflect.DeepEqual(got, p) {
		t.Fatalf("OpenApp = %+v, %v", got, err)
	}
	if _, err := s.OpenSP(app); !errors.Is(err, ErrInvalid) {
		t.Fatalf("OpenSP(app token) = %v", err)
	}
	if _, err := s.OpenAccess(app); !errors.Is(err, ErrInvalid) {
		t.Fatalf("OpenAccess(app token) = %v", err)
	}
	sp, _ := s.SealSP(p)
	if _, err := s.OpenApp(sp); !errors.Is(err, ErrInvalid) {
		t.Fatalf("OpenApp(sp token) = %v", err)
	}
	p.Expires = time.Now().Add(-time.Millisecond).UnixMilli()
	old, _ := s.SealApp(p)
	if _, err := s.OpenApp(old); !errors.Is(err, ErrExpired) {
		t.Fatalf("expired app token: %v", err)
	}
}
