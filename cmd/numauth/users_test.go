package main

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

func runUsers(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), append([]string{"users"}, args...), &stdout, &stderr)
	return exitStatus(err, &stderr), stdout.String(), stderr.String()
}

var passwordLine = regexp.MustCompile(`(?m)^Password: (\S{20,})$`)

func signInStatus(t *testing.T, base, user, pw string) int {
	t.Helper()
	b, _ := json.Marshal(map[string]string{"user": user, "password": pw})
	resp, err := http.Post(base+"/admin/v1/session", "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestUsersCommand: users made on the stores and through a running server
// (--server, with the admin token of the data directory) sign in to that
// server; the bootstrap console user exists from the start.
func TestUsersCommand(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("NUMAUTH_BOOTSTRAP_CONSOLE_USER", "boot")
	t.Setenv("NUMAUTH_BOOTSTRAP_CONSOLE_PASSWORD", "bootstrap-password-1")
	status, out, errOut := runUsers(t, "create", "ann", "--role", "admin", "--data-dir", dir)
	m := passwordLine.FindStringSubmatch(out)
	if status != 0 || m == nil || !strings.Contains(errOut, "will not show it again") {
		t.Fatalf("users create: %d %q %q", status, out, errOut)
	}
	annPW := m[1]
	if status, _, errOut := runUsers(t, "create", "ann", "--data-dir", dir); status == 0 || !strings.Contains(errOut, "exists") {
		t.Fatalf("users create of a taken name: %d %q", status, errOut)
	}
	if status, _, errOut := runUsers(t, "create", "x", "--role", "root", "--data-dir", dir); status == 0 || !strings.Contains(errOut, "role") {
		t.Fatalf("users create --role root: %d %q", status, errOut)
	}

	var f serveFlags
	if err := newServeFlagSet(&f).Parse([]string{"--data-dir", dir}); err != nil {
		t.Fatal(err)
	}
	srv, err := newServer(context.Background(), f, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.handler)
	t.Cleanup(func() { hs.Close(); srv.close() })

	if s := signInStatus(t, hs.URL, "ann", annPW); s != 200 {
		t.Fatalf("sign-in of the CLI-made user: %d", s)
	}
	if s := signInStatus(t, hs.URL, "boot", "bootstrap-password-1"); s != 200 {
		t.Fatalf("sign-in of the bootstrap user: %d", s)
	}
	status, out, errOut = runUsers(t, "create", "vic", "--server", hs.URL, "--data-dir", dir)
	m = passwordLine.FindStringSubmatch(out)
	if status != 0 || m == nil {
		t.Fatalf("users create --server: %d %q %q", status, out, errOut)
	}
	if s := signInStatus(t, hs.URL, "vic", m[1]); s != 200 {
		t.Fatalf("sign-in of the user made with --server: %d", s)
	}
	status, out, _ = runUsers(t, "list", "--server", hs.URL, "--data-dir", dir)
	for _, want := range []string{"ann", "admin", "boot", "vic", "viewer"} {
		if status != 0 || !strings.Contains(out, want) {
			t.Fatalf("users list --server lacks %q: %d %q", want, status, out)
		}
	}
	if status, _, errOut := runUsers(t, "disable", "vic", "--server", hs.URL, "--data-dir", dir); status != 0 {
		t.Fatalf("users disable --server: %d %q", status, errOut)
	}
	if s := signInStatus(t, hs.URL, "vic", m[1]); s != 401 {
		t.Fatalf("sign-in of a disabled user: %d", s)
	}
	if status, _, errOut := runUsers(t, "delete", "nobody", "--server", hs.URL, "--data-dir", dir); status == 0 || !strings.Contains(errOut, "NotFound") {
		t.Fatalf("users delete of an absent user: %d %q", status, errOut)
	}
	if status, _, errOut := runUsers(t, "list", "--server", "ftp://x", "--data-dir", dir); status == 0 || !strings.Contains(errOut, "--server") {
		t.Fatalf("users list --server ftp://x: %d %q", status, errOut)
	}
}

// TestKeysThroughServer: numauth keys --server creates, lists, disables and
// enables AccessKeys through a running server's admin API, and the server
// refuses a disabled key at once.
func TestKeysThroughServer(t *testing.T) {
	dir := t.TempDir()
	hs := startIn(t, dir)
	keys := func(args ...string) (int, string, string) {
		var stdout, stderr bytes.Buffer
		err := run(context.Background(), append(append([]string{"keys"}, args...), "--server", hs.URL, "--data-dir", dir), &stdout, &stderr)
		return exitStatus(err, &stderr), stdout.String(), stderr.String()
	}
	status, out, errOut := keys("create", "--description", "remote")
	m := regexp.MustCompile(`AccessKeyId: +(\S+)\nAccessKeySecret: +(\S+)`).FindStringSubmatch(out)
	if status != 0 || m == nil {
		t.Fatalf("keys create --server: %d %q %q", status, out, errOut)
	}
	id, secret := m[1], m[2]
	call := func() string {
		_, body := post(t, hs.Client(), hs.URL, signedBy(id, secret, "DescribeVerifyScheme", "SchemeCode", "FC000"))
		return body
	}
	if body := call(); strings.Contains(body, "InvalidAccessKeyId") {
		t.Fatalf("a call with the new key: %s", body)
	}
	if status, out, _ := keys("list"); status != 0 || !strings.Contains(out, id) || !strings.Contains(out, "remote") {
		t.Fatalf("keys list --server: %d %q", status, out)
	}
	if status, _, errOut := keys("disable", id); status != 0 {
		t.Fatalf("keys disable --server: %d %q", status, errOut)
	}
	if body := call(); !strings.Contains(body, "InvalidAccessKeyId") {
		t.Fatalf("a call with the disabled key: %s", body)
	}
	if status, _, errOut := keys("create", "--id", "LTAIx"); status == 0 || !strings.Contains(errOut, "--id") {
		t.Fatalf("keys create --server --id: %d %q", status, errOut)
	}
	if status, _, errOut := keys("disable", "LTAInone"); status == 0 || !strings.Contains(errOut, "NotFound") {
		t.Fatalf("keys disable --server of an absent key: %d %q", status, errOut)
	}
}
