// Package harness runs real numauth processes for whole-system tests: it
// builds the binary once per test process, starts instances on free
// loopback ports with their own data directories, waits until they are
// healthy, and stops or kills them.
package harness

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Test credentials every instance gets as its bootstrap AccessKey.
const (
	AccessKeyID     = "LTAI5tNumauthTest0001"
	AccessKeySecret = "numauth-test-secret-0123456789"
)

// MasterKey is a fixed master key (hex) so that instances sharing stores
// open each other's tokens.
const MasterKey = "6e756d617574682d746573742d6d61737465722d6b65792d3030303030303030"

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// Binary builds cmd/numauth once and returns its path. NUMAUTH_TEST_BINARY
// names a binary to test instead (a release build, or an older one to show
// that a regression test fails on it).
func Binary(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("NUMAUTH_TEST_BINARY"); p != "" {
		return p
	}
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "numauth-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "numauth")
		cmd := exec.Command("go", "build", "-o", binPath, "./cmd/numauth")
		cmd.Dir = repoRoot()
		out, err := cmd.CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// Options configure an instance.
type Options struct {
	DataDir string   // default: a fresh temp dir
	Args    []string // extra serve flags, e.g. --sandbox-subscriber, --store, --redis
	Env     []string // extra environment
	// Addr is the listen address (default: a free loopback port), for a
	// test that must name the instance's URL before it starts.
	Addr string
}

// Instance is one running numauth process.
type Instance struct {
	URL     string // http://127.0.0.1:PORT
	Addr    string
	DataDir string
	cmd     *exec.Cmd
	logs    *SyncBuffer
	done    chan struct{}
	t       testing.TB
}

// Start runs an instance and waits until /healthz answers. It is stopped
// (SIGTERM) when the test ends.
func Start(t testing.TB, o Options) *Instance {
	t.Helper()
	bin := Binary(t)
	if o.DataDir == "" {
		o.DataDir = t.TempDir()
	}
	addr := o.Addr
	if addr == "" {
		addr = FreeAddr(t)
	}
	args := append([]string{"serve", "--addr", addr, "--data-dir", o.DataDir, "--log-level", "warn"}, o.Args...)
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(),
		"NUMAUTH_BOOTSTRAP_ACCESS_KEY_ID="+AccessKeyID,
		"NUMAUTH_BOOTSTRAP_ACCESS_KEY_SECRET="+AccessKeySecret,
		"NUMAUTH_MASTER_KEY="+MasterKey,
	)
	cmd.Env = append(cmd.Env, o.Env...)
	logs := &SyncBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	in := &Instance{URL: "http://" + addr, Addr: addr, DataDir: o.DataDir, cmd: cmd, logs: logs, done: make(chan struct{}), t: t}
	go func() { cmd.Wait(); close(in.done) }()
	t.Cleanup(in.Stop)
	deadline := time.Now().Add(20 * time.Second)
	for {
		select {
		case <-in.done:
			t.Fatalf("numauth exited during start:\n%s", logs.String())
		default:
		}
		res, err := http.Get(in.URL + "/healthz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return in
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("numauth did not become healthy:\n%s", logs.String())
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// Stop sends SIGTERM and waits for the process to exit (graceful shutdown).
func (in *Instance) Stop() {
	select {
	case <-in.done:
		return
	default:
	}
	in.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-in.done:
	case <-time.After(30 * time.Second):
		in.cmd.Process.Kill()
		<-in.done
	}
}

// Kill sends SIGKILL (a crash) and waits for the process to be gone.
func (in *Instance) Kill() {
	in.cmd.Process.Kill()
	<-in.done
}

// Logs returns everything the instance printed so far.
func (in *Instance) Logs() string { return in.logs.String() }

// CLI runs a numauth subcommand against this instance's data directory and
// address and returns its standard output.
func (in *Instance) CLI(ctx context.Context, args ...string) (string, error) {
	full := append([]string{}, args...)
	full = append(full, "--data-dir", in.DataDir)
	if len(args) > 0 && args[0] == "sandbox" {
		full = append(full, "--addr", in.Addr)
	}
	cmd := exec.CommandContext(ctx, Binary(in.t), full...)
	cmd.Env = append(os.Environ(), "NUMAUTH_MASTER_KEY="+MasterKey)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("numauth %s: %v: %s", strings.Join(args, " "), err, errOut.String())
	}
	return out.String(), nil
}

// AdminToken returns the token that guards the instance's /admin/
// endpoints (the admin.token file serve writes into its data directory).
func (in *Instance) AdminToken(t testing.TB) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(in.DataDir, "admin.token"))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// SmsMessage is one text in the sandbox SMS provider's outbox.
type SmsMessage struct {
	ID           string `json:"id"`
	To           string `json:"to"` // E.164
	SignName     string `json:"signName"`
	TemplateCode string `json:"templateCode"`
	Text         string `json:"text"`
	CreatedAt    string `json:"createdAt"`
}

// Outbox returns the texts the sandbox SMS provider delivered to phone
// (any form the admin endpoint takes), newest first, read from
// GET /admin/v1/sms/outbox with the admin token.
func (in *Instance) Outbox(t testing.TB, phone string) []SmsMessage {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, in.URL+"/admin/v1/sms/outbox?"+url.Values{"phone": {phone}}.Encode(), nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+in.AdminToken(t))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("outbox: %v", err)
	}
	defer res.Body.Close()
	var out struct {
		Messages []SmsMessage `json:"messages"`
	}
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("outbox: HTTP %d, %v", res.StatusCode, err)
	}
	return out.Messages
}

// FreeAddr returns a free loopback address.
func FreeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// SyncBuffer is a buffer that goroutines may write while another reads it
// (a child process's output, a logger's).
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
