package webhook_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/numauth/numauth/internal/sms"
	"github.com/numauth/numauth/internal/sms/smstest"
	"github.com/numauth/numauth/internal/sms/webhook"
)

// testConfig is the provider's configuration against r, quick to retry.
func testConfig(t *testing.T, r *receiver) webhook.Config {
	return webhook.Config{
		URL: r.URL(), Secret: r.secret, CAFile: caFile(t),
		Timeout: 2 * time.Second, Retries: 3, Backoff: 10 * time.Millisecond,
	}
}

func TestConformance(t *testing.T) {
	smstest.Run(t, smstest.Harness{New: func(t *testing.T, env sms.Env) smstest.World {
		r := newReceiver(t, receiverOpts{})
		cfg := testConfig(t, r)
		cfg.Logger, cfg.Now = env.Logger, env.Now
		p, err := webhook.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { p.Close() })
		return smstest.World{Provider: p, Received: r.Received, Reject: r.Reject, Outage: r.Outage, Idempotent: true}
	}})
}

// logBuf is a log a test reads.
type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// start builds a provider for r from testConfig changed by mod.
func start(t *testing.T, r *receiver, mod func(*webhook.Config)) (*webhook.Provider, *logBuf) {
	t.Helper()
	cfg := testConfig(t, r)
	if mod != nil {
		mod(&cfg)
	}
	lb := &logBuf{}
	cfg.Logger = slog.New(slog.NewTextHandler(lb, &slog.HandlerOptions{Level: slog.LevelDebug}))
	p, err := webhook.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p, lb
}

var msgSeq atomic.Int64

func newMessage() sms.Message {
	n := msgSeq.Add(1)
	return sms.Message{
		ID: fmt.Sprintf("9%08d^0", n), To: fmt.Sprintf("+861700%08d", n), SignName: "numauth", TemplateCode: "100001",
		Params: map[string]string{"code": "4821", "min": "5"}, Text: "【numauth】验证码4821，5分钟内有效，请勿泄露。",
	}
}

// send sends one message within d and says how long it took.
func send(p sms.Provider, m sms.Message, d time.Duration) (sms.Accepted, time.Duration, error) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	t0 := time.Now()
	a, err := p.Send(ctx, m)
	return a, time.Since(t0), err
}

// checkSend holds for every Send: all its attempts carried its id as the
// webhook-id, there were want of them, and it delivered delivered
// messages (0 or 1).
func checkSend(t *testing.T, r *receiver, mark int, m sms.Message, want, delivered int) []attempt {
	t.Helper()
	return checkSendBetween(t, r, mark, m, want, want, delivered)
}

// checkSendBetween is checkSend for a Send whose attempts the receiver
// saw lo to hi of: where attempts time out, a loaded machine may not get
// every one of them to the receiver in time.
func checkSendBetween(t *testing.T, r *receiver, mark int, m sms.Message, lo, hi, delivered int) []attempt {
	t.Helper()
	as := r.since(mark)
	for _, a := range as {
		if a.ID != m.ID {
			t.Errorf("an attempt of Send(%s) carried webhook-id %q", m.ID, a.ID)
		}
	}
	if len(as) < lo || len(as) > hi {
		t.Errorf("the receiver saw %d attempts of one Send, want %d to %d: %+v", len(as), lo, hi, as)
	}
	if got := len(r.Received(t, m.To)); got != delivered {
		t.Errorf("the receiver has %d messages of one Send, want %d", got, delivered)
	}
	return as
}

func isKind(err error, kind error) bool {
	if kind == nil {
		return err == nil
	}
	other := sms.ErrRejected
	if kind == sms.ErrRejected {
		other = sms.ErrUnavailable
	}
	return errors.Is(err, kind) && !errors.Is(err, other)
}

// TestAnswers: how each answer of the receiver is taken.
func TestAnswers(t *testing.T) {
	ok := fault{}
	st := func(code int) fault { return fault{status: code} }
	cases := []struct {
		name      string
		faults    []fault // per attempt; past the end, the usual answer
		conflict  bool
		timeout   time.Duration // per attempt; 2 s when 0
		want      error
		attempts  int
		delivered int
		pid       string // "" rcv-1; "=" the message id; else exactly
	}{
		{name: "200 with an id", faults: []fault{ok}, attempts: 1, delivered: 1},
		{name: "500 502 then 200", faults: []fault{st(500), st(502)}, attempts: 3, delivered: 1},
		{name: "503 always", faults: []fault{st(503), st(503), st(503), st(503), st(503)}, want: sms.ErrUnavailable, attempts: 4},
		{name: "504 always", faults: []fault{st(504), st(504), st(504), st(504), st(504)}, want: sms.ErrUnavailable, attempts: 4},
		{name: "408 then 200", faults: []fault{st(408)}, attempts: 2, delivered: 1},
		{name: "425 then 200", faults: []fault{st(425)}, attempts: 2, delivered: 1},
		{name: "429 then 200", faults: []fault{st(429)}, attempts: 2, delivered: 1},
		{name: "400", faults: []fault{st(400)}, want: sms.ErrRejected, attempts: 1},
		{name: "401", faults: []fault{st(401)}, want: sms.ErrRejected, attempts: 1},
		{name: "403", faults: []fault{st(403)}, want: sms.ErrRejected, attempts: 1},
		{name: "404", faults: []fault{st(404)}, want: sms.ErrRejected, attempts: 1},
		{name: "410", faults: []fault{st(410)}, want: sms.ErrRejected, attempts: 1},
		{name: "413", faults: []fault{st(413)}, want: sms.ErrRejected, attempts: 1},
		{name: "422", faults: []fault{st(422)}, want: sms.ErrRejected, attempts: 1},
		{name: "301", faults: []fault{st(301)}, want: sms.ErrUnavailable, attempts: 1},
		{name: "409 for a delivered id", faults: []fault{{status: 409, deliver: true}}, attempts: 1, delivered: 1, pid: "="},
		{name: "409 after a late answer", faults: []fault{{after: 3 * time.Second}}, timeout: time.Second, conflict: true, attempts: 2, delivered: 1, pid: "="},
		{name: "202 without a body", faults: []fault{{status: 202, deliver: true}}, attempts: 1, delivered: 1, pid: "="},
		{name: "200 with a numeric id", faults: []fault{{status: 200, deliver: true, body: `{"id": 12345}`}}, attempts: 1, delivered: 1, pid: "12345"},
		{name: "200 with an unusable id", faults: []fault{{status: 200, deliver: true, body: `{"id":"a b\n"}`}}, attempts: 1, delivered: 1, pid: "="},
		{name: "200 with an oversized answer", faults: []fault{{status: 200, deliver: true, body: `{"pad":"` + strings.Repeat("x", webhook.MaxAnswer) + `","id":"big"}`}}, attempts: 1, delivered: 1, pid: "="},
		{name: "200 not JSON", faults: []fault{{status: 200, deliver: true, body: `<html>ok</html>`}}, attempts: 1, delivered: 1, pid: "="},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := newReceiver(t, receiverOpts{})
			r.conflict = tc.conflict
			r.setFault(func(n int) fault {
				if n <= len(tc.faults) {
					return tc.faults[n-1]
				}
				return fault{}
			})
			p, _ := start(t, r, func(c *webhook.Config) {
				if tc.timeout != 0 {
					c.Timeout = tc.timeout
				}
			})
			m := newMessage()
			a, _, err := send(p, m, 10*time.Second)
			if !isKind(err, tc.want) {
				t.Fatalf("Send: %v, want %v", err, tc.want)
			}
			checkSend(t, r, 0, m, tc.attempts, tc.delivered)
			if err != nil {
				return
			}
			want := map[string]string{"": "rcv-1", "=": m.ID}[tc.pid]
			if want == "" {
				want = tc.pid
			}
			if a.ProviderID != want || a.Status != sms.StatusPending {
				t.Fatalf("Accepted %+v, want ProviderID %q, pending", a, want)
			}
		})
	}
}

// TestRedirectNotFollowed: the target of a redirect sees nothing.
func TestRedirectNotFollowed(t *testing.T) {
	var hit atomic.Bool
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { hit.Store(true) }))
	t.Cleanup(target.Close)
	r := newReceiver(t, receiverOpts{})
	r.setFault(func(int) fault { return fault{status: http.StatusTemporaryRedirect, location: target.URL} })
	p, lb := start(t, r, nil)
	_, _, err := send(p, newMessage(), 5*time.Second)
	if !isKind(err, sms.ErrUnavailable) {
		t.Fatalf("Send to a redirect: %v, want ErrUnavailable", err)
	}
	if hit.Load() {
		t.Fatal("the redirect was followed")
	}
	if !strings.Contains(lb.String(), "redirect") {
		t.Fatalf("the log does not say the URL redirects:\n%s", lb)
	}
}

// TestSlowEndpoint: an endpoint slower than the per-attempt timeout on
// every attempt is retried, then reported unavailable, within the
// caller's deadline; nothing is delivered (the receiver gives up on a
// request its client left).
func TestSlowEndpoint(t *testing.T) {
	const timeout = 500 * time.Millisecond
	cases := []struct {
		name     string
		retries  int
		deadline time.Duration
		most     int // attempts at the most
	}{
		{"retries spent", 2, 5 * time.Second, 3},
		{"deadline first", 10, 1500 * time.Millisecond, 4},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := newReceiver(t, receiverOpts{})
			r.setFault(func(int) fault { return fault{before: 4 * timeout} })
			p, _ := start(t, r, func(c *webhook.Config) { c.Timeout, c.Retries = timeout, tc.retries })
			m := newMessage()
			_, took, err := send(p, m, tc.deadline)
			if !isKind(err, sms.ErrUnavailable) {
				t.Fatalf("Send to a slow endpoint: %v, want ErrUnavailable", err)
			}
			if took > tc.deadline+500*time.Millisecond {
				t.Fatalf("Send took %v, past its deadline %v", took, tc.deadline)
			}
			if want := time.Duration(tc.retries+1) * timeout; tc.most == tc.retries+1 && took < want {
				t.Fatalf("%d attempts of %v took %v", tc.most, timeout, took)
			}
			checkSendBetween(t, r, 0, m, 2, tc.most, 0)
		})
	}
}

// TestSlowFirstAttempt: the first attempt reaches the receiver, which
// delivers but answers after the timeout; the retry with the same
// webhook-id is deduped: one message, accepted, the receiver's id.
func TestSlowFirstAttempt(t *testing.T) {
	t.Parallel()
	r := newReceiver(t, receiverOpts{})
	r.setFault(func(n int) fault {
		if n == 1 {
			return fault{after: 3 * time.Second}
		}
		return fault{}
	})
	p, _ := start(t, r, func(c *webhook.Config) { c.Timeout = time.Second })
	m := newMessage()
	a, _, err := send(p, m, 10*time.Second)
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	checkSend(t, r, 0, m, 2, 1)
	if a.ProviderID != "rcv-1" {
		t.Fatalf("ProviderID %q, want the receiver's id of the first delivery", a.ProviderID)
	}
}

// TestTimeout: a receiver that never answers costs one timeout per attempt
// and ends in ErrUnavailable wrapping the deadline.
func TestTimeout(t *testing.T) {
	t.Parallel()
	const timeout = 500 * time.Millisecond
	r := newReceiver(t, receiverOpts{})
	r.setFault(func(int) fault { return fault{hang: true} })
	p, _ := start(t, r, func(c *webhook.Config) { c.Timeout, c.Retries = timeout, 1 })
	m := newMessage()
	_, took, err := send(p, m, 10*time.Second)
	if !isKind(err, sms.ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Send to a hung receiver: %v, want ErrUnavailable and DeadlineExceeded", err)
	}
	if took < 2*timeout || took > 2*timeout+2*time.Second {
		t.Fatalf("two attempts took %v, want about %v", took, 2*timeout)
	}
	checkSendBetween(t, r, 0, m, 1, 2, 0)
}

func fixed(v string) func() string { return func() string { return v } }

// inSeconds is a Retry-After date s seconds from when it is made.
func inSeconds(s int) func() string {
	return func() string { return time.Now().Add(time.Duration(s) * time.Second).UTC().Format(http.TimeFormat) }
}

// TestRetryAfter: a Retry-After is waited for, unless it is too long or
// past the caller's deadline, which end the Send at once.
func TestRetryAfter(t *testing.T) {
	cases := []struct {
		name       string
		retryAfter func() string // the header, made when the receiver answers
		deadline   time.Duration
		want       error
		attempts   int
		minGap     time.Duration
	}{
		{"one second", fixed("1"), 10 * time.Second, nil, 2, 900 * time.Millisecond},
		{"an HTTP date", inSeconds(3), 10 * time.Second, nil, 2, 1900 * time.Millisecond}, // a date of whole seconds: 2 to 3 s
		{"too long", fixed("3600"), 10 * time.Second, sms.ErrUnavailable, 1, 0},
		{"past the deadline", fixed("5"), 2 * time.Second, sms.ErrUnavailable, 1, 0},
		{"malformed", fixed("soon"), 10 * time.Second, nil, 2, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := newReceiver(t, receiverOpts{})
			r.setFault(func(n int) fault {
				if n == 1 {
					return fault{status: http.StatusTooManyRequests, retryAfter: tc.retryAfter()}
				}
				return fault{}
			})
			p, _ := start(t, r, nil)
			m := newMessage()
			_, took, err := send(p, m, tc.deadline)
			if !isKind(err, tc.want) {
				t.Fatalf("Send: %v, want %v", err, tc.want)
			}
			delivered := 1
			if tc.want != nil {
				delivered = 0
				if took > time.Second {
					t.Fatalf("giving up took %v, want at once", took)
				}
			}
			as := checkSend(t, r, 0, m, tc.attempts, delivered)
			if len(as) == 2 && as[1].At.Sub(as[0].At) < tc.minGap {
				t.Fatalf("the retry came %v after a Retry-After, want at least %v", as[1].At.Sub(as[0].At), tc.minGap)
			}
		})
	}
}

// TestInvalidTLS: a receiver whose certificate the provider does not
// trust gets nothing: one connection, no request, ErrUnavailable, and the
// log says TLS.
func TestInvalidTLS(t *testing.T) {
	caCert, caKey := testCA(t)
	otherCert, otherKey, err := newCA("another CA")
	if err != nil {
		t.Fatal(err)
	}
	inAnHour := time.Now().Add(time.Hour)
	cases := []struct {
		name  string
		cert  func(t *testing.T) *tls.Config
		plain bool
		noCA  bool
	}{
		{name: "unknown CA", cert: func(t *testing.T) *tls.Config {
			return serverTLS(t, otherCert, otherKey, []string{"127.0.0.1"}, inAnHour)
		}},
		{name: "private CA without the CA file", noCA: true},
		{name: "wrong host", cert: func(t *testing.T) *tls.Config {
			return serverTLS(t, caCert, caKey, []string{"sms.example"}, inAnHour)
		}},
		{name: "expired", cert: func(t *testing.T) *tls.Config {
			return serverTLS(t, caCert, caKey, []string{"127.0.0.1"}, time.Now().Add(-time.Hour))
		}},
		{name: "no TLS at all", plain: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			o := receiverOpts{plain: tc.plain}
			if tc.cert != nil {
				o.cert = tc.cert(t)
			}
			r := newReceiver(t, o)
			p, lb := start(t, r, func(c *webhook.Config) {
				c.URL = strings.Replace(c.URL, "http://", "https://", 1)
				if tc.noCA {
					c.CAFile = ""
				}
			})
			m := newMessage()
			_, _, err := send(p, m, 5*time.Second)
			if !isKind(err, sms.ErrUnavailable) {
				t.Fatalf("Send to an untrusted receiver: %v, want ErrUnavailable", err)
			}
			checkSend(t, r, 0, m, 0, 0)
			if n := r.connections(); n != 1 {
				t.Fatalf("%d connections, want 1 (a TLS problem is not retried)", n)
			}
			if !strings.Contains(lb.String(), "TLS problem") {
				t.Fatalf("the log does not name a TLS problem:\n%s", lb)
			}
		})
	}
}

// TestWrongSecret: a receiver holding another secret refuses every
// request, which proves the signature is checked: ErrRejected, one
// attempt, nothing delivered, and the log points at the secret.
func TestWrongSecret(t *testing.T) {
	r := newReceiver(t, receiverOpts{secret: newSecret(t)})
	p, lb := start(t, r, nil)
	m := newMessage()
	_, _, err := send(p, m, 5*time.Second)
	if !isKind(err, sms.ErrRejected) {
		t.Fatalf("Send with the wrong secret: %v, want ErrRejected", err)
	}
	as := checkSend(t, r, 0, m, 1, 0)
	if len(as) == 1 && (as[0].Verified || as[0].Status != http.StatusUnauthorized) {
		t.Fatalf("the receiver verified %v and answered %d, want a failed verification and 401", as[0].Verified, as[0].Status)
	}
	if !strings.Contains(lb.String(), "sms-webhook-secret") {
		t.Fatalf("the log does not point at the secret:\n%s", lb)
	}
}

// TestPlainHTTPLoopback: http:// is accepted for loopback hosts.
func TestPlainHTTPLoopback(t *testing.T) {
	for _, host := range []string{"127.0.0.1", "localhost"} {
		t.Run(host, func(t *testing.T) {
			r := newReceiver(t, receiverOpts{plain: true})
			p, _ := start(t, r, func(c *webhook.Config) { c.URL = strings.Replace(c.URL, "127.0.0.1", host, 1) })
			m := newMessage()
			if _, _, err := send(p, m, 5*time.Second); err != nil {
				t.Fatalf("Send over http to %s: %v", host, err)
			}
			checkSend(t, r, 0, m, 1, 1)
		})
	}
}

// TestClosed: Send after Close is unavailable and reaches nobody.
func TestClosed(t *testing.T) {
	r := newReceiver(t, receiverOpts{})
	p, _ := start(t, r, nil)
	p.Close()
	m := newMessage()
	if _, _, err := send(p, m, time.Second); !isKind(err, sms.ErrUnavailable) {
		t.Fatalf("Send after Close: %v, want ErrUnavailable", err)
	}
	checkSend(t, r, 0, m, 0, 0)
}

// TestBadMessageID: an id that cannot be a header is refused before any
// request.
func TestBadMessageID(t *testing.T) {
	r := newReceiver(t, receiverOpts{})
	p, _ := start(t, r, nil)
	for _, id := range []string{"", "a b", "a\r\nX-Injected: 1", strings.Repeat("x", 256), "验证"} {
		m := newMessage()
		m.ID = id
		if _, _, err := send(p, m, time.Second); !isKind(err, sms.ErrRejected) {
			t.Errorf("Send with id %q: %v, want ErrRejected", id, err)
		}
	}
	if n := r.mark(); n != 0 {
		t.Fatalf("the receiver got %d requests", n)
	}
}

// TestConfig: what New refuses.
func TestConfig(t *testing.T) {
	good := newSecret(t)
	cases := []struct {
		name string
		cfg  webhook.Config
		want string // part of the error
	}{
		{"no URL", webhook.Config{Secret: good}, "not an absolute URL"},
		{"relative URL", webhook.Config{URL: "/sms", Secret: good}, "not an absolute URL"},
		{"http to a remote host", webhook.Config{URL: "http://sms.example/hook", Secret: good}, "plain http"},
		{"http to a private address", webhook.Config{URL: "http://10.0.0.1/hook", Secret: good}, "plain http"},
		{"ftp", webhook.Config{URL: "ftp://sms.example/hook", Secret: good}, "scheme"},
		{"credentials in the URL", webhook.Config{URL: "https://u:p@sms.example/hook", Secret: good}, "credentials"},
		{"no secret", webhook.Config{URL: "https://sms.example/hook"}, webhook.SecretEnv},
		{"secret without prefix", webhook.Config{URL: "https://sms.example/hook", Secret: strings.TrimPrefix(good, "whsec_")}, "whsec_"},
		{"secret not base64", webhook.Config{URL: "https://sms.example/hook", Secret: "whsec_!!!"}, "base64"},
		{"secret too short", webhook.Config{URL: "https://sms.example/hook", Secret: "whsec_c2hvcnQ="}, "at least 24"},
		{"negative timeout", webhook.Config{URL: "https://sms.example/hook", Secret: good, Timeout: -time.Second}, "negative"},
		{"negative retries", webhook.Config{URL: "https://sms.example/hook", Secret: good, Retries: -1}, "retries"},
		{"too many retries", webhook.Config{URL: "https://sms.example/hook", Secret: good, Retries: webhook.MaxRetries + 1}, "retries"},
		{"missing CA file", webhook.Config{URL: "https://sms.example/hook", Secret: good, CAFile: t.TempDir() + "/none.pem"}, "CA file"},
		{"CA file without PEM", webhook.Config{URL: "https://sms.example/hook", Secret: good, CAFile: "webhook.go"}, "no PEM"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, err := webhook.New(tc.cfg)
			if err == nil {
				p.Close()
				t.Fatalf("New accepted %+v", tc.cfg)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New: %v, want it to mention %q", err, tc.want)
			}
			if tc.cfg.Secret != "" && strings.Contains(err.Error(), tc.cfg.Secret) {
				t.Fatalf("the error shows the secret: %v", err)
			}
		})
	}
}

// TestFlags builds the provider as serve does: its flags on the command's
// flag set, the secret from the environment.
func TestFlags(t *testing.T) {
	r := newReceiver(t, receiverOpts{})
	t.Setenv(webhook.SecretEnv, r.secret)
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	build := sms.Flags(fs)
	err := fs.Parse([]string{"-sms-webhook-url", r.URL(), "-sms-webhook-ca-file", caFile(t), "-sms-webhook-timeout", "2s", "-sms-webhook-retries", "1"})
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"sms-webhook-timeout": "5s", "sms-webhook-retries": "3", "sms-webhook-secret": ""} {
		if got := fs.Lookup(name).DefValue; got != want {
			t.Errorf("--%s defaults to %q, want %q", name, got, want)
		}
	}
	p, err := build(context.Background(), webhook.Name, sms.Env{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	m := newMessage()
	if _, _, err := send(p, m, 5*time.Second); err != nil {
		t.Fatalf("Send: %v", err)
	}
	checkSend(t, r, 0, m, 1, 1)
}
