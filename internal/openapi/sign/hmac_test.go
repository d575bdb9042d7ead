package sign

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"math/rand/v2"
	"testing"
)

// refMAC is crypto/hmac over msg with key secret+suffix.
func refMAC(sha256Mode bool, secret, suffix string, msg []byte) []byte {
	h := sha1.New
	if sha256Mode {
		h = sha256.New
	}
	m := hmac.New(h, []byte(secret+suffix))
	m.Write(msg)
	return m.Sum(nil)
}

func ourMAC(sha256Mode bool, secret, suffix string, msg []byte) []byte {
	buf := append(make([]byte, blockSize), msg...)
	if sha256Mode {
		s := macSHA256(secret+suffix, buf)
		return s[:]
	}
	s := macSHA1(secret, suffix, buf)
	return s[:]
}

func TestHMACMatchesCryptoHMAC(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	// Key lengths around the block size (the hashed-key path starts at 65 bytes).
	for _, klen := range []int{0, 1, 30, 62, 63, 64, 65, 100, 200} {
		for _, mlen := range []int{0, 1, 55, 56, 63, 64, 65, 1000} {
			key := make([]byte, klen)
			msg := make([]byte, mlen)
			for i := range key {
				key[i] = byte(rng.Uint32())
			}
			for i := range msg {
				msg[i] = byte(rng.Uint32())
			}
			for _, mode := range []bool{false, true} {
				for _, suffix := range []string{"", "&"} {
					if mode && suffix != "" {
						continue
					}
					want := refMAC(mode, string(key), suffix, msg)
					if got := ourMAC(mode, string(key), suffix, msg); !bytes.Equal(got, want) {
						t.Fatalf("sha256=%v klen=%d mlen=%d suffix=%q: got %x want %x", mode, klen, mlen, suffix, got, want)
					}
				}
			}
		}
	}
}

func FuzzHMAC(f *testing.F) {
	f.Add([]byte("testsecret"), []byte("GET&%2F&"), false)
	f.Add(bytes.Repeat([]byte{'k'}, 64), []byte("x"), true)
	f.Fuzz(func(t *testing.T, key, msg []byte, mode bool) {
		suffix := "&"
		if mode {
			suffix = ""
		}
		if got, want := ourMAC(mode, string(key), suffix, msg), refMAC(mode, string(key), suffix, msg); !bytes.Equal(got, want) {
			t.Fatalf("got %x want %x", got, want)
		}
	})
}
