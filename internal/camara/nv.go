package camara

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/numauth/numauth/internal/auth"
	"github.com/numauth/numauth/internal/store"
)

// The NV API's paths under the issuer (SPEC §7: API root = issuer).
const (
	pathVerify = "/number-verification/v2/verify"
	pathShare  = "/number-verification/v2/device-phone-number"
)

// nvTimeout bounds one NV call's work.
const nvTimeout = 5 * time.Second

func (p *Provider) routeNV(mux *http.ServeMux) {
	mux.HandleFunc("POST "+pathVerify, p.verify)
	mux.HandleFunc("GET "+pathShare, p.share)
	// Other methods on the two paths: CAMARA error bodies, not the mux's
	// plain text.
	mux.HandleFunc(pathVerify, p.methodNotAllowed("POST"))
	mux.HandleFunc(pathShare, p.methodNotAllowed("GET"))
	mux.HandleFunc("/number-verification/", func(w http.ResponseWriter, r *http.Request) {
		if _, ok := correlator(w, r); ok {
			writeNVError(w, nvNotFound, "")
		}
	})
}

// nvError is one row of the NV API's error table.
type nvError struct {
	status  int
	code    string
	message string
}

// The NV API's error table (camara-number-verification.yaml; CAMARA
// commons for 404, 405, 429 and 503). Each answer carries the fixed message
// here, or a more precise one about the request itself; never internal
// detail.
var (
	nvBadRequest   = nvError{400, "INVALID_ARGUMENT", "Client specified an invalid argument, request body or query param."}
	nvUnauthorized = nvError{401, "UNAUTHENTICATED", "Request not authenticated due to missing, invalid, or expired credentials. A new authentication is required."}
	nvForbidden    = nvError{403, "PERMISSION_DENIED", "Client does not have sufficient permissions to perform this action."}
	nvNotNetwork   = nvError{403, "NUMBER_VERIFICATION.USER_NOT_AUTHENTICATED_BY_MOBILE_NETWORK", "Client must authenticate via the mobile network to use this service"}
	nvNotFound     = nvError{404, "NOT_FOUND", "The specified resource is not found."}
	nvMethod       = nvError{405, "METHOD_NOT_ALLOWED", "The requested method is not allowed/supported on the target resource."}
	nvTooMany      = nvError{429, "TOO_MANY_REQUESTS", "Either out of resource quota or reaching rate limiting."}
	nvQuota        = nvError{429, "QUOTA_EXCEEDED", "Either out of resource quota or reaching rate limiting."}
	nvUnavailable  = nvError{503, "UNAVAILABLE", "Service Unavailable."}
)

// serviceNVError maps the service's errors to the table.
func serviceNVError(err error) nvError {
	switch {
	case errors.Is(err, auth.ErrNotNetworkAuthenticated):
		return nvNotNetwork
	case errors.Is(err, auth.ErrGrantInvalid):
		return nvUnauthorized
	case errors.Is(err, auth.ErrCarrierQuota):
		return nvQuota
	case errors.Is(err, auth.ErrInvalidParameters):
		return nvBadRequest
	default: // maintenance, carrier failure, store outage, timeouts
		return nvUnavailable
	}
}

func writeNVError(w http.ResponseWriter, e nvError, message string) {
	if message == "" {
		message = e.message
	}
	writeJSON(w, e.status, struct {
		Status  int    `json:"status"`
		Code    string `json:"code"`
		Message string `json:"message"`
	}{e.status, e.code, message})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(b)
}

var correlatorPattern = regexp.MustCompile(`^[a-zA-Z0-9-_:;.\/<>{}]{0,256}$`)

// correlator echoes a well-formed x-correlator on the answer; a malformed
// one is answered 400 (and not echoed), and ok is false.
func correlator(w http.ResponseWriter, r *http.Request) (string, bool) {
	vs := r.Header.Values("x-correlator")
	if len(vs) == 0 {
		return "", true
	}
	if len(vs) > 1 || !correlatorPattern.MatchString(vs[0]) {
		writeNVError(w, nvBadRequest, "x-correlator must match "+correlatorPattern.String())
		return "", false
	}
	w.Header().Set("x-correlator", vs[0])
	return vs[0], true
}

func (p *Provider) methodNotAllowed(allow string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if _, ok := correlator(w, r); ok {
			w.Header().Set("Allow", allow)
			writeNVError(w, nvMethod, "")
		}
	}
}

// bearer finds the access token's grant without using it up. A missing,
// malformed, forged, expired or used token is 401.
func (p *Provider) bearer(ctx context.Context, r *http.Request) (string, accessGrant, *nvError) {
	h := r.Header.Values("Authorization")
	if len(h) != 1 {
		return "", accessGrant{}, &nvUnauthorized
	}
	scheme, tok, ok := strings.Cut(h[0], " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || len(tok) > 1024 {
		return "", accessGrant{}, &nvUnauthorized
	}
	id, _, ok := p.tokenID(strings.TrimSpace(tok))
	if !ok {
		return "", accessGrant{}, &nvUnauthorized
	}
	g, err := p.storage.accessGrant(ctx, id)
	if errors.As(err, new(op.StatusError)) { // a store outage, not a bad token
		p.cfg.Logger.WarnContext(ctx, "NV: read access token", "err", err)
		return "", accessGrant{}, &nvUnavailable
	}
	if err != nil {
		return "", accessGrant{}, &nvUnauthorized
	}
	return id, g, nil
}

// tokenID opens an access token: zitadel's encryption of "id:subject".
func (p *Provider) tokenID(tok string) (id, subject string, ok bool) {
	if tok == "" || len(tok) > 1024 {
		return "", "", false
	}
	plain, err := p.op.Crypto().Decrypt(tok)
	if err != nil {
		return "", "", false
	}
	id, subject, ok = strings.Cut(plain, ":")
	return id, subject, ok && id != ""
}

// spend takes the access token: of many concurrent calls with one token,
// exactly one proceeds; the others are 401 as for a used token.
func (p *Provider) spend(ctx context.Context, id string) *nvError {
	_, err := p.storage.eph.Take(ctx, kAccessToken+id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return &nvUnauthorized
	case err != nil:
		p.cfg.Logger.WarnContext(ctx, "NV: take access token", "err", err)
		return &nvUnavailable
	}
	return nil
}

// begin runs what both operations share, in CAMARA's order: the
// correlator, the token (401), the request (400, checked by check), the
// scope (403), the client's rate (429); then it spends the token.
func (p *Provider) begin(w http.ResponseWriter, r *http.Request, want operation, check func() (string, bool)) (context.Context, context.CancelFunc, accessGrant, bool) {
	if _, ok := correlator(w, r); !ok {
		return nil, nil, accessGrant{}, false
	}
	ctx, cancel := context.WithTimeout(r.Context(), nvTimeout)
	fail := func(e nvError, msg string) (context.Context, context.CancelFunc, accessGrant, bool) {
		cancel()
		writeNVError(w, e, msg)
		return nil, nil, accessGrant{}, false
	}
	id, g, e := p.bearer(ctx, r)
	if e != nil {
		return fail(*e, "")
	}
	if msg, ok := check(); !ok {
		return fail(nvBadRequest, msg)
	}
	if !slices.Contains(g.Ops, want) {
		return fail(nvForbidden, "")
	}
	if err := p.cfg.Service.Throttle(ctx, "nv-client/"+g.ClientID, p.cfg.Throttle); err != nil {
		if errors.Is(err, auth.ErrThrottled) {
			return fail(nvTooMany, "")
		}
		return fail(nvUnavailable, "")
	}
	if e := p.spend(ctx, id); e != nil {
		return fail(*e, "")
	}
	return ctx, cancel, g, true
}

const maxNVBody = 4 << 10

// verifyBody is the verify operation's request, read strictly.
type verifyBody struct {
	PhoneNumber       *string `json:"phoneNumber"`
	HashedPhoneNumber *string `json:"hashedPhoneNumber"`
}

var hashPattern = regexp.MustCompile(`^[a-fA-F0-9]{64}$`)

// readVerifyBody reads and checks the verify request: JSON, an object with
// exactly one of phoneNumber (E.164) and hashedPhoneNumber (SHA-256 hex),
// nothing else. It returns a message for the client when the body is bad.
func readVerifyBody(r *http.Request) (verifyBody, string) {
	var b verifyBody
	ct := r.Header.Get("Content-Type")
	if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
		return b, "Content-Type must be application/json"
	}
	raw, err := io.ReadAll(io.LimitReader(r.Body, maxNVBody+1))
	if err != nil {
		return b, "the request body could not be read"
	}
	if len(raw) > maxNVBody {
		return b, "the request body is too large"
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		return b, "a request body is required"
	}
	var ok bool
	if b, ok = strictBody(raw); !ok {
		return verifyBody{}, "the request body must be a JSON object with exactly one of phoneNumber and hashedPhoneNumber, each once, as strings"
	}
	switch {
	case b.PhoneNumber != nil && b.HashedPhoneNumber != nil:
		return verifyBody{}, "exactly one of phoneNumber and hashedPhoneNumber is allowed"
	case b.PhoneNumber != nil:
		if !isNVPhone(*b.PhoneNumber) {
			return verifyBody{}, "phoneNumber must be an E.164 number, e.g. +34666666666"
		}
	case b.HashedPhoneNumber != nil:
		if !hashPattern.MatchString(*b.HashedPhoneNumber) {
			return verifyBody{}, "hashedPhoneNumber must be a SHA-256 in hexadecimal (64 characters)"
		}
	default:
		return verifyBody{}, "one of phoneNumber and hashedPhoneNumber is required"
	}
	return b, ""
}

// strictBody reads the verify body as the OpenAPI file defines it, more
// strictly than encoding/json would: property names match exactly (not
// case-insensitively), none appears twice, values are strings, and nothing
// follows the object. A gateway in front that reads the first of two
// duplicates, or that matches names exactly, then sees what numauth sees.
func strictBody(raw []byte) (verifyBody, bool) {
	var b verifyBody
	dec := json.NewDecoder(bytes.NewReader(raw))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return b, false
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return verifyBody{}, false
		}
		var dst **string
		switch t {
		case "phoneNumber":
			dst = &b.PhoneNumber
		case "hashedPhoneNumber":
			dst = &b.HashedPhoneNumber
		default:
			return verifyBody{}, false
		}
		if *dst != nil {
			return verifyBody{}, false
		}
		v, err := dec.Token()
		str, isStr := v.(string)
		if err != nil || !isStr {
			return verifyBody{}, false
		}
		*dst = &str
	}
	if t, err := dec.Token(); err != nil || t != json.Delim('}') {
		return verifyBody{}, false
	}
	if _, err := dec.Token(); err != io.EOF {
		return verifyBody{}, false
	}
	return b, true
}

func (p *Provider) verify(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		p.methodNotAllowed("POST")(w, r)
		return
	}
	var body verifyBody
	ctx, cancel, g, ok := p.begin(w, r, opVerify, func() (string, bool) {
		var msg string
		body, msg = readVerifyBody(r)
		return msg, msg == ""
	})
	if !ok {
		return
	}
	defer cancel()
	caller := auth.NetworkCaller{AccountID: g.AccountID, ClientID: g.ClientID}
	var match bool
	var err error
	if body.PhoneNumber != nil {
		match, err = p.cfg.Service.NetworkVerify(ctx, caller, g.Grant, *body.PhoneNumber)
	} else {
		match, err = p.cfg.Service.NetworkVerifyHashed(ctx, caller, g.Grant, strings.ToLower(*body.HashedPhoneNumber))
	}
	if err != nil {
		p.cfg.Logger.WarnContext(ctx, "NV verify failed", "client", g.ClientID, "err", err)
		writeNVError(w, serviceNVError(err), "")
		return
	}
	writeJSON(w, http.StatusOK, struct {
		Verified bool `json:"devicePhoneNumberVerified"`
	}{match})
}

func (p *Provider) share(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		// The mux lets HEAD through to a GET route: it would spend the
		// token and bill a number nobody receives.
		p.methodNotAllowed("GET")(w, r)
		return
	}
	ctx, cancel, g, ok := p.begin(w, r, opShare, func() (string, bool) { return "", true })
	if !ok {
		return
	}
	defer cancel()
	num, err := p.cfg.Service.NetworkNumber(ctx, auth.NetworkCaller{AccountID: g.AccountID, ClientID: g.ClientID}, g.Grant)
	if err != nil {
		p.cfg.Logger.WarnContext(ctx, "NV device-phone-number failed", "client", g.ClientID, "err", err)
		writeNVError(w, serviceNVError(err), "")
		return
	}
	writeJSON(w, http.StatusOK, struct {
		Number string `json:"devicePhoneNumber"`
	}{num})
}
