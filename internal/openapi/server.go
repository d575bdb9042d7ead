// Package openapi is numauth's Alibaba Cloud RPC front end (Dypnsapi,
// version 2017-05-25): parameters from the query and a form body, V1 and V3
// request signatures, nonce and timestamp checks, throttling, and answers in
// Alibaba's JSON or XML envelope. It knows HTTP and the wire format; the
// rules live in internal/auth.
package openapi

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/numauth/numauth/internal/auth"
	"github.com/numauth/numauth/internal/ipset"
	"github.com/numauth/numauth/internal/obs"
	"github.com/numauth/numauth/internal/openapi/sign"
	"github.com/numauth/numauth/internal/store"
)

// APIVersion is the only Version accepted.
const APIVersion = "2017-05-25"

// Config tunes the front end.
type Config struct {
	// ClockSkew is the accepted distance of a request's timestamp from now.
	// Default 15 minutes.
	ClockSkew time.Duration
	// ThrottlePerKey is the number of calls one AccessKey may make per
	// second across all instances (Throttling.User past it); 0 = no limit.
	ThrottlePerKey int
	// RequestTimeout bounds one call's work, store and carrier calls
	// included, so a hung backend yields a fast ServiceUnavailable instead
	// of a hung client. Default 5 s.
	RequestTimeout time.Duration
	Logger         *slog.Logger
	Metrics        *obs.Metrics
	Now            func() time.Time
}

// Service is what the front end needs of the rules.
type Service interface {
	ResolveKey(ctx context.Context, id string) (auth.Credential, error)
	// Epoch is when the nonce store last started remembering: requests
	// signed before it are refused, as their nonces may have been forgotten.
	Epoch(ctx context.Context) (time.Time, error)
	// ConsumeNonce marks a nonce seen once across instances, guarded by
	// the epoch (auth.ErrNonceUsed, auth.ErrSignedBeforeEpoch).
	ConsumeNonce(ctx context.Context, scope, nonce string, signedAt time.Time, ttl time.Duration) error
	// Throttle counts a call against the AccessKey's calls per second
	// (auth.ErrThrottled).
	Throttle(ctx context.Context, keyID string, perSecond int) error
	IssuePageTokens(ctx context.Context, c auth.Caller, in auth.PageTokenRequest) (auth.PageTokens, error)
	CreateScheme(ctx context.Context, c auth.Caller, in auth.SchemeInput) (store.Scheme, error)
	DescribeScheme(ctx context.Context, c auth.Caller, code string) (store.Scheme, error)
	DeleteScheme(ctx context.Context, c auth.Caller, code string) error
	VerifyNumber(ctx context.Context, c auth.Caller, spToken, phone string) (auth.VerifyResult, error)
	LoginNumber(ctx context.Context, c auth.Caller, spToken string) (string, error)
	AppLogin(ctx context.Context, c auth.Caller, accessToken string) (string, error)
	AppVerify(ctx context.Context, c auth.Caller, accessCode, phone string) (auth.VerifyResult, error)
	Statistics(ctx context.Context, c auth.Caller, in auth.StatsInput) (auth.Stats, error)
	Billing(ctx context.Context, c auth.Caller, in auth.BillingInput) (auth.Bill, error)
	SendSmsCode(ctx context.Context, c auth.Caller, in auth.SmsSendInput) (auth.SmsSendResult, error)
	CheckSmsCode(ctx context.Context, c auth.Caller, in auth.SmsCheckInput) (bool, error)
	QuerySmsSends(ctx context.Context, c auth.Caller, in auth.SmsQueryInput) ([]store.SmsSend, int64, error)
	MintFusionToken(ctx context.Context, c auth.Caller, in auth.FusionTokenInput) (string, error)
	VerifyFusion(ctx context.Context, c auth.Caller, verifyToken string) (auth.FusionResult, error)
}

// Call is one authenticated call handed to an action.
type Call struct {
	RequestID string
	Action    string
	Caller    auth.Caller
	Params    Params
}

type action func(ctx context.Context, c *Call) (Body, error)

// Server is the RPC endpoint. It implements http.Handler.
type Server struct {
	cfg     Config
	svc     Service
	actions map[string]action
	bufs    sync.Pool
}

// New builds the RPC front end over the service.
func New(cfg Config, svc Service) *Server {
	if cfg.ClockSkew <= 0 {
		cfg.ClockSkew = 15 * time.Minute
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = 5 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Server{cfg: cfg, svc: svc, bufs: sync.Pool{New: func() any { return new(bytes.Buffer) }}}
	s.actions = s.actionTable()
	return s
}

// Actions lists the supported action names.
func (s *Server) Actions() []string {
	out := make([]string, 0, len(s.actions))
	for a := range s.actions {
		out = append(out, a)
	}
	return out
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	reqID := strings.ToUpper(uuid.NewString())
	ctx, cancel := context.WithTimeout(obs.WithRequestID(r.Context(), reqID), s.cfg.RequestTimeout)
	defer cancel()
	actionName, xmlFormat := "", false

	body, err := s.handle(ctx, r, reqID, &actionName, &xmlFormat)
	var ae *APIError
	if err != nil {
		ae = toAPIError(err)
		body = Body{{"RequestId", reqID}, {"HostId", hostOf(r)}, {"Code", ae.Code}, {"Message", ae.Message},
			{"Recommend", "https://api.aliyun.com/troubleshoot?q=" + ae.Code}}
		if ae.unsuccessful {
			body = append(body, Field{"Success", false})
		}
	} else {
		body = append(Body{{"RequestId", reqID}, {"Code", codeOK}, {"Message", codeOK}}, body...)
	}
	status, code := http.StatusOK, codeOK
	if ae != nil {
		status, code = ae.Status, ae.Code
	}
	buf := s.bufs.Get().(*bytes.Buffer)
	buf.Reset()
	root := "Error"
	if ae == nil {
		root = actionName + "Response"
	}
	render(buf, body, xmlFormat, root)
	h := w.Header()
	if xmlFormat {
		h.Set("Content-Type", "text/xml;charset=utf-8")
	} else {
		h.Set("Content-Type", "application/json;charset=utf-8")
	}
	h.Set("x-acs-request-id", reqID)
	w.WriteHeader(status)
	w.Write(buf.Bytes())
	if buf.Cap() <= 64<<10 {
		s.bufs.Put(buf)
	}

	elapsed := time.Since(start)
	metricAction := actionName
	if _, ok := s.actions[actionName]; !ok {
		metricAction = "unknown"
	}
	s.cfg.Metrics.ObserveRPC(metricAction, code, elapsed)
	level := slog.LevelInfo
	if status >= 500 {
		level = slog.LevelError
	}
	attrs := []slog.Attr{slog.String("action", metricAction), slog.String("code", code), slog.Int("status", status),
		slog.Duration("elapsed", elapsed)}
	if ae != nil && ae.cause != nil && status >= 500 {
		attrs = append(attrs, slog.String("err", ae.cause.Error()))
	}
	s.cfg.Logger.LogAttrs(ctx, level, "rpc", attrs...)
}

func hostOf(r *http.Request) string {
	if r.Host != "" {
		return r.Host
	}
	return "numauth"
}

// handle decodes, authenticates and dispatches one call.
func (s *Server) handle(ctx context.Context, r *http.Request, reqID string, actionName *string, xmlFormat *bool) (Body, error) {
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		return nil, apiErr(codeInvalidParameter, "only GET and POST are accepted")
	}
	raw, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, maxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, apiErr(codeInvalidParameter, fmt.Sprintf("request body is larger than %d bytes", maxBodyBytes))
		}
		return nil, apiErr(codeInvalidParameter, "cannot read request body")
	}
	query, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, apiErr(codeInvalidParameter, "the query string is not well-formed")
	}
	var form url.Values
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct == "application/x-www-form-urlencoded" && len(raw) > 0 {
		if form, err = url.ParseQuery(string(raw)); err != nil {
			return nil, apiErr(codeInvalidParameter, "the form body is not well-formed")
		}
	}
	p, err := parseParams(query, form)
	if err != nil {
		return nil, err
	}
	*xmlFormat = strings.EqualFold(p.Get("Format"), "XML")

	// The action is the one the signature covers: the Action parameter for
	// V1, the x-acs-action header for V3 (an unsigned header never decides).
	claim, err := sign.Parse(&sign.Request{
		Method: r.Method, Host: r.Host, Path: r.URL.EscapedPath(), RawQuery: r.URL.RawQuery,
		Header: r.Header, Body: raw, Form: form,
	})
	if err != nil {
		*actionName = clip(p.Get("Action"))
		return nil, err
	}
	act := claim.Action
	if act == "" {
		return nil, missing("Action")
	}
	*actionName = clip(act)
	fn, ok := s.actions[act]
	if !ok {
		return nil, apiErr(codeActionNotFound, fmt.Sprintf("Specified api %q is not found, please check your url and method.", clip(act)))
	}
	if claim.APIVersion != APIVersion {
		return nil, apiErr(codeVersion, fmt.Sprintf("Specified parameter Version is not valid; numauth serves %s.", APIVersion))
	}
	caller, err := s.authenticate(ctx, claim)
	if err != nil {
		return nil, err
	}
	// The TCP peer, for schemes' IpWhiteList: numauth trusts no forwarded header here.
	caller.SourceIP = ipset.PeerAddr(r.RemoteAddr)
	if err := s.throttle(ctx, caller.AccessKeyID); err != nil {
		return nil, err
	}
	return fn(ctx, &Call{RequestID: reqID, Action: act, Caller: caller, Params: p})
}

// authenticate checks the signature, the timestamp window and the nonce.
// The nonce is consumed only after the signature holds, so nobody can burn
// another client's nonces.
func (s *Server) authenticate(ctx context.Context, claim *sign.Claim) (auth.Caller, error) {
	epoch, err := s.svc.Epoch(ctx)
	if err != nil {
		return auth.Caller{}, err
	}
	if skew := s.cfg.Now().Sub(claim.Timestamp); skew > s.cfg.ClockSkew || skew < -s.cfg.ClockSkew || claim.Timestamp.Unix() <= epoch.Unix() {
		return auth.Caller{}, apiErr(codeTimeExpired, "Specified time stamp or date value is expired.")
	}
	cred, err := s.svc.ResolveKey(ctx, claim.AccessKeyID)
	if err != nil {
		return auth.Caller{}, err
	}
	if err := claim.Verify(cred.Secret); err != nil {
		return auth.Caller{}, &mismatchError{err: err, stringToSign: claim.StringToSign()}
	}
	if len(claim.Nonce) > 128 {
		return auth.Caller{}, apiErr(codeInvalidParameter, "SignatureNonce is longer than 128 characters")
	}
	switch err := s.svc.ConsumeNonce(ctx, claim.AccessKeyID, claim.Nonce, claim.Timestamp, 2*s.cfg.ClockSkew); {
	case errors.Is(err, auth.ErrNonceUsed):
		return auth.Caller{}, apiErr(codeNonceUsed, "Specified signature nonce was used already.")
	case errors.Is(err, auth.ErrSignedBeforeEpoch):
		return auth.Caller{}, apiErr(codeTimeExpired, "Specified time stamp or date value is expired.")
	case err != nil:
		return auth.Caller{}, fmt.Errorf("nonce store: %w", err)
	}
	return auth.Caller{AccessKeyID: cred.AccessKeyID, AccountID: cred.AccountID}, nil
}

// throttle applies the per-AccessKey limit in one-second windows shared by
// every instance.
func (s *Server) throttle(ctx context.Context, keyID string) error {
	err := s.svc.Throttle(ctx, keyID, s.cfg.ThrottlePerKey)
	if errors.Is(err, auth.ErrThrottled) {
		return apiErr(codeThrottlingUser, "Request was denied due to user flow control.")
	}
	return err
}
