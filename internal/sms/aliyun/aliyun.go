package aliyun

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/auth/credentials"
	sdkerrors "github.com/aliyun/alibaba-cloud-sdk-go/sdk/errors"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/dysmsapi"

	"github.com/numauth/numauth/internal/sms"
)

// Name is the provider's registered name.
const Name = "aliyun"

// The environment variables the builder reads when the flags are not given.
const (
	EnvAccessKeyID     = "NUMAUTH_SMS_ALIYUN_ACCESS_KEY_ID"
	EnvAccessKeySecret = "NUMAUTH_SMS_ALIYUN_ACCESS_KEY_SECRET"
)

// Defaults.
const (
	DefaultRegion  = "cn-hangzhou"
	DefaultTimeout = 5 * time.Second
	// publicEndpoint is Alibaba's endpoint of dysmsapi for the mainland
	// regions; the SDK's endpoint table names the others.
	publicEndpoint = "dysmsapi.aliyuncs.com"
)

func init() {
	// The SDK fills its endpoint table lazily on a client's creation, which
	// races when two Sends create their first clients at once: fill it now.
	dysmsapi.GetEndpointMap()

	sms.Register(sms.Registration{Name: Name, Flags: func(fs *flag.FlagSet) sms.Builder {
		var c Config
		fs.StringVar(&c.AccessKeyID, "sms-aliyun-access-key-id", "", "AccessKey ID of the Alibaba Cloud RAM user that sends SMS [$"+EnvAccessKeyID+"]")
		fs.StringVar(&c.AccessKeySecret, "sms-aliyun-access-key-secret", "", "its AccessKey secret; prefer $"+EnvAccessKeySecret+", which process listings do not show")
		fs.StringVar(&c.Region, "sms-aliyun-region", DefaultRegion, "Alibaba Cloud region of the SMS API")
		fs.StringVar(&c.Endpoint, "sms-aliyun-endpoint", "", "SMS API endpoint: host[:port] or https://host[:port] (http:// only for loopback); default Alibaba's public endpoint for the region ("+publicEndpoint+" for the mainland)")
		fs.DurationVar(&c.Timeout, "sms-aliyun-timeout", DefaultTimeout, "how long one SendSms may take before the message counts as not sent")
		return func(ctx context.Context, env sms.Env) (sms.Provider, error) {
			cfg := c
			if cfg.AccessKeyID == "" {
				cfg.AccessKeyID = os.Getenv(EnvAccessKeyID)
			}
			if cfg.AccessKeySecret == "" {
				cfg.AccessKeySecret = os.Getenv(EnvAccessKeySecret)
			}
			cfg.Logger = env.Logger
			return New(cfg)
		}
	}})
}

// Config configures the provider.
type Config struct {
	AccessKeyID, AccessKeySecret string // required
	Region                       string // DefaultRegion when ""
	// Endpoint is "host[:port]" or "https://host[:port]"; "http://…" only
	// for a loopback host, since the number and the code travel in the
	// query string. "" is Alibaba's public endpoint for Region.
	Endpoint string
	Timeout  time.Duration // DefaultTimeout when 0
	Logger   *slog.Logger  // slog.Default() when nil
	// Transport carries the SDK's requests; nil is a transport of the
	// provider's own (proxies from the environment, as net/http's default).
	Transport http.RoundTripper
}

// Provider sends through Alibaba Cloud SMS. It is safe for concurrent use.
type Provider struct {
	region       string
	scheme, host string
	timeout      time.Duration
	cred         *credentials.AccessKeyCredential
	transport    http.RoundTripper
	log          *slog.Logger
	closed       atomic.Bool
}

// New returns a provider for cfg. It checks the configuration but calls
// nothing: a wrong AccessKey shows on the first Send.
func New(cfg Config) (*Provider, error) {
	if cfg.AccessKeyID == "" || cfg.AccessKeySecret == "" {
		return nil, fmt.Errorf("aliyun SMS provider needs --sms-aliyun-access-key-id and an AccessKey secret (--sms-aliyun-access-key-secret or $%s)", EnvAccessKeySecret)
	}
	if cfg.Region == "" {
		cfg.Region = DefaultRegion
	}
	if !validRegion(cfg.Region) {
		return nil, fmt.Errorf("aliyun SMS provider: region %q is not a region ID such as cn-hangzhou", cfg.Region)
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Timeout < 0 {
		return nil, fmt.Errorf("aliyun SMS provider: timeout %v is negative", cfg.Timeout)
	}
	scheme, host, err := parseEndpoint(cfg.Endpoint, cfg.Region)
	if err != nil {
		return nil, fmt.Errorf("aliyun SMS provider: %w", err)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Transport == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = 16
		cfg.Transport = t
	}
	return &Provider{
		region: cfg.Region, scheme: scheme, host: host, timeout: cfg.Timeout,
		cred:      credentials.NewAccessKeyCredential(cfg.AccessKeyID, cfg.AccessKeySecret),
		transport: cfg.Transport,
		log:       cfg.Logger.With("sms_provider", Name),
	}, nil
}

// validRegion is the SDK's own check of a region ID, made at start-up
// rather than on every Send.
func validRegion(r string) bool {
	for i := 0; i < len(r); i++ {
		c := r[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return r != ""
}

// parseEndpoint returns the SDK's scheme ("HTTPS" or "HTTP") and the
// host[:port] for an endpoint setting.
func parseEndpoint(endpoint, region string) (scheme, host string, err error) {
	if endpoint == "" {
		if h := dysmsapi.GetEndpointMap()[region]; h != "" {
			return "HTTPS", h, nil
		}
		return "HTTPS", publicEndpoint, nil
	}
	raw := endpoint
	if !strings.Contains(raw, "://") {
		raw = "https://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" || (u.Path != "" && u.Path != "/") {
		return "", "", fmt.Errorf("endpoint %q is not host[:port] or scheme://host[:port]", endpoint)
	}
	switch u.Scheme {
	case "https":
		return "HTTPS", u.Host, nil
	case "http":
		if !loopback(u.Hostname()) {
			return "", "", fmt.Errorf("endpoint %q: plain http is allowed only to a loopback host (the number and the code travel in the query string)", endpoint)
		}
		return "HTTP", u.Host, nil
	}
	return "", "", fmt.Errorf("endpoint %q: the scheme must be https (or http to a loopback host)", endpoint)
}

func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// sdkSlack is how much longer than the provider's timeout the SDK's own
// read timeout is, so that the provider's deadline is the one that ends a
// slow call (and the error says context.DeadlineExceeded).
const sdkSlack = time.Second

// maxAnswer bounds the answer the SDK reads (Alibaba's are a few hundred
// bytes); a longer body is cut and fails to parse.
const maxAnswer = 64 << 10

// Send hands m to Alibaba's SendSms and returns once Alibaba answered, the
// timeout passed or ctx ended. It makes at most one HTTP request.
func (p *Provider) Send(ctx context.Context, m sms.Message) (sms.Accepted, error) {
	if err := ctx.Err(); err != nil {
		return sms.Accepted{}, fmt.Errorf("%w: aliyun SendSms: %w", sms.ErrUnavailable, err)
	}
	if p.closed.Load() {
		return sms.Accepted{}, fmt.Errorf("%w: aliyun SendSms: the provider is closed", sms.ErrUnavailable)
	}
	number, err := phoneNumbers(m.To)
	if err != nil {
		p.log.InfoContext(ctx, "aliyun SMS: not sent", "to", sms.Mask(m.To), "id", m.ID, "reason", err.Error())
		return sms.Accepted{}, fmt.Errorf("%w: aliyun SendSms: the recipient is %w", sms.ErrRejected, err)
	}
	req := dysmsapi.CreateSendSmsRequest()
	req.Scheme, req.Domain = p.scheme, p.host
	req.SetReadTimeout(p.timeout + sdkSlack)
	req.SetConnectTimeout(p.timeout + sdkSlack)
	req.PhoneNumbers = number
	req.SignName = m.SignName
	req.TemplateCode = m.TemplateCode
	req.OutId = m.ID
	if len(m.Params) > 0 {
		if req.TemplateParam, err = templateParam(m.Params); err != nil {
			return sms.Accepted{}, fmt.Errorf("%w: aliyun SendSms: %w", sms.ErrRejected, err)
		}
	}

	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	resp, err := p.call(ctx, req)
	return p.answer(ctx, m, resp, err, secretsOf(m, number))
}

// templateParam is TemplateParam: the parameters as one JSON object of
// strings, the form Alibaba wants ({"code":"1234"}, never {"code":1234}).
func templateParam(params map[string]string) (string, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // "<" as itself: Alibaba counts characters of the rendered text
	if err := enc.Encode(params); err != nil {
		return "", fmt.Errorf("template parameters: %w", err)
	}
	return strings.TrimSuffix(b.String(), "\n"), nil
}

// errPanicked: the SDK panicked on an answer (its error parser asserts the
// types of the answer's fields). It is the peer's malformed answer, not a
// bug of numauth's to crash on.
var errPanicked = errors.New("the SDK could not read Alibaba's answer")

// call makes one SendSms through a client of its own. The SDK's client is
// not safe for concurrent calls (every call rewrites its http.Client's
// Timeout and its transport's dialer), and it takes no context, so each
// Send gets a fresh, cheap client whose transport carries ctx; the
// connections stay pooled in p.transport. Auto-retry stays off: a retry
// after a timeout or a 5xx would be a second SendSms of a request Alibaba
// may already have accepted, re-signed with a new nonce, which Alibaba
// cannot tell from a new message (OutId is a reference, not an idempotency
// key), so the person would get two texts.
func (p *Provider) call(ctx context.Context, req *dysmsapi.SendSmsRequest) (resp *dysmsapi.SendSmsResponse, err error) {
	cfg := sdk.NewConfig()
	cfg.AutoRetry = false
	cfg.MaxRetryTime = 0
	cfg.Timeout = p.timeout + sdkSlack
	cfg.Transport = &oneRequest{ctx: ctx, next: p.transport}
	client, err := dysmsapi.NewClientWithOptions(p.region, cfg, p.cred)
	if err != nil {
		return nil, err
	}
	defer func() {
		if r := recover(); r != nil {
			resp, err = nil, errPanicked
		}
	}()
	return client.SendSms(req)
}

// oneRequest is the transport of one Send: it binds the Send's context to
// the SDK's request (which has none), refuses a second request (net/http
// follows redirects, and a 307 would send the message again), and bounds
// the answer's size.
type oneRequest struct {
	ctx  context.Context
	next http.RoundTripper
	sent atomic.Bool
}

var errSecondRequest = errors.New("refused a second HTTP request for one message (Alibaba's answer was a redirect)")

func (t *oneRequest) RoundTrip(r *http.Request) (*http.Response, error) {
	if t.sent.Swap(true) {
		return nil, errSecondRequest
	}
	resp, err := t.next.RoundTrip(r.WithContext(t.ctx))
	if err != nil {
		return nil, err
	}
	resp.Body = limitedBody{io.LimitReader(resp.Body, maxAnswer), resp.Body}
	return resp, nil
}

type limitedBody struct {
	io.Reader
	io.Closer
}

// answer turns the SDK's result into the provider's, logging refusals with
// the number masked.
func (p *Provider) answer(ctx context.Context, m sms.Message, resp *dysmsapi.SendSmsResponse, err error, secrets []string) (sms.Accepted, error) {
	if err == nil && resp != nil && resp.Code == "OK" {
		// The BizId is not scrubbed of secrets: it is Alibaba's id of the
		// message, digits that may contain a code's digits by chance, and
		// numauth stores it rather than logs it.
		if id := scrub(resp.BizId, "", nil); id != "" {
			return sms.Accepted{ProviderID: id, Status: sms.StatusPending}, nil
		}
		e := &Error{Code: "OK", HTTPStatus: resp.GetHttpStatus(), RequestID: scrub(resp.RequestId, "", secrets),
			Meaning: "Alibaba answered OK without a usable BizId", class: sms.ErrUnavailable}
		p.log.WarnContext(ctx, "aliyun SMS: not sent", "to", sms.Mask(m.To), "id", m.ID, "err", e.Error())
		return sms.Accepted{}, e
	}
	var status int
	var code, msg, rid, recommend string
	var se *sdkerrors.ServerError
	switch {
	case err == nil && resp != nil:
		status, code, msg, rid = resp.GetHttpStatus(), resp.Code, resp.Message, resp.RequestId
	case errors.As(err, &se):
		status, code, msg, rid, recommend = se.HttpStatus(), se.ErrorCode(), se.Message(), se.RequestId(), se.Recommend()
	default:
		return sms.Accepted{}, p.unreachable(ctx, m, err)
	}
	o := classify(status, code)
	e := &Error{
		Code:       scrub(code, "(withheld)", secrets),
		HTTPStatus: status,
		RequestID:  scrub(rid, "", secrets),
		Message:    scrub(msg, "", secrets),
		Meaning:    o.meaning,
		class:      o.class,
	}
	if code == "SignatureDoesNotMatch" || code == "IncompleteSignature" {
		e.Message = "" // it quotes the whole string to sign
		// The SDK compares the string to sign that Alibaba quotes with its
		// own and says what it found in Recommend.
		switch {
		case strings.HasPrefix(recommend, "InvalidAccessKeySecret"):
			e.Meaning = "Alibaba refused the request's signature over the same string to sign: the AccessKey secret is wrong"
		case strings.Contains(recommend, "bug with the SDK"):
			e.Meaning = "Alibaba refused the request's signature over a different string to sign: something between numauth and Alibaba altered the request"
		}
	}
	attrs := []any{"to", sms.Mask(m.To), "id", m.ID, "code", e.Code, "http_status", status, "request_id", e.RequestID}
	switch o.concern {
	case concernConfig:
		p.log.ErrorContext(ctx, "aliyun SMS: numauth's Alibaba Cloud configuration is wrong; check --sms-aliyun-access-key-id, the AccessKey secret, the RAM user's SMS permission and --sms-aliyun-region: "+e.Meaning, attrs...)
	case concernAccount:
		p.log.WarnContext(ctx, "aliyun SMS: the Alibaba account needs the operator: "+e.Meaning, attrs...)
	default:
		if o.class == sms.ErrUnavailable {
			p.log.WarnContext(ctx, "aliyun SMS: not sent: "+e.Meaning, attrs...)
		} else {
			p.log.InfoContext(ctx, "aliyun SMS: refused: "+e.Meaning, attrs...)
		}
	}
	return sms.Accepted{}, e
}

// unreachable reports a Send that got no answer: a connection error, the
// timeout, a canceled ctx, an answer the SDK could not parse. The SDK's
// errors quote the request URL, whose query holds the number and the code,
// so only the cause underneath is kept.
func (p *Provider) unreachable(ctx context.Context, m sms.Message, err error) error {
	var cause error
	var ue *url.Error
	var ce *sdkerrors.ClientError
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		cause = fmt.Errorf("no answer within %v: %w", p.timeout, context.DeadlineExceeded)
	case errors.Is(err, context.Canceled):
		cause = context.Canceled
	case errors.Is(err, errSecondRequest):
		cause = errSecondRequest // without the url.Error around it, which quotes the URL
	case errors.Is(err, errPanicked):
		cause = errPanicked
	case errors.As(err, &ue):
		cause = fmt.Errorf("%s: %w", ue.Op, ue.Err)
	case errors.As(err, &ce):
		cause = fmt.Errorf("SDK error %s", ce.ErrorCode())
	default:
		cause = errors.New("SDK error")
	}
	p.log.WarnContext(ctx, "aliyun SMS: not sent: no usable answer from Alibaba", "to", sms.Mask(m.To), "id", m.ID, "err", cause.Error())
	return fmt.Errorf("%w: aliyun SendSms: %w", sms.ErrUnavailable, cause)
}

// Close stops later Sends and closes idle connections; Sends under way
// finish.
func (p *Provider) Close() error {
	p.closed.Store(true)
	if c, ok := p.transport.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
	return nil
}
