// Package bench is numauth's load generator for whole flows. It plays both
// sides of a number-authentication flow against a running numauth: the
// integrator server (signed RPC calls: GetAuthToken, then
// VerifyPhoneWithToken or GetPhoneWithToken) and the H5 page (gateway calls:
// check → verify-token, or check → login-mask → login-token). Latencies are
// recorded per step and per flow; errors are counted by step and code.
//
// Optionally it first drives numauth's no-op endpoint (/bench/noop) with the
// same client and concurrency, so that a result can be read against the
// ceiling of HTTP on the same machine.
//
// The page calls must reach the sandbox carrier from an address its
// subscriber table maps (run the bench on the server's machine and start
// numauth with --sandbox-subscriber 127.0.0.1=PHONE), and the bench refuses
// to run against a target whose carrier is not the sandbox unless told that
// it may bill real carriers. docs/bench.md is the user's guide.
package bench

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/netip"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Kind is the flow a bench run drives.
type Kind string

// The kinds of run.
const (
	KindVerify Kind = "verify" // local-number verification: check → verify-token → VerifyPhoneWithToken
	KindLogin  Kind = "login"  // one-click login: check → login-mask → login-token → GetPhoneWithToken
	KindMixed  Kind = "mixed"  // the two, alternating
	// KindSMS: SendSmsVerifyCode (ReturnVerifyCode) → CheckSmsVerifyCode,
	// each flow to a fresh number, through the target's SMS provider
	// (which must be the sandbox, as the carrier must).
	KindSMS Kind = "sms"
	// KindCAMARA is in camara.go, KindFusion in fusion.go.
)

// DefaultOrigin is the page origin the bench registers its scheme for: a
// name under .invalid, which no real page can have.
const DefaultOrigin = "http://bench.numauth.invalid"

// CarrierHeader is the header of GET /bench/noop that names the target's
// carrier adapter; the bench runs only when it says SandboxCarrier.
const (
	CarrierHeader = "X-Numauth-Carrier"
	// SMSProviderHeader names the target's SMS provider on the same answer.
	SMSProviderHeader = "X-Numauth-Sms-Provider"
	SandboxCarrier    = "sandbox"
	noopPath          = "/bench/noop"
)

// ErrNotSandbox is returned when the target's carrier is not (or may not
// be) the sandbox and Config.AllowRealCarriers is not set.
var ErrNotSandbox = errors.New("the target's carrier is not the sandbox")

// Config configures a run.
type Config struct {
	// Target is the numauth base URL, e.g. http://127.0.0.1:8080.
	Target string
	// AccessKeyID and AccessKeySecret sign the RPC calls.
	AccessKeyID, AccessKeySecret string
	// Kind is the flow to drive (default KindVerify).
	Kind Kind
	// Flows stops the run after that many flows; 0 means no count bound.
	Flows int
	// Duration stops the run after that long (flows under way finish);
	// 0 means no time bound. At least one of Flows and Duration is needed.
	Duration time.Duration
	// Concurrency is how many flows run at once (default 1).
	Concurrency int
	// Phone is the subscriber number the sandbox maps to this machine. If
	// empty, the bench reads the sandbox subscriber table over the admin API
	// (AdminToken) and takes the line that holds its own source address.
	Phone string
	// AdminToken authorizes GET /admin/v1/sandbox/subscribers.
	AdminToken string
	// SourceHeader, if set, is sent on every page call with Phone as its
	// value: the enrichment header of a sandbox that trusts this machine as
	// a proxy (numauth serve --trusted-proxy), instead of the source address.
	SourceHeader string
	// Origin is the page origin (default DefaultOrigin).
	Origin string
	// Baseline first drives GET /bench/noop with the same client,
	// concurrency and bounds (Flows × calls per flow calls, or Duration).
	Baseline bool
	// AllowRealCarriers runs even when the target's carrier is not the sandbox.
	AllowRealCarriers bool
	// Timeout bounds each call (default 10 s).
	Timeout time.Duration
	// Progress, if set, receives a live progress line about 4 times a
	// second, rewritten in place with '\r' (give it a terminal only).
	Progress io.Writer
	// HTTPClient overrides the client (default NewHTTPClient(Concurrency, Timeout)).
	HTTPClient *http.Client
	// ClientID, ClientSecret and RedirectURI are the CAMARA client the
	// camara kind authorizes as (client_secret_basic, registered with
	// RedirectURI; numauth camara clients create --secret).
	ClientID, ClientSecret, RedirectURI string
}

func (c *Config) normalize() error {
	if c.Kind == "" {
		c.Kind = KindVerify
	}
	switch c.Kind {
	case KindVerify, KindLogin, KindMixed, KindSMS:
	case KindFusion, KindFusionCarrier, KindFusionSMS:
		if c.AdminToken == "" && c.Kind != KindFusionCarrier {
			return errors.New("the fusion kind reads its SMS codes from the sandbox outbox: it needs the admin token")
		}
	case KindCAMARA:
		if c.ClientID == "" || c.ClientSecret == "" || c.RedirectURI == "" {
			return errors.New("the camara kind needs a CAMARA client: its id, secret and registered redirect URI")
		}
	default:
		return fmt.Errorf("kind %q: want verify, login, mixed, sms, fusion, fusion-carrier, fusion-sms or camara", c.Kind)
	}
	if c.Concurrency == 0 {
		c.Concurrency = 1
	}
	if c.Concurrency < 0 || c.Flows < 0 || c.Duration < 0 || c.Timeout < 0 {
		return errors.New("flows, duration, concurrency and timeout must not be negative")
	}
	if c.Flows == 0 && c.Duration == 0 {
		return errors.New("set a flow count, a duration, or both: a run must be bounded")
	}
	if c.Timeout == 0 {
		c.Timeout = 10 * time.Second
	}
	u, err := url.Parse(c.Target)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" {
		return fmt.Errorf("target %q: want an http(s) base URL like http://127.0.0.1:8080", c.Target)
	}
	c.Target = strings.TrimRight(c.Target, "/")
	if c.AccessKeyID == "" || c.AccessKeySecret == "" {
		return errors.New("an AccessKey id and secret are needed to sign the server calls")
	}
	if c.Origin == "" {
		c.Origin = DefaultOrigin
	}
	if c.SourceHeader != "" && c.Phone == "" {
		return errors.New("a source header names the subscriber: give the phone number too")
	}
	return nil
}

// Steps of a flow, in the order the report lists them.
const (
	stepGetAuthToken = iota
	stepCheck
	stepVerifyToken
	stepLoginMask
	stepLoginToken
	stepVerifyPhone
	stepGetPhone
	stepSendSms
	stepCheckSms
	stepAuthorize
	stepToken
	stepNVVerify
	stepOperator
	stepRedirectComplete
	stepFusionToken
	stepFusionCheck
	stepFusionSmsSend
	stepSmsOutbox
	stepFusionSmsCheck
	stepVerifyFusion
	nSteps
)

// StepNames are the names of the steps as the report shows them.
var StepNames = [nSteps]string{
	"GetAuthToken", "check", "verify-token", "login-mask", "login-token",
	"VerifyPhoneWithToken", "GetPhoneWithToken", "SendSmsVerifyCode", "CheckSmsVerifyCode",
	"authorize", "token", "nv-verify", "operator", "redirect-complete",
	"GetFusionAuthToken", "fusion-check", "fusion-sms-send", "sms-outbox", "fusion-sms-check", "VerifyWithFusionAuthToken",
}

// run is the state of one bench run.
type run struct {
	cfg Config
	c   *client
	// noRedirect is c's HTTP client, not following redirects (the
	// authorization endpoint's answer is one).
	noRedirect *http.Client
	scheme     string
	pageURL    string

	steps    [nSteps]*Recorder
	stepErrs [nSteps]atomic.Int64
	calls    *Recorder // every answered call of the flow phase
	flow     *Recorder // successful flows, end to end

	flowsOK, flowsFailed, aborted atomic.Int64
	smsBase                       int64 // this run's first SMS number (its last 8 digits)

	errMu sync.Mutex
	errs  map[errKey]*ErrorCount
}

type errKey struct{ step, code string }

// Run drives cfg.Target and returns the report. It returns an error only
// when the run cannot start (bad configuration, the target not a sandbox,
// no subscriber for this machine, the scheme not created); failures during
// the run are counted in the report. When ctx ends, the run stops at once
// and the report covers what was done (Report.Interrupted).
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if err := cfg.normalize(); err != nil {
		return nil, err
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = NewHTTPClient(cfg.Concurrency, cfg.Timeout)
	}
	r := &run{
		cfg: cfg,
		c: &client{hc: hc, target: cfg.Target, keyID: cfg.AccessKeyID, secret: cfg.AccessKeySecret,
			origin: cfg.Origin, sourceHeader: cfg.SourceHeader, phone: cfg.Phone},
		pageURL: strings.TrimRight(cfg.Origin, "/") + "/bench",
		calls:   NewRecorder(),
		flow:    NewRecorder(),
		errs:    map[errKey]*ErrorCount{},
	}
	for i := range r.steps {
		r.steps[i] = NewRecorder()
	}
	nr := *hc
	nr.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	r.noRedirect = &nr

	carrierName, smsProvider, src, err := r.probe(ctx)
	if err != nil {
		return nil, err
	}
	if carrierName != SandboxCarrier && !cfg.AllowRealCarriers {
		shown := carrierName
		if shown == "" {
			shown = "unknown (no " + CarrierHeader + " header)"
		}
		return nil, fmt.Errorf("%w: GET %s%s says carrier %s; a bench run would bill real carriers", ErrNotSandbox, cfg.Target, noopPath, shown)
	}
	if cfg.Kind == KindSMS || cfg.Kind == KindFusion || cfg.Kind == KindFusionSMS {
		if smsProvider != SandboxCarrier && !cfg.AllowRealCarriers {
			shown := smsProvider
			if shown == "" {
				shown = "unknown (no " + SMSProviderHeader + " header)"
			}
			return nil, fmt.Errorf("%w: GET %s%s says SMS provider %s; a bench run would send real text messages", ErrNotSandbox, cfg.Target, noopPath, shown)
		}
		// Fresh numbers of the 170 block for every flow, from a random
		// start, so that no number meets its interval or daily limit.
		var b [8]byte
		rand.Read(b[:])
		r.smsBase = int64(binary.BigEndian.Uint64(b[:])>>1) % 50_000_000
		if cfg.Kind == KindSMS || cfg.Kind == KindFusionSMS {
			r.c.phone = "17000000000" // no line: numbers of the 170 block
		}
	}
	if r.c.phone == "" {
		if r.c.phone, err = r.discoverPhone(ctx, src); err != nil {
			return nil, err
		}
	}

	rep := &Report{
		Target: cfg.Target, Kind: cfg.Kind, Concurrency: cfg.Concurrency, FlowLimit: int64(cfg.Flows),
		DurationLimitSeconds: cfg.Duration.Seconds(), CPUs: runtime.NumCPU(), Carrier: carrierName,
		Phone: maskPhone(r.c.phone), Started: time.Now().UTC(),
	}
	if cfg.Baseline {
		rep.Baseline = r.baseline(ctx)
		if ctx.Err() != nil {
			rep.Interrupted = true
			return rep, nil
		}
	}

	if cfg.Kind != KindSMS && cfg.Kind != KindCAMARA { // SMS codes and CAMARA clients need no scheme
		if err := r.createScheme(ctx); err != nil {
			return nil, err
		}
		defer r.deleteScheme(ctx)
	}

	elapsed := r.drive(ctx, int64(cfg.Flows), r.flowProgress, func(ctx context.Context, i int64) {
		kind := cfg.Kind
		if kind == KindMixed {
			kind = [2]Kind{KindVerify, KindLogin}[i%2]
		}
		r.oneFlow(ctx, kind, i)
	})
	r.fill(rep, elapsed)
	rep.Interrupted = ctx.Err() != nil
	return rep, nil
}

// probe calls GET /bench/noop once: it warms a connection, reads the
// carrier header, and learns the source address the server sees.
func (r *run) probe(ctx context.Context) (carrierName, smsProvider string, src netip.Addr, err error) {
	var local net.Addr
	trace := &httptrace.ClientTrace{GotConn: func(info httptrace.GotConnInfo) { local = info.Conn.LocalAddr() }}
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(ctx, trace), http.MethodGet, r.cfg.Target+noopPath, nil)
	if err != nil {
		return "", "", netip.Addr{}, err
	}
	res, err := r.c.hc.Do(req)
	if err != nil {
		return "", "", netip.Addr{}, fmt.Errorf("reach %s: %w", r.cfg.Target, err)
	}
	io.Copy(io.Discard, io.LimitReader(res.Body, maxAnswer))
	res.Body.Close()
	if ap, err := netip.ParseAddrPort(fmt.Sprint(local)); err == nil {
		src = ap.Addr().Unmap()
	}
	if res.StatusCode != http.StatusOK {
		return "", "", src, fmt.Errorf("GET %s%s answered %s: is this numauth?", r.cfg.Target, noopPath, res.Status)
	}
	return res.Header.Get(CarrierHeader), res.Header.Get(SMSProviderHeader), src, nil
}

// discoverPhone reads the sandbox subscriber table and returns the number
// of the line that holds src.
func (r *run) discoverPhone(ctx context.Context, src netip.Addr) (string, error) {
	if r.cfg.AdminToken == "" {
		return "", errors.New("the bench needs the subscriber's number: give it (--phone), or the admin token so that the bench can read the sandbox table")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.cfg.Target+"/admin/v1/sandbox/subscribers", nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("Authorization", "Bearer "+r.cfg.AdminToken)
	res, err := r.c.hc.Do(req)
	if err != nil {
		return "", fmt.Errorf("read the sandbox subscribers: %w", err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(res.Body, maxAnswer))
	if err != nil {
		return "", fmt.Errorf("read the sandbox subscribers: %w", err)
	}
	if res.StatusCode != http.StatusOK {
		return "", fmt.Errorf("read the sandbox subscribers: %s: %.200s", res.Status, raw)
	}
	return pickSubscriber(raw, src)
}

// pickSubscriber returns the phone of the longest prefix in a sandbox
// subscriber list ({"subscribers":[{"prefix","phone"}]}, untrusted input)
// that contains src.
func pickSubscriber(raw []byte, src netip.Addr) (string, error) {
	var table struct {
		Subscribers []struct {
			Prefix string `json:"prefix"`
			Phone  string `json:"phone"`
		} `json:"subscribers"`
	}
	if err := json.Unmarshal(raw, &table); err != nil {
		return "", fmt.Errorf("sandbox subscriber list: %w", err)
	}
	best, bestBits := "", -1
	for _, s := range table.Subscribers {
		p, err := netip.ParsePrefix(s.Prefix)
		if err != nil {
			a, aerr := netip.ParseAddr(s.Prefix)
			if aerr != nil {
				continue
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		if p.Contains(src) && p.Bits() > bestBits && s.Phone != "" {
			best, bestBits = s.Phone, p.Bits()
		}
	}
	if best == "" {
		return "", fmt.Errorf("no sandbox subscriber maps this machine's address %v: start numauth with --sandbox-subscriber %v=PHONE, or add one with numauth sandbox subscribers add", src, src)
	}
	return best, nil
}

// createScheme registers the bench's H5 scheme under a fresh name.
func (r *run) createScheme(ctx context.Context) error {
	var b [4]byte
	rand.Read(b[:])
	a, err := r.c.rpc(ctx, "CreateVerifyScheme", url.Values{
		"SchemeName": {"numauth-bench-" + hex.EncodeToString(b[:])}, "AppName": {"numauth bench"},
		"OsType": {"H5"}, "Origin": {r.cfg.Origin}, "Url": {r.pageURL},
	})
	if err != nil {
		return fmt.Errorf("CreateVerifyScheme: %w", err)
	}
	if r.scheme = a.GateVerifySchemeDTO.SchemeCode; r.scheme == "" {
		return errors.New("CreateVerifyScheme answered no SchemeCode")
	}
	return nil
}

// deleteScheme removes the bench's scheme, even after an interrupt.
func (r *run) deleteScheme(ctx context.Context) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	r.c.rpc(ctx, "DeleteVerifyScheme", url.Values{"SchemeCode": {r.scheme}})
}

// drive runs one(i) for i = 0, 1, … on cfg.Concurrency workers until limit
// calls were started (0: no limit), cfg.Duration has passed (the calls under
// way finish) or ctx ends (they are cut short). It returns the elapsed time.
func (r *run) drive(ctx context.Context, limit int64, progress func(time.Duration) string, one func(context.Context, int64)) time.Duration {
	stop := ctx
	if r.cfg.Duration > 0 {
		var cancel context.CancelFunc
		stop, cancel = context.WithTimeout(ctx, r.cfg.Duration)
		defer cancel()
	}
	start := time.Now()
	var next atomic.Int64
	var wg sync.WaitGroup
	for range r.cfg.Concurrency {
		wg.Go(func() {
			for stop.Err() == nil {
				i := next.Add(1) - 1
				if limit > 0 && i >= limit {
					return
				}
				one(ctx, i)
			}
		})
	}
	if r.cfg.Progress != nil {
		done := make(chan struct{})
		var pw sync.WaitGroup
		pw.Go(func() {
			t := time.NewTicker(250 * time.Millisecond)
			defer t.Stop()
			for {
				select {
				case <-done:
					fmt.Fprint(r.cfg.Progress, "\r\x1b[K")
					return
				case <-t.C:
					fmt.Fprint(r.cfg.Progress, "\r"+progress(time.Since(start))+"\x1b[K")
				}
			}
		})
		defer func() { close(done); pw.Wait() }()
	}
	wg.Wait()
	return time.Since(start)
}

// timed runs one call of a step and records it: its latency unless it was
// cut short, and its failure under the step.
func (r *run) timed(step int, call func() error) error {
	t0 := time.Now()
	err := call()
	if errors.Is(err, errAborted) {
		return err
	}
	d := time.Since(t0)
	r.steps[step].Record(d)
	r.calls.Record(d)
	if err != nil {
		r.countError(step, err)
	}
	return err
}

// check marks a failed check of an answer (not of the call) under step.
func (r *run) check(step int, err *CallError) error {
	r.countError(step, err)
	return err
}

func (r *run) countError(step int, err error) {
	r.stepErrs[step].Add(1)
	k := errKey{StepNames[step], codeOf(err)}
	r.errMu.Lock()
	defer r.errMu.Unlock()
	e := r.errs[k]
	if e == nil && len(r.errs) >= maxErrorKinds {
		// The report lists at most maxErrorKinds kinds (ReadReport's bound);
		// this step's further codes count as one.
		k.code = otherCode
		e = r.errs[k]
	}
	if e != nil {
		e.Count++
		return
	}
	sample := err.Error()
	if len(sample) > 200 {
		sample = sample[:200]
	}
	r.errs[k] = &ErrorCount{Step: k.step, Code: k.code, Count: 1, Sample: sample}
}

// oneFlow runs one flow of kind and counts it.
func (r *run) oneFlow(ctx context.Context, kind Kind, i int64) {
	t0 := time.Now()
	var err error
	switch kind {
	case KindLogin:
		err = r.loginFlow(ctx)
	case KindSMS:
		err = r.smsFlow(ctx, i)
	case KindCAMARA:
		err = r.camaraFlow(ctx)
	case KindFusion, KindFusionCarrier, KindFusionSMS:
		err = r.fusionFlow(ctx, kind, i)
	default:
		err = r.verifyFlow(ctx)
	}
	switch {
	case errors.Is(err, errAborted):
		r.aborted.Add(1)
	case err != nil:
		r.flowsFailed.Add(1)
	default:
		r.flow.Record(time.Since(t0))
		r.flowsOK.Add(1)
	}
}

// authToken is the integrator server's first call.
func (r *run) authToken(ctx context.Context, biz string) (rpcAnswer, error) {
	var a rpcAnswer
	err := r.timed(stepGetAuthToken, func() (err error) {
		a, err = r.c.rpc(ctx, "GetAuthToken", url.Values{
			"Url": {r.pageURL}, "Origin": {r.cfg.Origin}, "SceneCode": {r.scheme}, "BizType": {biz},
		})
		return err
	})
	return a, err
}

// page is one gateway call of a step.
func (r *run) page(ctx context.Context, step int, body gatewayRequest) (gatewayAnswer, error) {
	var a gatewayAnswer
	err := r.timed(step, func() (err error) {
		a, err = r.c.gateway(ctx, StepNames[step], body)
		return err
	})
	return a, err
}

// verifyFlow: GetAuthToken → check → verify-token → VerifyPhoneWithToken.
func (r *run) verifyFlow(ctx context.Context) error {
	t, err := r.authToken(ctx, "0")
	if err != nil {
		return err
	}
	s, err := r.page(ctx, stepCheck, gatewayRequest{
		AccessToken: t.TokenInfo.AccessToken, JwtToken: t.TokenInfo.JwtToken,
		Kind: string(KindVerify), PhoneNumber: r.c.phone,
	})
	if err != nil {
		return err
	}
	sp, err := r.frontLeg(ctx, stepVerifyToken, s.Session)
	if err != nil {
		return err
	}
	var v rpcAnswer
	err = r.timed(stepVerifyPhone, func() (err error) {
		v, err = r.c.rpc(ctx, "VerifyPhoneWithToken", url.Values{"SpToken": {sp.SpToken}, "PhoneNumber": {r.c.phone}})
		return err
	})
	if err != nil {
		return err
	}
	if v.GateVerify.VerifyResult != "PASS" {
		return r.check(stepVerifyPhone, &CallError{Code: "VerifyResult:" + v.GateVerify.VerifyResult})
	}
	return nil
}

// loginFlow: GetAuthToken → check → login-mask → login-token → GetPhoneWithToken.
func (r *run) loginFlow(ctx context.Context) error {
	t, err := r.authToken(ctx, "1")
	if err != nil {
		return err
	}
	s, err := r.page(ctx, stepCheck, gatewayRequest{
		AccessToken: t.TokenInfo.AccessToken, JwtToken: t.TokenInfo.JwtToken, Kind: string(KindLogin),
	})
	if err != nil {
		return err
	}
	sp, err := r.loginLegs(ctx, s.Session)
	if err != nil {
		return err
	}
	var p rpcAnswer
	err = r.timed(stepGetPhone, func() (err error) {
		p, err = r.c.rpc(ctx, "GetPhoneWithToken", url.Values{"SpToken": {sp.SpToken}})
		return err
	})
	if err != nil {
		return err
	}
	if p.Data.Mobile != r.c.phone {
		return r.check(stepGetPhone, &CallError{Code: "MOBILE_MISMATCH",
			Detail: fmt.Sprintf("got %s, want %s", maskPhone(p.Data.Mobile), maskPhone(r.c.phone))})
	}
	return nil
}

// frontLeg runs a front-leg step (verify-token, login-mask) of session,
// and the redirect leg after it when the carrier answers REDIRECT.
func (r *run) frontLeg(ctx context.Context, step int, session string) (gatewayAnswer, error) {
	a, err := r.page(ctx, step, gatewayRequest{Session: session})
	if err == nil && a.Redirect != nil {
		a, err = r.redirect(ctx, session, a.Redirect.URL)
	}
	return a, err
}

// loginLegs runs one-click login's page side in session: login-mask, then
// login-token with the middle digits of the masked number.
func (r *run) loginLegs(ctx context.Context, session string) (gatewayAnswer, error) {
	m, err := r.frontLeg(ctx, stepLoginMask, session)
	if err != nil {
		return gatewayAnswer{}, err
	}
	digits, ok := maskDigits(m.MaskedPhone, r.c.phone)
	if !ok {
		// Never guess: wrong masks lock the number for login.
		return gatewayAnswer{}, r.check(stepLoginMask, &CallError{Code: "MASK_MISMATCH",
			Detail: fmt.Sprintf("masked number %q is not a mask of %s", m.MaskedPhone, maskPhone(r.c.phone))})
	}
	return r.page(ctx, stepLoginToken, gatewayRequest{Session: session, Mask: digits})
}

// smsFlow: SendSmsVerifyCode with ReturnVerifyCode → CheckSmsVerifyCode,
// to the i-th fresh number of the run.
func (r *run) smsFlow(ctx context.Context, i int64) error {
	phone := fmt.Sprintf("170%08d", (r.smsBase+i)%100_000_000)
	var a rpcAnswer
	err := r.timed(stepSendSms, func() (err error) {
		a, err = r.c.rpc(ctx, "SendSmsVerifyCode", url.Values{
			"PhoneNumber": {phone}, "SignName": {"numauth"}, "TemplateCode": {"100001"},
			"TemplateParam": {`{"code":"##code##"}`}, "ReturnVerifyCode": {"true"},
		})
		return err
	})
	if err != nil {
		return err
	}
	if a.Model.VerifyCode == "" {
		return r.check(stepSendSms, &CallError{Code: "NO_CODE", Detail: "the answer has no Model.VerifyCode"})
	}
	var c rpcAnswer
	err = r.timed(stepCheckSms, func() (err error) {
		c, err = r.c.rpc(ctx, "CheckSmsVerifyCode", url.Values{"PhoneNumber": {phone}, "VerifyCode": {a.Model.VerifyCode}})
		return err
	})
	if err != nil {
		return err
	}
	if c.Model.VerifyResult != "PASS" {
		return r.check(stepCheckSms, &CallError{Code: "VerifyResult:" + c.Model.VerifyResult})
	}
	return nil
}

// maskPhone hides the middle of a number for the report and messages.
func maskPhone(p string) string {
	if len(p) < 7 {
		return strings.Repeat("*", len(p))
	}
	return p[:3] + strings.Repeat("*", len(p)-7) + p[len(p)-4:]
}

// callsPerFlow is the number of calls a flow of kind makes.
func callsPerFlow(k Kind) float64 {
	switch k {
	case KindLogin:
		return 5
	case KindMixed:
		return 4.5
	case KindSMS:
		return 2
	case KindCAMARA:
		return 3
	case KindFusion:
		return 5.5 // the carrier path's 5 calls and the SMS path's 6, alternating
	case KindFusionCarrier:
		return 5
	case KindFusionSMS:
		return 6
	}
	return 4
}

// baseline drives GET /bench/noop as the flow phase will drive the flows:
// same client, same concurrency, the duration bound, and as many calls as
// the flow phase will make at most.
func (r *run) baseline(ctx context.Context) *Baseline {
	rec := NewRecorder()
	var errs atomic.Int64
	limit := int64(float64(r.cfg.Flows)*callsPerFlow(r.cfg.Kind) + 0.5)
	progress := func(el time.Duration) string {
		n := rec.Count()
		return fmt.Sprintf("no-op baseline  %d calls  %.0f calls/s  errors %d  %.1fs", n, float64(n)/el.Seconds(), errs.Load(), el.Seconds())
	}
	elapsed := r.drive(ctx, limit, progress, func(ctx context.Context, _ int64) {
		t0 := time.Now()
		err := r.noop(ctx)
		if errors.Is(err, errAborted) {
			return
		}
		rec.Record(time.Since(t0))
		if err != nil {
			errs.Add(1)
		}
	})
	s := rec.Snapshot()
	b := &Baseline{Path: noopPath, Calls: int64(s.Count()), Errors: errs.Load(), ElapsedSeconds: elapsed.Seconds(),
		Latency: latencyOf("no-op", s, errs.Load())}
	if elapsed > 0 {
		b.CallsPerSecond = float64(s.Count()) / elapsed.Seconds()
	}
	return b
}

// noop makes one no-op call.
func (r *run) noop(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.cfg.Target+noopPath, nil)
	if err != nil {
		return err
	}
	var a rpcAnswer
	if err := r.c.do(ctx, req, &a); err != nil {
		return err
	}
	if a.Code != "OK" {
		return apiFailure(a.Code, a.Message)
	}
	return nil
}

// flowProgress is the live line of the flow phase.
func (r *run) flowProgress(el time.Duration) string {
	ok, failed := r.flowsOK.Load(), r.flowsFailed.Load()
	done := fmt.Sprint(ok + failed)
	if r.cfg.Flows > 0 {
		done += fmt.Sprintf("/%d", r.cfg.Flows)
	}
	sec := el.Seconds()
	return fmt.Sprintf("%s flows  %.0f flows/s  %.0f calls/s  flow p99 %s  errors %d  %.1fs",
		done, float64(ok)/sec, float64(r.calls.Count())/sec, fmtDuration(r.flow.Snapshot().Quantile(0.99)), failed, sec)
}
