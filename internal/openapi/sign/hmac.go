package sign

import (
	"crypto/sha1"
	"crypto/sha256"
	"sync"
)

// HMAC (RFC 2104) is computed here over one contiguous buffer instead of with crypto/hmac: the
// caller builds the message after a reserved blockSize-byte prefix, the inner pad is written into
// that prefix, and each pass is a single sha1.Sum / sha256.Sum256 call. That costs no allocation
// per request (hmac.New allocates two hashers and pads for every key, and keys differ per caller).
// hmac_test.go checks it against crypto/hmac for keys and messages of every length class.

const blockSize = 64 // SHA-1 and SHA-256 both use 64-byte blocks

// bufPool holds scratch buffers for strings-to-sign and canonical requests.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

func getBuf() *[]byte { return bufPool.Get().(*[]byte) }

func putBuf(p *[]byte) {
	b := *p
	if cap(b) > 64<<10 {
		return // do not keep rare huge buffers alive
	}
	if len(b) >= blockSize {
		clear(b[:blockSize]) // the pad prefix is key material
	}
	*p = b[:0]
	bufPool.Put(p)
}

// keyBlock returns the HMAC key k (secret+suffix, hashed first when longer than a block),
// zero-padded to one block.
func keyBlock(secret, suffix string, hashLong func([]byte) []byte) (k [blockSize]byte) {
	if len(secret)+len(suffix) <= blockSize {
		n := copy(k[:], secret)
		copy(k[n:], suffix)
		return k
	}
	long := make([]byte, 0, len(secret)+len(suffix)) // rare: keys over 64 bytes
	long = append(append(long, secret...), suffix...)
	copy(k[:], hashLong(long))
	clear(long)
	return k
}

func sha1Slice(b []byte) []byte   { s := sha1.Sum(b); return s[:] }
func sha256Slice(b []byte) []byte { s := sha256.Sum256(b); return s[:] }

// macSHA1 returns HMAC-SHA1(secret+suffix, buf[blockSize:]). buf[:blockSize] is overwritten.
func macSHA1(secret, suffix string, buf []byte) [sha1.Size]byte {
	k := keyBlock(secret, suffix, sha1Slice)
	for i := range blockSize {
		buf[i] = k[i] ^ 0x36
	}
	inner := sha1.Sum(buf)
	var outer [blockSize + sha1.Size]byte
	for i := range blockSize {
		outer[i] = k[i] ^ 0x5c
	}
	copy(outer[blockSize:], inner[:])
	clear(k[:])
	return sha1.Sum(outer[:])
}

// macSHA256 returns HMAC-SHA256(secret, buf[blockSize:]). buf[:blockSize] is overwritten.
func macSHA256(secret string, buf []byte) [sha256.Size]byte {
	k := keyBlock(secret, "", sha256Slice)
	for i := range blockSize {
		buf[i] = k[i] ^ 0x36
	}
	inner := sha256.Sum256(buf)
	var outer [blockSize + sha256.Size]byte
	for i := range blockSize {
		outer[i] = k[i] ^ 0x5c
	}
	copy(outer[blockSize:], inner[:])
	clear(k[:])
	return sha256.Sum256(outer[:])
}
