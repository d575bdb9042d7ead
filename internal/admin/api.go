// Package admin is numauth's operator API: JSON over HTTP under /admin/v1/,
// for the console (web/console) and for the CLI's --server mode. It signs
// console users in (argon2id passwords, sessions in the ephemeral store so
// that every instance knows them, a CSRF token per session, sign-in
// attempts budgeted per user and per source address), checks each call's
// role (admin changes things, viewer reads), and writes an audit entry for
// every change and every refused attempt at one.
//
// A caller is either a console session (cookie numauth_console; every
// write also carries X-CSRF-Token) or the deployment's admin token
// (Authorization: Bearer …), which acts as an admin and needs no CSRF token
// since no browser sends it by itself.
package admin

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/numauth/numauth/internal/auth"
	"github.com/numauth/numauth/internal/limit"
	"github.com/numauth/numauth/internal/store"
)

// CookieName is the console session cookie.
const CookieName = "numauth_console"

// CSRFHeader carries the session's CSRF token on every write.
const CSRFHeader = "X-CSRF-Token"

// Config is what the API needs.
type Config struct {
	Service   *auth.Service
	Durable   store.Durable
	Ephemeral store.Ephemeral
	// AdminToken authenticates as an admin (Authorization: Bearer …); ""
	// disables token access.
	AdminToken string
	// SessionTTL is how long a console session lasts (default 8 h).
	SessionTTL time.Duration
	// SecureCookies sets Secure on the session cookie even when the request
	// did not come over TLS to numauth itself (TLS ends at a proxy).
	SecureCookies bool
	// ClientAddr is the caller's address for the per-source sign-in budget
	// (default: the TCP peer).
	ClientAddr func(*http.Request) netip.Addr
	// SignInPerUser and SignInPerSource are the wrong passwords allowed
	// per SignInWindow (defaults 5 and 30 per 15 minutes).
	SignInPerUser, SignInPerSource int
	SignInWindow                   time.Duration
	Logger                         *slog.Logger
	Now                            func() time.Time
}

// API is the admin API's handler.
type API struct {
	cfg     Config
	mux     *http.ServeMux
	limiter *limit.Limiter
	perUser limit.Budget
	perSrc  limit.Budget
	log     *slog.Logger
}

// New builds the API. Extra routes (the sandbox's, the SMS outbox) are
// added with Handle, behind the same authentication.
func New(cfg Config) *API {
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = 8 * time.Hour
	}
	if cfg.SignInPerUser == 0 {
		cfg.SignInPerUser = 5
	}
	if cfg.SignInPerSource == 0 {
		cfg.SignInPerSource = 30
	}
	if cfg.SignInWindow <= 0 {
		cfg.SignInWindow = 15 * time.Minute
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.ClientAddr == nil {
		cfg.ClientAddr = peerAddr
	}
	a := &API{
		cfg:     cfg,
		mux:     http.NewServeMux(),
		limiter: limit.New(cfg.Ephemeral, cfg.Now),
		perUser: limit.Budget{Name: "console-signin-user", Limit: cfg.SignInPerUser, Window: cfg.SignInWindow},
		perSrc:  limit.Budget{Name: "console-signin-source", Limit: cfg.SignInPerSource, Window: cfg.SignInWindow},
		log:     cfg.Logger,
	}
	a.routes()
	return a
}

func peerAddr(r *http.Request) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ip, _ := netip.ParseAddr(host)
	return ip.Unmap()
}

// ServeHTTP implements http.Handler.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	a.mux.ServeHTTP(w, r)
}

// Role requirements of a route.
const (
	anyone = iota // no caller needed (sign-in)
	viewer        // any signed-in caller
	admin         // an admin (or the admin token)
)

// Handle adds a route (a net/http pattern under /admin/v1/) behind the
// same authentication: reads (GET, HEAD) for any signed-in caller, other
// methods for admins only, with the CSRF token checked and an audit entry
// (action, the request's path as target) written, like every write's.
func (a *API) Handle(pattern, action string, h http.Handler) {
	read := a.guard(viewer, "", func(w http.ResponseWriter, r *http.Request, _ *Principal) error {
		h.ServeHTTP(w, r)
		return nil
	})
	write := a.guard(admin, action, func(w http.ResponseWriter, r *http.Request, _ *Principal) error {
		setAuditTarget(r.Context(), r.URL.Path)
		h.ServeHTTP(w, r)
		return nil
	})
	a.mux.Handle(pattern, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			read.ServeHTTP(w, r)
			return
		}
		write.ServeHTTP(w, r)
	}))
}

// Principal is who makes a call.
type Principal struct {
	Actor string // "user:NAME" or "token"
	User  string // "" for the token
	Role  store.ConsoleRole
	sess  *session
}

// handlerFunc is a route: it writes its answer, or returns an error that
// guard answers from the error table.
type handlerFunc func(w http.ResponseWriter, r *http.Request, p *Principal) error

// guard authenticates the caller, checks the role and (for writes by a
// session) the CSRF token, runs h, and audits the call when action is set.
func (a *API) guard(need int, action string, h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		p, err := a.authenticate(ctx, r)
		if err == nil && need >= viewer && p == nil {
			err = errUnauthenticated
		}
		write := r.Method != http.MethodGet && r.Method != http.MethodHead
		if err == nil && p != nil && p.sess != nil && write {
			err = checkCSRF(r, p.sess)
		}
		if err == nil && need == admin && p.Role != store.RoleAdmin {
			err = errForbidden
		}
		var rec *auditRecord
		if action != "" {
			rec = &auditRecord{action: action}
			ctx = context.WithValue(ctx, auditKey{}, rec)
			r = r.WithContext(ctx)
		}
		if err == nil {
			err = h(w, r, p)
		}
		if rec != nil && (err == nil || !errors.Is(err, errUnauthenticated)) {
			a.audit(r, p, rec, err)
		}
		if err != nil {
			a.writeError(w, r, err)
		}
	})
}

// authenticate finds the caller: the admin token, a live session, or nobody.
func (a *API) authenticate(ctx context.Context, r *http.Request) (*Principal, error) {
	if h := r.Header.Get("Authorization"); h != "" {
		tok, ok := strings.CutPrefix(h, "Bearer ")
		if !ok || a.cfg.AdminToken == "" || subtle.ConstantTimeCompare([]byte(tok), []byte(a.cfg.AdminToken)) != 1 {
			return nil, errUnauthenticated
		}
		return &Principal{Actor: "token", Role: store.RoleAdmin}, nil
	}
	c, err := r.Cookie(CookieName)
	if err != nil || c.Value == "" {
		return nil, nil
	}
	s, err := a.loadSession(ctx, c.Value)
	if err != nil || s == nil {
		return nil, err
	}
	return &Principal{Actor: "user:" + s.User, User: s.User, Role: s.Role, sess: s}, nil
}

func checkCSRF(r *http.Request, s *session) error {
	got := r.Header.Get(CSRFHeader)
	if got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(s.CSRF)) != 1 {
		return errCSRF
	}
	// A browser names the site a request came from; a console page only
	// ever calls its own origin.
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" && site != "none" {
		return errCSRF
	}
	return nil
}

// Errors of the API, answered from one table (apiErrors).
var (
	errUnauthenticated = errors.New("sign in first")
	errForbidden       = errors.New("your role may not do this")
	errCSRF            = errors.New("missing or wrong CSRF token")
	errSignIn          = errors.New("wrong user name or password")
	errThrottled       = errors.New("too many failed sign-ins")
	errBadInput        = errors.New("invalid parameter")
	errNotFound        = errors.New("not found")
	errConflict        = errors.New("already exists")
	errLastAdmin       = errors.New("the last admin cannot be removed or demoted")
)

// apiErrors is the error table: the first entry whose error the returned
// error wraps gives the status and code; the message is the entry's text
// plus, for bad input, the hint the error carries.
var apiErrors = []struct {
	err    error
	status int
	code   string
}{
	{errUnauthenticated, http.StatusUnauthorized, "Unauthenticated"},
	{errForbidden, http.StatusForbidden, "Forbidden"},
	{errCSRF, http.StatusForbidden, "CsrfTokenInvalid"},
	{errSignIn, http.StatusUnauthorized, "SignInFailed"},
	{errThrottled, http.StatusTooManyRequests, "SignInThrottled"},
	{limit.ErrExhausted, http.StatusTooManyRequests, "SignInThrottled"},
	{limit.ErrBusy, http.StatusTooManyRequests, "SignInThrottled"},
	{errLastAdmin, http.StatusConflict, "LastAdmin"},
	{errBadInput, http.StatusBadRequest, "InvalidParameter"},
	{auth.ErrInvalidParameters, http.StatusBadRequest, "InvalidParameter"},
	{auth.ErrBadArgument, http.StatusBadRequest, "InvalidParameter"},
	{auth.ErrSchemeConflict, http.StatusConflict, "Conflict"},
	{store.ErrNameConflict, http.StatusConflict, "Conflict"},
	{store.ErrConflict, http.StatusConflict, "Conflict"},
	{errConflict, http.StatusConflict, "Conflict"},
	{auth.ErrSchemeNotExist, http.StatusNotFound, "NotFound"},
	{auth.ErrOAuthClientNotFound, http.StatusNotFound, "NotFound"},
	{auth.ErrKeyNotFound, http.StatusNotFound, "NotFound"},
	{store.ErrNotFound, http.StatusNotFound, "NotFound"},
	{errNotFound, http.StatusNotFound, "NotFound"},
	{store.ErrUnavailable, http.StatusServiceUnavailable, "ServiceUnavailable"},
	{auth.ErrUnavailable, http.StatusServiceUnavailable, "ServiceUnavailable"},
}

// errorCode is the table's code for err ("InternalError" if none).
func errorCode(err error) (int, string, error) {
	for _, e := range apiErrors {
		if errors.Is(err, e.err) {
			return e.status, e.code, e.err
		}
	}
	return http.StatusInternalServerError, "InternalError", nil
}

// ErrorBody is the JSON of every error answer.
type ErrorBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (a *API) writeError(w http.ResponseWriter, r *http.Request, err error) {
	status, code, entry := errorCode(err)
	msg := "internal error; the server log has the detail"
	if entry != nil {
		msg = entry.Error()
		if h := hintOf(err); h != "" {
			msg += ": " + h
		}
	}
	if status >= 500 {
		a.log.ErrorContext(r.Context(), "admin api", "path", r.URL.Path, "method", r.Method, "code", code, "err", err)
	}
	if status == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", fmt.Sprint(int(a.cfg.SignInWindow.Seconds())))
	}
	writeJSON(w, status, ErrorBody{Code: code, Message: msg})
}

// hint is a detail for the caller: which parameter, which limit.
type hintError struct {
	err  error
	hint string
}

func (e *hintError) Error() string { return e.err.Error() + ": " + e.hint }
func (e *hintError) Unwrap() error { return e.err }

func bad(format string, args ...any) error {
	return &hintError{err: errBadInput, hint: fmt.Sprintf(format, args...)}
}

func hintOf(err error) string {
	var h *hintError
	if errors.As(err, &h) {
		return h.hint
	}
	return auth.Hint(err)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(true) // <, >, & as \u003c…: safe even if a page put it in HTML
	enc.Encode(v)
}

// maxBody bounds a request body.
const maxBody = 64 << 10

// decode reads a JSON body into v: unknown fields, trailing data and
// bodies over 64 KiB are refused with a hint.
func decode(r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		switch {
		case errors.As(err, &mbe):
			return bad("the body is over %d bytes", maxBody)
		case errors.Is(err, io.EOF):
			return bad("a JSON object is required")
		}
		return bad("the body is not the JSON expected: %s", jsonErr(err))
	}
	if dec.More() {
		return bad("one JSON object, nothing after it")
	}
	return nil
}

// jsonErr describes a decoding error without echoing the input.
func jsonErr(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Sprintf("field %q must be %s", te.Field, te.Type)
	}
	msg := err.Error()
	if f, ok := strings.CutPrefix(msg, "json: unknown field "); ok {
		return "unknown field " + f
	}
	return "malformed JSON"
}

// keyHash names a secret-derived key without keeping the secret: session
// ids and user names in ephemeral keys.
func keyHash(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:16])
}
