package sign

import "errors"

// Sentinel errors returned by Parse and Verify. Callers compare with errors.Is.
//
// The package does not know Alibaba's error codes or HTTP statuses; the protocol layer maps each
// sentinel to the code named in its comment (all of them answer HTTP 400). See docs/signatures.md.
var (
	// ErrIncomplete becomes "IncompleteSignature": a required signature input is missing, empty or
	// given more than once (V1: Signature, AccessKeyId, SignatureNonce, Timestamp, SignatureMethod,
	// SignatureVersion; V3: x-acs-date, x-acs-signature-nonce, x-acs-content-sha256, x-acs-action,
	// x-acs-version), the Authorization header is malformed, or a header that must be signed
	// (host, x-acs-*, content-type) is not listed in SignedHeaders.
	ErrIncomplete = errors.New("sign: incomplete signature")

	// ErrMethod becomes "InvalidSignatureMethod": V1 SignatureMethod other than HMAC-SHA1, or a V3
	// algorithm other than ACS3-HMAC-SHA256 (ACS3-HMAC-SM3 and ACS3-RSA-SHA256 are not accepted).
	ErrMethod = errors.New("sign: unsupported signature method")

	// ErrVersion becomes "InvalidSignatureVersion" (not among SPEC §2's listed codes; see
	// docs/signatures.md): V1 SignatureVersion other than "1.0".
	ErrVersion = errors.New("sign: unsupported signature version")

	// ErrTimestampFormat becomes "InvalidTimeStamp.Format": the V1 Timestamp or V3 x-acs-date is
	// not ISO 8601 UTC (yyyy-MM-ddTHH:mm:ssZ, optionally with fractional seconds).
	ErrTimestampFormat = errors.New("sign: timestamp is not ISO 8601 UTC")

	// ErrMismatch becomes "SignatureDoesNotMatch": the signature is not the one the secret gives.
	ErrMismatch = errors.New("sign: signature does not match")

	// ErrContentHash becomes "SignatureDoesNotMatch" as well, but stays distinguishable for logs
	// and metrics: the V3 request was signed correctly over an x-acs-content-sha256 value that is
	// not the SHA-256 of the body received (the body was altered or truncated in transit).
	ErrContentHash = errors.New("sign: x-acs-content-sha256 is not the hash of the body")

	// ErrMalformedQuery becomes "InvalidParameter": the query string (or, from FromHTTP, the form
	// body) is not valid application/x-www-form-urlencoded: a bad %-escape, a ';' separator, or
	// more than 10000 parameters. These are exactly the inputs net/url.ParseQuery rejects.
	ErrMalformedQuery = errors.New("sign: malformed query string or form body")
)
