package sign

import (
	"crypto/subtle"
	"encoding/base64"
	"net/url"
	"slices"
	"time"
)

// V1 parameter names.
const (
	pSignature        = "Signature"
	pAccessKeyID      = "AccessKeyId"
	pSignatureNonce   = "SignatureNonce"
	pTimestamp        = "Timestamp"
	pSignatureMethod  = "SignatureMethod"
	pSignatureVersion = "SignatureVersion"
	pAction           = "Action"
	pVersion          = "Version"
)

// The only V1 method and version the official SDKs send (alibaba-cloud-sdk-go offers no
// HMAC-SHA256 for RPC requests; see docs/signatures.md).
const (
	v1Method  = "HMAC-SHA1"
	v1Version = "1.0"
)

// parseV1 collects the query and form pairs, takes out Signature, and reads the common
// parameters. Each common parameter must appear exactly once across query and form.
func (c *Claim) parseV1() error {
	r := c.req
	params, err := appendQuery(c.store[:0], r.RawQuery)
	if err != nil {
		return err
	}
	for k, vs := range r.Form {
		for _, v := range vs {
			params = append(params, param{k, v})
		}
	}

	var sig, method, version string
	var nSig, nAK, nNonce, nTS, nMethod, nVersion, nAction, nAPIVersion int
	var ts string
	out := params[:0]
	for _, p := range params {
		switch p.k {
		case pSignature:
			sig, nSig = p.v, nSig+1
			continue // everything but Signature is signed
		case pAccessKeyID:
			c.AccessKeyID, nAK = p.v, nAK+1
		case pSignatureNonce:
			c.Nonce, nNonce = p.v, nNonce+1
		case pTimestamp:
			ts, nTS = p.v, nTS+1
		case pSignatureMethod:
			method, nMethod = p.v, nMethod+1
		case pSignatureVersion:
			version, nVersion = p.v, nVersion+1
		case pAction:
			c.Action, nAction = p.v, nAction+1
		case pVersion:
			c.APIVersion, nAPIVersion = p.v, nAPIVersion+1
		}
		out = append(out, p)
	}
	if nSig != 1 || nAK != 1 || nNonce != 1 || nTS != 1 || nMethod != 1 || nVersion != 1 ||
		sig == "" || c.AccessKeyID == "" || c.Nonce == "" || ts == "" {
		return ErrIncomplete
	}
	if method != v1Method {
		return ErrMethod
	}
	if version != v1Version {
		return ErrVersion
	}
	t, ok := parseTimestamp(ts)
	if !ok {
		return ErrTimestampFormat
	}
	if nAction != 1 {
		c.Action = ""
	}
	if nAPIVersion != 1 {
		c.APIVersion = ""
	}
	c.Version, c.Timestamp = V1, t
	slices.SortFunc(out, cmpParam)
	c.params = out

	// An HMAC-SHA1 is 20 bytes, 28 in padded base64. Anything else cannot match.
	if len(sig) == 28 {
		if n, err := base64.StdEncoding.Strict().Decode(c.sig[:], []byte(sig)); err == nil && n == 20 {
			c.sigLen = n
		}
	}
	return nil
}

// appendStringToSignV1 appends
//
//	METHOD & percentEncode("/") & percentEncode(k1=v1&k2=v2…)
//
// where each k and v is percentEncoded and the pairs are sorted by name.
func appendStringToSignV1(b []byte, method string, params []param) []byte {
	b = append(b, method...)
	b = append(b, "&%2F&"...)
	for i, p := range params {
		if i > 0 {
			b = append(b, "%26"...)
		}
		b = appendEncode2(b, p.k)
		b = append(b, "%3D"...)
		b = appendEncode2(b, p.v)
	}
	return b
}

// macV1 is Base64's input: HMAC-SHA1(secret + "&", StringToSign).
func macV1(method string, params []param, secret string) [20]byte {
	bp := getBuf()
	b := appendStringToSignV1(append((*bp)[:0], make([]byte, blockSize)...), method, params)
	mac := macSHA1(secret, "&", b)
	*bp = b
	putBuf(bp)
	return mac
}

func (c *Claim) verifyV1(secret string) error {
	mac := macV1(c.req.Method, c.params, secret)
	if subtle.ConstantTimeCompare(mac[:], c.sig[:c.sigLen]) != 1 {
		return ErrMismatch
	}
	return nil
}

// SignV1 returns a copy of params with the V1 common parameters (AccessKeyId,
// SignatureMethod=HMAC-SHA1, SignatureVersion=1.0, SignatureNonce, Timestamp) and the Signature
// added, for a request sent with the given HTTP method. Action, Version, Format and the action's
// own parameters are the caller's. The result may be sent in the query, a form body, or split
// between them: the verifier signs their union.
func SignV1(method string, params url.Values, accessKeyID, secret string, now time.Time, nonce string) url.Values {
	out := make(url.Values, len(params)+6)
	for k, vs := range params {
		out[k] = slices.Clone(vs)
	}
	out.Del(pSignature)
	out.Set(pAccessKeyID, accessKeyID)
	out.Set(pSignatureMethod, v1Method)
	out.Set(pSignatureVersion, v1Version)
	out.Set(pSignatureNonce, nonce)
	out.Set(pTimestamp, now.UTC().Format(timestampLayout))

	ps := make([]param, 0, len(out)+4)
	for k, vs := range out {
		for _, v := range vs {
			ps = append(ps, param{k, v})
		}
	}
	slices.SortFunc(ps, cmpParam)
	mac := macV1(method, ps, secret)
	out.Set(pSignature, base64.StdEncoding.EncodeToString(mac[:]))
	return out
}

// StringToSign returns the V1 string the signature covers, as the server
// computed it ("" for V3). Alibaba puts it into its SignatureDoesNotMatch
// message ("server string to sign is:…"), and the V1 SDK compares it with
// its own to tell a wrong secret from a wrong canonicalization. It holds no
// secret.
func (c *Claim) StringToSign() string {
	if c.Version != V1 {
		return ""
	}
	return string(appendStringToSignV1(nil, c.req.Method, c.params))
}
