// Package h5 is the web SDK's gateway: the endpoints the page calls (see
// docs/h5-protocol.md) and the SDK file itself. It knows HTTP, CORS and the
// gateway's JSON; the session and mask rules live in internal/auth.
package h5

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/numauth/numauth/internal/auth"
	"github.com/numauth/numauth/internal/carrier"
	"github.com/numauth/numauth/internal/h5/sdkasset"
	"github.com/numauth/numauth/internal/ipset"
	"github.com/numauth/numauth/internal/obs"
)

// sdkETag names the embedded SDK build, so browsers revalidate cheaply.
var sdkETag = func() string {
	sum := sha256.Sum256(sdkasset.JS)
	return `"` + hex.EncodeToString(sum[:8]) + `"`
}()

// maxBody bounds a gateway request body.
const maxBody = 8 << 10

// Service is what the gateway needs of the rules.
type Service interface {
	OpenSession(ctx context.Context, in auth.SessionRequest) (auth.SessionInfo, error)
	MintVerifyToken(ctx context.Context, sessionID, origin string, front carrier.FrontRequest) (auth.SPResult, error)
	LoginMask(ctx context.Context, sessionID, origin string, front carrier.FrontRequest) (auth.SPResult, error)
	MintLoginToken(ctx context.Context, sessionID, origin, mask string) (auth.SPResult, error)
	CompleteRedirect(ctx context.Context, sessionID, origin string, query url.Values) (auth.SPResult, error)
	RedirectOrigin(ctx context.Context, state string) (string, error)
	OpenFusionSession(ctx context.Context, fusionToken, origin, source string) (auth.FusionSession, error)
	FusionSendSms(ctx context.Context, sessionID, origin, phone string) (string, error)
	FusionCheckSms(ctx context.Context, sessionID, origin, phone, code string) (auth.SPResult, error)
}

// Timeout bounds one gateway call (carrier leg and stores included), so a
// hung backend answers instead of hanging the page; the SDK's own default
// timeout is 10 s.
const Timeout = 8 * time.Second

// Gateway serves the web SDK and its endpoints.
type Gateway struct {
	svc     Service
	log     *slog.Logger
	metrics *obs.Metrics
	proxies []netip.Prefix // whose X-Forwarded-For names the visitor
}

// WithTrustedProxies makes the gateway count a call that comes through one
// of these proxies (a TLS terminator, an ingress) against the session
// budget of the visitor that proxy names in X-Forwarded-For, not of the
// proxy. Only that budget: the carrier leg sees what its adapter trusts.
func (g *Gateway) WithTrustedProxies(p []netip.Prefix) *Gateway {
	g.proxies = p
	return g
}

// New returns the gateway.
func New(svc Service, log *slog.Logger, m *obs.Metrics) *Gateway {
	if log == nil {
		log = slog.Default()
	}
	return &Gateway{svc: svc, log: log, metrics: m}
}

// Register mounts the gateway on mux. A known operation asked with another
// method is 405 with Allow, an unknown one 404, both in the gateway's JSON.
func (g *Gateway) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /sdk/numberauth-web-sdk.js", g.serveSDK)
	ops := []string{"check", "verify-token", "login-mask", "login-token", "redirect-complete",
		"fusion-check", "fusion-sms-send", "fusion-sms-check"}
	for _, op := range ops {
		mux.Handle("POST /h5/v1/"+op, g.endpoint(op))
		mux.Handle("OPTIONS /h5/v1/"+op, http.HandlerFunc(preflight))
	}
	mux.HandleFunc("GET /h5/v1/{adapter}/callback", g.callback)
	mux.HandleFunc("/h5/v1/", func(w http.ResponseWriter, r *http.Request) {
		if slices.Contains(ops, strings.TrimPrefix(r.URL.Path, "/h5/v1/")) {
			w.Header().Set("Allow", "OPTIONS, POST")
			writeJSON(w, http.StatusMethodNotAllowed, reply{Code: "BAD_ARGUMENT", Msg: "gateway operations take POST"})
			return
		}
		writeJSON(w, http.StatusNotFound, reply{Code: "BAD_ARGUMENT", Msg: "no such gateway operation"})
	})
}

func (g *Gateway) serveSDK(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", sdkasset.ContentType)
	h.Set("Cache-Control", "public, max-age=300")
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("ETag", sdkETag)
	http.ServeContent(w, r, "numberauth-web-sdk.js", time.Time{}, bytes.NewReader(sdkasset.JS))
}

// preflight answers CORS preflights. The SDK sends simple requests and never
// needs one; a page that sends JSON content types gets the same rule as a
// real call: no data is ever readable by an origin the tokens do not name.
func preflight(w http.ResponseWriter, r *http.Request) {
	if o := r.Header.Get("Origin"); o != "" {
		h := w.Header()
		h.Set("Access-Control-Allow-Origin", o)
		h.Set("Access-Control-Allow-Methods", "POST")
		h.Set("Access-Control-Allow-Headers", "Content-Type")
		h.Set("Access-Control-Max-Age", "600")
		h.Add("Vary", "Origin")
	}
	w.WriteHeader(http.StatusNoContent)
}

type request struct {
	AccessToken string `json:"accessToken"`
	JwtToken    string `json:"jwtToken"`
	Kind        string `json:"kind"`
	PhoneNumber string `json:"phoneNumber"`
	Session     string `json:"session"`
	Mask        string `json:"mask"`
	// Query is a redirect front leg's answer: the query string the
	// operator sent the callback (redirect-complete).
	Query string `json:"query"`
	// FusionToken is GetFusionAuthToken's Model (fusion-check); Code the
	// SMS code the user typed (fusion-sms-check).
	FusionToken string `json:"fusionToken"`
	Code        string `json:"code"`
}

type reply struct {
	Code        string `json:"code"`
	Msg         string `json:"msg"`
	Session     string `json:"session,omitempty"`
	ExpiresIn   int64  `json:"expiresIn,omitempty"`
	SpToken     string `json:"spToken,omitempty"`
	Carrier     string `json:"carrier,omitempty"`
	MaskedPhone string `json:"maskedPhone,omitempty"`
	TriesLeft   *int   `json:"triesLeft,omitempty"`
	// Redirect is a redirect front leg the SDK runs (code REDIRECT).
	Redirect *redirectReply `json:"redirect,omitempty"`
	// Strategy is a fusion session's strategy (fusion-check):
	// "carrier" or "sms".
	Strategy string `json:"strategy,omitempty"`
}

type redirectReply struct {
	URL    string `json:"url"`
	Window string `json:"window"`
	// Origin is where numauth's callback page posts the operator's answer from.
	Origin string `json:"origin,omitempty"`
}

func (g *Gateway) endpoint(op string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		// The request id, as the server API's: in the answer and on every
		// log line of the call.
		reqID := strings.ToUpper(uuid.NewString())
		w.Header().Set("X-Request-Id", reqID)
		ctx, cancel := context.WithTimeout(obs.WithRequestID(r.Context(), reqID), Timeout)
		defer cancel()
		origin := r.Header.Get("Origin")
		var req request
		raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
		var res reply
		var boundOrigin string
		switch {
		case err != nil:
			res = reply{Code: "BAD_ARGUMENT", Msg: "request body too large or unreadable"}
		case json.Unmarshal(raw, &req) != nil:
			res = reply{Code: "BAD_ARGUMENT", Msg: "request body must be a JSON object"}
		default:
			res, boundOrigin = g.do(ctx, op, r, origin, req)
		}
		// Data is readable only by the origin bound to the tokens; an error
		// answer carries no data and is readable by the page that asked.
		data := res.Code == "OK" || res.Code == "REDIRECT"
		if origin != "" && (!data || (boundOrigin != "" && sameOrigin(origin, boundOrigin))) {
			w.Header().Set("Access-Control-Allow-Origin", origin)
		}
		w.Header().Add("Vary", "Origin")
		status := http.StatusOK
		if err != nil {
			status = http.StatusRequestEntityTooLarge
		}
		writeJSON(w, status, res)
		g.metrics.ObserveH5(op, res.Code, time.Since(start))
		g.log.LogAttrs(ctx, slog.LevelInfo, "h5", slog.String("op", op), slog.String("code", res.Code),
			slog.Duration("elapsed", time.Since(start)))
	})
}

// do runs one operation and returns the reply and, for a success, the origin
// the tokens or session are bound to, as the service reports it (it has
// also checked that the request's Origin is that origin; the gateway's own
// comparison keeps the CORS rule true even if that check ever broke).
func (g *Gateway) do(ctx context.Context, op string, r *http.Request, origin string, req request) (reply, string) {
	// The TCP peer: the address the carrier sees. Forwarded headers are
	// the adapter's business (trusted proxies only).
	front := carrier.FrontRequest{Source: ipset.PeerAddr(r.RemoteAddr), Header: r.Header}
	switch op {
	case "check":
		sess, err := g.svc.OpenSession(ctx, auth.SessionRequest{
			AccessToken: req.AccessToken, JwtToken: req.JwtToken, Origin: origin,
			Kind: carrier.Kind(req.Kind), Phone: req.PhoneNumber, Source: sourceKey(g.visitor(r, front.Source)),
		})
		if err != nil {
			return g.fail(ctx, op, err), ""
		}
		return reply{Code: "OK", Msg: "ok", Session: sess.ID, ExpiresIn: int64(sess.ExpiresIn / time.Second)}, sess.Origin
	case "verify-token":
		res, err := g.svc.MintVerifyToken(ctx, req.Session, origin, front)
		if err != nil {
			return g.fail(ctx, op, err), ""
		}
		return tokenReply(res, carrier.KindVerify), res.Origin
	case "login-mask":
		res, err := g.svc.LoginMask(ctx, req.Session, origin, front)
		if err != nil {
			return g.fail(ctx, op, err), ""
		}
		return tokenReply(res, carrier.KindLogin), res.Origin
	case "redirect-complete":
		q, err := url.ParseQuery(req.Query)
		if err != nil {
			return g.fail(ctx, op, &auth.PublicError{Err: auth.ErrBadArgument, Hint: "query is not a URL query string"}), ""
		}
		res, err := g.svc.CompleteRedirect(ctx, req.Session, origin, q)
		if err != nil {
			return g.fail(ctx, op, err), ""
		}
		return tokenReply(res, res.Kind), res.Origin
	case "login-token":
		res, err := g.svc.MintLoginToken(ctx, req.Session, origin, req.Mask)
		if err != nil {
			return g.fail(ctx, op, err), ""
		}
		return reply{Code: "OK", Msg: "ok", SpToken: res.SPToken, Carrier: string(res.Operator)}, res.Origin
	case "fusion-check":
		sess, err := g.svc.OpenFusionSession(ctx, req.FusionToken, origin, sourceKey(g.visitor(r, front.Source)))
		if err != nil {
			return g.fail(ctx, op, err), ""
		}
		return reply{Code: "OK", Msg: "ok", Session: sess.ID, ExpiresIn: int64(sess.ExpiresIn / time.Second), Strategy: sess.Strategy}, sess.Origin
	case "fusion-sms-send":
		bound, err := g.svc.FusionSendSms(ctx, req.Session, origin, req.PhoneNumber)
		if err != nil {
			return g.fail(ctx, op, err), ""
		}
		return reply{Code: "OK", Msg: "ok"}, bound
	case "fusion-sms-check":
		res, err := g.svc.FusionCheckSms(ctx, req.Session, origin, req.PhoneNumber, req.Code)
		if err != nil {
			return g.fail(ctx, op, err), ""
		}
		return reply{Code: "OK", Msg: "ok", SpToken: res.SPToken, Carrier: string(res.Operator)}, res.Origin
	}
	return reply{Code: "BAD_ARGUMENT", Msg: "no such operation"}, ""
}

// tokenReply is the answer of a front leg of kind: a redirect to run, a
// verification spToken, or a login's masked number.
func tokenReply(res auth.SPResult, kind carrier.Kind) reply {
	switch {
	case res.Redirect != nil:
		return reply{Code: "REDIRECT", Msg: "visit the operator", Redirect: &redirectReply{URL: res.Redirect.URL, Window: res.Redirect.Window, Origin: res.Redirect.CallbackOrigin}}
	case kind == carrier.KindLogin:
		return reply{Code: "OK", Msg: "ok", MaskedPhone: res.Masked, Carrier: string(res.Operator)}
	}
	return reply{Code: "OK", Msg: "ok", SpToken: res.SPToken, Carrier: string(res.Operator)}
}

// codes maps service and carrier errors to gateway codes, in order; the
// first match wins. This is the gateway's one error table.
var codes = []struct {
	err  error
	code string
}{
	{auth.ErrBadArgument, "BAD_ARGUMENT"},
	{auth.ErrIdentity, "IDENTITY_FAILED"},
	{auth.ErrSchemeGone, "SCHEME_NOT_FOUND"},
	{auth.ErrBizMismatch, "BIZ_TYPE_MISMATCH"},
	{auth.ErrSessionInvalid, "SESSION_INVALID"},
	{auth.ErrTooManySessions, "RATE_LIMITED"},
	{auth.ErrMaskNotRequested, "MASK_NOT_REQUESTED"},
	{auth.ErrMaskLocked, "MASK_LOCKED"},
	{auth.ErrMaskWrong, "MASK_WRONG"},
	{auth.ErrSmsCodeWrong, "SMS_CODE_WRONG"},
	{auth.ErrSmsFrequency, "SMS_FREQUENCY"},
	{auth.ErrSmsLimit, "SMS_LIMIT"},
	{auth.ErrSmsCountry, "SMS_COUNTRY"},
	{auth.ErrSmsRejected, "SMS_UNAVAILABLE"},
	{auth.ErrSmsProviderDown, "SMS_UNAVAILABLE"},
	{auth.ErrUnavailable, "UNAVAILABLE"}, // before DeadlineExceeded: a store that timed out
	{carrier.ErrNotCellular, "NOT_CELLULAR"},
	{carrier.ErrMaintenance, "CARRIER_MAINTENANCE"},
	{carrier.ErrQuota, "CARRIER_QUOTA"},
	{carrier.ErrFailed, "CARRIER_ERROR"},
	{carrier.ErrTicketInvalid, "CARRIER_ERROR"},
	{carrier.ErrUnsupported, "CARRIER_ERROR"}, // an adapter without the front leg asked for
	{context.DeadlineExceeded, "CARRIER_ERROR"},
	// The page gave up (its SDK timeout aborted the fetch): nobody reads
	// this answer, and it is no server failure.
	{context.Canceled, "CANCELED"},
}

var messages = map[string]string{
	"BAD_ARGUMENT":        "bad argument",
	"IDENTITY_FAILED":     "identity check failed: tokens invalid, expired or not for this page",
	"SCHEME_NOT_FOUND":    "the scheme of these tokens no longer exists",
	"BIZ_TYPE_MISMATCH":   "the tokens were minted for the other flow",
	"SESSION_INVALID":     "no valid session: call the check method first",
	"RATE_LIMITED":        "too many sessions for these tokens or from this address; try again later",
	"MASK_NOT_REQUESTED":  "request the masked number first",
	"MASK_LOCKED":         "too many wrong tries; this number is locked for one-click login",
	"MASK_WRONG":          "the digits do not match",
	"SMS_CODE_WRONG":      "the SMS code is wrong, expired or spent",
	"SMS_FREQUENCY":       "a code was sent to this number too recently; wait before asking again",
	"SMS_LIMIT":           "this number has been sent as many codes as it may for now",
	"SMS_COUNTRY":         "codes are not sent to this country",
	"SMS_UNAVAILABLE":     "the SMS code could not be sent; try again later",
	"NOT_CELLULAR":        "not on a cellular data connection the carrier can identify",
	"CARRIER_MAINTENANCE": "the carrier is under maintenance",
	"CARRIER_QUOTA":       "the carrier's call limit is reached",
	"CARRIER_ERROR":       "the carrier failed to answer",
	"CANCELED":            "the request was abandoned by the page",
	"UNAVAILABLE":         "numauth is temporarily unavailable; try again",
	"INTERNAL":            "internal error",
}

func (g *Gateway) fail(ctx context.Context, op string, err error) reply {
	code := "INTERNAL"
	for _, c := range codes {
		if errors.Is(err, c.err) {
			code = c.code
			break
		}
	}
	res := reply{Code: code, Msg: messages[code]}
	if h := auth.Hint(err); code == "BAD_ARGUMENT" && h != "" {
		res.Msg = h // public by construction; other detail is for the log
	}
	var mw *auth.MaskWrongError
	if errors.As(err, &mw) {
		left := mw.TriesLeft
		res.TriesLeft = &left
	}
	switch {
	case code == "INTERNAL":
		g.log.ErrorContext(ctx, "gateway operation failed", "op", op, "err", err)
	case strings.HasPrefix(code, "CARRIER_"):
		// The carrier's errors name no number (adapters mask or omit
		// them); the operator's reason is for the operator of numauth.
		g.log.WarnContext(ctx, "carrier failed", "op", op, "code", code, "err", err)
	}
	return res
}

// sameOrigin reports whether the request's Origin header names the bound
// (normalised) origin.
func sameOrigin(header, bound string) bool {
	o, err := auth.NormalizeOrigin(header)
	return err == nil && o == bound
}

// visitor is the address a call comes from: the TCP peer, or, through a
// trusted proxy, the rightmost X-Forwarded-For address that is not itself
// a trusted proxy.
func (g *Gateway) visitor(r *http.Request, peer netip.Addr) netip.Addr {
	return ipset.Visitor(peer, r.Header.Values("X-Forwarded-For"), g.proxies)
}

// sourceKey is the subject of the per-address session budget: the address,
// or for IPv6 its /64, which one subscriber usually holds whole.
func sourceKey(a netip.Addr) string {
	if !a.IsValid() {
		return ""
	}
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(b)
}
