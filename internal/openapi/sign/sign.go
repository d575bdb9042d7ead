// Package sign checks and makes the request signatures of Alibaba Cloud's RPC-style OpenAPI, as
// the official SDKs produce them byte for byte:
//
//   - V1 ("RPC signature"): common parameters AccessKeyId, SignatureMethod=HMAC-SHA1,
//     SignatureVersion=1.0, SignatureNonce, Timestamp and Signature, in the query and/or a form
//     body (github.com/aliyun/alibaba-cloud-sdk-go, and darabonba-openapi with
//     SignatureAlgorithm "v2").
//   - V3: "Authorization: ACS3-HMAC-SHA256 Credential=…,SignedHeaders=…,Signature=…" over a
//     canonical request with x-acs-* headers (github.com/alibabacloud-go/darabonba-openapi/v2).
//
// Verification is split in two so that the AccessKey is looked up only for well-formed requests:
// Parse extracts the claimed AccessKey ID, nonce and time without the secret, and Claim.Verify
// checks the signature with the secret in constant time. Checking the time window and the nonce
// for replay is the caller's job. SignV1 and SignV3 are the client side.
//
// docs/signatures.md describes both schemes as checked here.
package sign

import (
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Request is what the verifier needs of an HTTP request. The caller builds it (FromHTTP does it
// for a *http.Request); Parse and Verify only read it, and the Claim keeps a reference to it.
type Request struct {
	Method string // as received, e.g. "POST"
	Host   string // the Host header as received (r.Host on a server)
	// Path is the path as it was on the wire (r.URL.EscapedPath()); "" means "/".
	Path     string
	RawQuery string // r.URL.RawQuery, undecoded
	// Header must have canonical keys, as net/http gives them (http.CanonicalHeaderKey).
	Header http.Header
	Body   []byte // the whole body, already read and size-limited by the caller
	// Form is the parsed body when Content-Type is application/x-www-form-urlencoded, else nil.
	// The body only (r.PostForm), never r.Form, which merges the query in: V1 signs the query
	// and the body parameters together, and a query counted twice fails with ErrIncomplete.
	// V3 covers the body through its hash and does not read Form.
	Form url.Values
}

// FromHTTP builds a Request from a server-side (or client-side) *http.Request and its body, which
// the caller has already read with a size limit. The form body is parsed when the Content-Type is
// application/x-www-form-urlencoded; a malformed one gives ErrMalformedQuery.
func FromHTTP(r *http.Request, body []byte) (*Request, error) {
	host := r.Host
	if host == "" && r.URL != nil {
		host = r.URL.Host
	}
	req := &Request{Method: r.Method, Host: host, Header: r.Header, Body: body}
	if r.URL != nil {
		req.Path = r.URL.EscapedPath()
		req.RawQuery = r.URL.RawQuery
	}
	if isForm(r.Header.Get("Content-Type")) {
		f, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, ErrMalformedQuery
		}
		req.Form = f
	}
	return req, nil
}

// isForm reports whether a Content-Type value names application/x-www-form-urlencoded.
func isForm(ct string) bool {
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	return strings.EqualFold(strings.TrimSpace(ct), "application/x-www-form-urlencoded")
}

// Version is the signature scheme of a request.
type Version int

// The two schemes.
const (
	V1 Version = 1 // RPC signature: HMAC-SHA1 over the sorted parameters
	V3 Version = 3 // ACS3-HMAC-SHA256 over the canonical request
)

func (v Version) String() string {
	switch v {
	case V1:
		return "V1"
	case V3:
		return "V3"
	}
	return "unknown"
}

// Claim is what a request claims about its signer, before the signature is checked.
// Nothing in it may be trusted until Verify returned nil.
type Claim struct {
	Version     Version
	AccessKeyID string
	Nonce       string    // SignatureNonce (V1) or x-acs-signature-nonce (V3)
	Timestamp   time.Time // Timestamp (V1) or x-acs-date (V3), UTC
	// Action and APIVersion name the operation as the signature covers it: the Action and
	// Version parameters for V1 (empty if absent or given twice), the x-acs-action and
	// x-acs-version headers for V3 (the V3 SDK sends no Action parameter). The protocol layer
	// must dispatch on these, not on an unsigned copy (the V1 SDK also sends x-acs-action,
	// unsigned).
	Action, APIVersion string

	req    *Request
	params []param // V1: signed pairs (all but Signature); V3: query pairs; sorted
	sig    [32]byte
	sigLen int // 0 when the claimed signature could not be decoded: Verify says ErrMismatch

	// V3 only.
	signedHeaders string   // as in the Authorization header, validated
	names         []string // signedHeaders split on ';'
	payloadHash   string   // x-acs-content-sha256 as received
	bodyHash      [32]byte // its decoding
	bodyHashOK    bool

	store     [24]param // backing array for params
	nameStore [12]string
}

// Parse reads the signature inputs of r without the secret. A request with an
// "Authorization: ACS3-…" header is V3; anything else is V1. The errors are the package's
// sentinels: ErrIncomplete, ErrMethod, ErrVersion, ErrTimestampFormat, ErrMalformedQuery.
func Parse(r *Request) (*Claim, error) {
	c := &Claim{req: r}
	if authz, n := acs3Authorization(r.Header); n > 0 {
		if n > 1 {
			return nil, ErrIncomplete
		}
		if err := c.parseV3(authz); err != nil {
			return nil, err
		}
		return c, nil
	}
	if err := c.parseV1(); err != nil {
		return nil, err
	}
	return c, nil
}

// acs3Authorization returns the Authorization value if one starts with "ACS3-", and how many
// Authorization values there are in that case.
func acs3Authorization(h http.Header) (string, int) {
	vs := h["Authorization"]
	for _, v := range vs {
		if strings.HasPrefix(v, "ACS3-") {
			return v, len(vs)
		}
	}
	return "", 0
}

// Verify checks the claimed signature with the AccessKey secret, comparing in constant time.
// It returns nil, ErrMismatch, or (V3) ErrContentHash when the signature is right but the body
// is not the one whose hash was signed. Verify does not change the Claim and may be called again
// (with another secret during a key rotation, say).
func (c *Claim) Verify(secret string) error {
	switch c.Version {
	case V1:
		return c.verifyV1(secret)
	case V3:
		return c.verifyV3(secret)
	}
	return ErrMismatch
}
