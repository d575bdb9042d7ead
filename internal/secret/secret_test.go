package secret

import (
	"bytes"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func testBox(t *testing.T) *Box {
	t.Helper()
	b, err := New(bytes.Repeat([]byte{7}, KeySize))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSealOpen(t *testing.T) {
	b := testBox(t)
	sealed := b.Seal([]byte("s3cret"), []byte("LTAI1"))
	if bytes.Contains(sealed, []byte("s3cret")) {
		t.Fatal("sealed value contains the plaintext")
	}
	got, err := b.Open(sealed, []byte("LTAI1"))
	if err != nil || string(got) != "s3cret" {
		t.Fatalf("Open = %q, %v", got, err)
	}
	tests := []struct {
		name   string
		sealed []byte
		aad    string
	}{
		{"other aad", sealed, "LTAI2"},
		{"truncated", sealed[:10], "LTAI1"},
		{"empty", nil, "LTAI1"},
		{"flipped", func() []byte { c := bytes.Clone(sealed); c[len(c)-1] ^= 1; return c }(), "LTAI1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := b.Open(tt.sealed, []byte(tt.aad)); !errors.Is(err, ErrOpen) {
				t.Fatalf("Open = %v, want ErrOpen", err)
			}
		})
	}
	other, _ := New(bytes.Repeat([]byte{8}, KeySize))
	if _, err := other.Open(sealed, []byte("LTAI1")); !errors.Is(err, ErrOpen) {
		t.Fatalf("other key opened the value: %v", err)
	}
}

func TestDeriveIndependent(t *testing.T) {
	b := testBox(t)
	a1, a2, c := b.Derive("a", 32), b.Derive("a", 32), b.Derive("c", 32)
	if !bytes.Equal(a1, a2) || bytes.Equal(a1, c) {
		t.Fatal("Derive must be deterministic per purpose and differ across purposes")
	}
}

func TestParseKey(t *testing.T) {
	raw := bytes.Repeat([]byte{0xab}, KeySize)
	for _, s := range []string{hex.EncodeToString(raw), "q6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6s=", "q6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6s"} {
		k, err := ParseKey(s)
		if err != nil || !bytes.Equal(k, raw) {
			t.Errorf("ParseKey(%q) = %x, %v", s, k, err)
		}
	}
	for _, s := range []string{"", "short", hex.EncodeToString(raw[:16])} {
		if _, err := ParseKey(s); err == nil {
			t.Errorf("ParseKey(%q) accepted", s)
		}
	}
}

func TestLoadOrCreate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "master.key")
	k1, created, err := LoadOrCreate("", path)
	if err != nil || !created || len(k1) != KeySize {
		t.Fatalf("first LoadOrCreate = %v, %v", created, err)
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode = %v, %v", st.Mode(), err)
	}
	k2, created, err := LoadOrCreate("", path)
	if err != nil || created || !bytes.Equal(k1, k2) {
		t.Fatalf("second LoadOrCreate = %v, %v, same=%v", created, err, bytes.Equal(k1, k2))
	}
	env := hex.EncodeToString(bytes.Repeat([]byte{1}, KeySize))
	k3, _, err := LoadOrCreate(env, path)
	if err != nil || !bytes.Equal(k3, bytes.Repeat([]byte{1}, KeySize)) {
		t.Fatalf("env key not used: %v", err)
	}
	if _, _, err := LoadOrCreate("bad", path); err == nil {
		t.Fatal("bad env key accepted")
	}
}
