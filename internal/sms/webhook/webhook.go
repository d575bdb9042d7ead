// Package webhook is numauth's generic SMS provider: every message is one
// HTTPS POST to a URL the operator names, signed as the Standard Webhooks
// specification says, so that any SMS gateway (or a small relay in front of
// one) can be plugged in without code in numauth. It registers as
// "webhook".
//
// # Flags
//
//	--sms-webhook-url URL        the receiver (required). https://, or http:// to a
//	                             loopback host only (see TLS below)
//	--sms-webhook-secret SECRET  the signing secret, "whsec_" and the base64 of at
//	                             least 24 random bytes; when empty it is read from the
//	                             environment variable NUMAUTH_SMS_WEBHOOK_SECRET
//	                             (prefer that: flags show in process lists)
//	--sms-webhook-timeout 5s     the bound of one attempt: connecting, sending and
//	                             reading the answer
//	--sms-webhook-retries 3      retries after the first attempt (0 to 10)
//	--sms-webhook-ca-file FILE   PEM file of extra CA certificates to trust besides
//	                             the system's, for a receiver behind a private CA
//
// # Request
//
// One message is one request:
//
//	POST <url>
//	Content-Type: application/json
//	webhook-id: <Message.ID>
//	Idempotency-Key: <Message.ID>
//	webhook-timestamp: <Unix seconds of this attempt>
//	webhook-signature: v1,<base64 HMAC-SHA256 of "<webhook-id>.<webhook-timestamp>.<body>">
//
//	{"type":"sms.message",
//	 "timestamp":"2025-01-02T03:04:05Z",
//	 "data":{"id":"<Message.ID>",
//	         "to":"+8613800138000",
//	         "sign_name":"numauth",
//	         "template_code":"100001",
//	         "params":{"code":"4821","min":"5"},
//	         "text":"【numauth】验证码4821，5分钟内有效，请勿泄露。"}}
//
// The HMAC key is the secret's base64 part, decoded. "timestamp" (RFC 3339,
// UTC) is when numauth sent the message; the body is the same bytes on
// every attempt, and only webhook-timestamp and the signature change. "to"
// is E.164; "params" is always an object (the template's variables, the code
// filled in) and "text" the whole rendered message, so a receiver can use
// either its own templates or the text. The body holds the code: a receiver
// must not log it.
//
// The webhook-id is numauth's id of the send (the BizId the integrator
// sees) and the same on every retry of one Send: it is the idempotency key.
// A receiver dedupes by it, as the specification asks of consumers: a
// request whose webhook-id it already has delivers nothing more and is
// answered as the first one was (or with 409, below).
//
// # Answers
//
//   - 2xx: accepted. The ProviderID is the "id" of a JSON answer
//     {"id":"…"} (a string or a number, at most 128 visible ASCII
//     characters) when there is one, else the webhook-id; the status is
//     pending, since no delivery receipt comes back.
//   - 409 Conflict: the receiver already has this webhook-id, i.e. an
//     earlier attempt reached it: accepted, like 2xx (the receiver's "id"
//     when its answer carries one). A receiver must use 409 for nothing
//     else.
//   - 408, 425, 429 and 5xx: not accepted for now; retried.
//   - any other 4xx: sms.ErrRejected at once, no retry (the receiver
//     refuses this message; 401 and 403 are logged as a likely wrong
//     secret).
//   - 3xx and any other status: sms.ErrUnavailable at once, no retry.
//     Redirects are never followed: the signed body is for the configured
//     URL only, and a redirect is a configuration to fix (it is logged so).
//   - a connection error or an attempt that outlives its timeout: retried.
//   - a TLS problem (a certificate that does not verify, a host name it
//     does not name, a receiver that does not speak TLS): sms.ErrUnavailable
//     at once, no retry, logged as a TLS problem. An untrusted certificate
//     is never accepted.
//
// Retries wait with exponential backoff and jitter (250 ms, 500 ms, 1 s,
// … at most 10 s, each cut to a random half to whole of it), or as long as
// a Retry-After header of the answer asks when that is longer (in seconds
// or as an HTTP date, up to one minute; a receiver asking for more is not
// retried). Every attempt ends by the caller's deadline too, and when the
// wait for the next one would reach that deadline Send returns
// sms.ErrUnavailable at once instead of sleeping into it. When the retries
// are spent the error is sms.ErrUnavailable with the last attempt's
// reason. Only the first 64 KiB of an answer are read.
//
// # TLS
//
// Certificates are verified against the system's roots plus the CA file's
// (TLS 1.2 at least). Plain http:// is accepted only for a loopback host
// (127.0.0.0/8, ::1 or localhost), for a relay on the same machine, and
// it is enforced where the connection is made: an http:// URL whose host
// resolves to anything but a loopback address is refused there. There is
// no flag to turn verification off.
//
// Proxies are taken from the environment (HTTPS_PROXY, NO_PROXY), as for
// every Go program; loopback is never proxied.
//
// # Limits
//
// Delivery receipts are not received: the webhook's answer only says the
// receiver accepted the message, so the status stays pending. Messages are
// not queued: Send returns once the receiver answered or the retries or
// the caller's deadline ran out, and a message Send reported unavailable
// may still have reached a receiver that processed it but answered too
// late; its retry (a new Send of the same message) is then deduped by the
// webhook-id. One secret signs at a time: to rotate it, let the receiver
// accept the old and the new secret for a while (the specification's
// several signatures in one header are not sent).
//
// The log names a message by its id and its number masked
// (+86138****5678), never its text or params.
package webhook

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/numauth/numauth/internal/sms"
)

// Name is the provider's registered name.
const Name = "webhook"

// SecretEnv is the environment variable the secret is read from when
// --sms-webhook-secret is empty.
const SecretEnv = "NUMAUTH_SMS_WEBHOOK_SECRET"

const (
	// DefaultTimeout bounds one attempt.
	DefaultTimeout = 5 * time.Second
	// DefaultRetries is how many times a message is retried after its
	// first attempt.
	DefaultRetries = 3
	// MaxRetries is the most retries a configuration may ask for.
	MaxRetries = 10
	// DefaultBackoff is the wait before the first retry, before jitter;
	// it doubles for every later one, up to MaxBackoff.
	DefaultBackoff = 250 * time.Millisecond
	// MaxBackoff is the longest wait between two attempts that the backoff
	// makes by itself.
	MaxBackoff = 10 * time.Second
	// MaxRetryAfter is the longest Retry-After honoured; an answer asking
	// for more ends the Send.
	MaxRetryAfter = time.Minute
	// MaxAnswer is how much of an answer's body is read.
	MaxAnswer = 64 << 10
	// minSecret is the shortest key the specification allows (24 bytes).
	minSecret = 24
)

func init() {
	sms.Register(sms.Registration{Name: Name, Flags: func(fs *flag.FlagSet) sms.Builder {
		var cfg Config
		fs.StringVar(&cfg.URL, "sms-webhook-url", "", "URL the webhook SMS provider POSTs every message to (https://, or http:// to a loopback host)")
		fs.StringVar(&cfg.Secret, "sms-webhook-secret", "", "Standard Webhooks signing secret (whsec_…) of the webhook SMS provider [or "+SecretEnv+"]")
		fs.DurationVar(&cfg.Timeout, "sms-webhook-timeout", DefaultTimeout, "bound of one attempt of the webhook SMS provider")
		fs.IntVar(&cfg.Retries, "sms-webhook-retries", DefaultRetries, "retries of the webhook SMS provider after a message's first attempt")
		fs.StringVar(&cfg.CAFile, "sms-webhook-ca-file", "", "PEM file of extra CA certificates the webhook SMS provider trusts")
		return func(ctx context.Context, env sms.Env) (sms.Provider, error) {
			c := cfg
			if c.Secret == "" {
				c.Secret = strings.TrimSpace(os.Getenv(SecretEnv))
			}
			c.Logger, c.Now = env.Logger, env.Now
			return New(c)
		}
	}})
}

// Config configures the provider.
type Config struct {
	URL     string        // required; https, or http to a loopback host
	Secret  string        // required; "whsec_" + base64 of at least 24 bytes
	Timeout time.Duration // one attempt's bound; DefaultTimeout when 0
	Retries int           // retries after the first attempt, 0 (none) to MaxRetries
	CAFile  string        // optional PEM file of extra trusted CAs
	// Backoff is the wait before the first retry, before jitter
	// (DefaultBackoff when 0).
	Backoff time.Duration
	Logger  *slog.Logger     // slog.Default() when nil
	Now     func() time.Time // time.Now when nil
}

// Provider is the webhook SMS provider.
type Provider struct {
	url     string
	host    string // for errors and logs: the URL's query may hold a token
	key     []byte
	timeout time.Duration
	retries int
	backoff time.Duration
	log     *slog.Logger
	now     func() time.Time
	client  *http.Client
	tr      *http.Transport
	closed  atomic.Bool
}

// New checks cfg and returns a provider. It makes no connection.
func New(cfg Config) (*Provider, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || u.Host == "" || u.Hostname() == "" {
		return nil, fmt.Errorf("webhook URL %q is not an absolute URL", redact(cfg.URL))
	}
	plain := false
	switch u.Scheme {
	case "https":
	case "http":
		if !loopbackHost(u.Hostname()) {
			return nil, fmt.Errorf("webhook URL %s: plain http is allowed only to a loopback host; use https", u.Host)
		}
		plain = true
	default:
		return nil, fmt.Errorf("webhook URL %s: scheme %q, want https", u.Host, u.Scheme)
	}
	if u.User != nil {
		return nil, fmt.Errorf("webhook URL %s: credentials in the URL are not sent; the signature authenticates numauth", u.Host)
	}
	key, err := parseSecret(cfg.Secret)
	if err != nil {
		return nil, err
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Timeout < 0 {
		return nil, fmt.Errorf("webhook timeout %v is negative", cfg.Timeout)
	}
	if cfg.Retries < 0 || cfg.Retries > MaxRetries {
		return nil, fmt.Errorf("webhook retries %d: want 0 to %d", cfg.Retries, MaxRetries)
	}
	if cfg.Backoff <= 0 {
		cfg.Backoff = DefaultBackoff
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	roots, err := rootCAs(cfg.CAFile)
	if err != nil {
		return nil, err
	}
	dialer := &net.Dialer{Timeout: cfg.Timeout, KeepAlive: 30 * time.Second}
	if plain {
		// The host was checked above, but a name can resolve anywhere:
		// cleartext leaves this machine for no address.
		dialer.Control = loopbackOnly
	}
	tr := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           dialer.DialContext,
		TLSClientConfig:       &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout:   cfg.Timeout,
		ForceAttemptHTTP2:     true,
		MaxIdleConnsPerHost:   16,
		IdleConnTimeout:       90 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
	return &Provider{
		url: u.String(), host: u.Host, key: key,
		timeout: cfg.Timeout, retries: cfg.Retries, backoff: cfg.Backoff,
		log: cfg.Logger.With("sms_provider", Name), now: cfg.Now, tr: tr,
		client: &http.Client{
			Transport:     tr,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}, nil
}

// parseSecret decodes a "whsec_<base64>" secret.
func parseSecret(s string) ([]byte, error) {
	b64, ok := strings.CutPrefix(s, "whsec_")
	if !ok {
		if s == "" {
			return nil, fmt.Errorf("the webhook secret is not set (--sms-webhook-secret or %s)", SecretEnv)
		}
		return nil, errors.New(`the webhook secret must start with "whsec_"`)
	}
	key, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return nil, errors.New(`the webhook secret is not "whsec_" and standard base64`)
	}
	if len(key) < minSecret {
		return nil, fmt.Errorf("the webhook secret holds %d bytes, want at least %d", len(key), minSecret)
	}
	return key, nil
}

// rootCAs is the system's pool plus the certificates of file.
func rootCAs(file string) (*x509.CertPool, error) {
	if file == "" {
		return nil, nil // the system's roots
	}
	pem, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("webhook CA file: %w", err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("webhook CA file %s holds no PEM certificate", file)
	}
	return pool, nil
}

// loopbackHost reports whether host is a loopback address or localhost.
func loopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// loopbackOnly is the dialer's check for plain http: it refuses to
// connect to an address that is not loopback.
func loopbackOnly(_, address string, _ syscall.RawConn) error {
	host, _, _ := net.SplitHostPort(address)
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("plain http to %s, which is not a loopback address, is refused", address)
	}
	return nil
}

// redact drops everything but the scheme and host of a URL.
func redact(raw string) string {
	if u, err := url.Parse(raw); err == nil && u.Host != "" {
		return u.Scheme + "://" + u.Host + "/…"
	}
	return "…"
}

// body is the request's JSON.
type body struct {
	Type      string `json:"type"`
	Timestamp string `json:"timestamp"`
	Data      data   `json:"data"`
}

type data struct {
	ID           string            `json:"id"`
	To           string            `json:"to"`
	SignName     string            `json:"sign_name"`
	TemplateCode string            `json:"template_code"`
	Params       map[string]string `json:"params"`
	Text         string            `json:"text"`
}

// encode returns the request body of m, sent at.
func encode(m sms.Message, at time.Time) ([]byte, error) {
	params := m.Params
	if params == nil {
		params = map[string]string{}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	err := enc.Encode(body{
		Type: "sms.message", Timestamp: at.UTC().Format(time.RFC3339),
		Data: data{ID: m.ID, To: m.To, SignName: m.SignName, TemplateCode: m.TemplateCode, Params: params, Text: m.Text},
	})
	if err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// sign returns the webhook-signature of one attempt.
func sign(key []byte, id string, ts int64, payload []byte) string {
	mac := hmacSHA256(key, []byte(id+"."+strconv.FormatInt(ts, 10)+"."), payload)
	return "v1," + base64.StdEncoding.EncodeToString(mac)
}

// validID reports whether id can be a webhook-id: 1 to 255 visible ASCII
// characters (it travels in a header).
func validID(id string) bool {
	if id == "" || len(id) > 255 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] <= ' ' || id[i] > '~' {
			return false
		}
	}
	return true
}

// Send POSTs m to the receiver, retrying as the package doc says.
func (p *Provider) Send(ctx context.Context, m sms.Message) (sms.Accepted, error) {
	if err := ctx.Err(); err != nil {
		return sms.Accepted{}, fmt.Errorf("%w: %w", sms.ErrUnavailable, err)
	}
	if p.closed.Load() {
		return sms.Accepted{}, fmt.Errorf("%w: the webhook provider is closed", sms.ErrUnavailable)
	}
	if !validID(m.ID) {
		return sms.Accepted{}, fmt.Errorf("%w: message id %q cannot be a webhook-id (1 to 255 visible ASCII characters)", sms.ErrRejected, m.ID)
	}
	payload, err := encode(m, p.now())
	if err != nil {
		return sms.Accepted{}, fmt.Errorf("%w: encoding the message: %w", sms.ErrRejected, err)
	}
	log := p.log.With("id", m.ID, "to", sms.Mask(m.To))
	for attempt := 0; ; attempt++ {
		out := p.attempt(ctx, m.ID, payload)
		switch {
		case out.accepted:
			log.Debug("sms webhook accepted", "attempt", attempt+1, "status", out.status, "provider_id", out.providerID)
			return sms.Accepted{ProviderID: out.providerID, Status: sms.StatusPending}, nil
		case !out.retry:
			out.logFinal(log, attempt+1)
			return sms.Accepted{}, out.err
		}
		log.Warn("sms webhook attempt failed", "attempt", attempt+1, "reason", out.err.Error())
		if err := ctx.Err(); err != nil {
			return sms.Accepted{}, fmt.Errorf("%w: webhook %s: %w (after %d attempts: %w)", sms.ErrUnavailable, p.host, err, attempt+1, out.err)
		}
		if attempt == p.retries {
			return sms.Accepted{}, fmt.Errorf("%w: webhook %s: %d attempts failed, the last: %w", sms.ErrUnavailable, p.host, attempt+1, out.err)
		}
		wait := p.wait(attempt)
		if out.retryAfter > MaxRetryAfter {
			return sms.Accepted{}, fmt.Errorf("%w: webhook %s asks to wait %v before trying again: %w", sms.ErrUnavailable, p.host, out.retryAfter, out.err)
		}
		wait = max(wait, out.retryAfter)
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) <= wait {
			return sms.Accepted{}, fmt.Errorf("%w: webhook %s: no time for another attempt before the deadline (%d attempts, the last: %w)", sms.ErrUnavailable, p.host, attempt+1, out.err)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return sms.Accepted{}, fmt.Errorf("%w: webhook %s: %w (after %d attempts: %w)", sms.ErrUnavailable, p.host, ctx.Err(), attempt+1, out.err)
		case <-t.C:
		}
	}
}

// wait is the backoff before retry number attempt+1: the base doubled per
// attempt, capped, with its upper half random ("equal jitter").
func (p *Provider) wait(attempt int) time.Duration {
	d := p.backoff << min(attempt, 30)
	if d <= 0 || d > MaxBackoff {
		d = MaxBackoff
	}
	return d/2 + rand.N(d/2+1)
}

// outcome is what one attempt came to.
type outcome struct {
	accepted   bool
	providerID string
	status     int // the HTTP status, 0 without an answer
	retry      bool
	retryAfter time.Duration
	tlsProblem bool
	err        error // wraps sms.ErrRejected or sms.ErrUnavailable when not accepted
}

func (o outcome) logFinal(log *slog.Logger, attempts int) {
	switch {
	case o.tlsProblem:
		log.Error("sms webhook: TLS problem: the receiver's certificate or TLS setup is not trusted; check --sms-webhook-url and --sms-webhook-ca-file", "attempts", attempts, "reason", o.err.Error())
	case o.status == http.StatusUnauthorized || o.status == http.StatusForbidden:
		log.Error("sms webhook: the receiver refuses numauth's signature; check --sms-webhook-secret", "attempts", attempts, "status", o.status)
	case o.status >= 300 && o.status < 400:
		log.Error("sms webhook: the receiver redirects, and redirects are not followed; fix --sms-webhook-url", "attempts", attempts, "status", o.status)
	default:
		log.Warn("sms webhook refused", "attempts", attempts, "reason", o.err.Error())
	}
}

// attempt makes one request within its own timeout.
func (p *Provider) attempt(ctx context.Context, id string, payload []byte) outcome {
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.url, bytes.NewReader(payload))
	if err != nil {
		return outcome{err: fmt.Errorf("%w: webhook request: %w", sms.ErrUnavailable, err)}
	}
	ts := p.now().Unix()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "numauth-sms-webhook")
	req.Header.Set("webhook-id", id)
	req.Header.Set("Idempotency-Key", id)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(ts, 10))
	req.Header.Set("webhook-signature", sign(p.key, id, ts, payload))
	resp, err := p.client.Do(req)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err // without the URL, whose query may hold a token
		}
		if tlsProblem(err) {
			return outcome{tlsProblem: true, err: fmt.Errorf("%w: webhook %s: TLS: %w", sms.ErrUnavailable, p.host, err)}
		}
		return outcome{retry: true, err: fmt.Errorf("%w: webhook %s: %w", sms.ErrUnavailable, p.host, err)}
	}
	defer resp.Body.Close()
	answer, readErr := io.ReadAll(io.LimitReader(resp.Body, MaxAnswer))
	out := classify(resp.StatusCode, resp.Header.Get("Retry-After"), p.now())
	out.status = resp.StatusCode
	if out.accepted {
		if readErr != nil {
			// An accepted answer cut off is still accepted; its id is lost.
			answer = nil
		}
		out.providerID = id
		if pid, ok := parseAnswer(answer); ok {
			out.providerID = pid
		}
		return out
	}
	out.err = fmt.Errorf("webhook %s answered %s: %w", p.host, resp.Status, out.err)
	return out
}

// classify maps an answer's status (and its Retry-After) to an outcome.
func classify(status int, retryAfter string, now time.Time) outcome {
	switch {
	case status >= 200 && status < 300, status == http.StatusConflict:
		return outcome{accepted: true}
	case status == http.StatusRequestTimeout, status == http.StatusTooEarly, status == http.StatusTooManyRequests, status >= 500 && status < 600:
		ra, _ := parseRetryAfter(retryAfter, now)
		return outcome{retry: true, retryAfter: ra, err: sms.ErrUnavailable}
	case status >= 400 && status < 500:
		return outcome{err: sms.ErrRejected}
	default:
		return outcome{err: sms.ErrUnavailable}
	}
}

// tlsProblem reports whether err comes from verifying the receiver's TLS.
func tlsProblem(err error) bool {
	var (
		verr  *tls.CertificateVerificationError
		rerr  tls.RecordHeaderError
		aerr  tls.AlertError
		uaerr x509.UnknownAuthorityError
		herr  x509.HostnameError
		cerr  x509.CertificateInvalidError
	)
	return errors.Is(err, http.ErrSchemeMismatch) || errors.As(err, &verr) || errors.As(err, &rerr) || errors.As(err, &aerr) ||
		errors.As(err, &uaerr) || errors.As(err, &herr) || errors.As(err, &cerr)
}

// Close closes idle connections; a later Send fails with ErrUnavailable.
func (p *Provider) Close() error {
	p.closed.Store(true)
	p.tr.CloseIdleConnections()
	return nil
}
