package security

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/numauth/numauth/internal/rpcclient"
	"github.com/numauth/numauth/test/harness"
)

// The sandbox line every server knows: gateway calls from 127.0.0.1 come
// over this China Mobile number's data session. Calls from otherSource
// (another loopback address) come from no known line.
const (
	phone       = "13800138000"
	otherSource = "127.0.0.2"
)

// callTimeout bounds every HTTP call a test makes.
const callTimeout = 15 * time.Second

// backend is a combination of stores a server can run on.
type backend struct {
	name string
	// stores returns fresh, isolated stores for one server, or skips t.
	stores func(t *testing.T) stores
}

// stores are one server's stores; empty fields mean the local defaults
// (SQLite in the data directory, the in-process ephemeral store).
type stores struct {
	postgresDSN string // the server's own database
	redisURL    string
	redisPrefix string // the server's own key prefix
}

// args are the serve (and operator command) flags that select the stores.
func (s stores) args() []string {
	var a []string
	if s.postgresDSN != "" {
		a = append(a, "--store", s.postgresDSN)
	}
	if s.redisURL != "" {
		a = append(a, "--redis", s.redisURL, "--redis-prefix", s.redisPrefix)
	}
	return a
}

var (
	local    = backend{name: "sqlite+memory", stores: func(*testing.T) stores { return stores{} }}
	scaleOut = backend{name: "postgres+redis", stores: func(t *testing.T) stores {
		dsn := harness.FreshDatabase(t, "numauth_security")
		u := harness.RedisURL(t, "NUMAUTH_TEST_SECURITY_REDIS", "redis://127.0.0.1:6379/12")
		return stores{postgresDSN: dsn, redisURL: u, redisPrefix: harness.FreshRedisPrefix(t, u, "numauth-security")}
	}}
)

// forEachBackend runs f as a subtest per backend: SQLite + memory always,
// PostgreSQL + Redis when both are reachable (skipped with the reason
// otherwise).
func forEachBackend(t *testing.T, f func(t *testing.T, b backend)) {
	for _, b := range []backend{local, scaleOut} {
		t.Run(b.name, func(t *testing.T) { f(t, b) })
	}
}

// server is one running numauth and the stores it runs on.
type server struct {
	*harness.Instance
	stores stores
	t      *testing.T
}

// serverOptions shape startServer; the zero value is a server with the
// sandbox line of phone at 127.0.0.1 and fresh stores.
type serverOptions struct {
	Args    []string // extra serve flags
	Env     []string // extra environment
	DataDir string   // default: a fresh temporary directory
	Stores  *stores  // default: fresh stores of the backend (reuse one to restart a server on its data)
}

// startServer starts numauth on backend b, waits until it is healthy and
// stops it when the test ends; its log is printed if the test failed.
func startServer(t *testing.T, b backend, o serverOptions) *server {
	t.Helper()
	st := o.Stores
	if st == nil {
		s := b.stores(t)
		st = &s
	}
	args := append(append([]string{"--sandbox-subscriber", "127.0.0.1=" + phone}, st.args()...), o.Args...)
	in := harness.Start(t, harness.Options{DataDir: o.DataDir, Args: args, Env: o.Env})
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("numauth log (%s, %s):\n%s", b.name, in.URL, in.Logs())
		}
	})
	return &server{Instance: in, stores: *st, t: t}
}

// cli runs a numauth operator command on the server's stores.
func (s *server) cli(ctx context.Context, args ...string) (string, error) {
	return s.CLI(ctx, append(args, s.stores.args()...)...)
}

// client returns a client of the server with the bootstrap AccessKey whose
// connections come from source ("" for the default, 127.0.0.1).
func (s *server) client(source string) *rpcclient.Client {
	return &rpcclient.Client{Endpoint: s.URL, AccessKeyID: harness.AccessKeyID, Secret: harness.AccessKeySecret,
		HTTP: httpClient(source)}
}

// call makes a V1-signed RPC call from 127.0.0.1. The error is a transport
// failure or an answer that is not JSON; an answer with any Code is a
// Result.
func (s *server) call(ctx context.Context, action string, params map[string]string) (rpcclient.Result, error) {
	return s.client("").Call(ctx, action, params)
}

// callFrom makes the call from another loopback source address.
func (s *server) callFrom(ctx context.Context, source, action string, params map[string]string) (rpcclient.Result, error) {
	return s.client(source).Call(ctx, action, params)
}

// mustCall makes the call and fails the test unless it answers OK.
func (s *server) mustCall(ctx context.Context, action string, params map[string]string) rpcclient.Result {
	s.t.Helper()
	r, err := s.call(ctx, action, params)
	if err != nil || r.Code != "OK" {
		s.t.Fatalf("%s(%v) = HTTP %d %s %v, %v", action, params, r.Status, r.Code, r.Body["Message"], err)
	}
	return r
}

// scheme registers an H5 scheme for origin with page URL u and returns its
// code, failing the test unless that works; extra adds or overrides
// CreateVerifyScheme parameters.
func (s *server) scheme(ctx context.Context, origin, u string, extra map[string]string) string {
	s.t.Helper()
	p := map[string]string{"SchemeName": "security-" + randomHex(4), "AppName": "security test", "OsType": "H5",
		"Origin": origin, "Url": u}
	for k, v := range extra {
		p[k] = v
	}
	code := s.mustCall(ctx, "CreateVerifyScheme", p).Get("GateVerifySchemeDTO", "SchemeCode")
	if code == "" {
		s.t.Fatal("CreateVerifyScheme answered OK without a SchemeCode")
	}
	return code
}

// gatewayAnswer is a gateway call's answer.
type gatewayAnswer struct {
	Status int
	Header http.Header
	Body   map[string]any // the JSON body; nil if it was not JSON
	Raw    []byte
}

// code is the gateway code of the answer ("" if none).
func (a gatewayAnswer) code() string { s, _ := a.Body["code"].(string); return s }

// field is a string field of the answer's body.
func (a gatewayAnswer) field(k string) string { s, _ := a.Body[k].(string); return s }

// gateway calls the H5 gateway as a page's browser would: method on
// /h5/v1/{op} with the page's Origin ("" for none) and body as JSON (nil:
// no body), from source ("" for 127.0.0.1, the sandbox line).
func (s *server) gateway(ctx context.Context, source, method, op, origin string, body any) gatewayAnswer {
	s.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			s.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, s.URL+"/h5/v1/"+op, rd)
	if err != nil {
		s.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	res, err := httpClient(source).Do(req)
	if err != nil {
		s.t.Fatalf("%s /h5/v1/%s: %v", method, op, err)
	}
	defer res.Body.Close()
	a := gatewayAnswer{Status: res.StatusCode, Header: res.Header}
	if a.Raw, err = io.ReadAll(io.LimitReader(res.Body, 1<<20)); err != nil {
		s.t.Fatalf("%s /h5/v1/%s: %v", method, op, err)
	}
	if json.Unmarshal(a.Raw, &a.Body) != nil {
		a.Body = nil
	}
	return a
}

// session runs GetAuthToken for the page (origin, u) and scheme, from
// source, and the gateway's check from the page (with gatewayOrigin as its
// Origin); it returns the gateway session of kind "verify" or "login".
func (s *server) session(ctx context.Context, source, scheme, origin, u, gatewayOrigin, kind string) (string, error) {
	r, err := s.callFrom(ctx, source, "GetAuthToken", map[string]string{"Url": u, "Origin": origin, "SceneCode": scheme,
		"BizType": map[string]string{"verify": "0", "login": "1"}[kind]})
	if err != nil {
		return "", err
	}
	if r.Code != "OK" {
		return "", fmt.Errorf("GetAuthToken: HTTP %d %s: %v", r.Status, r.Code, r.Body["Message"])
	}
	a := s.gateway(ctx, "", http.MethodPost, "check", gatewayOrigin, map[string]string{
		"accessToken": r.Get("TokenInfo", "AccessToken"), "jwtToken": r.Get("TokenInfo", "JwtToken"), "kind": kind})
	if a.code() != "OK" {
		return "", fmt.Errorf("gateway check with Origin %s: HTTP %d %s %s", gatewayOrigin, a.Status, a.code(), a.field("msg"))
	}
	return a.field("session"), nil
}

var (
	clientsMu sync.Mutex
	clients   = map[string]*http.Client{}
)

// httpClient returns a client whose connections come from source ("": the
// system's choice, 127.0.0.1 for a loopback server).
func httpClient(source string) *http.Client {
	clientsMu.Lock()
	defer clientsMu.Unlock()
	if c, ok := clients[source]; ok {
		return c
	}
	d := &net.Dialer{Timeout: 5 * time.Second}
	if source != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(source)}
	}
	c := &http.Client{Timeout: callTimeout, Transport: &http.Transport{Proxy: nil, DialContext: d.DialContext,
		MaxIdleConnsPerHost: 32, IdleConnTimeout: 30 * time.Second}}
	clients[source] = c
	return c
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// countLines counts the lines of out that contain sub.
func countLines(out, sub string) int {
	n := 0
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, sub) {
			n++
		}
	}
	return n
}
