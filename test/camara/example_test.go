package camara

import (
	"bufio"
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/numauth/numauth/test/harness"
)

// TestCamaraClientExample builds examples/camara-client and runs it against
// numauth as its README says, with the test as the phone's browser: a
// private_key_jwt client registered with the JWKS the example prints
// verifies the line's number (PASS), a client_secret_basic client
// another number (REJECT), and a browser on Wi-Fi ends in access_denied.
func TestCamaraClientExample(t *testing.T) {
	in := startNumauth(t)
	dir := t.TempDir()
	bin := filepath.Join(dir, "camara-client")
	build := exec.Command("go", "build", "-o", bin, "./examples/camara-client")
	build.Dir = filepath.Join("..", "..")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./examples/camara-client: %v\n%s", err, out)
	}

	key, err := harness.ClientKey()
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(dir, "key.pem")
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	jwks := runExample(t, bin, nil, nil, "-client-key", keyFile, "-print-jwks")
	if jwks.err != nil {
		t.Fatalf("-print-jwks: %v\n%s", jwks.err, jwks.stderr)
	}
	jwksFile := filepath.Join(dir, "jwks.json")
	if err := os.WriteFile(jwksFile, []byte(jwks.stdout), 0o600); err != nil {
		t.Fatal(err)
	}

	register := func(redirect string, auth ...string) (id, secret string) {
		return in.CreateCamaraClient(t, redirect, auth...)
	}

	t.Run("PrivateKeyJWT", func(t *testing.T) {
		listen := harness.FreeAddr(t)
		id, _ := register("http://"+listen+"/callback", "--jwks-file", jwksFile)
		r := runExample(t, bin, browser(t, lineAddr), nil,
			"-issuer", in.CamaraIssuer(), "-client-id", id, "-client-key", keyFile, "-listen", listen, "-phone", linePhone)
		if r.err != nil || !strings.Contains(r.stdout, "devicePhoneNumberVerified: true") || !strings.Contains(r.page, "PASS") {
			t.Errorf("camara-client: %v\nstdout:\n%s\nstderr:\n%s\npage: %s", r.err, r.stdout, r.stderr, r.page)
		}
	})

	t.Run("ClientSecretBasic", func(t *testing.T) {
		listen := harness.FreeAddr(t)
		id, secret := register("http://"+listen+"/callback", "--secret")
		r := runExample(t, bin, browser(t, lineAddr), []string{"CAMARA_CLIENT_SECRET=" + secret},
			"-issuer", in.CamaraIssuer(), "-client-id", id, "-listen", listen, "-phone", otherPhone)
		if r.err != nil || !strings.Contains(r.stdout, "devicePhoneNumberVerified: false") || !strings.Contains(r.page, "REJECT") {
			t.Errorf("camara-client: %v\nstdout:\n%s\nstderr:\n%s\npage: %s", r.err, r.stdout, r.stderr, r.page)
		}
	})

	t.Run("WiFi", func(t *testing.T) {
		listen := harness.FreeAddr(t)
		id, _ := register("http://"+listen+"/callback", "--jwks-file", jwksFile)
		r := runExample(t, bin, browser(t, wifiAddr), nil,
			"-issuer", in.CamaraIssuer(), "-client-id", id, "-client-key", keyFile, "-listen", listen, "-phone", linePhone)
		var exit *exec.ExitError
		if !errors.As(r.err, &exit) || !strings.Contains(r.stderr, "error=access_denied") || !strings.Contains(r.page, "access_denied") {
			t.Errorf("camara-client from Wi-Fi: %v, want exit status 1 with error=access_denied\nstdout:\n%s\nstderr:\n%s\npage: %s", r.err, r.stdout, r.stderr, r.page)
		}
	})
}

// browser is the phone's browser for the example: from the source address
// ip, following every redirect.
func browser(t testing.TB, ip string) *http.Client {
	return &http.Client{Transport: fromAddr(t, ip), Timeout: 20 * time.Second}
}

type exampleRun struct {
	stdout, stderr string
	page           string // what the browser showed at the end
	err            error
}

// runExample runs the example with args; with a browser, it opens the
// first URL the example prints in it once printed.
func runExample(t testing.TB, bin string, b *http.Client, env []string, args ...string) exampleRun {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = io.MultiWriter(&stdout, pw), &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var (
		wg   sync.WaitGroup
		page string
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		sc := bufio.NewScanner(pr)
		opened := false
		for sc.Scan() {
			line := sc.Text()
			if b == nil || opened || !strings.HasPrefix(line, "http") {
				continue
			}
			opened = true
			res, err := b.Get(line)
			if err != nil {
				page = "browser: " + err.Error()
				continue
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			page = string(body)
		}
	}()
	err := cmd.Wait()
	pw.Close()
	wg.Wait()
	return exampleRun{stdout: stdout.String(), stderr: stderr.String(), page: page, err: err}
}
