package compat

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/dypnsapi"

	"github.com/numauth/numauth/test/harness"
)

// TestFirstCallExample builds examples/first-call, the README's first call,
// and runs it against a numauth instance as a reader would; the tokens it
// prints must open a gateway session for the page.
func TestFirstCallExample(t *testing.T) {
	in := start(t)
	bin := filepath.Join(t.TempDir(), "first-call")
	build := exec.Command("go", "build", "-o", bin, "./examples/first-call")
	build.Dir = filepath.Join("..", "..")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./examples/first-call: %v\n%s", err, out)
	}
	run := func(env []string, args ...string) (stdout, stderr string, err error) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, bin, args...)
		cmd.Env = append(os.Environ(), env...)
		var o, e bytes.Buffer
		cmd.Stdout, cmd.Stderr = &o, &e
		err = cmd.Run()
		return o.String(), e.String(), err
	}
	env := []string{
		"NUMAUTH_ENDPOINT=" + in.URL,
		"NUMAUTH_BOOTSTRAP_ACCESS_KEY_ID=" + harness.AccessKeyID,
		"NUMAUTH_BOOTSTRAP_ACCESS_KEY_SECRET=" + harness.AccessKeySecret,
	}

	out, errOut, err := run(env)
	if err != nil {
		t.Fatalf("first-call: %v\n%s%s", err, out, errOut)
	}
	first := printed(t, out)
	pg := newPage(t, in, "https://www.example.com") // the example's default page
	pg.session(dypnsapi.TokenInfo{AccessToken: first["AccessToken"], JwtToken: first["JwtToken"]}, "verify")

	// Again with the scheme it made; flags win over the environment.
	out, errOut, err = run(append(env, "NUMAUTH_ENDPOINT=http://127.0.0.1:1"), "-endpoint", in.URL, "-scheme-code", first["SchemeCode"])
	if err != nil {
		t.Fatalf("first-call -scheme-code: %v\n%s%s", err, out, errOut)
	}
	if again := printed(t, out); again["SchemeCode"] != first["SchemeCode"] || again["AccessToken"] == first["AccessToken"] {
		t.Errorf("second run printed %v, want the same scheme and fresh tokens", again)
	}

	for _, c := range []struct {
		name string
		env  []string
		want string
	}{
		{"wrong secret", append(env, "NUMAUTH_BOOTSTRAP_ACCESS_KEY_SECRET=wrong-secret-0123456789"), "SignatureDoesNotMatch"},
		{"no key", []string{"NUMAUTH_ENDPOINT=" + in.URL, "NUMAUTH_BOOTSTRAP_ACCESS_KEY_ID=", "NUMAUTH_BOOTSTRAP_ACCESS_KEY_SECRET="}, "NUMAUTH_BOOTSTRAP_ACCESS_KEY_ID"},
		{"bad endpoint", append(env, "NUMAUTH_ENDPOINT=127.0.0.1:8080"), "want http://host:port"},
	} {
		out, errOut, err := run(c.env)
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 1 || !strings.Contains(errOut, c.want) {
			t.Errorf("%s: %v, stderr %q, want exit status 1 mentioning %q (stdout %q)", c.name, err, errOut, c.want, out)
		}
	}
}

// printed parses the "Name: value" lines the example prints.
func printed(t testing.TB, out string) map[string]string {
	t.Helper()
	m := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && !strings.Contains(k, " ") {
			m[k] = strings.TrimSpace(v)
		}
	}
	for _, k := range []string{"SchemeCode", "AccessToken", "JwtToken"} {
		if m[k] == "" {
			t.Fatalf("first-call printed no %s:\n%s", k, out)
		}
	}
	return m
}
