package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/numauth/numauth/internal/auth"
	"github.com/numauth/numauth/internal/openapi/sign"
	"github.com/numauth/numauth/internal/secret"
	"github.com/numauth/numauth/internal/store"
	"github.com/numauth/numauth/internal/store/sqlite"
	"github.com/numauth/numauth/test/harness"
)

// masterEnv sets the master keys the next server or command reads.
func masterEnv(t *testing.T, current string, previous ...string) {
	t.Helper()
	t.Setenv("NUMAUTH_MASTER_KEY", current)
	t.Setenv("NUMAUTH_MASTER_KEY_PREVIOUS", strings.Join(previous, ","))
}

// startIn runs a server on dataDir with the master keys set now.
func startIn(t *testing.T, dataDir string) *httptest.Server {
	t.Helper()
	t.Setenv("NUMAUTH_BOOTSTRAP_ACCESS_KEY_ID", benchKeyID)
	t.Setenv("NUMAUTH_BOOTSTRAP_ACCESS_KEY_SECRET", benchSecret)
	var f serveFlags
	if err := newServeFlagSet(&f).Parse([]string{"--data-dir", dataDir, "--sandbox-subscriber", "127.0.0.1=13800138000"}); err != nil {
		t.Fatal(err)
	}
	srv, err := newServer(context.Background(), f, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("server start: %v", err)
	}
	hs := httptest.NewServer(srv.handler)
	t.Cleanup(func() { hs.Close(); srv.close() })
	return hs
}

// cli runs a numauth command on dataDir with the master keys set now.
func cli(t *testing.T, dataDir string, args ...string) (string, string, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), append(args, "--data-dir", dataDir), &stdout, &stderr)
	return stdout.String(), stderr.String(), err
}

// callAs makes one signed API call with an AccessKey and reports whether
// the server accepted the signature (it could open the key's secret).
func callAs(t *testing.T, hs *httptest.Server, id, sec string) bool {
	t.Helper()
	v := url.Values{"Action": {"CreateVerifyScheme"}, "Version": {"2017-05-25"}, "SchemeName": {"s" + itoa(nonce.Add(1))},
		"AppName": {"a"}, "OsType": {"H5"}, "Origin": {"https://a.example"}, "Url": {"https://a.example/"}}
	v = sign.SignV1("POST", v, id, sec, time.Now().UTC(), "r"+itoa(nonce.Add(1)))
	st, body := post(t, hs.Client(), hs.URL+"/", v)
	ok := st == 200 && strings.Contains(body, `"SchemeCode":"FC`)
	if !ok && !strings.Contains(body, "InvalidAccessKey") && !strings.Contains(body, "Signature") {
		t.Fatalf("call as %s: %d %s", id, st, body)
	}
	return ok
}

var keySecret = regexp.MustCompile(`AccessKeyId:\s+(\S+)\nAccessKeySecret:\s+(\S+)`)

func createKey(t *testing.T, dataDir string) (string, string) {
	t.Helper()
	out, _, err := cli(t, dataDir, "keys", "create")
	m := keySecret.FindStringSubmatch(out)
	if err != nil || m == nil {
		t.Fatalf("keys create: %v\n%s", err, out)
	}
	return m[1], m[2]
}

func phoneHash(t *testing.T, dataDir string) string {
	t.Helper()
	var sf storeFlags
	sf.dataDir, sf.store = dataDir, os.Getenv("NUMAUTH_STORE")
	var h string
	if err := withService(context.Background(), sf, func(svc *auth.Service) error {
		h = svc.PhoneHash("+8613800138000")
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return h
}

func newKey(b byte) string { return hex.EncodeToString(bytes.Repeat([]byte{b}, secret.KeySize)) }

// TestMasterKeyRollover walks the runbook of docs/operations.md: every
// instance, whichever step it is at, keeps serving; rotate-master re-seals
// everything; after it the old key can go.
func TestMasterKeyRollover(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			t.Setenv("NUMAUTH_STORE", "")
			if backend == "postgres" {
				t.Setenv("NUMAUTH_STORE", harness.FreshDatabase(t, "rotation"))
			}
			testMasterKeyRollover(t)
		})
	}
}

func testMasterKeyRollover(t *testing.T) {
	dir := t.TempDir()
	oldKey, newKeyS := newKey(0x11), newKey(0x22)

	masterEnv(t, oldKey)
	before := startIn(t, dir) // an instance that has not heard of the rotation
	k1, s1 := createKey(t, dir)
	hash := phoneHash(t, dir)

	// Step 1: every instance gets the new key as a previous key.
	masterEnv(t, oldKey, newKeyS)
	step1 := startIn(t, dir)
	// Step 2: the current key switches, instance by instance.
	masterEnv(t, newKeyS, oldKey)
	step2 := startIn(t, dir)
	k2, s2 := createKey(t, dir) // sealed under the new key
	if h := phoneHash(t, dir); h != hash {
		t.Fatalf("phone hash changed with the current key: %s, was %s", h, hash)
	}
	for _, tc := range []struct {
		name    string
		hs      *httptest.Server
		id, sec string
	}{
		{"step 1 instance, key sealed under the old key", step1, k1, s1},
		{"step 1 instance, key sealed under the new key", step1, k2, s2},
		{"step 2 instance, key sealed under the old key", step2, k1, s1},
		{"step 2 instance, key sealed under the new key", step2, k2, s2},
		{"step 2 instance, bootstrap key", step2, benchKeyID, benchSecret},
		{"unrotated instance, key sealed under the old key", before, k1, s1},
	} {
		if !callAs(t, tc.hs, tc.id, tc.sec) {
			t.Errorf("%s: refused", tc.name)
		}
	}
	jwks := get(t, step1, "/.well-known/jwks.json")
	if got := get(t, step2, "/.well-known/jwks.json"); got != jwks {
		t.Errorf("instances publish different JWKS:\n%s\n%s", jwks, got)
	}

	// Step 3: re-seal. Idempotent.
	out, _, err := cli(t, dir, "keys", "rotate-master")
	if err != nil || !regexp.MustCompile(`^re-sealed [1-9]\d* secrets under master key `+secret.KeyID(bytes.Repeat([]byte{0x22}, secret.KeySize))).MatchString(out) {
		t.Fatalf("rotate-master: %v\n%s", err, out)
	}
	out, _, err = cli(t, dir, "keys", "rotate-master")
	if err != nil || !strings.HasPrefix(out, "re-sealed 0 secrets") {
		t.Fatalf("second rotate-master: %v\n%s", err, out)
	}
	// A step-1 instance (old key current, new previous) still serves
	// every key, now sealed under the new key.
	masterEnv(t, oldKey, newKeyS)
	late1 := startIn(t, dir)
	for _, k := range [][2]string{{k1, s1}, {k2, s2}, {benchKeyID, benchSecret}} {
		if !callAs(t, late1, k[0], k[1]) {
			t.Errorf("step 1 instance after rotate-master: %s refused", k[0])
		}
	}

	// Step 4: the old key goes.
	masterEnv(t, newKeyS)
	after := startIn(t, dir)
	for _, k := range [][2]string{{k1, s1}, {k2, s2}, {benchKeyID, benchSecret}} {
		if !callAs(t, after, k[0], k[1]) {
			t.Errorf("new key only: %s refused", k[0])
		}
	}
	if h := phoneHash(t, dir); h != hash {
		t.Errorf("phone hash changed after the rotation: %s, was %s", h, hash)
	}
	if got := get(t, after, "/.well-known/jwks.json"); got != jwks {
		t.Errorf("JWKS changed by the master-key rotation:\n%s\n%s", jwks, got)
	}
	// The old key alone opens nothing any more.
	masterEnv(t, oldKey)
	if _, _, err := cli(t, dir, "keys", "list"); err == nil || !strings.Contains(err.Error(), "derivation root") {
		t.Errorf("old key alone after the rotation: %v", err)
	}
}

// TestRotateMasterRefusesUnopenable: a secret no configured key opens
// stops rotate-master before it changes anything, and the error names the
// record, not the secret.
func TestRotateMasterRefusesUnopenable(t *testing.T) {
	dir := t.TempDir()
	oldKey, newKeyS := newKey(0x11), newKey(0x22)
	masterEnv(t, oldKey)
	k1, s1 := createKey(t, dir)

	d, err := sqlite.Open(context.Background(), filepath.Join(dir, "numauth.db"))
	if err != nil {
		t.Fatal(err)
	}
	stranger, _ := secret.New(bytes.Repeat([]byte{0x33}, secret.KeySize))
	err = d.CreateAccessKey(context.Background(), store.AccessKey{ID: "LTAIstranger", AccountID: auth.DefaultAccount,
		SealedSecret: stranger.Seal([]byte("stranger-secret"), []byte("access-key/LTAIstranger")), Status: store.KeyActive, CreatedAt: time.Now()})
	d.Close()
	if err != nil {
		t.Fatal(err)
	}

	masterEnv(t, newKeyS, oldKey)
	out, stderr, err := cli(t, dir, "keys", "rotate-master")
	if err == nil {
		t.Fatalf("rotate-master with an unopenable secret succeeded: %s", out)
	}
	msg := err.Error() + out + stderr
	if !strings.Contains(msg, `"LTAIstranger"`) || !strings.Contains(msg, "none of the master keys") || strings.Contains(msg, "stranger-secret") {
		t.Fatalf("rotate-master error: %s", msg)
	}
	// Nothing was re-sealed: the old key alone still opens k1.
	masterEnv(t, oldKey)
	if !callAs(t, startIn(t, dir), k1, s1) {
		t.Fatal("a failed rotate-master changed the store")
	}
}

func get(t *testing.T, hs *httptest.Server, path string) string {
	t.Helper()
	res, err := hs.Client().Get(hs.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return string(b)
}

type jwksDoc struct {
	Keys []struct{ Kid, X string }
}

func jwksOf(t *testing.T, hs *httptest.Server) map[string]ed25519.PublicKey {
	t.Helper()
	var set jwksDoc
	if err := json.Unmarshal([]byte(get(t, hs, "/.well-known/jwks.json")), &set); err != nil {
		t.Fatal(err)
	}
	out := map[string]ed25519.PublicKey{}
	for _, k := range set.Keys {
		x, err := base64.RawURLEncoding.DecodeString(k.X)
		if err != nil {
			t.Fatal(err)
		}
		out[k.Kid] = x
	}
	return out
}

// jwtToken gets a JwtToken from GetAuthToken (for the H5 scheme
// TestJWTRotateCLI creates).
func jwtToken(t *testing.T, hs *httptest.Server) string {
	t.Helper()
	st, body := post(t, hs.Client(), hs.URL+"/", signed("GetAuthToken", "Url", "https://j.example/login", "Origin", "https://j.example"))
	var res struct {
		TokenInfo struct{ JwtToken string }
	}
	if err := json.Unmarshal([]byte(body), &res); st != 200 || err != nil || res.TokenInfo.JwtToken == "" {
		t.Fatalf("GetAuthToken: %d %s", st, body)
	}
	return res.TokenInfo.JwtToken
}

// verifyWith checks a JwtToken the way a relying party does: against the
// JWKS, by its kid. It returns the kid.
func verifyWith(t *testing.T, tok string, keys map[string]ed25519.PublicKey) (string, error) {
	t.Helper()
	var kid string
	_, err := jwt.Parse(tok, func(j *jwt.Token) (any, error) {
		kid, _ = j.Header["kid"].(string)
		if k, ok := keys[kid]; ok {
			return k, nil
		}
		return nil, jwt.ErrTokenUnverifiable
	}, jwt.WithValidMethods([]string{"EdDSA"}))
	return kid, err
}

// TestJWTRotateCLI: numauth jwt rotate publishes the new key at once (an
// instance started afterwards serves both, still signing with the old),
// and with --delay 0 the new key signs at once; tokens signed before keep
// verifying against every instance's JWKS.
func TestJWTRotateCLI(t *testing.T) {
	dir := t.TempDir()
	masterEnv(t, newKey(0x11))
	a := startIn(t, dir)
	if st, body := post(t, a.Client(), a.URL+"/", signed("CreateVerifyScheme", "SchemeName", "j", "AppName", "a", "OsType", "H5", "Origin", "https://j.example", "Url", "https://j.example/")); st != 200 || !strings.Contains(body, "SchemeCode") {
		t.Fatalf("CreateVerifyScheme: %d %s", st, body)
	}
	before := jwtToken(t, a)
	oldKid, err := verifyWith(t, before, jwksOf(t, a))
	if err != nil {
		t.Fatal(err)
	}

	out, _, err := cli(t, dir, "jwt", "rotate", "--delay", "1h")
	m := regexp.MustCompile(`new signing key (\S+): in the JWKS now, signs from (\S+)`).FindStringSubmatch(out)
	if err != nil || m == nil {
		t.Fatalf("jwt rotate: %v\n%s", err, out)
	}
	delayedKid := m[1]
	if at, err := time.Parse(time.RFC3339, m[2]); err != nil || at.Before(time.Now().Add(59*time.Minute)) {
		t.Fatalf("signs from %q (%v), want an hour from now", m[2], err)
	}
	out, _, err = cli(t, dir, "jwt", "list")
	if err != nil || !regexp.MustCompile(oldKid+`\s+signing\s+start\s+`+regexp.QuoteMeta(m[2])).MatchString(out) ||
		!regexp.MustCompile(delayedKid+`\s+published, signs next\s+`+regexp.QuoteMeta(m[2])+`\s+-\s+-`).MatchString(out) {
		t.Fatalf("jwt list during the delay: %v\n%s", err, out)
	}
	b := startIn(t, dir) // another instance: same view
	keys := jwksOf(t, b)
	if keys[oldKid] == nil || keys[delayedKid] == nil || len(keys) != 2 {
		t.Fatalf("JWKS after rotate: %v, want %s and %s", keys, oldKid, delayedKid)
	}
	if kid, err := verifyWith(t, jwtToken(t, b), keys); err != nil || kid != oldKid {
		t.Fatalf("during the delay a token has kid %s (%v), want %s", kid, err, oldKid)
	}

	out, _, err = cli(t, dir, "jwt", "rotate", "--delay", "0s")
	m = regexp.MustCompile(`new signing key (\S+):`).FindStringSubmatch(out)
	if err != nil || m == nil {
		t.Fatalf("jwt rotate --delay 0s: %v\n%s", err, out)
	}
	c := startIn(t, dir)
	keys = jwksOf(t, c)
	if kid, err := verifyWith(t, jwtToken(t, c), keys); err != nil || kid != m[1] {
		t.Fatalf("after --delay 0s a token has kid %s (%v), want %s", kid, err, m[1])
	}
	if kid, err := verifyWith(t, before, keys); err != nil || kid != oldKid {
		t.Fatalf("token from before the rotations: kid %s, %v", kid, err)
	}
	out, _, err = cli(t, dir, "jwt", "list", "--jwt-token-ttl", "2h")
	if err != nil || !regexp.MustCompile(m[1]+`\s+signing`).MatchString(out) || !regexp.MustCompile(delayedKid+`\s+published, retired`).MatchString(out) ||
		!regexp.MustCompile(oldKid+`\s+published, superseded`).MatchString(out) {
		t.Fatalf("jwt list after --delay 0s: %v\n%s", err, out)
	}
	if _, _, err := cli(t, dir, "jwt", "rotate", "--delay", "-1s"); err == nil {
		t.Fatal("negative delay accepted")
	}
}

// The rotation commands answer help and usage errors like the others,
// without opening a store.
func TestRotationCommandsUsage(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("NUMAUTH_DATA_DIR", dir+"/data")
	for _, tc := range []struct {
		args   []string
		status int
		says   string
	}{
		{[]string{"jwt", "-h"}, 0, "numauth jwt rotate"},
		{[]string{"jwt", "rotate", "-h"}, 0, "-delay"},
		{[]string{"jwt"}, 2, "jwt: want rotate"},
		{[]string{"jwt", "list", "-h"}, 0, "-jwt-token-ttl"},
		{[]string{"jwt", "list", "extra"}, 2, "takes no arguments"},
		{[]string{"jwt", "frobnicate"}, 2, "jwt: want rotate"},
		{[]string{"jwt", "rotate", "--delay", "soon"}, 2, "invalid value"},
		{[]string{"jwt", "rotate", "--delay", "-1m"}, 2, "negative"},
		{[]string{"jwt", "rotate", "extra"}, 2, "takes no arguments"},
		{[]string{"keys", "rotate-master", "-h"}, 0, "-data-dir"},
		{[]string{"help"}, 0, "keys rotate-master"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			status := exitStatus(run(context.Background(), tc.args, &stdout, &stderr), &stderr)
			if out := stdout.String() + stderr.String(); status != tc.status || !strings.Contains(out, tc.says) {
				t.Fatalf("status %d, want %d; output lacks %q:\n%s", status, tc.status, tc.says, out)
			}
		})
	}
	if entries, _ := filepath.Glob(dir + "/*"); len(entries) != 0 {
		t.Fatalf("usage errors created %v", entries)
	}
}
