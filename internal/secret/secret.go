// Package secret holds numauth's master key and seals secrets at rest with it.
//
// The master key is 32 random bytes. It comes from the environment
// (NUMAUTH_MASTER_KEY, base64 or hex) or from a key file created with mode
// 0600 in the data directory. Instances that share a store must share the
// master key. Every secret stored (AccessKey secrets, signing keys) is
// sealed with AES-256-GCM under a key derived from it; other keys numauth
// needs (phone-number hashing, sandbox tickets) are derived with HKDF so one
// master key is all an operator keeps safe.
//
// The master key can be rotated: a [Box] seals under the current key and
// opens under it or any previous key (NUMAUTH_MASTER_KEY_PREVIOUS, or
// master.key.previous beside the key file), and every sealed value names
// the key it was sealed under by a short id. The derived keys come from a
// derivation root that the caller pins (see [Box.WithRoot]) so that they
// stay the same across a rotation.
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

// Sealed values written since key rotation came in start with a header:
// the version byte, then the 4-byte id of the master key they were sealed
// under (see [KeyID]). The header is authenticated (it is part of the
// associated data). Older values are the bare nonce and ciphertext; Open
// still reads them, trying every key.
const (
	version1  = 0x01
	idSize    = 4
	headerLen = 1 + idSize
)

type masterKey struct {
	id   [idSize]byte
	aead cipher.AEAD
}

// Box seals and opens values under keys derived from master keys: it seals
// under the current key and opens under the current or any previous one,
// which is how a master key is rotated without downtime.
//
// Other keys (phone-number hashing, token sealing) are derived from the
// derivation root ([Box.Derive]). It is the current master key unless
// [Box.WithRoot] pins another, so that those keys survive a rotation.
type Box struct {
	keys []masterKey // keys[0] is the current key
	root []byte
}

// New returns a Box that seals under master and opens under master or any
// of previous. Every key must be KeySize bytes; previous keys equal to
// master or to each other are dropped.
func New(master []byte, previous ...[]byte) (*Box, error) {
	b := &Box{}
	for i, k := range append([][]byte{master}, previous...) {
		if len(k) != KeySize {
			what := "master key"
			if i > 0 {
				what = fmt.Sprintf("previous master key #%d", i)
			}
			return nil, fmt.Errorf("secret: %s must be %d bytes, got %d", what, KeySize, len(k))
		}
		if i == 0 {
			b.root = append([]byte(nil), k...)
		}
		id := keyID(k)
		dup := false
		for _, have := range b.keys {
			dup = dup || have.id == id
		}
		if dup {
			continue
		}
		aead, err := newAEAD(derive(k, "numauth seal v1", KeySize))
		if err != nil {
			return nil, err
		}
		b.keys = append(b.keys, masterKey{id: id, aead: aead})
	}
	return b, nil
}

// WithRoot returns a copy of b whose Derive uses root instead of the
// current master key.
func (b *Box) WithRoot(root []byte) (*Box, error) {
	if len(root) != KeySize {
		return nil, fmt.Errorf("secret: derivation root must be %d bytes, got %d", KeySize, len(root))
	}
	c := *b
	c.root = append([]byte(nil), root...)
	return &c, nil
}

// Root returns the derivation root (a copy). It is as secret as a master
// key: numauth stores it only sealed.
func (b *Box) Root() []byte { return append([]byte(nil), b.root...) }

// KeyID returns the short id (8 hex digits) of the master key that seals
// values; it names the key in sealed values and in numauth's messages and
// reveals nothing of the key itself.
func (b *Box) KeyID() string { return hex.EncodeToString(b.keys[0].id[:]) }

// KeyIDs returns the ids of every key the Box opens with, the current one
// first.
func (b *Box) KeyIDs() []string {
	ids := make([]string, len(b.keys))
	for i, k := range b.keys {
		ids[i] = hex.EncodeToString(k.id[:])
	}
	return ids
}

// KeyID returns the short id of a master key (see [Box.KeyID]).
func KeyID(master []byte) string {
	id := keyID(master)
	return hex.EncodeToString(id[:])
}

func keyID(master []byte) (id [idSize]byte) {
	copy(id[:], derive(master, "numauth master key id v1", idSize))
	return id
}

func newAEAD(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("secret: %w", err)
	}
	return cipher.NewGCM(block)
}

func derive(secret []byte, purpose string, n int) []byte {
	k, err := hkdf.Key(sha256.New, secret, nil, purpose, n)
	if err != nil {
		// Only possible for n > 255*32, a programming error.
		panic(err)
	}
	return k
}

// Derive returns n bytes derived from the derivation root for the given
// purpose. Distinct purposes give independent keys.
func (b *Box) Derive(purpose string, n int) []byte {
	return derive(b.root, purpose, n)
}

// Seal encrypts plaintext under the current master key; aad binds the
// ciphertext to its context (for example the record id), so a sealed value
// cannot be moved to another record.
func (b *Box) Seal(plaintext, aad []byte) []byte {
	k := b.keys[0]
	ns := k.aead.NonceSize()
	out := make([]byte, headerLen+ns, headerLen+ns+len(plaintext)+k.aead.Overhead())
	out[0] = version1
	copy(out[1:headerLen], k.id[:])
	nonce := out[headerLen:]
	if _, err := rand.Read(nonce); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return k.aead.Seal(out, nonce, plaintext, headerAAD(out[:headerLen], aad))
}

func headerAAD(header, aad []byte) []byte {
	return append(append(make([]byte, 0, len(header)+len(aad)), header...), aad...)
}

// Open decrypts a value sealed under the current or a previous master key
// with the same aad.
func (b *Box) Open(sealed, aad []byte) ([]byte, error) {
	pt, _, err := b.open(sealed, aad)
	return pt, err
}

// open also reports whether sealed is in the current format under the
// current key (nothing to re-seal).
func (b *Box) open(sealed, aad []byte) ([]byte, bool, error) {
	named := false
	if len(sealed) >= headerLen && sealed[0] == version1 {
		var id [idSize]byte
		copy(id[:], sealed[1:headerLen])
		for i, k := range b.keys {
			if k.id != id {
				continue
			}
			named = true
			if pt, ok := openWith(k.aead, sealed[headerLen:], headerAAD(sealed[:headerLen], aad)); ok {
				return pt, i == 0, nil
			}
		}
	}
	// A value from before key ids (its first bytes are a random nonce, so
	// they may look like a header by chance): try every key.
	for _, k := range b.keys {
		if pt, ok := openWith(k.aead, sealed, aad); ok {
			return pt, false, nil
		}
	}
	if !named && len(sealed) >= headerLen && sealed[0] == version1 {
		return nil, false, fmt.Errorf("%w (its header names master key %x, which is neither the current nor a previous key)", ErrOpen, sealed[1:headerLen])
	}
	return nil, false, ErrOpen
}

func openWith(aead cipher.AEAD, sealed, aad []byte) ([]byte, bool) {
	ns := aead.NonceSize()
	if len(sealed) < ns+aead.Overhead() {
		return nil, false
	}
	pt, err := aead.Open(nil, sealed[:ns], sealed[ns:], aad)
	return pt, err == nil
}

// Reseal returns sealed re-sealed under the current master key, and
// whether that changed anything: a value already sealed under the current
// key is returned as it is. It fails with ErrOpen if no key opens sealed.
func (b *Box) Reseal(sealed, aad []byte) ([]byte, bool, error) {
	pt, current, err := b.open(sealed, aad)
	if err != nil {
		return nil, false, err
	}
	if current {
		return sealed, false, nil
	}
	return b.Seal(pt, aad), true, nil
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

// ParseKeys decodes a list of master keys separated by commas or line
// breaks (the form of NUMAUTH_MASTER_KEY_PREVIOUS and of a
// master.key.previous file); empty entries are skipped.
func ParseKeys(s string) ([][]byte, error) {
	var keys [][]byte
	for i, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == '\n' || r == '\r' }) {
		if strings.TrimSpace(f) == "" {
			continue
		}
		k, err := ParseKey(f)
		if err != nil {
			return nil, fmt.Errorf("key #%d: %w", i+1, err)
		}
		keys = append(keys, k)
	}
	return keys, nil
}

// LoadPrevious returns the previous master keys from env (if non-empty) or
// from the file at path (keys separated by commas or line breaks); a
// missing file means none.
func LoadPrevious(env, path string) ([][]byte, error) {
	if strings.TrimSpace(env) != "" {
		return ParseKeys(env)
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("secret: read previous master keys: %w", err)
	}
	keys, err := ParseKeys(string(data))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return keys, nil
}
