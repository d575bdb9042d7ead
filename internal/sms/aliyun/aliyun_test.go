package aliyun

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/numauth/numauth/internal/sms"
	"github.com/numauth/numauth/internal/sms/smstest"
)

// newProvider builds a provider for endpoint; mod may change its Config.
func newProvider(t *testing.T, endpoint string, logger *slog.Logger, mod ...func(*Config)) *Provider {
	t.Helper()
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	cfg := Config{AccessKeyID: peerAK, AccessKeySecret: peerSecret, Endpoint: endpoint, Timeout: 3 * time.Second, Logger: logger}
	for _, f := range mod {
		f(&cfg)
	}
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// testLogger logs into a buffer. slog's handlers serialize their writes,
// so concurrent Sends may log into it; tests read it once the Sends return.
func testLogger() (*slog.Logger, *bytes.Buffer) {
	var buf bytes.Buffer
	return slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})), &buf
}

// alibabaForm is what PhoneNumbers must be for an E.164 number, written
// out here rather than taken from the provider.
func alibabaForm(to string) string {
	if n, ok := strings.CutPrefix(to, "+86"); ok {
		return n
	}
	return strings.TrimPrefix(to, "+")
}

func TestConformance(t *testing.T) {
	smstest.Run(t, smstest.Harness{New: func(t *testing.T, env sms.Env) smstest.World {
		peer := startPeer(t)
		p := newProvider(t, peer.endpoint(), env.Logger)
		return smstest.World{
			Provider: p,
			Received: func(t *testing.T, to string) []smstest.Delivered { return peer.got(alibabaForm(to)) },
			Reject:   func(t *testing.T, to string) { peer.reject(alibabaForm(to)) },
			Outage: func(t *testing.T, on bool) {
				if on {
					peer.outage.Store(outage503)
				} else {
					peer.outage.Store(outageOff)
				}
			},
			Templated: true,
		}
	}})
}

func message(to, id, code string) sms.Message {
	return sms.Message{
		ID: id, To: to, SignName: "numauth", TemplateCode: "SMS_100001",
		Params: map[string]string{"code": code, "min": "5"},
		Text:   "【numauth】验证码" + code + "，5分钟内有效，请勿泄露。",
	}
}

func sendWithin(t *testing.T, p *Provider, m sms.Message, d time.Duration) (sms.Accepted, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	return p.Send(ctx, m)
}

// TestInternationalOnTheWire: the SDK carries each form to the peer as is.
func TestInternationalOnTheWire(t *testing.T) {
	peer := startPeer(t)
	p := newProvider(t, peer.endpoint(), nil)
	for _, tc := range []struct{ to, phoneNumbers string }{
		{"+85212345678", "85212345678"},
		{"+8613800138000", "13800138000"},
		{"+14155550123", "14155550123"},
	} {
		m := message(tc.to, "intl-"+tc.phoneNumbers, "8392")
		a, err := sendWithin(t, p, m, 5*time.Second)
		if err != nil {
			t.Fatalf("Send(%s): %v", tc.to, err)
		}
		if a.Status != sms.StatusPending || a.ProviderID == "" {
			t.Errorf("Send(%s) = %+v, want pending with a BizId", tc.to, a)
		}
		got := peer.got(tc.phoneNumbers)
		if len(got) != 1 || got[0].ID != m.ID || got[0].Params["code"] != "8392" {
			t.Errorf("peer got %+v under PhoneNumbers %q, want the message with OutId %s", got, tc.phoneNumbers, m.ID)
		}
	}
	// An invalid number is refused before anything is sent.
	before := peer.requests.Load()
	if _, err := sendWithin(t, p, message("+8601012345678", "landline", "1111"), 5*time.Second); !errors.Is(err, sms.ErrRejected) {
		t.Errorf("Send to a mainland landline: %v, want ErrRejected", err)
	}
	if n := peer.requests.Load() - before; n != 0 {
		t.Errorf("an invalid number cost %d requests, want 0", n)
	}
}

// TestNotRetried: whatever goes wrong on the wire, one Send is one request:
// the SDK's own retry would send a second message Alibaba cannot tell from a
// new one.
func TestNotRetried(t *testing.T) {
	const slowPeer = time.Second
	cases := []struct {
		name    string
		prepare func(*peer)
		timeout time.Duration
		wantCtx error // the error the Send's must wrap, if any
	}{
		{"slower than the timeout", func(p *peer) { p.delay.Store(int64(slowPeer)) }, 200 * time.Millisecond, context.DeadlineExceeded},
		{"HTTP 503", func(p *peer) { p.outage.Store(outage503) }, 3 * time.Second, nil},
		{"connection closed without an answer", func(p *peer) { p.outage.Store(outageHangup) }, 3 * time.Second, nil},
		{"isp.SYSTEM_ERROR", func(p *peer) {
			p.force("13800138000", forcedAnswer{status: http.StatusOK, code: "isp.SYSTEM_ERROR"})
		}, 3 * time.Second, nil},
		{"HTTP 500 InternalError", func(p *peer) {
			p.force("13800138000", forcedAnswer{status: http.StatusInternalServerError, code: "InternalError"})
		}, 3 * time.Second, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			peer := startPeer(t)
			p := newProvider(t, peer.endpoint(), nil, func(c *Config) { c.Timeout = tc.timeout })
			tc.prepare(peer)
			start := time.Now()
			_, err := sendWithin(t, p, message("+8613800138000", "retry-"+tc.name, "2718"), 10*time.Second)
			if !errors.Is(err, sms.ErrUnavailable) || errors.Is(err, sms.ErrRejected) {
				t.Fatalf("Send: %v, want ErrUnavailable only", err)
			}
			if tc.wantCtx != nil && !errors.Is(err, tc.wantCtx) {
				t.Errorf("Send: %v, want it to wrap %v", err, tc.wantCtx)
			}
			if took := time.Since(start); took > tc.timeout+time.Second {
				t.Errorf("Send took %v with a timeout of %v", took, tc.timeout)
			}
			// A retry would come at once, or (the slow peer) once the first
			// request's time is up: wait past that.
			time.Sleep(time.Until(start.Add(slowPeer + 300*time.Millisecond)))
			if n := peer.requests.Load(); n != 1 {
				t.Errorf("the peer saw %d requests for one Send, want 1", n)
			}
			if got := peer.got("13800138000"); len(got) != 0 {
				t.Errorf("the peer sent %d messages", len(got))
			}
		})
	}
}

// TestRedirectNotFollowed: net/http follows a 307 with the same request;
// the provider refuses to, so a redirecting endpoint sends nothing twice.
func TestRedirectNotFollowed(t *testing.T) {
	peer := startPeer(t)
	redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, peer.endpoint()+r.URL.RequestURI(), http.StatusTemporaryRedirect)
	}))
	t.Cleanup(redirector.Close)
	p := newProvider(t, redirector.URL, nil)
	_, err := sendWithin(t, p, message("+8613800138000", "redirected", "3141"), 5*time.Second)
	if !errors.Is(err, sms.ErrUnavailable) || !errors.Is(err, errSecondRequest) {
		t.Fatalf("Send through a redirect: %v, want ErrUnavailable for a second request", err)
	}
	if n := peer.requests.Load(); n != 0 {
		t.Errorf("the redirect reached the peer %d times", n)
	}
}

func TestCanceledInFlight(t *testing.T) {
	peer := startPeer(t)
	peer.delay.Store(int64(3 * time.Second))
	p := newProvider(t, peer.endpoint(), nil)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	_, err := p.Send(ctx, message("+8613800138000", "canceled", "1618"))
	if !errors.Is(err, sms.ErrUnavailable) || !errors.Is(err, context.Canceled) {
		t.Fatalf("Send canceled in flight: %v, want ErrUnavailable wrapping context.Canceled", err)
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("a canceled Send took %v", took)
	}
}

func TestPeerDown(t *testing.T) {
	peer := startPeer(t)
	p := newProvider(t, peer.endpoint(), nil)
	peer.srv.Close()
	_, err := sendWithin(t, p, message("+8613800138000", "down", "5772"), 5*time.Second)
	if !errors.Is(err, sms.ErrUnavailable) {
		t.Fatalf("Send to a closed port: %v, want ErrUnavailable", err)
	}
	if strings.Contains(err.Error(), "5772") || strings.Contains(err.Error(), "13800138000") {
		t.Errorf("the error quotes the request: %v", err)
	}
}

func TestFlowControl(t *testing.T) {
	peer := startPeer(t)
	logger, logs := testLogger()
	p := newProvider(t, peer.endpoint(), logger)
	peer.force("13800138000", forcedAnswer{status: http.StatusOK, code: "isv.BUSINESS_LIMIT_CONTROL"})
	_, err := sendWithin(t, p, message("+8613800138000", "flow", "4711"), 5*time.Second)
	if !errors.Is(err, sms.ErrUnavailable) || errors.Is(err, sms.ErrRejected) {
		t.Fatalf("Send under flow control: %v, want ErrUnavailable only", err)
	}
	var e *Error
	if !errors.As(err, &e) || e.Code != "isv.BUSINESS_LIMIT_CONTROL" || e.RequestID == "" {
		t.Fatalf("Send under flow control: %#v, want an *Error with the code and a RequestId", err)
	}
	if !strings.Contains(logs.String(), "+86138****8000") || strings.Contains(logs.String(), "13800138000") {
		t.Errorf("the log should name the number masked, and only so:\n%s", logs)
	}
}

// TestAnswersOnTheWire drives the mapping through the official SDK's own
// parsing: each answer is what the peer writes on the wire.
func TestAnswersOnTheWire(t *testing.T) {
	cases := []struct {
		name   string
		answer forcedAnswer
		want   error
	}{
		{"invalid number", forcedAnswer{status: 200, code: "isv.MOBILE_NUMBER_ILLEGAL"}, sms.ErrRejected},
		{"sign", forcedAnswer{status: 200, code: "isv.SMS_SIGNATURE_ILLEGAL"}, sms.ErrRejected},
		{"template", forcedAnswer{status: 200, code: "isv.SMS_TEMPLATE_ILLEGAL"}, sms.ErrRejected},
		{"missing parameter", forcedAnswer{status: 200, code: "isv.TEMPLATE_MISSING_PARAMETERS"}, sms.ErrRejected},
		{"blocked keyword", forcedAnswer{status: 200, code: "isv.BLACK_KEY_CONTROL_LIMIT"}, sms.ErrRejected},
		{"balance", forcedAnswer{status: 200, code: "isv.AMOUNT_NOT_ENOUGH"}, sms.ErrRejected},
		{"daily quota", forcedAnswer{status: 200, code: "isv.DAY_LIMIT_CONTROL"}, sms.ErrRejected},
		{"unknown isv code", forcedAnswer{status: 200, code: "isv.SOMETHING_NEW"}, sms.ErrRejected},
		{"flow control", forcedAnswer{status: 200, code: "isv.BUSINESS_LIMIT_CONTROL"}, sms.ErrUnavailable},
		{"system error", forcedAnswer{status: 200, code: "isp.SYSTEM_ERROR"}, sms.ErrUnavailable},
		{"RAM permission", forcedAnswer{status: 200, code: "isp.RAM_PERMISSION_DENY"}, sms.ErrUnavailable},
		{"RAM forbidden", forcedAnswer{status: 403, code: "Forbidden.RAM"}, sms.ErrUnavailable},
		{"API throttling", forcedAnswer{status: 400, code: "Throttling.User"}, sms.ErrUnavailable},
		{"HTTP 429", forcedAnswer{status: 429, code: "Throttling"}, sms.ErrUnavailable},
		{"HTTP 500", forcedAnswer{status: 500, code: "InternalError"}, sms.ErrUnavailable},
		{"HTTP 503 with an isv code", forcedAnswer{status: 503, code: "isv.MOBILE_NUMBER_ILLEGAL"}, sms.ErrUnavailable},
		{"HTTP 502 HTML", forcedAnswer{status: 502, body: "<html><body>502 Bad Gateway</body></html>"}, sms.ErrUnavailable},
		{"unknown gateway code", forcedAnswer{status: 400, code: "InvalidSomething"}, sms.ErrUnavailable},
		{"OK without a BizId", forcedAnswer{status: 200, body: `{"RequestId":"R","Code":"OK","Message":"OK"}`}, sms.ErrUnavailable},
		{"no Code", forcedAnswer{status: 200, body: `{"RequestId":"R"}`}, sms.ErrUnavailable},
		{"not JSON", forcedAnswer{status: 200, body: "OK"}, sms.ErrUnavailable},
		// The SDK's error parser asserts that Code is a string: a number
		// panics inside it, which must not take numauth down.
		{"Code a number on a 5xx", forcedAnswer{status: 503, body: `{"Code":503,"RequestId":7}`}, sms.ErrUnavailable},
	}
	peer := startPeer(t)
	p := newProvider(t, peer.endpoint(), nil)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			peer.force("13800138000", tc.answer)
			_, err := sendWithin(t, p, message("+8613800138000", "answer-"+tc.name, "9902"), 5*time.Second)
			other := sms.ErrRejected
			if tc.want == sms.ErrRejected {
				other = sms.ErrUnavailable
			}
			if !errors.Is(err, tc.want) || errors.Is(err, other) {
				t.Fatalf("answer %+v: %v, want %v only", tc.answer, err, tc.want)
			}
			var e *Error
			if tc.answer.code != "" && (!errors.As(err, &e) || e.Code != tc.answer.code || e.HTTPStatus != tc.answer.status) {
				t.Errorf("answer %+v: %#v, want an *Error with its Code and status", tc.answer, err)
			}
		})
	}
}

// TestAnswerQuotingTheRequest: a Message that repeats the number or the code
// is kept out of the error and the log.
func TestAnswerQuotingTheRequest(t *testing.T) {
	peer := startPeer(t)
	logger, logs := testLogger()
	p := newProvider(t, peer.endpoint(), logger)
	for i, body := range []string{
		`{"RequestId":"R1","Code":"isv.INVALID_PARAMETERS","Message":"code 60417 is not valid for 13800138000"}`,
		`{"RequestId":"R2","Code":"isv.INVALID_PARAMETERS","Message":"TemplateParam {\"code\":\"60417\"}"}`,
		`{"RequestId":"60417","Code":"isv.X_60417","Message":"x"}`,
	} {
		peer.force("13800138000", forcedAnswer{status: 200, body: body})
		_, err := sendWithin(t, p, message("+8613800138000", "quote", "60417"), 5*time.Second)
		if !errors.Is(err, sms.ErrRejected) {
			t.Fatalf("answer %d: %v, want ErrRejected", i, err)
		}
		if strings.Contains(err.Error(), "60417") || strings.Contains(err.Error(), "13800138000") {
			t.Errorf("answer %d: the error repeats the code or the number: %v", i, err)
		}
	}
	if strings.Contains(logs.String(), "60417") || strings.Contains(logs.String(), "13800138000") {
		t.Errorf("the log repeats the code or the number:\n%s", logs)
	}
	// A harmless Message is kept.
	peer.force("13800138000", forcedAnswer{status: 200, body: `{"RequestId":"R3","Code":"isv.DAY_LIMIT_CONTROL","Message":"触发日发送限额"}`})
	_, err := sendWithin(t, p, message("+8613800138000", "quote", "60417"), 5*time.Second)
	var e *Error
	if !errors.As(err, &e) || e.Message != "触发日发送限额" || e.RequestID != "R3" {
		t.Errorf("a harmless answer: %#v, want its Message and RequestId kept", err)
	}
}

// TestWrongSecret: the peer refuses the signature; the provider reports
// numauth's configuration, not the number.
func TestWrongSecret(t *testing.T) {
	for _, tc := range []struct {
		name, id, secret, code string
	}{
		{"wrong secret", peerAK, "not-the-secret", "SignatureDoesNotMatch"},
		{"unknown AccessKey", "LTAI5tUnknownKey", peerSecret, "InvalidAccessKeyId.NotFound"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			peer := startPeer(t)
			logger, logs := testLogger()
			p := newProvider(t, peer.endpoint(), logger, func(c *Config) { c.AccessKeyID, c.AccessKeySecret = tc.id, tc.secret })
			_, err := sendWithin(t, p, message("+8613800138000", "secret", "8080"), 5*time.Second)
			if !errors.Is(err, sms.ErrUnavailable) || errors.Is(err, sms.ErrRejected) {
				t.Fatalf("Send: %v, want ErrUnavailable only", err)
			}
			var e *Error
			if !errors.As(err, &e) || e.Code != tc.code {
				t.Fatalf("Send: %#v, want an *Error with Code %s", err, tc.code)
			}
			if tc.code == "SignatureDoesNotMatch" && !strings.Contains(e.Meaning, "secret is wrong") {
				t.Errorf("Meaning %q, want it to say the secret is wrong (the SDK compared the strings to sign)", e.Meaning)
			}
			log := logs.String()
			if !strings.Contains(log, "level=ERROR") || !strings.Contains(log, "configuration") || !strings.Contains(log, "--sms-aliyun-access-key-id") {
				t.Errorf("the log should say, at Error, that the configuration is wrong:\n%s", log)
			}
			for _, leak := range []string{"8080", "13800138000", tc.secret} {
				if strings.Contains(log, leak) || strings.Contains(err.Error(), leak) {
					t.Errorf("the log or the error holds %q:\n%s\n%v", leak, log, err)
				}
			}
			if got := peer.got("13800138000"); len(got) != 0 {
				t.Errorf("the peer sent %d messages on a bad signature", len(got))
			}
		})
	}
}

// TestFlags builds the provider the way serve does: from its registration's
// flags, with the secret from the environment.
func TestFlags(t *testing.T) {
	peer := startPeer(t)
	t.Setenv(EnvAccessKeySecret, peerSecret)
	t.Setenv(EnvAccessKeyID, "")
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	build := sms.Flags(fs)
	var help bytes.Buffer
	fs.SetOutput(&help)
	fs.PrintDefaults()
	for _, name := range []string{"sms-aliyun-access-key-id", "sms-aliyun-access-key-secret", "sms-aliyun-region", "sms-aliyun-endpoint", "sms-aliyun-timeout"} {
		if fs.Lookup(name) == nil {
			t.Errorf("flag --%s is not declared", name)
		}
	}
	if strings.Contains(help.String(), peerSecret) {
		t.Errorf("the help text shows the secret from the environment:\n%s", help.String())
	}
	if err := fs.Parse([]string{"--sms-aliyun-access-key-id", peerAK, "--sms-aliyun-endpoint", peer.endpoint(), "--sms-aliyun-timeout", "2s"}); err != nil {
		t.Fatal(err)
	}
	p, err := build(context.Background(), Name, sms.Env{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	if _, err := p.Send(context.Background(), message("+8613800138000", "flags", "1234")); err != nil {
		t.Fatalf("Send through the provider the flags built: %v", err)
	}
	if p.(*Provider).timeout != 2*time.Second {
		t.Errorf("timeout %v, want the flag's 2s", p.(*Provider).timeout)
	}

	t.Setenv(EnvAccessKeySecret, "")
	fs2 := flag.NewFlagSet("serve", flag.ContinueOnError)
	build2 := sms.Flags(fs2)
	if _, err := build2(context.Background(), Name, sms.Env{}); err == nil {
		t.Error("a provider without an AccessKey was built")
	}
}

func TestConfig(t *testing.T) {
	cases := []struct {
		name         string
		cfg          Config
		scheme, host string
		ok           bool
	}{
		{"default", Config{}, "HTTPS", "dysmsapi.aliyuncs.com", true},
		{"a region of the SDK's table", Config{Region: "ap-southeast-1"}, "HTTPS", "dysmsapi.ap-southeast-1.aliyuncs.com", true},
		{"bare host", Config{Endpoint: "sms-gw.example.com"}, "HTTPS", "sms-gw.example.com", true},
		{"https with a port", Config{Endpoint: "https://sms-gw.example.com:8443/"}, "HTTPS", "sms-gw.example.com:8443", true},
		{"http to loopback", Config{Endpoint: "http://127.0.0.1:18080"}, "HTTP", "127.0.0.1:18080", true},
		{"http to IPv6 loopback", Config{Endpoint: "http://[::1]:18080"}, "HTTP", "[::1]:18080", true},
		{"http to localhost", Config{Endpoint: "http://localhost:18080"}, "HTTP", "localhost:18080", true},
		{"http elsewhere", Config{Endpoint: "http://sms-gw.example.com"}, "", "", false},
		{"a path", Config{Endpoint: "https://sms-gw.example.com/sms"}, "", "", false},
		{"a query", Config{Endpoint: "https://sms-gw.example.com/?a=b"}, "", "", false},
		{"user info", Config{Endpoint: "https://u:p@sms-gw.example.com"}, "", "", false},
		{"another scheme", Config{Endpoint: "ftp://sms-gw.example.com"}, "", "", false},
		{"no host", Config{Endpoint: "https://"}, "", "", false},
		{"bad region", Config{Region: "cn hangzhou"}, "", "", false},
		{"negative timeout", Config{Timeout: -time.Second}, "", "", false},
		{"no secret", Config{AccessKeySecret: "-"}, "", "", false},
	}
	for _, tc := range cases {
		cfg := tc.cfg
		cfg.AccessKeyID = "LTAI5tConfig"
		switch cfg.AccessKeySecret {
		case "":
			cfg.AccessKeySecret = "secret"
		case "-":
			cfg.AccessKeySecret = ""
		}
		p, err := New(cfg)
		if (err == nil) != tc.ok {
			t.Errorf("%s: New(%+v): %v, want ok %v", tc.name, tc.cfg, err, tc.ok)
			continue
		}
		if err == nil && (p.scheme != tc.scheme || p.host != tc.host) {
			t.Errorf("%s: %s://%s, want %s://%s", tc.name, p.scheme, p.host, tc.scheme, tc.host)
		}
		if err == nil && tc.cfg.Timeout == 0 && p.timeout != DefaultTimeout {
			t.Errorf("%s: timeout %v, want %v", tc.name, p.timeout, DefaultTimeout)
		}
	}
}

func TestClosed(t *testing.T) {
	peer := startPeer(t)
	p := newProvider(t, peer.endpoint(), nil)
	p.Close()
	if _, err := sendWithin(t, p, message("+8613800138000", "closed", "1234"), time.Second); !errors.Is(err, sms.ErrUnavailable) {
		t.Errorf("Send after Close: %v, want ErrUnavailable", err)
	}
	if n := peer.requests.Load(); n != 0 {
		t.Errorf("a closed provider made %d requests", n)
	}
}

// TestSignatureOverAnotherString: when the string to sign Alibaba quotes is
// not the SDK's, the secret is not the suspect and the error says so.
func TestSignatureOverAnotherString(t *testing.T) {
	peer := startPeer(t)
	p := newProvider(t, peer.endpoint(), nil)
	peer.force("13800138000", forcedAnswer{status: http.StatusBadRequest, body: `{"RequestId":"R","Code":"SignatureDoesNotMatch",` +
		`"Message":"Specified signature does not match our calculation. server string to sign is:POST&%2F&AccessKeyId%3Dsomething-else"}`})
	_, err := sendWithin(t, p, message("+8613800138000", "altered", "1234"), 5*time.Second)
	var e *Error
	if !errors.As(err, &e) || !errors.Is(err, sms.ErrUnavailable) || !strings.Contains(e.Meaning, "altered the request") || e.Message != "" {
		t.Fatalf("Send: %#v, want ErrUnavailable saying the request was altered, without Alibaba's message", err)
	}
}
