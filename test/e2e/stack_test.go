package e2e

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/numauth/numauth/examples/h5-demo/demo"
	"github.com/numauth/numauth/test/harness"
)

// stack is one numauth process whose sandbox carrier maps the browser's
// address (127.0.0.1) to phone, or to no line when phone is "" (the browser
// is on Wi-Fi), and the demo integrator server registered with it, on its
// own loopback port.
type stack struct {
	numauth *harness.Instance
	pageURL string // the demo page: http://127.0.0.1:PORT/
	phone   string
}

// startStack starts numauth, with serve's flags args, and the demo server
// for the test (stopped when it ends).
func startStack(t *testing.T, phone string, args ...string) *stack {
	t.Helper()
	if phone != "" {
		args = append([]string{"--sandbox-subscriber", "127.0.0.1=" + phone}, args...)
	}
	in := harness.Start(t, harness.Options{Args: args})
	d, _ := serveDemo(t, in.URL, "")
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	code, err := d.EnsureScheme(ctx)
	if err != nil {
		t.Fatalf("demo: %v", err)
	}
	if code == "" {
		t.Fatalf("demo: a fresh numauth already had a scheme for %s", d.PageURL())
	}
	// A second start finds the scheme working and creates none.
	if again, err := d.EnsureScheme(ctx); err != nil || again != "" {
		t.Fatalf("demo: EnsureScheme again = %q, %v; want \"\", nil", again, err)
	}
	return &stack{numauth: in, pageURL: d.PageURL(), phone: phone}
}

// serveDemo runs a demo integrator server against numauth on a new loopback
// port and returns it and the URL it is reached at. publicURL is the page
// URL it claims (what GetAuthToken names); "" means its own. The server's
// log goes to the test log if the test fails.
func serveDemo(t *testing.T, numauth, publicURL string, frameSources ...string) (*demo.Server, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	own := "http://" + ln.Addr().String() + "/"
	if publicURL == "" {
		publicURL = own
	}
	logs := &lockedBuffer{}
	d, err := demo.New(demo.Config{
		Numauth: numauth, PublicURL: publicURL,
		AccessKeyID: harness.AccessKeyID, AccessKeySecret: harness.AccessKeySecret, FrameSources: frameSources,
		Logger: slog.New(slog.NewTextHandler(logs, nil)),
	})
	if err != nil {
		ln.Close()
		t.Fatal(err)
	}
	srv := &http.Server{Handler: d, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("demo server: %v", err)
		}
	}()
	t.Cleanup(func() {
		srv.Close()
		<-done
		if t.Failed() {
			t.Logf("demo server log (%s):\n%s", ln.Addr(), logs.String())
		}
	})
	return d, own
}

// cli runs a numauth subcommand against the stack's instance.
func (s *stack) cli(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := s.numauth.CLI(ctx, args...)
	if err != nil {
		t.Fatalf("%v\nnumauth log:\n%s", err, s.numauth.Logs())
	}
	return out
}

// setFault sets the faults of operator op (no flags: clears them) and
// clears them again when the test ends.
func (s *stack) setFault(t *testing.T, op string, flags ...string) {
	t.Helper()
	s.cli(t, append([]string{"sandbox", "faults", "set", op}, flags...)...)
	t.Cleanup(func() { s.cli(t, "sandbox", "faults", "set", op) })
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
