package token

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/numauth/numauth/internal/secret"
	"github.com/numauth/numauth/internal/store"
	"github.com/numauth/numauth/internal/store/sqlite"
)

// clock is a settable clock shared by several keyrings.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

func openStore(t *testing.T) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "numauth.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func ring(t *testing.T, ks KeyStore, clk *clock) *Keyring {
	t.Helper()
	k, err := LoadKeyring(context.Background(), ks, box(t, 1))
	if err != nil {
		t.Fatal(err)
	}
	return k.WithClock(clk.Now).WithMaxTokenLifetime(time.Hour)
}

// refreshNow makes k read the store at its next Refresh, as it does once
// RefreshInterval has passed.
func refreshNow(t *testing.T, k *Keyring) {
	t.Helper()
	k.mu.Lock()
	k.lastReload = time.Time{}
	k.mu.Unlock()
	if err := k.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func jwksKids(t *testing.T, k *Keyring) []string {
	t.Helper()
	var set struct{ Keys []struct{ Kid string } }
	if err := json.Unmarshal(k.JWKS(), &set); err != nil {
		t.Fatalf("JWKS %s: %v", k.JWKS(), err)
	}
	var kids []string
	for _, key := range set.Keys {
		kids = append(kids, key.Kid)
	}
	return kids
}

func signAt(t *testing.T, k *Keyring, clk *clock, jti string) string {
	t.Helper()
	c := Claims{Biz: BizLogin}
	c.ID, c.Subject = jti, "acct"
	c.IssuedAt = jwt.NewNumericDate(clk.Now())
	c.ExpiresAt = jwt.NewNumericDate(clk.Now().Add(time.Hour))
	s, err := k.Sign(c)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func kidOf(t *testing.T, s string) string {
	t.Helper()
	tok, _, err := jwt.NewParser().ParseUnverified(s, &Claims{})
	if err != nil {
		t.Fatal(err)
	}
	kid, _ := tok.Header["kid"].(string)
	return kid
}

// TestRotateTimeline follows one rotation on two instances sharing a
// store: the new key is published at once, signs only after the delay, and
// the old key stays published until every token it signed has expired.
func TestRotateTimeline(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	t0 := time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC)
	clk := &clock{t: t0}
	a, b := ring(t, st, clk), ring(t, st, clk)
	early := signAt(t, a, clk, "early") // expires t0+1h

	const delay = 10 * time.Minute
	newID, at, err := a.Rotate(ctx, delay)
	if err != nil {
		t.Fatal(err)
	}
	if !at.Equal(t0.Add(delay)) {
		t.Fatalf("Rotate: signs from %v, want %v", at, t0.Add(delay))
	}
	refreshNow(t, b) // b's refresh interval passes
	old := initialKeyID

	var late string // signed by the old key just before it retired
	steps := []struct {
		name   string
		at     time.Time
		signer string
		jwks   []string
		do     func()
	}{
		{"right after rotate", t0, old, []string{old, newID}, nil},
		{"just before the delay ends", t0.Add(delay - time.Second), old, []string{old, newID},
			func() { late = signAt(t, b, clk, "late") }},
		{"delay over", t0.Add(delay), newID, []string{old, newID}, nil},
		{"late token's last second", t0.Add(delay + time.Hour - 2*time.Second), newID, []string{old, newID}, nil},
		{"every old token expired", t0.Add(delay + time.Hour), newID, []string{newID}, nil},
	}
	for _, s := range steps {
		clk.Set(s.at)
		for name, k := range map[string]*Keyring{"a": a, "b": b} {
			if got := k.SigningKeyID(); got != s.signer {
				t.Errorf("%s, instance %s: signing key %s, want %s", s.name, name, got, s.signer)
			}
			if got := kidOf(t, signAt(t, k, clk, "x")); got != s.signer {
				t.Errorf("%s, instance %s: token kid %s, want %s", s.name, name, got, s.signer)
			}
			if got := jwksKids(t, k); !slices.Equal(got, s.jwks) {
				t.Errorf("%s, instance %s: JWKS kids %v, want %v", s.name, name, got, s.jwks)
			}
		}
		if s.do != nil {
			s.do()
		}
	}

	// Tokens minted before the rotation verify until they expire, on
	// both instances.
	for _, tc := range []struct {
		name  string
		token *string
		at    time.Time
		want  error
	}{
		{"early, before expiry", &early, t0.Add(time.Hour - time.Second), nil},
		{"early, after expiry", &early, t0.Add(time.Hour + time.Second), ErrExpired},
		{"late, before expiry", &late, t0.Add(delay + time.Hour - 2*time.Second), nil},
	} {
		clk.Set(tc.at)
		for name, k := range map[string]*Keyring{"a": a, "b": b} {
			if _, err := k.Verify(ctx, *tc.token); !errors.Is(err, tc.want) && !(tc.want == nil && err == nil) {
				t.Errorf("%s on %s: Verify = %v, want %v", tc.name, name, err, tc.want)
			}
		}
	}
	// A third instance started after the rotation agrees.
	clk.Set(t0.Add(time.Minute))
	c := ring(t, st, clk)
	if c.SigningKeyID() != old || !slices.Equal(jwksKids(t, c), []string{old, newID}) {
		t.Errorf("instance started during the delay: signs with %s, publishes %v", c.SigningKeyID(), jwksKids(t, c))
	}
}

// TestRotateResumes: a rotation that stored its key but failed before
// retiring the old one leaves the old key signing; running it again
// retires both and the newest key takes over.
func TestRotateResumes(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	t0 := time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC)
	clk := &clock{t: t0}
	k := ring(t, st, clk)
	if _, err := k.create(ctx, "ed25519-leftover"); err != nil {
		t.Fatal(err)
	}
	refreshNow(t, k)
	if got := k.SigningKeyID(); got != initialKeyID {
		t.Fatalf("with an unstarted key stored: signs with %s, want %s", got, initialKeyID)
	}
	if got := jwksKids(t, k); len(got) != 2 {
		t.Fatalf("unstarted key not published: %v", got)
	}
	newID, at, err := k.Rotate(ctx, 5*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	clk.Set(at.Add(-time.Second))
	if got := k.SigningKeyID(); got != initialKeyID {
		t.Errorf("before the delay: %s", got)
	}
	clk.Set(at)
	if got := k.SigningKeyID(); got != newID {
		t.Errorf("after the delay: %s, want %s", got, newID)
	}
	keys, err := st.ListSigningKeys(ctx, useJWT)
	if err != nil {
		t.Fatal(err)
	}
	for _, sk := range keys {
		if sk.ID != newID && !sk.NotAfter.Equal(at) {
			t.Errorf("key %s: NotAfter %v, want %v", sk.ID, sk.NotAfter, at)
		}
	}
	// With delay 0 the new key signs at once.
	id2, _, err := k.Rotate(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got := k.SigningKeyID(); got != id2 {
		t.Errorf("Rotate(0): signs with %s, want %s", got, id2)
	}
	if _, _, err := k.Rotate(ctx, -time.Second); err == nil {
		t.Error("negative delay accepted")
	}
}

// TestViewAt covers the choice rules on hand-made key lists.
func TestViewAt(t *testing.T) {
	t0 := time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC)
	priv := bytes.Repeat([]byte{1}, 64)
	key := func(id string, start, notAfter time.Time) ringKey {
		return ringKey{id: id, pub: make([]byte, 32), priv: priv, start: start, notAfter: notAfter}
	}
	for _, tc := range []struct {
		name   string
		keys   []ringKey
		at     time.Time
		signer string
		public []string
	}{
		{"one key", []ringKey{key("k1", time.Time{}, time.Time{})}, t0, "k1", []string{"k1"}},
		{"successor not started (old not retired)",
			[]ringKey{key("k1", time.Time{}, time.Time{}), key("k2", farFuture, time.Time{})}, t0, "k1", []string{"k1", "k2"}},
		{"two rotations pending, first due",
			[]ringKey{key("k1", time.Time{}, t0), key("k2", t0, t0.Add(time.Minute)), key("k3", t0.Add(time.Minute), time.Time{})},
			t0, "k2", []string{"k1", "k2", "k3"}},
		{"second rotation due before the first (shorter delay)",
			[]ringKey{key("k1", time.Time{}, t0.Add(time.Hour)), key("k2", t0.Add(time.Hour), t0.Add(time.Minute)), key("k3", t0.Add(time.Minute), time.Time{})},
			t0.Add(2 * time.Minute), "k3", []string{"k1", "k2", "k3"}},
		{"everything retired", []ringKey{key("k1", time.Time{}, t0)}, t0, "", []string{"k1"}},
		{"retired and expired", []ringKey{key("k1", time.Time{}, t0), key("k2", t0, time.Time{})}, t0.Add(time.Hour), "k2", []string{"k2"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := viewAt(tc.keys, tc.at, time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			if v.signer.id != tc.signer {
				t.Errorf("signer %q, want %q", v.signer.id, tc.signer)
			}
			var pub []string
			for _, k := range tc.keys {
				if v.public[k.id] != nil {
					pub = append(pub, k.id)
				}
			}
			if !slices.Equal(pub, tc.public) {
				t.Errorf("published %v, want %v", pub, tc.public)
			}
			if !v.until.After(tc.at) {
				t.Errorf("view valid until %v, not after %v", v.until, tc.at)
			}
		})
	}
}

func TestPinDerivationRoot(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	oldKey, newKey := bytes.Repeat([]byte{1}, secret.KeySize), bytes.Repeat([]byte{2}, secret.KeySize)
	mk := func(master []byte, previous ...[]byte) *secret.Box {
		b, err := secret.New(master, previous...)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	legacy := mk(oldKey).Derive("numauth phone hash v1", 32)
	for _, tc := range []struct {
		name string
		box  *secret.Box
		ok   bool
	}{
		{"first start, old key (pins it)", mk(oldKey), true},
		{"rollover step 1: new key as previous", mk(oldKey, newKey), true},
		{"rollover step 2: new key current", mk(newKey, oldKey), true},
		{"a stranger's key", mk(bytes.Repeat([]byte{3}, secret.KeySize)), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := PinDerivationRoot(ctx, st, tc.box)
			if !tc.ok {
				if err == nil {
					t.Fatal("a box that cannot open the root pinned it")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(b.Derive("numauth phone hash v1", 32), legacy) {
				t.Fatal("derived key changed")
			}
			if b.KeyID() != tc.box.KeyID() {
				t.Fatal("pinning changed the sealing key")
			}
		})
	}
	roots, err := st.ListSigningKeys(ctx, useRoot)
	if err != nil || len(roots) != 1 {
		t.Fatalf("roots stored: %d, %v", len(roots), err)
	}
	var _ store.SigningKey = roots[0]
}
