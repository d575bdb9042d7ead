// Package secret holds numauth's master key and seals secrets at rest with it.
//
// The master key is 32 random bytes. It comes from the environment
// (NUMAUTH_MASTER_KEY, base64 or hex) or from a key file created with mode
// 0600 in the data directory. Instances that share a store must share the
// master key. Every secret stored (AccessKey secrets, signing keys) is
// sealed with AES-256-GCM under a key derived from it; other keys numauth
// needs (phone-number hashing, sandbox tickets) are derived with HKDF so one
// master key is all an operator keeps safe.
package secret

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// KeySize is the master key's length in bytes.
const KeySize = 32

// ErrOpen is returned when a sealed value cannot be opened (wrong key,
// tampered or truncated).
var ErrOpen = errors.New("secret: cannot open sealed value")

// Box seals and opens values under a key derived from the master key.
type Box struct {
	master []byte
	aead   cipher.AEAD
}

// New returns a Box for a 32-byte master key.
func New(master []byte) (*Box, error) {
	if len(master) != KeySize {
		return nil, fmt.Errorf("secret: master key must be %d bytes, got %d", KeySize, len(master))
	}
	m := append([]byte(nil), master...)
	b := &Box{master: m}
	aead, err := newAEAD(b.Derive("numauth seal v1", KeySize))
	if err != nil {
		return nil, err
	}
	b.aead = aead
	return b, nil
}

func newAEAD(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("secret: %w", err)
	}
	return cipher.NewGCM(block)
}

// Derive returns n bytes derived from the master key for the given purpose.
// Distinct purposes give independent keys.
func (b *Box) Derive(purpose string, n int) []byte {
	k, err := hkdf.Key(sha256.New, b.master, nil, purpose, n)
	if err != nil {
		// Only possible for n > 255*32, a programming error.
		panic(err)
	}
	return k
}

// Seal encrypts plaintext; aad binds the ciphertext to its context (for
// example the record id), so a sealed value cannot be moved to another record.
func (b *Box) Seal(plaintext, aad []byte) []byte {
	nonce := make([]byte, b.aead.NonceSize(), b.aead.NonceSize()+len(plaintext)+b.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return b.aead.Seal(nonce, nonce, plaintext, aad)
}

// Open decrypts a value sealed with the same master key and aad.
func (b *Box) Open(sealed, aad []byte) ([]byte, error) {
	ns := b.aead.NonceSize()
	if len(sealed) < ns+b.aead.Overhead() {
		return nil, ErrOpen
	}
	pt, err := b.aead.Open(nil, sealed[:ns], sealed[ns:], aad)
	if err != nil {
		return nil, ErrOpen
	}
	return pt, nil
}

// ParseKey decodes a master key given as base64 (standard or URL, padded or
// not) or hex.
func ParseKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if k, err := hex.DecodeString(s); err == nil && len(k) == KeySize {
		return k, nil
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if k, err := enc.DecodeString(s); err == nil && len(k) == KeySize {
			return k, nil
		}
	}
	return nil, fmt.Errorf("secret: master key must be %d bytes in base64 or hex", KeySize)
}

// LoadOrCreate returns the master key from env (if non-empty) or from the
// file at path, creating the file with a fresh random key (mode 0600) when
// it does not exist. created reports whether a new key file was written.
func LoadOrCreate(env, path string) (key []byte, created bool, err error) {
	if env != "" {
		k, err := ParseKey(env)
		return k, false, err
	}
	data, err := os.ReadFile(path)
	if err == nil {
		k, err := ParseKey(string(data))
		if err != nil {
			return nil, false, fmt.Errorf("%s: %w", path, err)
		}
		return k, false, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, false, fmt.Errorf("secret: read master key: %w", err)
	}
	k := make([]byte, KeySize)
	if _, err := rand.Read(k); err != nil {
		return nil, false, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, false, fmt.Errorf("secret: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, fs.ErrExist) { // another process won the race: use its key
			return LoadOrCreate("", path)
		}
		return nil, false, fmt.Errorf("secret: create master key: %w", err)
	}
	if _, err := f.WriteString(base64.StdEncoding.EncodeToString(k) + "\n"); err != nil {
		f.Close()
		return nil, false, fmt.Errorf("secret: write master key: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return nil, false, err
	}
	return k, true, f.Close()
}
