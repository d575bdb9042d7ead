package e2e

import (
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/numauth/numauth/examples/camara-client/rp"
	"github.com/numauth/numauth/test/harness"
)

// TestCamaraBrowser does CAMARA's network-based authentication the way a
// phone's browser does: Chromium opens the relying party of
// examples/camara-client (on its own loopback port), which sends it to
// numauth's authorization endpoint; numauth identifies the line from the
// browser's connection and redirects it back to the relying party's
// callback, which exchanges the code (private_key_jwt) and calls /verify.
//
// Chromium cannot choose its source address, so the Wi-Fi case runs a
// numauth whose sandbox maps another address and not the browser's.
func TestCamaraBrowser(t *testing.T) {
	needBrowser(t)
	for _, c := range []struct {
		name, subscriber string
		want             string // in the relying party's result
		wantURL          string // in the browser's final URL
	}{
		{"Cellular", "127.0.0.1=" + lineNumber, "PASS: this is the phone's number (+86" + lineNumber + ", devicePhoneNumberVerified: true)", "/callback?"},
		{"WiFi", "127.0.0.9=" + lineNumber, "error=access_denied", "error=access_denied"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			in := harness.Start(t, harness.Options{Args: []string{"--sandbox-subscriber", c.subscriber}})
			rpURL, outcomes := serveCamaraRP(t, in, "+86"+lineNumber)
			tb := openTab(t, rpURL)
			got := poll[string](tb, `document.getElementById("result")?.textContent`)
			if !strings.Contains(got, c.want) {
				t.Errorf("the relying party shows %q, want %q", got, c.want)
			}
			if u := eval[string](tb, `location.href`); !strings.HasPrefix(u, rpURL) || !strings.Contains(u, c.wantURL) {
				t.Errorf("the browser ended at %s, want the relying party's callback with %q", u, c.wantURL)
			}
			if n := outcomes(); n != 1 {
				t.Errorf("the relying party's callback was reached %d times, want once", n)
			}
		})
	}
}

// serveCamaraRP registers a private_key_jwt client with numauth and serves
// the example's relying party for it on a new loopback port, verifying
// phone; it returns the page that starts a verification and the count of
// callbacks it got so far.
func serveCamaraRP(t *testing.T, in *harness.Instance, phone string) (string, func() int) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String() + "/"
	key, err := harness.ClientKey()
	if err != nil {
		t.Fatal(err)
	}
	jwks, err := rp.JWKS(key)
	if err != nil {
		t.Fatal(err)
	}
	jwksFile := filepath.Join(t.TempDir(), "jwks.json")
	if err := os.WriteFile(jwksFile, jwks, 0o600); err != nil {
		t.Fatal(err)
	}
	kid, err := rp.KeyID(key)
	if err != nil {
		t.Fatal(err)
	}
	id, _ := in.CreateCamaraClient(t, base+"callback", "--jwks-file", jwksFile)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	client, err := rp.New(ctx, rp.Config{
		Issuer: in.CamaraIssuer(), APIRoot: in.CamaraIssuer(), ClientID: id,
		RedirectURL: base + "callback", Key: key, KeyID: kid,
	})
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu sync.Mutex
		n  int
	)
	h, err := client.Handler(phone, func(res rp.Result, err error) {
		mu.Lock()
		defer mu.Unlock()
		n++
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("relying party: %v", err)
		}
	}()
	t.Cleanup(func() { srv.Close(); <-done })
	return base, func() int { mu.Lock(); defer mu.Unlock(); return n }
}
