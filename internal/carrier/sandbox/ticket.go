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
// 96-bit nonce over a record, version 2:
//
//	[0]          format version (2)
//	[1]          kind: 'v' verify, 'l' login
//	[2:10]       issued at, Unix milliseconds, big-endian
//	[10]         n, the operator code's length (2 to 8)
//	[11:11+n]    the operator code
//	[11+n:]      the number's E.164 digits, without "+" (7 to 15)
//
// Version 1 (a fixed 22-byte record of mainland numbers: version, kind,
// operator 1 CM / 2 CU / 3 CT, issued at, the 11 digits) is what instances
// before E.164 issue and open; mainland numbers are still sealed in it (see
// seal). The additional data names the
// format, so a ciphertext made under the same key for another purpose does
// not open as a ticket.
const (
	ticketVersion   = 2
	ticketVersionV1 = 1
	recordLenV1     = 22
	maxRecordLen    = 11 + 8 + 15
	overhead        = 12 + 16 // nonce, tag
	maxTicketLen    = ((overhead+maxRecordLen)*8 + 5) / 6
)

var (
	ticketAAD      = []byte("numauth/sandbox/ticket/v1")
	ticketEncoding = base64.RawURLEncoding.Strict()

	v1Operators = [...]carrier.Operator{1: carrier.ChinaMobile, 2: carrier.ChinaUnicom, 3: carrier.ChinaTelecom}

	errMalformed = fmt.Errorf("%w: malformed or not sealed by this sandbox's key", carrier.ErrTicketInvalid)
	errExpired   = fmt.Errorf("%w: expired", carrier.ErrTicketInvalid)
	errWrongKind = fmt.Errorf("%w: issued for the other flow", carrier.ErrTicketInvalid)
)

// ticket is what a ticket stands for.
type ticket struct {
	phone  string // E.164
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

func kindCode(k carrier.Kind) byte {
	switch k {
	case carrier.KindVerify:
		return 'v'
	case carrier.KindLogin:
		return 'l'
	}
	return 0
}

// seal returns the ticket for tk; tk.phone is E.164 and tk.op a valid code.
// A mainland number of CM, CU or CT is sealed in version 1, which instances
// from before E.164 open too, so that a rolling upgrade does not refuse
// the tickets the new instances issue; other numbers need version 2.
func (s *sealer) seal(tk ticket) string {
	var buf [maxRecordLen]byte
	if code := v1Code(tk.op); code != 0 && carrier.IsMainland(tk.phone) {
		rec := append(buf[:0], ticketVersionV1, kindCode(tk.kind), code)
		rec = binary.BigEndian.AppendUint64(rec, uint64(tk.issued.UnixMilli()))
		rec = append(rec, tk.phone[3:]...)
		var out [overhead + maxRecordLen]byte
		return ticketEncoding.EncodeToString(s.aead.Seal(out[:0], nil, rec, ticketAAD))
	}
	rec := append(buf[:0], ticketVersion, kindCode(tk.kind))
	rec = binary.BigEndian.AppendUint64(rec, uint64(tk.issued.UnixMilli()))
	rec = append(rec, byte(len(tk.op)))
	rec = append(rec, tk.op...)
	rec = append(rec, tk.phone[1:]...)
	var out [overhead + maxRecordLen]byte
	return ticketEncoding.EncodeToString(s.aead.Seal(out[:0], nil, rec, ticketAAD))
}

// v1Code is an operator's code in a version 1 record, or 0.
func v1Code(op carrier.Operator) byte {
	for i, o := range v1Operators {
		if o != "" && o == op {
			return byte(i)
		}
	}
	return 0
}

// open returns what ticket stands for, if it is a ticket of kind sealed
// under this key, issued no longer than ttl before now and not after
// now+skew.
func (s *sealer) open(str string, kind carrier.Kind, now time.Time, ttl time.Duration) (ticket, error) {
	if len(str) > maxTicketLen || len(str) < (overhead*8+5)/6 {
		return ticket{}, errMalformed
	}
	var enc [maxTicketLen]byte // a copy on the stack spares converting str to a heap []byte
	var sealed [overhead + maxRecordLen]byte
	n := copy(enc[:], str)
	m, err := ticketEncoding.Decode(sealed[:], enc[:n])
	if err != nil || m != ticketEncoding.DecodedLen(n) {
		return ticket{}, errMalformed
	}
	var recBuf [maxRecordLen]byte
	rec, err := s.aead.Open(recBuf[:0], nil, sealed[:m], ticketAAD)
	if err != nil {
		return ticket{}, errMalformed
	}
	tk, ok := decodeRecord(rec)
	if !ok {
		return ticket{}, errMalformed
	}
	if kindCode(tk.kind) == 0 || kindCode(kind) == 0 {
		return ticket{}, errMalformed
	}
	if tk.kind != kind {
		return ticket{}, errWrongKind
	}
	if age := now.Sub(tk.issued); age > ttl || age < -clockSkew {
		return ticket{}, errExpired
	}
	return tk, nil
}

// decodeRecord reads an opened record of either version.
func decodeRecord(rec []byte) (ticket, bool) {
	kindOf := func(c byte) carrier.Kind {
		switch c {
		case 'v':
			return carrier.KindVerify
		case 'l':
			return carrier.KindLogin
		}
		return ""
	}
	switch {
	case len(rec) == recordLenV1 && rec[0] == ticketVersionV1:
		if rec[2] == 0 || int(rec[2]) >= len(v1Operators) {
			return ticket{}, false
		}
		tk := ticket{phone: "+86" + string(rec[11:]), op: v1Operators[rec[2]], kind: kindOf(rec[1]),
			issued: time.UnixMilli(int64(binary.BigEndian.Uint64(rec[3:11])))}
		op, ok := carrier.OperatorOf(tk.phone)
		return tk, ok && op == tk.op
	case len(rec) > 11 && rec[0] == ticketVersion:
		n := int(rec[10])
		if len(rec) < 11+n {
			return ticket{}, false
		}
		tk := ticket{op: carrier.Operator(rec[11 : 11+n]), phone: "+" + string(rec[11+n:]), kind: kindOf(rec[1]),
			issued: time.UnixMilli(int64(binary.BigEndian.Uint64(rec[2:10])))}
		if !carrier.ValidOperator(tk.op) || !carrier.IsE164(tk.phone) {
			return ticket{}, false
		}
		if op, ok := carrier.OperatorOf(tk.phone); carrier.IsMainland(tk.phone) && (!ok || op != tk.op) {
			return ticket{}, false
		}
		return tk, true
	}
	return ticket{}, false
}

// clockSkew is how far in the future a ticket's issue time may be: instances
// sharing a key may not share a clock to the millisecond.
const clockSkew = time.Minute
