package admin

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Password hashing: argon2id (RFC 9106) from golang.org/x/crypto, stored
// as a PHC string so that the parameters travel with each hash and can be
// raised later without breaking the hashes stored before.
//
// The parameters are OWASP's first recommendation for argon2id: 19 MiB of
// memory, 2 passes, 1 lane. At most hashSlots hashes run at once, so a
// burst of sign-ins costs at most hashSlots × 19 MiB.
const (
	argonMemoryKiB = 19 * 1024
	argonTime      = 2
	argonThreads   = 1
	argonSaltLen   = 16
	argonKeyLen    = 32
	hashSlots      = 4

	// Bounds of what a stored hash may ask for: a hash from the database
	// is data, and one with absurd parameters must not stall the server.
	maxMemoryKiB = 256 * 1024
	maxTime      = 16
	maxThreads   = 16
	// MinPasswordLen and MaxPasswordLen bound a password (in bytes).
	MinPasswordLen = 12
	MaxPasswordLen = 256
)

var hashSem = make(chan struct{}, hashSlots)

// ErrHashFormat: a stored password hash is not an argon2id PHC string
// within the bounds numauth accepts.
var ErrHashFormat = errors.New("admin: not an argon2id password hash")

var b64 = base64.RawStdEncoding

// hashParams are the parameters of one PHC string.
type hashParams struct {
	memory, time uint32
	threads      uint8
	salt, key    []byte
}

// HashPassword hashes password with a new random salt.
func HashPassword(ctx context.Context, password string) (string, error) {
	if err := checkPassword(password); err != nil {
		return "", err
	}
	salt := make([]byte, argonSaltLen)
	rand.Read(salt)
	p := hashParams{memory: argonMemoryKiB, time: argonTime, threads: argonThreads, salt: salt}
	key, err := p.derive(ctx, password, argonKeyLen)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.memory, p.time, p.threads,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

func checkPassword(password string) error {
	if n := len(password); n < MinPasswordLen || n > MaxPasswordLen {
		return fmt.Errorf("%w: a password has %d to %d bytes", errBadInput, MinPasswordLen, MaxPasswordLen)
	}
	return nil
}

func (p hashParams) derive(ctx context.Context, password string, n int) ([]byte, error) {
	select {
	case hashSem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-hashSem }()
	return argon2.IDKey([]byte(password), p.salt, p.time, p.memory, p.threads, uint32(n)), nil
}

// VerifyPassword reports whether password matches the PHC string hash.
func VerifyPassword(ctx context.Context, hash, password string) (bool, error) {
	p, err := parseHash(hash)
	if err != nil {
		return false, err
	}
	if len(password) > MaxPasswordLen {
		return false, nil
	}
	key, err := p.derive(ctx, password, len(p.key))
	if err != nil {
		return false, err
	}
	return subtle.ConstantTimeCompare(key, p.key) == 1, nil
}

// dummyHash is checked against when a sign-in names no user, so that the
// answer takes as long as for a user with a wrong password.
var dummyHash = func() string {
	h, err := HashPassword(context.Background(), "numauth-no-such-user-password")
	if err != nil {
		panic(err)
	}
	return h
}()

// parseHash reads $argon2id$v=19$m=M,t=T,p=P$SALT$KEY.
func parseHash(s string) (hashParams, error) {
	var p hashParams
	f := strings.Split(s, "$")
	if len(f) != 6 || f[0] != "" || f[1] != "argon2id" || f[2] != "v="+strconv.Itoa(argon2.Version) {
		return p, ErrHashFormat
	}
	params := strings.Split(f[3], ",")
	if len(params) != 3 {
		return p, ErrHashFormat
	}
	var vals [3]uint64
	for i, name := range []string{"m=", "t=", "p="} {
		v, ok := strings.CutPrefix(params[i], name)
		if !ok || v == "" || len(v) > 10 || strings.TrimLeft(v, "0123456789") != "" || (len(v) > 1 && v[0] == '0') {
			return p, ErrHashFormat
		}
		vals[i], _ = strconv.ParseUint(v, 10, 32)
	}
	if vals[0] < 8*vals[2] || vals[0] > maxMemoryKiB || vals[1] < 1 || vals[1] > maxTime || vals[2] < 1 || vals[2] > maxThreads {
		return p, ErrHashFormat
	}
	salt, err := b64.Strict().DecodeString(f[4])
	if err != nil || len(salt) < 8 || len(salt) > 64 {
		return p, ErrHashFormat
	}
	key, err := b64.Strict().DecodeString(f[5])
	if err != nil || len(key) < 16 || len(key) > 64 {
		return p, ErrHashFormat
	}
	p.memory, p.time, p.threads, p.salt, p.key = uint32(vals[0]), uint32(vals[1]), uint8(vals[2]), salt, key
	return p, nil
}

// NewPassword returns a random password: 26 base32 characters, 130 bits.
func NewPassword() string { return rand.Text() }
