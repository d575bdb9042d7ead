package smpp

import (
	"errors"
	"fmt"
	"strings"

	"github.com/linxGnu/gosmpp/data"
	"github.com/linxGnu/gosmpp/pdu"

	"github.com/numauth/numauth/internal/sms"
)

// Octet budgets of one SMS (3GPP TS 23.038/23.040): 140 octets of user
// data, 6 of them for the concatenation header when the text needs several
// segments. GSM 7-bit text goes to the SMSC one septet per octet (data_coding
// 0, the SMSC packs it), so its budgets count septets.
const (
	gsmSingle  = 160
	gsmSegment = 153
	ucsSingle  = 140
	ucsSegment = 134
	maxParts   = 255
	escape     = 0x1B // GSM 7-bit escape to the extension table
)

// encodeText picks the text's data_coding, GSM 7-bit when every character
// is in the GSM default alphabet or its extension table and UCS-2 (UTF-16,
// so characters beyond the BMP travel as surrogate pairs) otherwise, and
// cuts the encoded text into segments that each fit one SMS with a
// concatenation header. A cut never splits an escape sequence or a
// surrogate pair, so each segment decodes on its own.
//
// gosmpp's own splitter is not used: it counts GSM text in runes, so a
// segment full of extension characters overflows, and it can cut a UCS-2
// surrogate pair in two.
func encodeText(text string) (data.Encoding, [][]byte, error) {
	if text == "" {
		return nil, nil, errors.New("the message is empty")
	}
	enc, single, segment := data.UCS2, ucsSingle, ucsSegment
	if len(data.ValidateGSM7String(text)) == 0 {
		enc, single, segment = data.GSM7BIT, gsmSingle, gsmSegment
	}
	b, err := enc.Encode(text)
	if err != nil {
		return nil, nil, fmt.Errorf("encoding the text: %w", err)
	}
	if len(b) <= single {
		return enc, [][]byte{b}, nil
	}
	var segs [][]byte
	for len(b) > 0 {
		n := min(segment, len(b))
		if n < len(b) {
			n = cut(enc, b, n)
		}
		segs = append(segs, b[:n])
		b = b[n:]
	}
	if len(segs) > maxParts {
		return nil, nil, fmt.Errorf("the text needs %d segments, more than the %d SMS concatenation allows", len(segs), maxParts)
	}
	return enc, segs, nil
}

// cut moves a cut at n back so that it does not split a GSM escape sequence
// or a UTF-16 surrogate pair.
func cut(enc data.Encoding, b []byte, n int) int {
	if enc == data.GSM7BIT {
		if b[n-1] == escape { // the escape's character would start the next segment
			return n - 1
		}
		return n
	}
	n -= n % 2
	if hi := b[n-2]; hi >= 0xD8 && hi <= 0xDB { // a high surrogate ends the segment
		return n - 2
	}
	return n
}

// shortMessages builds each segment's short_message, with a concatenation
// header (8-bit reference ref) when there are several.
func shortMessages(enc data.Encoding, segs [][]byte, ref byte) ([]pdu.ShortMessage, error) {
	out := make([]pdu.ShortMessage, 0, len(segs))
	for i, seg := range segs {
		sm, err := pdu.NewBinaryShortMessageWithEncoding(seg, enc)
		if err != nil {
			return nil, err
		}
		if len(segs) > 1 {
			sm.SetUDH(pdu.UDH{pdu.NewIEConcatMessage(byte(len(segs)), byte(i+1), ref)})
		}
		out = append(out, sm)
	}
	return out, nil
}

// Type of number and numbering plan (SMPP 3.4 §5.2.5, §5.2.6).
const (
	tonUnknown       = 0x00
	tonInternational = 0x01
	tonAlphanumeric  = 0x05
	npiUnknown       = 0x00
	npiISDN          = 0x01
)

// destination is the SMPP destination address of an E.164 number: TON
// international, NPI ISDN, the digits without "+".
func destination(e164 string) (pdu.Address, error) {
	digits, ok := strings.CutPrefix(e164, "+")
	if !ok || !allDigits(digits) || len(digits) < 3 || len(digits) > 15 {
		return pdu.Address{}, fmt.Errorf("recipient %s is not an E.164 number", sms.Mask(e164))
	}
	return pdu.NewAddressWithTonNpiAddr(tonInternational, npiISDN, digits)
}

// source is the SMPP source address of the sender configured with
// --sms-smpp-source-addr: "+digits" is an international number, bare
// digits a number (or short code) of unknown type for the SMSC to read,
// anything else an alphanumeric sender id of at most 11 ASCII characters;
// empty leaves the choice to the SMSC.
func source(s string) (pdu.Address, error) {
	switch digits, intl := strings.CutPrefix(s, "+"); {
	case s == "":
		return pdu.NewAddressWithTonNpiAddr(tonUnknown, npiUnknown, "")
	case intl:
		if !allDigits(digits) || len(digits) < 3 || len(digits) > 15 {
			return pdu.Address{}, fmt.Errorf("source address %q starts with + but is not an E.164 number", s)
		}
		return pdu.NewAddressWithTonNpiAddr(tonInternational, npiISDN, digits)
	case allDigits(s):
		if len(s) > 20 {
			return pdu.Address{}, fmt.Errorf("source address %q is longer than SMPP's 20 digits", s)
		}
		return pdu.NewAddressWithTonNpiAddr(tonUnknown, npiISDN, s)
	default:
		if len(s) > 11 || strings.IndexFunc(s, func(r rune) bool { return r < ' ' || r > '~' }) >= 0 {
			return pdu.Address{}, fmt.Errorf("alphanumeric source address %q must be at most 11 printable ASCII characters", s)
		}
		return pdu.NewAddressWithTonNpiAddr(tonAlphanumeric, npiUnknown, s)
	}
}

func allDigits(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}
