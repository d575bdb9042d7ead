package sign

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"net/http"
	"slices"
	"strings"
	"time"
)

// V3 names.
const (
	v3Algorithm = "ACS3-HMAC-SHA256"

	hAction        = "x-acs-action"
	hVersion       = "x-acs-version"
	hDate          = "x-acs-date"
	hNonce         = "x-acs-signature-nonce"
	hContentSHA256 = "x-acs-content-sha256"
	hHost          = "host"
	hContentType   = "content-type"
	acsPrefix      = "x-acs-"
)

// requiredSigned are the headers every V3 request must sign (SPEC §2 and the V3 SDK).
var requiredSigned = [...]string{hHost, hAction, hContentSHA256, hDate, hNonce, hVersion}

// maxSignedHeaders bounds the SignedHeaders list (the SDK signs 7 or 8).
const maxSignedHeaders = 64

// authorization is a parsed "ACS3-… Credential=…,SignedHeaders=…,Signature=…" value.
type authorization struct {
	algorithm, credential, signedHeaders, signature string
}

// parseAuthorization splits a V3 Authorization value. It returns ErrMethod for an ACS3
// algorithm other than ACS3-HMAC-SHA256 and ErrIncomplete for anything malformed: each of
// Credential, SignedHeaders and Signature exactly once and non-empty, nothing else; spaces or
// tabs are allowed around the commas. SignedHeaders is checked by checkSignedHeaders.
func parseAuthorization(s string) (authorization, error) {
	var a authorization
	alg, rest, ok := strings.Cut(s, " ")
	if !ok || !strings.HasPrefix(alg, "ACS3-") {
		return a, ErrIncomplete
	}
	if alg != v3Algorithm {
		return a, ErrMethod
	}
	a.algorithm = alg
	var seen [3]bool
	for more := true; more; {
		var field string
		field, rest, more = strings.Cut(rest, ",")
		field = strings.Trim(field, " \t")
		k, v, ok := strings.Cut(field, "=")
		if !ok || v == "" {
			return a, ErrIncomplete
		}
		var i int
		switch k {
		case "Credential":
			i, a.credential = 0, v
		case "SignedHeaders":
			i, a.signedHeaders = 1, v
		case "Signature":
			i, a.signature = 2, v
		default:
			return a, ErrIncomplete
		}
		if seen[i] {
			return a, ErrIncomplete
		}
		seen[i] = true
	}
	if !seen[0] || !seen[1] || !seen[2] {
		return a, ErrIncomplete
	}
	return a, nil
}

// checkSignedHeaders splits a SignedHeaders value into dst: lower-case header names
// (RFC 9110 token characters), separated by ';', strictly ascending, as the SDKs write it.
func checkSignedHeaders(dst []string, s string) ([]string, bool) {
	for more := true; more; {
		var name string
		name, s, more = strings.Cut(s, ";")
		if name == "" || len(dst) == maxSignedHeaders {
			return dst, false
		}
		for i := 0; i < len(name); i++ {
			if !lowerToken[name[i]] {
				return dst, false
			}
		}
		if n := len(dst); n > 0 && dst[n-1] >= name {
			return dst, false
		}
		dst = append(dst, name)
	}
	return dst, true
}

// lowerToken marks RFC 9110 token characters, upper-case letters excluded.
var lowerToken = func() (t [256]bool) {
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for _, c := range "!#$%&'*+-.^_`|~" {
		t[c] = true
	}
	return
}()

func (c *Claim) parseV3(authz string) error {
	a, err := parseAuthorization(authz)
	if err != nil {
		return err
	}
	names, ok := checkSignedHeaders(c.nameStore[:0], a.signedHeaders)
	if !ok {
		return ErrIncomplete
	}
	for _, h := range requiredSigned {
		if _, found := slices.BinarySearch(names, h); !found {
			return ErrIncomplete
		}
	}
	// Every common header present must be signed (Alibaba: "除Authorization外的所有公共请求头，只要
	// 存在必须被加入签名"), so nothing that steers the request can be added on the way.
	r := c.req
	for k := range r.Header {
		if !isCommonHeader(k) {
			continue
		}
		if _, found := slices.BinarySearchFunc(names, k, cmpFoldName); !found {
			return ErrIncomplete
		}
	}

	var date string
	if date, ok = single(r.Header, "X-Acs-Date"); !ok || date == "" {
		return ErrIncomplete
	}
	if c.Nonce, ok = single(r.Header, "X-Acs-Signature-Nonce"); !ok || c.Nonce == "" {
		return ErrIncomplete
	}
	if c.payloadHash, ok = single(r.Header, "X-Acs-Content-Sha256"); !ok || c.payloadHash == "" {
		return ErrIncomplete
	}
	if c.Action, ok = single(r.Header, "X-Acs-Action"); !ok || c.Action == "" {
		return ErrIncomplete
	}
	if c.APIVersion, ok = single(r.Header, "X-Acs-Version"); !ok || c.APIVersion == "" {
		return ErrIncomplete
	}
	t, ok := parseTimestamp(date)
	if !ok {
		return ErrTimestampFormat
	}
	params, err := appendQuery(c.store[:0], r.RawQuery)
	if err != nil {
		return err
	}
	slices.SortFunc(params, cmpParam)

	c.Version, c.AccessKeyID, c.Timestamp = V3, a.credential, t
	c.params, c.names, c.signedHeaders = params, names, a.signedHeaders
	if len(a.signature) == 2*sha256.Size {
		if _, err := hex.Decode(c.sig[:], []byte(a.signature)); err == nil {
			c.sigLen = sha256.Size
		}
	}
	if len(c.payloadHash) == 2*sha256.Size {
		_, err := hex.Decode(c.bodyHash[:], []byte(c.payloadHash))
		c.bodyHashOK = err == nil
	}
	return nil
}

// single returns the one value of a header; ok is false if there are several. The values the
// parser reads this way are exactly the ones it requires to be signed.
func single(h http.Header, canonicalKey string) (string, bool) {
	vs := h[canonicalKey]
	switch len(vs) {
	case 0:
		return "", true
	case 1:
		return strings.TrimSpace(vs[0]), true
	}
	return "", false
}

// isCommonHeader reports whether a header (any case) is one Alibaba requires to be signed when
// present: content-type or x-acs-*. (host travels in Request.Host and is always required.)
func isCommonHeader(k string) bool {
	return strings.EqualFold(k, hContentType) ||
		len(k) >= len(acsPrefix) && strings.EqualFold(k[:len(acsPrefix)], acsPrefix)
}

// cmpFoldName compares a lower-case signed-header name with a header key of any case, as if the
// key were lower-cased.
func cmpFoldName(name, key string) int {
	n := min(len(name), len(key))
	for i := 0; i < n; i++ {
		a, b := name[i], key[i]
		if 'A' <= b && b <= 'Z' {
			b += 'a' - 'A'
		}
		if a != b {
			if a < b {
				return -1
			}
			return 1
		}
	}
	return len(name) - len(key)
}

// appendCanonicalRequestV3 appends
//
//	METHOD \n CanonicalURI \n CanonicalQueryString \n CanonicalHeaders \n SignedHeaders \n HashedPayload
//
// CanonicalURI is the path with "+"→"%20", "*"→"%2A", "%7E"→"~" ("/" when empty);
// CanonicalQueryString is percentEncode(k)=percentEncode(v) pairs sorted by name, joined by '&';
// CanonicalHeaders is "name:value\n" for each signed header in SignedHeaders order, the value
// trimmed, several values sorted and joined by ','; host is Request.Host.
func appendCanonicalRequestV3(b []byte, r *Request, params []param, names []string, signedHeaders, payloadHash string) []byte {
	b = append(b, r.Method...)
	b = append(b, '\n')
	b = appendCanonicalURI(b, r.Path)
	b = append(b, '\n')
	for i, p := range params {
		if i > 0 {
			b = append(b, '&')
		}
		b = appendEncode(b, p.k)
		b = append(b, '=')
		b = appendEncode(b, p.v)
	}
	b = append(b, '\n')
	for _, name := range names {
		b = append(b, name...)
		b = append(b, ':')
		if name == hHost {
			b = append(b, strings.TrimSpace(r.Host)...)
		} else {
			b = appendHeaderValue(b, r.Header, name)
		}
		b = append(b, '\n')
	}
	b = append(b, '\n')
	b = append(b, signedHeaders...)
	b = append(b, '\n')
	b = append(b, payloadHash...)
	return b
}

func appendCanonicalURI(b []byte, path string) []byte {
	if path == "" {
		return append(b, '/')
	}
	for i := 0; i < len(path); i++ {
		switch c := path[i]; {
		case c == '+':
			b = append(b, "%20"...)
		case c == '*':
			b = append(b, "%2A"...)
		case c == '%' && i+2 < len(path) && path[i+1] == '7' && path[i+2] == 'E':
			b = append(b, '~')
			i += 2
		default:
			b = append(b, c)
		}
	}
	return b
}

// appendHeaderValue appends the canonical value of a signed header (lower-case name): its values
// trimmed, sorted and joined by ','.
func appendHeaderValue(b []byte, h http.Header, name string) []byte {
	var kb [maxCanonicalKey]byte
	if len(name) > len(kb) {
		return b // cannot be a key net/http produced; signs as empty, so it will not match
	}
	key := kb[:len(name)]
	upper := true
	for i := 0; i < len(name); i++ {
		c := name[i]
		if upper && 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		key[i] = c
		upper = c == '-'
	}
	vs := h[string(key)] // no allocation: map index with a converted []byte
	switch len(vs) {
	case 0:
		return b
	case 1:
		return append(b, strings.TrimSpace(vs[0])...)
	}
	sorted := make([]string, len(vs))
	for i, v := range vs {
		sorted[i] = strings.TrimSpace(v)
	}
	slices.Sort(sorted)
	return append(b, strings.Join(sorted, ",")...)
}

const maxCanonicalKey = 256

func (c *Claim) verifyV3(secret string) error {
	mac := macV3(c.req, c.params, c.names, c.signedHeaders, c.payloadHash, secret)
	if subtle.ConstantTimeCompare(mac[:], c.sig[:c.sigLen]) != 1 {
		return ErrMismatch
	}
	if sum := sha256.Sum256(c.req.Body); !c.bodyHashOK || subtle.ConstantTimeCompare(sum[:], c.bodyHash[:]) != 1 {
		return ErrContentHash
	}
	return nil
}

// macV3 is HMAC-SHA256(secret, "ACS3-HMAC-SHA256\n" + hex(SHA256(CanonicalRequest))).
func macV3(r *Request, params []param, names []string, signedHeaders, payloadHash, secret string) [sha256.Size]byte {
	bp := getBuf()
	b := appendCanonicalRequestV3((*bp)[:0], r, params, names, signedHeaders, payloadHash)
	crHash := sha256.Sum256(b)
	*bp = b
	putBuf(bp)

	var sts [blockSize + len(v3Algorithm) + 1 + 2*sha256.Size]byte
	n := blockSize + copy(sts[blockSize:], v3Algorithm)
	sts[n] = '\n'
	hex.Encode(sts[n+1:], crHash[:])
	return macSHA256(secret, sts[:])
}

// SignV3 signs req the way darabonba-openapi's V3 path does: it sets x-acs-date (from now),
// x-acs-signature-nonce, x-acs-content-sha256 (of body) and Authorization, signing host,
// content-type if set, and every x-acs-* header. The caller sets x-acs-action and x-acs-version
// first (ErrIncomplete otherwise), puts the RPC parameters in req.URL's query and/or body, and
// sends exactly body as req's body. A malformed query gives ErrMalformedQuery.
func SignV3(req *http.Request, body []byte, accessKeyID, secret string, now time.Time, nonce string) error {
	if req.Header == nil {
		req.Header = make(http.Header)
	}
	// Bring the keys that get signed into canonical form, so the values signed are the ones sent.
	for k, vs := range req.Header {
		if ck := http.CanonicalHeaderKey(k); ck != k && isCommonHeader(k) {
			delete(req.Header, k)
			req.Header[ck] = append(req.Header[ck], vs...)
		}
	}
	if req.Header.Get(hAction) == "" || req.Header.Get(hVersion) == "" {
		return ErrIncomplete
	}
	sum := sha256.Sum256(body)
	payloadHash := hex.EncodeToString(sum[:])
	req.Header.Set(hDate, now.UTC().Format(timestampLayout))
	req.Header.Set(hNonce, nonce)
	req.Header.Set(hContentSHA256, payloadHash)
	req.Header.Del("Authorization")

	r, err := FromHTTP(req, body)
	if err != nil {
		return err
	}
	params, err := appendQuery(nil, r.RawQuery)
	if err != nil {
		return err
	}
	slices.SortFunc(params, cmpParam)

	names := []string{hHost}
	for k := range req.Header {
		if isCommonHeader(k) {
			names = append(names, strings.ToLower(k))
		}
	}
	slices.Sort(names)
	names = slices.Compact(names)
	signedHeaders := strings.Join(names, ";")

	mac := macV3(r, params, names, signedHeaders, payloadHash, secret)
	req.Header.Set("Authorization", v3Algorithm+" Credential="+accessKeyID+
		",SignedHeaders="+signedHeaders+",Signature="+hex.EncodeToString(mac[:]))
	return nil
}
