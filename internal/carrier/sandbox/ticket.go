package sandbox

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/numauth/numauth/internal/carrier"
)

// A ticket is base64url (no padding, strict) of AES-256-GCM with a random
// 96-bit nonce over a fixed 22-byte record:
//
//	[0]      format version (1)
//	[1]      kind: 'v' verify, 'l' login
//	[2]      operator: 1 CM, 2 CU, 3 CT
//	[3:11]   issued at, Unix milliseconds, big-endian
//	[11:22]  the 11-digit number
//
// The additional data names the format, so a ciphertext made under the same
// key for another purpose does not open as a ticket.
const (
	ticketVersion = 1
	recordLen     = 22
	sealedLen     = 12 + recordLen + 16   // nonce, record, tag
	ticketLen     = (sealedLen*8 + 5) / 6 // unpadded base64 of sealedLen bytes
)

var (
	ticketAAD      = []byte("numauth/sandbox/ticket/v1")
	ticketEncoding = base64.RawURLEncoding.Strict()

	operatorCodes = [...]carrier.Operator{1: carrier.ChinaMobile, 2: carrier.ChinaUnicom, 3: carrier.ChinaTelecom}

	errMalformed = fmt.Errorf("%w: malformed or not sealed by this sandbox's key", carrier.ErrTicketInvalid)
	errExpired   = fmt.Errorf("%w: expired", carrier.ErrTicketInvalid)
	errWrongKind = fmt.Errorf("%w: issued for the other flow", carrier.ErrTicketInvalid)
)

// ticket is what a ticket stands for.
type ticket struct {
	phone  string
	op     carrier.Operator
	kind   carrier.Kind
	issued time.Time
}

// sealer seals and opens tickets under one key.
type sealer struct {
	aead cipher.AEAD
}

func newSealer(key []byte) (*sealer, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("sandbox: key must be 32 bytes, got %d", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCMWithRandomNonce(block)
	if err != nil {
		return nil, err
	}
	return &sealer{aead: aead}, nil
}

func operatorCode(op carrier.Operator) byte {
	for i, o := range operatorCodes {
		if o == op && o != "" {
			return byte(i)
		}
	}
	return 0
}

func kindCode(k carrier.Kind) byte {
	switch k {
	case carrier.KindVerify:
		return 'v'
	case carrier.KindLogin:
		return 'l'
	}
	return 0
}

// seal returns the ticket for tk; tk.phone is an 11-digit number of tk.op.
func (s *sealer) seal(tk ticket) string {
	var rec [recordLen]byte
	rec[0] = ticketVersion
	rec[1] = kindCode(tk.kind)
	rec[2] = operatorCode(tk.op)
	binary.BigEndian.PutUint64(rec[3:11], uint64(tk.issued.UnixMilli()))
	copy(rec[11:], tk.phone)
	var out [sealedLen]byte
	return ticketEncoding.EncodeToString(s.aead.Seal(out[:0], nil, rec[:], ticketAAD))
}

// open returns what ticket stands for, if it is a ticket of kind sealed
// under this key, issued no longer than ttl before now and not after
// now+skew.
func (s *sealer) open(str string, kind carrier.Kind, now time.Time, ttl time.Duration) (ticket, error) {
	if len(str) != ticketLen {
		return ticket{}, errMalformed
	}
	var enc [ticketLen]byte // a copy on the stack spares converting str to a heap []byte
	var sealed [sealedLen]byte
	copy(enc[:], str)
	if n, err := ticketEncoding.Decode(sealed[:], enc[:]); err != nil || n != sealedLen {
		return ticket{}, errMalformed
	}
	var recBuf [recordLen]byte
	rec, err := s.aead.Open(recBuf[:0], nil, sealed[:], ticketAAD)
	if err != nil || len(rec) != recordLen || rec[0] != ticketVersion || int(rec[2]) >= len(operatorCodes) || rec[2] == 0 {
		return ticket{}, errMalformed
	}
	if rec[1] != kindCode(kind) {
		return ticket{}, errWrongKind
	}
	issued := time.UnixMilli(int64(binary.BigEndian.Uint64(rec[3:11])))
	if age := now.Sub(issued); age > ttl || age < -clockSkew {
		return ticket{}, errExpired
	}
	tk := ticket{phone: string(rec[11:]), op: operatorCodes[rec[2]], kind: kind, issued: issued}
	if op, ok := carrier.OperatorOf(tk.phone); !ok || op != tk.op {
		return ticket{}, errMalformed
	}
	return tk, nil
}

// clockSkew is how far in the future a ticket's issue time may be: instances
// sharing a key may not share a clock to the millisecond.
const clockSkew = time.Minute
