// Package operator runs a test CAMARA operator for the camara carrier adapter's tests: an
// OpenID provider built on the npm package oidc-provider (an OpenID Certified implementation
// this project did not write) that authenticates a phone by its network line, and the CAMARA
// Number Verification API v2 beside it. The operator is server.mjs in this directory; Start
// runs it with node and drives its test admin API. See README.md.
package operator

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// Client is an OAuth client registered at the operator.
type Client struct {
	ID           string
	Secret       string          // client_secret_basic when set
	JWKS         json.RawMessage // public JWKS for private_key_jwt when Secret == ""
	RedirectURIs []string
}

// Options configure an operator.
type Options struct {
	Clients        []Client
	Lines          map[string]string // source address ("127.0.0.1") → E.164
	SingleUse      bool              // access tokens serve one NV call
	AccessTokenTTL time.Duration     // 0: 300 s; rounded up to whole seconds
}

// Fault makes an endpoint fail or answer late.
type Fault struct {
	Endpoint string        // "discovery", "jwks", "authorize", "token", "verify", "device-phone-number"
	Status   int           // 0: no error status, only the delay
	Delay    time.Duration // before the answer (the error, or the normal answer when Status is 0)
	Count    int           // 0: until ClearFaults
	// Code replaces the ErrorInfo code of the answer's body, e.g. "QUOTA_EXCEEDED" for a 429
	// (the default is the status's usual code: TOO_MANY_REQUESTS, INTERNAL, UNAVAILABLE...).
	Code string
}

// Call is one Number Verification request the operator answered.
type Call struct {
	Path, Correlator string
	Hashed           bool   // the body carried hashedPhoneNumber
	Number           string // the phoneNumber sent, masked ("+86*********00"); "" otherwise
	Status           int    // the answer's HTTP status
}

// Server is a running operator.
type Server struct {
	Issuer  string // http://127.0.0.1:PORT, the OpenID issuer
	APIRoot string // the NV API is at APIRoot+"/number-verification/v2"

	adminToken string
	http       *http.Client
}

// Start runs an operator with node and stops it when the test ends. It skips the test when
// node is not on PATH or test/operator has no node_modules.
func Start(t testing.TB, o Options) *Server {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not on PATH: skipping the test CAMARA operator (test/operator needs Node.js 20.19 or later)")
	}
	dir, err := sourceDir()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "oidc-provider", "package.json")); err != nil {
		t.Skip("test/operator has no node_modules: run `npm --prefix test/operator ci --ignore-scripts` to run the test CAMARA operator")
	}

	token := make([]byte, 24)
	if _, err := rand.Read(token); err != nil {
		t.Fatal(err)
	}
	s := &Server{adminToken: hex.EncodeToString(token), http: &http.Client{Timeout: 10 * time.Second}}
	cfgFile := filepath.Join(t.TempDir(), "operator.json")
	cfg, err := json.Marshal(s.config(o))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfgFile, cfg, 0o600); err != nil {
		t.Fatal(err)
	}

	cmd := exec.Command(node, filepath.Join(dir, "server.mjs"), "--config", cfgFile, "--exit-with-stdin")
	cmd.Dir = dir
	// The operator exits when this pipe closes, so it cannot outlive a test binary that dies.
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	output := &syncBuffer{}
	cmd.Stderr = output
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	listening := make(chan string, 1)
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			line := sc.Text()
			output.WriteString(line + "\n")
			if issuer, ok := strings.CutPrefix(line, "listening "); ok {
				select {
				case listening <- issuer:
				default:
				}
			}
		}
		io.Copy(io.Discard, stdout)
	}()
	exited := make(chan struct{})
	var waitErr error
	go func() {
		<-copied
		waitErr = cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		stdin.Close()
		cmd.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("test operator output:\n%s", output.String())
		}
	})

	select {
	case s.Issuer = <-listening:
	case <-exited:
		t.Fatalf("test operator exited before listening (%v):\n%s", waitErr, output.String())
	case <-time.After(20 * time.Second):
		t.Fatalf("test operator did not print its listening line in 20 s:\n%s", output.String())
	}
	s.APIRoot = s.Issuer
	return s
}

// sourceDir is this package's directory: beside this file when the source is where it was
// compiled, else test/operator under the module root found from the working directory.
func sourceDir() (string, error) {
	if _, file, _, ok := runtime.Caller(0); ok {
		dir := filepath.Dir(file)
		if _, err := os.Stat(filepath.Join(dir, "server.mjs")); err == nil {
			return dir, nil
		}
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := wd; ; d = filepath.Dir(d) {
		if b, err := os.ReadFile(filepath.Join(d, "go.mod")); err == nil && bytes.Contains(b, []byte("module github.com/numauth/numauth\n")) {
			dir := filepath.Join(d, "test", "operator")
			if _, err := os.Stat(filepath.Join(dir, "server.mjs")); err != nil {
				return "", fmt.Errorf("test operator: %v", err)
			}
			return dir, nil
		}
		if filepath.Dir(d) == d {
			return "", errors.New("test operator: server.mjs not found beside operator.go nor under the module root")
		}
	}
}

// config is the JSON configuration server.mjs reads (see README.md).
func (s *Server) config(o Options) map[string]any {
	clients := make([]map[string]any, 0, len(o.Clients))
	for _, c := range o.Clients {
		m := map[string]any{"client_id": c.ID, "redirect_uris": c.RedirectURIs}
		if c.Secret != "" {
			m["client_secret"] = c.Secret
			m["token_endpoint_auth_method"] = "client_secret_basic"
		} else {
			m["jwks"] = c.JWKS
			m["token_endpoint_auth_method"] = "private_key_jwt"
		}
		clients = append(clients, m)
	}
	lines := o.Lines
	if lines == nil {
		lines = map[string]string{}
	}
	ttl := 300
	if o.AccessTokenTTL > 0 {
		ttl = int((o.AccessTokenTTL + time.Second - 1) / time.Second)
	}
	return map[string]any{
		"adminToken":            s.adminToken,
		"clients":               clients,
		"lines":                 lines,
		"singleUseAccessTokens": o.SingleUse,
		"accessTokenTTL":        ttl,
	}
}

// SetLine maps a source address to a phone number; phone "" removes the line.
func (s *Server) SetLine(t testing.TB, addr, phone string) {
	t.Helper()
	s.admin(t, http.MethodPost, "/test/lines", map[string]any{"address": addr, "phone": phone}, nil)
}

// SetDenyError sets the OAuth error an unknown line gets (default access_denied).
func (s *Server) SetDenyError(t testing.TB, oauthError string) {
	t.Helper()
	s.admin(t, http.MethodPost, "/test/deny-error", map[string]any{"error": oauthError}, nil)
}

// SetFault makes f.Endpoint fail or answer late, replacing that endpoint's earlier fault.
func (s *Server) SetFault(t testing.TB, f Fault) {
	t.Helper()
	body := map[string]any{
		"endpoint": f.Endpoint,
		"status":   f.Status,
		"delayMs":  f.Delay.Milliseconds(),
		"count":    f.Count,
	}
	if f.Code != "" {
		body["code"] = f.Code
	}
	s.admin(t, http.MethodPost, "/test/faults", body, nil)
}

// ClearFaults removes every fault.
func (s *Server) ClearFaults(t testing.TB) {
	t.Helper()
	s.admin(t, http.MethodDelete, "/test/faults", nil, nil)
}

// RotateKeys replaces the signing key: a new RSA key with a new kid signs from now on and the
// JWKS holds only it. Codes and tokens issued before stay valid.
func (s *Server) RotateKeys(t testing.TB) {
	t.Helper()
	s.admin(t, http.MethodPost, "/test/keys/rotate", nil, nil)
}

// SetNetworkAuthenticated false makes every NV call answer 403
// NUMBER_VERIFICATION.USER_NOT_AUTHENTICATED_BY_MOBILE_NETWORK; true restores normal answers.
func (s *Server) SetNetworkAuthenticated(t testing.TB, ok bool) {
	t.Helper()
	s.admin(t, http.MethodPost, "/test/network-authenticated", map[string]any{"authenticated": ok}, nil)
}

// Calls returns the log of NV calls, oldest first.
func (s *Server) Calls(t testing.TB) []Call {
	t.Helper()
	var out struct {
		Calls []struct {
			Path       string `json:"path"`
			Correlator string `json:"correlator"`
			Hashed     bool   `json:"hashed"`
			Number     string `json:"number"`
			Status     int    `json:"status"`
		} `json:"calls"`
	}
	s.admin(t, http.MethodGet, "/test/calls", nil, &out)
	calls := make([]Call, len(out.Calls))
	for i, c := range out.Calls {
		calls[i] = Call{Path: c.Path, Correlator: c.Correlator, Hashed: c.Hashed, Number: c.Number, Status: c.Status}
	}
	return calls
}

func (s *Server) admin(t testing.TB, method, path string, body, out any) {
	t.Helper()
	raw, err := s.adminRaw(method, path, body)
	if err != nil {
		t.Fatalf("test operator %s %s: %v", method, path, err)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("test operator %s %s: %v in %s", method, path, err, raw)
		}
	}
}

// adminRaw calls the admin API and returns the answer's body.
func (s *Server) adminRaw(method, path string, body any) ([]byte, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, s.Issuer+path, rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+s.adminToken)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := s.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		return nil, err
	}
	if res.StatusCode/100 != 2 {
		return nil, fmt.Errorf("%s: %s", res.Status, raw)
	}
	return raw, nil
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) WriteString(s string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.WriteString(s)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
