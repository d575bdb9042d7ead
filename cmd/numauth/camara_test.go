package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-jose/go-jose/v4"

	"github.com/numauth/numauth/internal/auth"
	"github.com/numauth/numauth/internal/store/sqlite"
)

// runClients runs `numauth camara clients ARGS --data-dir dir` and returns its
// exit status, stdout and stderr.
func runClients(t *testing.T, dir string, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), append(append([]string{"camara", "clients"}, args...), "--data-dir", dir), &stdout, &stderr)
	return exitStatus(err, &stderr), stdout.String(), stderr.String()
}

// created is what `camara clients create` prints.
type created struct {
	ClientID     string  `json:"client_id"`
	ClientSecret *string `json:"client_secret"`
}

func mustCreate(t *testing.T, dir string, args ...string) created {
	t.Helper()
	status, out, errOut := runClients(t, dir, append([]string{"create"}, args...)...)
	if status != 0 {
		t.Fatalf("create %v: status %d: %s", args, status, errOut)
	}
	var c created
	dec := json.NewDecoder(strings.NewReader(out))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil || !strings.HasPrefix(c.ClientID, "nv-") {
		t.Fatalf("create printed %q (%v), want {\"client_id\": \"nv-…\", …}", out, err)
	}
	return c
}

func writeJWKS(t *testing.T, dir string) string {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &k.PublicKey, KeyID: "rp-1", Algorithm: "ES256", Use: "sig"}}})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "jwks.json")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestCamaraClients(t *testing.T) {
	t.Setenv("NUMAUTH_MASTER_KEY", "")
	dir := t.TempDir()
	data := filepath.Join(dir, "data")

	// --secret: the secret is printed once, 32 random bytes, kept as its hash.
	sc := mustCreate(t, data, "--account", "default", "--redirect-uri", "http://127.0.0.1:8400/cb", "--secret", "--name", "dev client",
		"--scope", "openid", "--scope", "number-verification:verify")
	if sc.ClientSecret == nil {
		t.Fatal("create --secret printed no client_secret")
	}
	if raw, err := base64.RawURLEncoding.DecodeString(*sc.ClientSecret); err != nil || len(raw) != 32 {
		t.Fatalf("client_secret %q is not 32 bytes base64url", *sc.ClientSecret)
	}

	// --jwks-file: no secret at all.
	status, out, errOut := runClients(t, data, "create", "--redirect-uri", "https://rp.example.com/cb", "--redirect-uri", "https://rp.example.com/cb2",
		"--jwks-file", writeJWKS(t, dir))
	if status != 0 || strings.Contains(out, "client_secret") {
		t.Fatalf("create --jwks-file: status %d, stdout %q: %s", status, out, errOut)
	}
	var jc created
	if err := json.Unmarshal([]byte(out), &jc); err != nil {
		t.Fatal(err)
	}

	d, err := sqlite.Open(context.Background(), filepath.Join(data, "numauth.db"))
	if err != nil {
		t.Fatal(err)
	}
	stored, err := d.GetOAuthClient(context.Background(), sc.ClientID)
	d.Close()
	if sum := sha256.Sum256([]byte(*sc.ClientSecret)); err != nil || !bytes.Equal(stored.SecretHash, sum[:]) || stored.Name != "dev client" ||
		stored.AuthMethod != "client_secret_basic" || strings.Join(stored.Scopes, " ") != "openid number-verification:verify" {
		t.Fatalf("stored %+v, %v: want the secret's SHA-256, the name and the scopes", stored, err)
	}

	// list, as a table and as JSON.
	status, out, errOut = runClients(t, data, "list")
	if status != 0 || !strings.Contains(out, sc.ClientID) || !strings.Contains(out, jc.ClientID) || !strings.Contains(out, "(all)") ||
		!strings.Contains(out, "https://rp.example.com/cb https://rp.example.com/cb2") || strings.Contains(out, *sc.ClientSecret) {
		t.Fatalf("list: status %d:\n%s%s", status, out, errOut)
	}
	var listed []oauthClientJSON
	if status, out, _ = runClients(t, data, "list", "--json"); status != 0 || json.Unmarshal([]byte(out), &listed) != nil || len(listed) != 2 {
		t.Fatalf("list --json: status %d:\n%s", status, out)
	}
	if listed[0].ClientID != sc.ClientID || listed[0].Status != "Active" || listed[0].AuthMethod != "client_secret_basic" || listed[0].JWKS != nil ||
		listed[1].ClientID != jc.ClientID || listed[1].AuthMethod != "private_key_jwt" || !json.Valid(listed[1].JWKS) || len(listed[1].Scopes) != 0 {
		t.Fatalf("list --json: %+v", listed)
	}
	if strings.Contains(out, *sc.ClientSecret) || strings.Contains(out, "hash") {
		t.Fatalf("list --json shows something of the secret:\n%s", out)
	}
	if status, out, _ = runClients(t, data, "list", "--account", "tenant-b", "--json"); status != 0 || strings.TrimSpace(out) != "[]" {
		t.Fatalf("list --account tenant-b: status %d: %s", status, out)
	}

	// disable and enable.
	if status, out, errOut = runClients(t, data, "disable", jc.ClientID); status != 0 || !strings.Contains(out, "disabled") {
		t.Fatalf("disable: status %d: %s%s", status, out, errOut)
	}
	if _, out, _ = runClients(t, data, "list", "--json"); !strings.Contains(out, `"status": "Inactive"`) {
		t.Fatalf("after disable, list shows:\n%s", out)
	}
	if status, _, errOut = runClients(t, data, "enable", jc.ClientID); status != 0 {
		t.Fatalf("enable: status %d: %s", status, errOut)
	}
	if _, out, _ = runClients(t, data, "list", "--json"); strings.Contains(out, `"Inactive"`) {
		t.Fatalf("after enable, list shows:\n%s", out)
	}
}

// TestCamaraClientsBadInput: every mistake is a clear message on stderr and
// exit status 2, nothing on stdout and nothing stored.
func TestCamaraClientsBadInput(t *testing.T) {
	t.Setenv("NUMAUTH_MASTER_KEY", "")
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	jwksPath := writeJWKS(t, dir)
	priv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	privJWKS, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: priv}}})
	privPath := filepath.Join(dir, "private.json")
	notJSON := filepath.Join(dir, "not.json")
	big := filepath.Join(dir, "big.json")
	for p, b := range map[string][]byte{privPath: privJWKS, notJSON: []byte("-----BEGIN PUBLIC KEY-----"), big: bytes.Repeat([]byte(" "), 2<<20)} {
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	ok := "https://rp.example.com/cb"
	for _, tc := range []struct {
		args []string
		says string
	}{
		{[]string{"frob"}, "unknown subcommand"},
		{[]string{"create", "--redirect-uri", ok}, "either --jwks-file FILE (private_key_jwt) or --secret"},
		{[]string{"create", "--redirect-uri", ok, "--secret", "--jwks-file", jwksPath}, "either --jwks-file"},
		{[]string{"create", "--secret"}, "at least one --redirect-uri"},
		{[]string{"create", "--secret", "--redirect-uri", "http://rp.example.com/cb"}, "must use https"},
		{[]string{"create", "--secret", "--redirect-uri", "https://rp.example.com/cb#frag"}, "fragment"},
		{[]string{"create", "--secret", "--redirect-uri", "rp.example.com/cb"}, "absolute URL"},
		{[]string{"create", "--secret", "--redirect-uri", ok, "--scope", "email"}, `scope "email"`},
		{[]string{"create", "--secret", "--redirect-uri", ok, "--account", "tenant-x"}, `no such account: "tenant-x"`},
		{[]string{"create", "--secret", "--redirect-uri", ok, "--account", "bad account"}, "account must be"},
		{[]string{"create", "--secret", "--redirect-uri", ok, "--name", "x\x1b[2J"}, "control character"},
		{[]string{"create", "--redirect-uri", ok, "--jwks-file", filepath.Join(dir, "missing.json")}, "no such file"},
		{[]string{"create", "--redirect-uri", ok, "--jwks-file", privPath}, "private or symmetric member"},
		{[]string{"create", "--redirect-uri", ok, "--jwks-file", notJSON}, "not a JSON Web Key Set"},
		{[]string{"create", "--redirect-uri", ok, "--jwks-file", big}, "larger than"},
		{[]string{"create", "--secret", "--redirect-uri", ok, "extra"}, `unexpected argument "extra"`},
		{[]string{"create", "--no-such-flag"}, "no-such-flag"},
		{[]string{"list", "extra"}, `unexpected argument "extra"`},
		{[]string{"disable"}, "want one client id"},
		{[]string{"enable", "a", "b"}, "want one client id"},
		{[]string{"disable", "nv-nope"}, "OAuth client not found"},
		{[]string{"enable", "nv-\x1b[2Jnope"}, `nv-\x1b[2Jnope`},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			status, out, errOut := runClients(t, data, tc.args...)
			if status != 2 || !strings.Contains(errOut, tc.says) || out != "" {
				t.Fatalf("status %d, want 2; stderr lacks %q or stdout is not empty:\nstdout: %s\nstderr: %s", status, tc.says, out, errOut)
			}
			if strings.ContainsAny(errOut, "\x1b") {
				t.Fatalf("stderr holds a raw escape: %q", errOut)
			}
		})
	}
	if status, out, _ := runClients(t, data, "list", "--json"); status != 0 || strings.TrimSpace(out) != "[]" {
		t.Fatalf("after bad input, list: status %d: %s", status, out)
	}
}

// TestCamaraClientsAdapter: the provider gets a disabled client as a client
// that is not active (as its Clients contract says), not as an error, and
// an unknown one as an error.
func TestCamaraClientsAdapter(t *testing.T) {
	t.Setenv("NUMAUTH_MASTER_KEY", "")
	data := filepath.Join(t.TempDir(), "data")
	c := mustCreate(t, data, "--redirect-uri", "http://localhost/cb", "--secret")
	if status, _, errOut := runClients(t, data, "disable", c.ClientID); status != 0 {
		t.Fatal(errOut)
	}
	ctx := context.Background()
	err := withService(ctx, storeFlags{dataDir: data}, func(svc *auth.Service) error {
		info, err := camaraClients{svc}.Client(ctx, c.ClientID)
		if err != nil || info.Active || info.ID != c.ClientID || info.AuthMethod != auth.AuthClientSecretBasic {
			t.Errorf("disabled client: %+v, %v; want it, not active", info, err)
		}
		if _, err := (camaraClients{svc}).Client(ctx, "nv-nope"); !errors.Is(err, auth.ErrOAuthClientNotFound) {
			t.Errorf("unknown client: %v, want ErrOAuthClientNotFound", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestCamaraClientsThroughServer: numauth camara clients --server creates,
// lists, disables and enables clients through a running server's admin API.
func TestCamaraClientsThroughServer(t *testing.T) {
	dir := t.TempDir()
	hs := startIn(t, dir)
	sec := mustCreate(t, dir, "--server", hs.URL, "--secret", "--name", "shop", "--redirect-uri", "https://shop.example/cb")
	if sec.ClientSecret == nil || len(*sec.ClientSecret) < 20 {
		t.Fatalf("create --server --secret printed no secret: %+v", sec)
	}
	keyed := mustCreate(t, dir, "--server", hs.URL, "--jwks-file", writeJWKS(t, dir), "--redirect-uri", "http://127.0.0.1:8000/cb")
	if keyed.ClientSecret != nil {
		t.Fatalf("create --server --jwks-file printed a secret: %+v", keyed)
	}
	listed := func() map[string]string {
		t.Helper()
		status, out, errOut := runClients(t, dir, "list", "--server", hs.URL, "--json")
		var cs []struct {
			ID     string `json:"client_id"`
			Status string `json:"status"`
			Auth   string `json:"auth_method"`
		}
		if status != 0 || json.Unmarshal([]byte(out), &cs) != nil {
			t.Fatalf("list --server --json: %d %q %q", status, out, errOut)
		}
		m := map[string]string{}
		for _, c := range cs {
			m[c.ID] = c.Status + " " + c.Auth
		}
		return m
	}
	if got := listed(); got[sec.ClientID] != "Active client_secret_basic" || got[keyed.ClientID] != "Active private_key_jwt" {
		t.Fatalf("list --server = %v", got)
	}
	if status, out, errOut := runClients(t, dir, "disable", sec.ClientID, "--server", hs.URL); status != 0 || !strings.Contains(out, "disabled") {
		t.Fatalf("disable --server: %d %q %q", status, out, errOut)
	}
	if got := listed(); got[sec.ClientID] != "Inactive client_secret_basic" {
		t.Fatalf("after disable --server: %v", got)
	}
	if status, _, errOut := runClients(t, dir, "enable", sec.ClientID, "--server", hs.URL); status != 0 || listed()[sec.ClientID] != "Active client_secret_basic" {
		t.Fatalf("enable --server: %d %q", status, errOut)
	}
	if status, out, _ := runClients(t, dir, "list", "--server", hs.URL); status != 0 || !strings.Contains(out, "shop") {
		t.Fatalf("list --server (table): %d %q", status, out)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"create", "--secret", "--redirect-uri", "http://shop.example/cb"}, "InvalidParameter"},
		{[]string{"disable", "nv-none"}, "NotFound"},
	} {
		if status, _, errOut := runClients(t, dir, append(tc.args, "--server", hs.URL)...); status == 0 || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v --server: %d %q, want an error naming %s", tc.args, status, errOut, tc.want)
		}
	}
}
