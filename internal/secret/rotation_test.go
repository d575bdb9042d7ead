package secret

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func key(b byte) []byte { return bytes.Repeat([]byte{b}, KeySize) }

func mustBox(t testing.TB, master []byte, previous ...[]byte) *Box {
	t.Helper()
	b, err := New(master, previous...)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// legacySeal seals as numauth did before key ids: nonce and ciphertext
// under the "numauth seal v1" key, no header.
func legacySeal(t testing.TB, master, plaintext, aad []byte) []byte {
	t.Helper()
	block, err := aes.NewCipher(derive(master, "numauth seal v1", KeySize))
	if err != nil {
		t.Fatal(err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		t.Fatal(err)
	}
	nonce := make([]byte, aead.NonceSize())
	rand.Read(nonce)
	return aead.Seal(nonce, nonce, plaintext, aad)
}

func TestRotationOpen(t *testing.T) {
	oldKey, newKey, otherKey := key(1), key(2), key(3)
	aad := []byte("access-key/LTAI1")
	underOld := mustBox(t, oldKey).Seal([]byte("s1"), aad)
	underNew := mustBox(t, newKey).Seal([]byte("s1"), aad)
	legacyOld := legacySeal(t, oldKey, []byte("s1"), aad)
	tests := []struct {
		name   string
		box    *Box
		sealed []byte
		ok     bool
	}{
		{"new key current, old previous, sealed under old", mustBox(t, newKey, oldKey), underOld, true},
		{"new key current, old previous, sealed under new", mustBox(t, newKey, oldKey), underNew, true},
		{"old key current, new previous (rollover step 1), sealed under new", mustBox(t, oldKey, newKey), underNew, true},
		{"old key current, legacy value", mustBox(t, oldKey), legacyOld, true},
		{"new key current, old previous, legacy value", mustBox(t, newKey, oldKey), legacyOld, true},
		{"old key dropped", mustBox(t, newKey), underOld, false},
		{"old key dropped, legacy value", mustBox(t, newKey), legacyOld, false},
		{"unrelated keys", mustBox(t, otherKey, newKey), underOld, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pt, err := tt.box.Open(tt.sealed, aad)
			if tt.ok && (err != nil || string(pt) != "s1") {
				t.Fatalf("Open = %q, %v; want s1", pt, err)
			}
			if !tt.ok && !errors.Is(err, ErrOpen) {
				t.Fatalf("Open = %q, %v; want ErrOpen", pt, err)
			}
		})
	}
}

func TestSealNamesCurrentKey(t *testing.T) {
	b := mustBox(t, key(2), key(1))
	sealed := b.Seal([]byte("x"), nil)
	id2, id1 := keyID(key(2)), keyID(key(1))
	if sealed[0] != version1 || KeyID(key(2)) != b.KeyID() || !bytes.Equal(sealed[1:headerLen], id2[:]) {
		t.Fatalf("sealed header %x does not name current key %s", sealed[:headerLen], b.KeyID())
	}
	if ids := b.KeyIDs(); len(ids) != 2 || ids[0] != KeyID(key(2)) || ids[1] != KeyID(key(1)) {
		t.Fatalf("KeyIDs = %v", ids)
	}
	if ids := mustBox(t, key(2), key(2), key(1), key(1)).KeyIDs(); len(ids) != 2 {
		t.Fatalf("duplicate keys kept: %v", ids)
	}
	// The header is authenticated: naming another key breaks the value.
	other := mustBox(t, key(1), key(2))
	forged := bytes.Clone(sealed)
	copy(forged[1:headerLen], id1[:])
	if _, err := other.Open(forged, nil); !errors.Is(err, ErrOpen) {
		t.Fatalf("forged header: %v", err)
	}
	_, err := mustBox(t, key(3)).Open(sealed, nil)
	if !errors.Is(err, ErrOpen) || !strings.Contains(err.Error(), b.KeyID()) {
		t.Fatalf("unknown key: %v, want ErrOpen naming %s", err, b.KeyID())
	}
}

func TestReseal(t *testing.T) {
	aad := []byte("signing-key/k1")
	oldBox, rolled := mustBox(t, key(1)), mustBox(t, key(2), key(1))
	for _, tc := range []struct {
		name    string
		sealed  []byte
		changed bool
	}{
		{"under old key", oldBox.Seal([]byte("pk"), aad), true},
		{"legacy under old key", legacySeal(t, key(1), []byte("pk"), aad), true},
		{"legacy under new key", legacySeal(t, key(2), []byte("pk"), aad), true},
		{"under new key", rolled.Seal([]byte("pk"), aad), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, changed, err := rolled.Reseal(tc.sealed, aad)
			if err != nil || changed != tc.changed {
				t.Fatalf("Reseal: changed=%v err=%v, want changed=%v", changed, err, tc.changed)
			}
			if !changed && !bytes.Equal(out, tc.sealed) {
				t.Fatal("unchanged value rewritten")
			}
			// Only the new key is needed from now on, and a second
			// Reseal changes nothing.
			if pt, err := mustBox(t, key(2)).Open(out, aad); err != nil || string(pt) != "pk" {
				t.Fatalf("new key alone: %q, %v", pt, err)
			}
			if _, again, err := rolled.Reseal(out, aad); err != nil || again {
				t.Fatalf("second Reseal: changed=%v, %v", again, err)
			}
		})
	}
	if _, _, err := mustBox(t, key(2)).Reseal(oldBox.Seal([]byte("pk"), aad), aad); !errors.Is(err, ErrOpen) {
		t.Fatalf("Reseal without the old key: %v", err)
	}
}

func TestDeriveRoot(t *testing.T) {
	before := mustBox(t, key(1)).Derive("numauth phone hash v1", 32)
	// Switching the current key changes the derivations unless the root
	// is pinned to the old one.
	rolled := mustBox(t, key(2), key(1))
	if bytes.Equal(rolled.Derive("numauth phone hash v1", 32), before) {
		t.Fatal("unpinned root derived from the old key")
	}
	pinned, err := rolled.WithRoot(mustBox(t, key(1)).Root())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(pinned.Derive("numauth phone hash v1", 32), before) {
		t.Fatal("pinned root derives differently")
	}
	if pinned.KeyID() != rolled.KeyID() {
		t.Fatal("WithRoot changed the sealing key")
	}
	if _, err := rolled.WithRoot([]byte("short")); err == nil {
		t.Fatal("short root accepted")
	}
}

func TestNewRejectsBadPrevious(t *testing.T) {
	if _, err := New(key(1), []byte("short")); err == nil || !strings.Contains(err.Error(), "previous") {
		t.Fatalf("New with a short previous key: %v", err)
	}
}

func TestLoadPrevious(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "master.key.previous")
	if ks, err := LoadPrevious("", path); err != nil || ks != nil {
		t.Fatalf("missing file: %v, %v", ks, err)
	}
	hex1, b64_2 := strings.Repeat("01", KeySize), "AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI="
	for _, tc := range []struct {
		name, env, file string
		want            int
		bad             bool
	}{
		{"env, two", hex1 + "," + b64_2, "", 2, false},
		{"env, spaces and trailing comma", " " + hex1 + " ,", "", 1, false},
		{"file, lines", "", hex1 + "\n" + b64_2 + "\n", 2, false},
		{"env wins over file", hex1, hex1 + "\n" + b64_2, 1, false},
		{"env, bad entry", hex1 + ",nope", "", 0, true},
		{"file, bad entry", "", "nope\n", 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			os.Remove(path)
			if tc.file != "" {
				if err := os.WriteFile(path, []byte(tc.file), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			ks, err := LoadPrevious(tc.env, path)
			if tc.bad {
				if err == nil {
					t.Fatal("accepted")
				}
				if strings.Contains(err.Error(), "nope") {
					t.Fatalf("error repeats the key material: %v", err)
				}
				return
			}
			if err != nil || len(ks) != tc.want {
				t.Fatalf("LoadPrevious = %d keys, %v; want %d", len(ks), err, tc.want)
			}
		})
	}
}

// FuzzOpen feeds arbitrary sealed values to Open and Reseal: they must
// fail with ErrOpen or succeed, never panic, and a value that opens must
// re-seal to one that opens to the same plaintext.
func FuzzOpen(f *testing.F) {
	cur, prev := mustBox(f, key(2), key(1)), mustBox(f, key(1))
	f.Add(cur.Seal([]byte("secret"), []byte("aad")), []byte("aad"))
	f.Add(prev.Seal([]byte("secret"), []byte("aad")), []byte("aad"))
	f.Add(legacySeal(f, key(1), []byte("secret"), []byte("aad")), []byte("aad"))
	f.Add([]byte{version1}, []byte(nil))
	f.Add([]byte{version1, 0, 0, 0, 0}, []byte(nil))
	f.Add([]byte{}, []byte("x"))
	f.Fuzz(func(t *testing.T, sealed, aad []byte) {
		pt, err := cur.Open(sealed, aad)
		if err != nil {
			if !errors.Is(err, ErrOpen) {
				t.Fatalf("Open error %v is not ErrOpen", err)
			}
			if _, _, err := cur.Reseal(sealed, aad); !errors.Is(err, ErrOpen) {
				t.Fatalf("Reseal of a value Open refused: %v", err)
			}
			return
		}
		out, _, err := cur.Reseal(sealed, aad)
		if err != nil {
			t.Fatalf("Reseal of a value Open accepted: %v", err)
		}
		again, err := mustBox(t, key(2)).Open(out, aad)
		if err != nil || !bytes.Equal(again, pt) {
			t.Fatalf("re-sealed value opens to %q, %v; want %q", again, err, pt)
		}
	})
}
