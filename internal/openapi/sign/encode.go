package sign

import (
	"strings"
	"time"
	"unsafe"
)

// param is one decoded name=value pair of a query string or form body.
type param struct{ k, v string }

// cmpParam orders pairs by raw (decoded) name, then raw value, bytewise. The SDKs sort by the raw
// name (url.Values.Encode in the V1 SDKs, a bytes.Compare sorter in darabonba's V3 path); they
// never send a name twice, so the value order only makes duplicates deterministic.
func cmpParam(a, b param) int {
	if c := strings.Compare(a.k, b.k); c != 0 {
		return c
	}
	return strings.Compare(a.v, b.v)
}

// unreserved marks RFC 3986 unreserved bytes: the only bytes Alibaba's percentEncode leaves alone.
// It is what Go's url.QueryEscape keeps, after the SDKs' "+"→"%20", "*"→"%2A", "%7E"→"~" fix-ups.
var unreserved = func() (t [256]bool) {
	for c := 'A'; c <= 'Z'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	t['-'], t['_'], t['.'], t['~'] = true, true, true, true
	return
}()

const upperhex = "0123456789ABCDEF"

// appendEncode appends percentEncode(s): unreserved bytes as they are, every other byte as %XX
// with upper-case hex.
func appendEncode(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if unreserved[c] {
			dst = append(dst, c)
		} else {
			dst = append(dst, '%', upperhex[c>>4], upperhex[c&15])
		}
	}
	return dst
}

// appendEncode2 appends percentEncode(percentEncode(s)) in one pass: an escaped byte's '%'
// itself becomes %25. V1's string-to-sign encodes the already-encoded canonical query again.
func appendEncode2(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if unreserved[c] {
			dst = append(dst, c)
		} else {
			dst = append(dst, '%', '2', '5', upperhex[c>>4], upperhex[c&15])
		}
	}
	return dst
}

// maxParams is net/url's default cap on query parameters (GODEBUG urlmaxqueryparams).
const maxParams = 10000

// appendQuery decodes a raw query string (or form body) into dst. It accepts and rejects exactly
// what url.ParseQuery does (';' separators, bad %-escapes, more than maxParams pairs), and yields
// the same pairs in the same order, so what is signed is what a net/http handler reads
// (FuzzParseV1 checks this). Names and values that need no unescaping are substrings of raw;
// the others are decoded into one arena allocated per call, so a query costs at most one
// allocation however many of its values are escaped.
func appendQuery(dst []param, raw string) ([]param, error) {
	if raw == "" {
		return dst, nil
	}
	if strings.Count(raw, "&")+1 > maxParams {
		return dst, ErrMalformedQuery
	}
	var arena []byte
	if strings.IndexByte(raw, '%') >= 0 || strings.IndexByte(raw, '+') >= 0 {
		arena = make([]byte, 0, len(raw)) // decoding never grows a string: appends never move it
	}
	for raw != "" {
		var seg string
		seg, raw, _ = strings.Cut(raw, "&")
		if strings.IndexByte(seg, ';') >= 0 {
			return dst, ErrMalformedQuery
		}
		if seg == "" {
			continue
		}
		k, v, _ := strings.Cut(seg, "=")
		var ok bool
		if k, arena, ok = unescape(k, arena); !ok {
			return dst, ErrMalformedQuery
		}
		if v, arena, ok = unescape(v, arena); !ok {
			return dst, ErrMalformedQuery
		}
		dst = append(dst, param{k, v})
	}
	return dst, nil
}

// unescape is url.QueryUnescape ('+' is a space, %XX a byte, any other '%' an error). An escaped
// s is decoded onto the end of arena, which has room for it, and returned as a string sharing
// that region; the region is never written again.
func unescape(s string, arena []byte) (string, []byte, bool) {
	if strings.IndexByte(s, '%') < 0 && strings.IndexByte(s, '+') < 0 {
		return s, arena, true
	}
	start := len(arena)
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '+':
			arena = append(arena, ' ')
		case '%':
			if i+2 >= len(s) || !ishex(s[i+1]) || !ishex(s[i+2]) {
				return "", arena, false
			}
			arena = append(arena, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
		default:
			arena = append(arena, c)
		}
	}
	if len(arena) == start {
		return "", arena, true
	}
	return unsafe.String(&arena[start], len(arena)-start), arena, true
}

func ishex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	}
	return c - 'a' + 10
}

// parseTimestamp parses the ISO 8601 UTC form the SDKs send, "2006-01-02T15:04:05Z"
// (fractional seconds are tolerated). Offsets other than Z are refused: SPEC §2 says UTC.
func parseTimestamp(s string) (time.Time, bool) {
	if len(s) < 20 || s[len(s)-1] != 'Z' || s[10] != 'T' {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, false
	}
	return t, true
}

// timestampLayout is what SignV1 and SignV3 write (and what every official SDK writes).
const timestampLayout = "2006-01-02T15:04:05Z"
