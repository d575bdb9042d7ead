// Package demo is the H5 demo's integrator server: what a customer's own
// back end looks like when it uses numauth. It holds the AccessKey, calls
// numauth's server API with the official Alibaba Cloud Go SDK, and serves one
// page that runs both H5 flows with the numauth web SDK:
//
//   - local-number verification: the user types a number; the page gets an
//     spToken from the SDK and posts it with the number to /api/verify, which
//     calls VerifyPhoneWithToken (PASS, REJECT or UNKNOWN);
//   - one-click login: the page shows the masked number, the user types its
//     four hidden digits, the page posts the login spToken to /api/login,
//     which calls GetPhoneWithToken and gets the full number;
//   - the SMS fallback of verification: when the carrier cannot answer
//     (600008 on Wi-Fi, and the carrier's own failures), the page offers a
//     code by SMS to the typed number: /api/sms/send calls SendSmsVerifyCode,
//     the user types the code from the SMS, /api/sms/check calls
//     CheckSmsVerifyCode (PASS or UNKNOWN).
//
// Endpoints:
//
//	GET  /                       the page (loads {numauth}/sdk/numberauth-web-sdk.js)
//	GET  /api/tokens?biz=B       GetAuthToken for this page; B is verify or login
//	POST /api/verify             {"spToken", "phoneNumber"} → VerifyPhoneWithToken
//	POST /api/login              {"spToken"} → GetPhoneWithToken
//	POST /api/sms/send           {"phoneNumber"} → SendSmsVerifyCode
//	POST /api/sms/check          {"phoneNumber", "verifyCode"} → CheckSmsVerifyCode
//	GET  /api/fusion/token                                    → GetFusionAuthToken (Platform H5)
//	POST /api/fusion/verify      {"spToken": VerifyToken}     → VerifyWithFusionAuthToken
//
// Every /api answer is JSON with a "code": "OK" on success, else numauth's
// code (for example "isv.TOKEN_INVALID" or "FREQUENCY_FAIL") or one of this
// server's own ("BadRequest", "NumauthUnreachable"), and a "message".
package demo

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Config configures a Server.
type Config struct {
	// Numauth is numauth's base URL, for the server API and for the page's
	// SDK script, e.g. "http://127.0.0.1:8080".
	Numauth string
	// PublicURL is the page's URL as browsers see it, e.g.
	// "http://127.0.0.1:8090/" (the page is served at the root). Its origin
	// and URL are what the H5 scheme registers and what GetAuthToken names.
	PublicURL string
	// AccessKeyID and AccessKeySecret sign the server API calls.
	AccessKeyID, AccessKeySecret string
	// SceneCode pins the scheme GetAuthToken uses (optional: without it,
	// numauth picks the one H5 scheme that allows PublicURL).
	SceneCode string
	// Timeout bounds one server API call (default 10 s).
	Timeout time.Duration
	// FrameSources are the origins the page may frame besides numauth's:
	// the operators a camara carrier sends the SDK's hidden frame to (a
	// page's Content-Security-Policy must allow the operator and numauth
	// in frame-src for a redirect front leg).
	FrameSources []string
	// Logger receives one line per API call (default: slog.Default()).
	// Numbers in it are masked and tokens never appear.
	Logger *slog.Logger
}

// Server is the demo integrator server. It is an http.Handler.
type Server struct {
	api     *api
	pageURL string // normalized PublicURL
	origin  string
	log     *slog.Logger
	page    []byte // the rendered index page
	csp     string
	mux     *http.ServeMux

	mu    sync.Mutex
	scene string // scheme code for GetAuthToken ("" = let numauth choose)
}

//go:embed static
var static embed.FS

var pageTmpl = template.Must(template.ParseFS(static, "static/index.html"))

// New checks cfg and returns the server. It does not call numauth: see
// EnsureScheme.
func New(cfg Config) (*Server, error) {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	numauth := strings.TrimRight(cfg.Numauth, "/")
	a, err := newAPI(numauth, cfg.AccessKeyID, cfg.AccessKeySecret, cfg.Timeout)
	if err != nil {
		return nil, err
	}
	pu, err := url.Parse(cfg.PublicURL)
	if err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" || pu.User != nil {
		return nil, fmt.Errorf("public URL %q: want http(s)://host[:port]/path", cfg.PublicURL)
	}
	if (pu.Path != "" && pu.Path != "/") || pu.RawQuery != "" || pu.Fragment != "" {
		return nil, fmt.Errorf("public URL %q: the page is served at the root: give no path or query", cfg.PublicURL)
	}
	pu.Path = "/"
	nu, _ := url.Parse(numauth) // checked by newAPI
	numauthOrigin := nu.Scheme + "://" + nu.Host
	s := &Server{
		api: a, pageURL: pu.String(), origin: pu.Scheme + "://" + pu.Host, log: cfg.Logger, scene: cfg.SceneCode,
		// The page's scripts come from here and from numauth (the SDK), and
		// the SDK calls numauth's gateway: nothing else is allowed.
		// A redirect front leg (the camara carrier) runs the operator and
		// then numauth's callback in a hidden frame.
		csp: "default-src 'none'; script-src 'self' " + numauthOrigin + "; connect-src 'self' " + numauthOrigin +
			"; frame-src " + strings.Join(append([]string{numauthOrigin}, cfg.FrameSources...), " ") +
			"; style-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
	}
	var page strings.Builder
	if err := pageTmpl.Execute(&page, map[string]string{
		"SDK": numauth + "/sdk/numberauth-web-sdk.js", "Numauth": numauth, "Origin": s.origin,
	}); err != nil {
		return nil, err
	}
	s.page = []byte(page.String())

	s.mux = http.NewServeMux()
	s.mux.HandleFunc("GET /{$}", s.servePage)
	s.mux.Handle("GET /static/", http.FileServerFS(static))
	s.mux.HandleFunc("GET /api/tokens", s.tokens)
	s.mux.HandleFunc("POST /api/verify", s.verify)
	s.mux.HandleFunc("POST /api/login", s.login)
	s.mux.HandleFunc("POST /api/sms/send", s.smsSend)
	s.mux.HandleFunc("POST /api/sms/check", s.smsCheck)
	s.mux.HandleFunc("GET /api/fusion/token", s.fusionToken)
	s.mux.HandleFunc("POST /api/fusion/verify", s.fusionVerify)
	s.mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusNotFound, fail(codeBadRequest, "no such endpoint"))
	})
	return s, nil
}

// PageURL is the page's URL (PublicURL, normalized).
func (s *Server) PageURL() string { return s.pageURL }

// ServeHTTP serves the page and the /api endpoints.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// EnsureScheme makes sure GetAuthToken works for the page: if it does not
// yet (isv.SCENE_QUERY_FAIL: no H5 scheme of this AccessKey's account allows
// the page's origin and URL), it creates one with CreateVerifyScheme
// (OsType H5) and uses its code from then on. It returns the code of the
// scheme it created, or "" when one already worked.
func (s *Server) EnsureScheme(ctx context.Context) (string, error) {
	s.mu.Lock()
	scene := s.scene
	s.mu.Unlock()
	_, err := call(ctx, func() (struct{}, error) {
		_, err := s.api.getAuthToken(s.pageURL, s.origin, scene, "")
		return struct{}{}, err
	})
	var ae *APIError
	if err == nil {
		return "", nil
	}
	if !errors.As(err, &ae) || ae.Code != "isv.SCENE_QUERY_FAIL" {
		return "", fmt.Errorf("GetAuthToken for %s: %w", s.pageURL, err)
	}
	name := "numauth H5 demo " + s.pageURL
	code, err := call(ctx, func() (string, error) { return s.api.createScheme(name, s.pageURL, s.origin) })
	if err != nil {
		return "", fmt.Errorf("CreateVerifyScheme %q: %w", name, err)
	}
	s.mu.Lock()
	s.scene = code
	s.mu.Unlock()
	s.log.InfoContext(ctx, "created H5 scheme", "scheme_code", code, "origin", s.origin, "url", s.pageURL)
	return code, nil
}

// call runs one blocking SDK call, giving up (NumauthUnreachable) when ctx
// ends; the SDK itself has no context and stops at its own timeout.
func call[T any](ctx context.Context, f func() (T, error)) (T, error) {
	type result struct {
		v   T
		err error
	}
	ch := make(chan result, 1)
	go func() {
		v, err := f()
		ch <- result{v, err}
	}()
	select {
	case r := <-ch:
		return r.v, r.err
	case <-ctx.Done():
		var zero T
		return zero, &APIError{Code: CodeUnreachable, Message: ctx.Err().Error()}
	}
}

func (s *Server) servePage(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", s.csp)
	h.Set("Referrer-Policy", "origin")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	w.Write(s.page)
}

// Codes of this server's own errors.
const codeBadRequest = "BadRequest"

// answer is an /api answer.
type answer struct {
	Code         string `json:"code"`
	Message      string `json:"message,omitempty"`
	RequestID    string `json:"requestId,omitempty"`
	AccessToken  string `json:"accessToken,omitempty"`
	JwtToken     string `json:"jwtToken,omitempty"`
	VerifyResult string `json:"verifyResult,omitempty"`
	VerifyID     string `json:"verifyId,omitempty"`
	Mobile       string `json:"mobile,omitempty"`
	BizID        string `json:"bizId,omitempty"`
	FusionToken  string `json:"fusionToken,omitempty"`
	PhoneScore   *int64 `json:"phoneScore,omitempty"`
}

func fail(code, msg string) answer { return answer{Code: code, Message: msg} }

// apiFail answers a numauth error: 502 when numauth could not be reached or
// refused the call itself (signature, throttling), 200 for a business
// answer (a used token, an unknown scheme, an SMS sent too soon), which is
// a result to show.
func (s *Server) apiFail(w http.ResponseWriter, r *http.Request, action string, err error) {
	var ae *APIError
	if !errors.As(err, &ae) {
		ae = &APIError{Code: CodeUnreachable, Message: err.Error()}
	}
	status := http.StatusOK
	if !ae.Business {
		status = http.StatusBadGateway
	}
	s.log.WarnContext(r.Context(), "numauth call failed", "action", action, "code", ae.Code, "request_id", ae.RequestID)
	writeJSON(w, status, answer{Code: ae.Code, Message: ae.Message, RequestID: ae.RequestID})
}

func (s *Server) tokens(w http.ResponseWriter, r *http.Request) {
	biz := r.URL.Query().Get("biz")
	if biz != "verify" && biz != "login" {
		writeJSON(w, http.StatusBadRequest, fail(codeBadRequest, "biz must be verify or login"))
		return
	}
	s.mu.Lock()
	scene := s.scene
	s.mu.Unlock()
	ti, err := call(r.Context(), func() (tokenPair, error) {
		t, err := s.api.getAuthToken(s.pageURL, s.origin, scene, biz)
		return tokenPair{t.AccessToken, t.JwtToken}, err
	})
	if err != nil {
		s.apiFail(w, r, "GetAuthToken", err)
		return
	}
	s.log.InfoContext(r.Context(), "GetAuthToken", "biz", biz)
	writeJSON(w, http.StatusOK, answer{Code: "OK", AccessToken: ti.access, JwtToken: ti.jwt})
}

type tokenPair struct{ access, jwt string }

// Limits on what the page posts.
const (
	maxBody    = 16 << 10
	maxSpToken = 8 << 10
	maxPhone   = 32
	maxCode    = 16 // numauth's codes have at most 8 characters
)

// pageRequest is what the page posts to the POST endpoints.
type pageRequest struct {
	SpToken     string `json:"spToken"` // also a fusion flow's VerifyToken
	PhoneNumber string `json:"phoneNumber"`
	VerifyCode  string `json:"verifyCode"`
}

// fields names the fields of a pageRequest that an endpoint takes.
type fields uint8

const (
	spToken fields = 1 << iota
	phoneNumber
	verifyCode
)

// decodeRequest reads a page's JSON request body: each field in want is
// required, and every other must be absent.
func decodeRequest(body io.Reader, want fields) (pageRequest, error) {
	var req pageRequest
	dec := json.NewDecoder(io.LimitReader(body, maxBody+1))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return req, fmt.Errorf("body must be a JSON object: %w", err)
	}
	if dec.More() {
		return req, errors.New("body must hold one JSON object")
	}
	for _, f := range []struct {
		name string
		v    *string
		bit  fields
		max  int
	}{
		{"spToken", &req.SpToken, spToken, maxSpToken},
		{"phoneNumber", &req.PhoneNumber, phoneNumber, maxPhone},
		{"verifyCode", &req.VerifyCode, verifyCode, maxCode},
	} {
		*f.v = strings.TrimSpace(*f.v)
		switch {
		case want&f.bit != 0 && *f.v == "":
			return req, errors.New(f.name + " is required")
		case want&f.bit == 0 && *f.v != "":
			return req, errors.New(f.name + " is not taken here")
		case len(*f.v) > f.max:
			return req, fmt.Errorf("%s is longer than %d bytes", f.name, f.max)
		}
	}
	return req, nil
}

// decode reads the request body as decodeRequest does, answering 400 if it
// is not what the endpoint takes.
func decode(w http.ResponseWriter, r *http.Request, want fields) (pageRequest, bool) {
	req, err := decodeRequest(r.Body, want)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, fail(codeBadRequest, err.Error()))
		return req, false
	}
	return req, true
}

func (s *Server) verify(w http.ResponseWriter, r *http.Request) {
	req, ok := decode(w, r, spToken|phoneNumber)
	if !ok {
		return
	}
	gv, err := call(r.Context(), func() (verdict, error) {
		v, err := s.api.verifyPhone(req.SpToken, req.PhoneNumber)
		return verdict{v.VerifyResult, v.VerifyId}, err
	})
	if err != nil {
		s.apiFail(w, r, "VerifyPhoneWithToken", err)
		return
	}
	s.log.InfoContext(r.Context(), "VerifyPhoneWithToken", "phone", mask(req.PhoneNumber), "result", gv.result)
	writeJSON(w, http.StatusOK, answer{Code: "OK", VerifyResult: gv.result, VerifyID: gv.id})
}

type verdict struct{ result, id string }

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	req, ok := decode(w, r, spToken)
	if !ok {
		return
	}
	phone, err := call(r.Context(), func() (string, error) { return s.api.phoneOf(req.SpToken) })
	if err != nil {
		s.apiFail(w, r, "GetPhoneWithToken", err)
		return
	}
	// A real site would now find or create the account of this number and
	// start a session for it.
	s.log.InfoContext(r.Context(), "GetPhoneWithToken", "phone", mask(phone))
	writeJSON(w, http.StatusOK, answer{Code: "OK", Mobile: phone})
}

// smsSend has numauth text a code to the number the user typed. A real
// site would also bound how often one visitor may ask (numauth bounds it
// per number and per account, not per visitor).
func (s *Server) smsSend(w http.ResponseWriter, r *http.Request) {
	req, ok := decode(w, r, phoneNumber)
	if !ok {
		return
	}
	bizID, err := call(r.Context(), func() (string, error) { return s.api.sendSmsCode(req.PhoneNumber) })
	if err != nil {
		s.apiFail(w, r, "SendSmsVerifyCode", err)
		return
	}
	s.log.InfoContext(r.Context(), "SendSmsVerifyCode", "phone", mask(req.PhoneNumber), "biz_id", bizID)
	writeJSON(w, http.StatusOK, answer{Code: "OK", BizID: bizID})
}

// smsCheck asks numauth whether the code the user typed is the one it texted.
func (s *Server) smsCheck(w http.ResponseWriter, r *http.Request) {
	req, ok := decode(w, r, phoneNumber|verifyCode)
	if !ok {
		return
	}
	result, err := call(r.Context(), func() (string, error) { return s.api.checkSmsCode(req.PhoneNumber, req.VerifyCode) })
	if err != nil {
		s.apiFail(w, r, "CheckSmsVerifyCode", err)
		return
	}
	// A real site would now mark the number as verified for this visitor.
	s.log.InfoContext(r.Context(), "CheckSmsVerifyCode", "phone", mask(req.PhoneNumber), "result", result)
	writeJSON(w, http.StatusOK, answer{Code: "OK", VerifyResult: result})
}

// mask hides the middle four digits of a number for logs: 138****5678.
func mask(phone string) string {
	if len(phone) < 11 {
		return "****"
	}
	return phone[:3] + "****" + phone[len(phone)-4:]
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(b)
}

// fusionToken mints a fusion token for the page's scheme (the one
// EnsureScheme created: GetFusionAuthToken names its scheme).
func (s *Server) fusionToken(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	scene := s.scene
	s.mu.Unlock()
	if scene == "" {
		writeJSON(w, http.StatusOK, fail("NoSchemeCode", "fusion needs the page's SchemeCode: set SceneCode (the demo's --scene-code)"))
		return
	}
	ft, err := call(r.Context(), func() (string, error) { return s.api.fusionToken(scene) })
	if err != nil {
		s.apiFail(w, r, "GetFusionAuthToken", err)
		return
	}
	s.log.InfoContext(r.Context(), "GetFusionAuthToken")
	writeJSON(w, http.StatusOK, answer{Code: "OK", FusionToken: ft})
}

// fusionVerify answers the VerifyToken the page's fusion flow ended with
// (posted as spToken).
func (s *Server) fusionVerify(w http.ResponseWriter, r *http.Request) {
	req, ok := decode(w, r, spToken)
	if !ok {
		return
	}
	m, err := call(r.Context(), func() (fusionVerdict, error) { return s.api.verifyFusion(req.SpToken) })
	if err != nil {
		s.apiFail(w, r, "VerifyWithFusionAuthToken", err)
		return
	}
	s.log.InfoContext(r.Context(), "VerifyWithFusionAuthToken", "phone", mask(m.phone), "result", m.result, "score", m.score)
	writeJSON(w, http.StatusOK, answer{Code: "OK", VerifyResult: m.result, Mobile: m.phone, PhoneScore: &m.score})
}
