package security

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/numauth/numauth/test/harness"
)

const (
	flowOrigin = "https://flows.example.com"
	flowURL    = flowOrigin + "/login"
)

// loginSession opens a login session with a new token pair and asks for
// the masked number; it returns the session, or "" and the code when the
// gateway refused the masked number.
func (s *server) loginSession(ctx context.Context, scheme string) (string, string) {
	s.t.Helper()
	sid, err := s.session(ctx, "", scheme, flowOrigin, flowURL, flowOrigin, "login")
	if err != nil {
		s.t.Fatal(err)
	}
	a := s.gateway(ctx, "", http.MethodPost, "login-mask", flowOrigin, map[string]string{"session": sid})
	if a.code() != "OK" {
		return "", a.code()
	}
	return sid, ""
}

// verifyToken runs a verification flow's page side for scheme (from
// 127.0.0.1, the sandbox line) and returns its spToken.
func (s *server) verifyToken(ctx context.Context, scheme string) string {
	s.t.Helper()
	sid, err := s.session(ctx, "", scheme, flowOrigin, flowURL, flowOrigin, "verify")
	if err != nil {
		s.t.Fatal(err)
	}
	sp := s.gateway(ctx, "", http.MethodPost, "verify-token", flowOrigin, map[string]string{"session": sid}).field("spToken")
	if sp == "" {
		s.t.Fatal("verify-token answered no spToken")
	}
	return sp
}

// Finding 1 (HIGH): the wrong-mask budget was per session, so the middle
// four digits could be brute-forced with many sessions of two guesses
// each (618 sessions, 0.6 s), and GetPhoneWithToken then gave the number.
// The attack is run as the review ran it: at most the budget of wrong
// guesses is ever checked for the number, and the right mask is never
// reached.
func TestMaskBruteForce(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := testContext(t)
		s := startServer(t, b, serverOptions{})
		scheme := s.scheme(ctx, flowOrigin, flowURL, nil)
		wrong, found, sessions := 0, false, 0
		lockedAt := -1
		// Every mask but the right one (0013) first, two per session.
		guess := 0
		next := func() string {
			for {
				m := fmt.Sprintf("%04d", guess)
				guess++
				if m != "0013" || guess > 10000 {
					return m
				}
			}
		}
		for sessions < 700 && !found && lockedAt < 0 {
			sid, code := s.loginSession(ctx, scheme)
			if sid == "" {
				if code != "MASK_LOCKED" {
					t.Fatalf("login-mask: %s", code)
				}
				lockedAt = sessions
				break
			}
			sessions++
			for range 2 {
				a := s.gateway(ctx, "", http.MethodPost, "login-token", flowOrigin, map[string]string{"session": sid, "mask": next()})
				switch a.code() {
				case "MASK_WRONG":
					wrong++
				case "OK":
					found = true
				case "MASK_LOCKED", "SESSION_INVALID":
				default:
					t.Fatalf("login-token: %s", a.code())
				}
			}
		}
		if found {
			t.Fatalf("the attack found the mask after %d sessions", sessions)
		}
		if wrong != 2 || lockedAt < 0 {
			t.Fatalf("%d wrong masks answered MASK_WRONG and the number was locked after %d sessions; want 2 and locked (the third wrong mask locks)", wrong, lockedAt)
		}
		// The right mask in a fresh session is refused before any digits: locked.
		if sid, code := s.loginSession(ctx, scheme); sid != "" || code != "MASK_LOCKED" {
			t.Fatalf("a fresh session on the attacked number: session %q, code %s; want MASK_LOCKED", sid, code)
		}
		t.Logf("%s: the attack stopped after %d sessions with %d MASK_WRONG answers", b.name, sessions, wrong)
	})
}

// Finding 2 (MEDIUM): one tenant locked a number out of every tenant. The
// lock is per account now; a second account logs the same number in.
func TestMaskLockPerTenant(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := testContext(t)
		s := startServer(t, b, serverOptions{})
		hostile := s.scheme(ctx, flowOrigin, flowURL, nil)
		for i := 0; i < 3; i++ {
			sid, _ := s.loginSession(ctx, hostile)
			if sid == "" {
				t.Fatalf("locked after %d wrong masks", i)
			}
			s.gateway(ctx, "", http.MethodPost, "login-token", flowOrigin, map[string]string{"session": sid, "mask": "9999"})
		}
		if sid, code := s.loginSession(ctx, hostile); sid != "" || code != "MASK_LOCKED" {
			t.Fatalf("the hostile tenant's own login after 3 wrong masks: %q %s, want MASK_LOCKED", sid, code)
		}
		// Another tenant: its own AccessKey and scheme on the same server.
		out, err := s.cli(ctx, "keys", "create", "--account", "tenant-b", "--id", "LTAI5tTenantB0000001", "--secret", "tenant-b-secret-000000000001")
		if err != nil {
			t.Fatalf("keys create: %v\n%s", err, out)
		}
		cb := s.client("")
		cb.AccessKeyID, cb.Secret = "LTAI5tTenantB0000001", "tenant-b-secret-000000000001"
		r, err := cb.Call(ctx, "CreateVerifyScheme", map[string]string{"SchemeName": "b", "AppName": "b", "OsType": "H5", "Origin": flowOrigin, "Url": flowURL})
		if err != nil || r.Code != "OK" {
			t.Fatalf("tenant b's scheme: %v %v", r, err)
		}
		r, err = cb.Call(ctx, "GetAuthToken", map[string]string{"Url": flowURL, "Origin": flowOrigin, "BizType": "1"})
		if err != nil || r.Code != "OK" {
			t.Fatalf("tenant b's tokens: %v %v", r, err)
		}
		a := s.gateway(ctx, "", http.MethodPost, "check", flowOrigin, map[string]string{
			"accessToken": r.Get("TokenInfo", "AccessToken"), "jwtToken": r.Get("TokenInfo", "JwtToken"), "kind": "login"})
		sid := a.field("session")
		if m := s.gateway(ctx, "", http.MethodPost, "login-mask", flowOrigin, map[string]string{"session": sid}); m.code() != "OK" {
			t.Fatalf("tenant b's login-mask on the number tenant a locked for itself: %s", m.code())
		}
		tok := s.gateway(ctx, "", http.MethodPost, "login-token", flowOrigin, map[string]string{"session": sid, "mask": "0013"})
		if tok.code() != "OK" {
			t.Fatalf("tenant b's login-token: %s", tok.code())
		}
		got, err := cb.Call(ctx, "GetPhoneWithToken", map[string]string{"SpToken": tok.field("spToken")})
		if err != nil || got.Get("Data", "Mobile") != phone {
			t.Fatalf("tenant b's GetPhoneWithToken: %v %v", got, err)
		}
	})
}

// Finding 4 (MEDIUM): one public token pair opened 147,817 sessions in 15 s
// and RSS went from 24 MB to 185 MB. A token pair opens 50 sessions now
// (--sessions-per-token), an address 3,000 a minute, and the in-process
// store's size is on /metrics.
func TestSessionFlood(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := testContext(t)
		s := startServer(t, b, serverOptions{Args: []string{"--sessions-per-source", "60"}})
		s.scheme(ctx, flowOrigin, flowURL, nil)
		r := s.mustCall(ctx, "GetAuthToken", map[string]string{"Url": flowURL, "Origin": flowOrigin})
		body := map[string]string{"accessToken": r.Get("TokenInfo", "AccessToken"), "jwtToken": r.Get("TokenInfo", "JwtToken"), "kind": "verify"}
		codes := map[string]int{}
		for range 80 {
			codes[s.gateway(ctx, "", http.MethodPost, "check", flowOrigin, body).code()]++
		}
		if codes["OK"] != 50 || codes["RATE_LIMITED"] != 30 {
			t.Fatalf("80 checks with one token pair: %v; want 50 OK and 30 RATE_LIMITED", codes)
		}
		// From one address: 60 a minute, whatever the token pairs (10 left after the 50 above).
		codes = map[string]int{}
		for range 15 {
			r := s.mustCall(ctx, "GetAuthToken", map[string]string{"Url": flowURL, "Origin": flowOrigin})
			codes[s.gateway(ctx, "", http.MethodPost, "check", flowOrigin, map[string]string{
				"accessToken": r.Get("TokenInfo", "AccessToken"), "jwtToken": r.Get("TokenInfo", "JwtToken"), "kind": "verify"}).code()]++
		}
		if codes["OK"] != 10 || codes["RATE_LIMITED"] != 5 {
			t.Fatalf("15 checks with fresh token pairs from the flooding address: %v; want 10 OK and 5 RATE_LIMITED", codes)
		}
		if s.stores.redisURL == "" {
			m := get(t, s.URL+"/metrics", "")
			if !strings.Contains(m, "numauth_ephemeral_bytes ") || !strings.Contains(m, "numauth_ephemeral_max_bytes 5.36870912e+08") {
				t.Fatalf("/metrics lacks the in-process store's size:\n%s", grepLines(m, "numauth_ephemeral"))
			}
		}
	})
}

// Finding 5 (LOW-MEDIUM): after DeleteVerifyScheme, a session opened before
// still minted spTokens and VerifyPhoneWithToken gave a billable PASS.
func TestDeletedScheme(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := testContext(t)
		s := startServer(t, b, serverOptions{})
		scheme := s.scheme(ctx, flowOrigin, flowURL, nil)
		early, err := s.session(ctx, "", scheme, flowOrigin, flowURL, flowOrigin, "verify")
		if err != nil {
			t.Fatal(err)
		}
		late, err := s.session(ctx, "", scheme, flowOrigin, flowURL, flowOrigin, "verify")
		if err != nil {
			t.Fatal(err)
		}
		sp := s.gateway(ctx, "", http.MethodPost, "verify-token", flowOrigin, map[string]string{"session": early}).field("spToken")
		if sp == "" {
			t.Fatal("no spToken before the deletion")
		}
		s.mustCall(ctx, "DeleteVerifyScheme", map[string]string{"SchemeCode": scheme})
		if a := s.gateway(ctx, "", http.MethodPost, "verify-token", flowOrigin, map[string]string{"session": late}); a.code() != "SCHEME_NOT_FOUND" {
			t.Fatalf("verify-token on a session of the deleted scheme: %s, want SCHEME_NOT_FOUND", a.code())
		}
		r, err := s.call(ctx, "VerifyPhoneWithToken", map[string]string{"SpToken": sp, "PhoneNumber": phone})
		if err != nil || r.Code != "isv.TOKEN_INVALID" {
			t.Fatalf("VerifyPhoneWithToken with the deleted scheme's spToken: %v %v; want isv.TOKEN_INVALID", r.Code, err)
		}
	})
}

// Finding 3 (MEDIUM): a verification could be recorded and billed while its
// client got 503, and its spToken was spent. Now a client told
// ServiceUnavailable retries with the same spToken and gets the one answer.
// SQLite fails its writes on a full disk (a small tmpfs as the data
// directory, so this variant needs root); PostgreSQL hangs on a locked table.
func TestRetryAfterOutage(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := testContext(t)
		st := b.stores(t)
		var s *server
		var breakStore, mendStore func()
		if st.postgresDSN == "" {
			disk := smallDisk(t)
			s = startServer(t, b, serverOptions{DataDir: disk.dir, Stores: &st, Args: []string{"--request-timeout", "2s"}})
			breakStore, mendStore = disk.fill, disk.free
		} else {
			s = startServer(t, b, serverOptions{Stores: &st, Args: []string{"--request-timeout", "1s"}})
			breakStore, mendStore = lockTable(t, st.postgresDSN, "verifications")
		}
		sp := s.verifyToken(ctx, s.scheme(ctx, flowOrigin, flowURL, nil))
		params := map[string]string{"SpToken": sp, "PhoneNumber": phone}
		breakStore()
		for i := 0; i < 3; i++ {
			r, err := s.call(ctx, "VerifyPhoneWithToken", params)
			if err != nil || r.Code != "ServiceUnavailable" {
				t.Fatalf("attempt %d while the store fails: %v %v; want ServiceUnavailable", i, r.Code, err)
			}
		}
		mendStore()
		var first map[string]any
		deadline := time.Now().Add(20 * time.Second)
		for {
			r, err := s.call(ctx, "VerifyPhoneWithToken", params)
			if err == nil && r.Code == "OK" {
				first = r.Body
				break
			}
			if err != nil || r.Code != "ServiceUnavailable" || time.Now().After(deadline) {
				t.Fatalf("retry with the same spToken after the store came back: %v %v; want OK", r.Code, err)
			}
			time.Sleep(200 * time.Millisecond)
		}
		gv, _ := first["GateVerify"].(map[string]any)
		if gv["VerifyResult"] != "PASS" {
			t.Fatalf("retry answered %v", first)
		}
		if r, _ := s.call(ctx, "VerifyPhoneWithToken", params); r.Code != "isv.TOKEN_INVALID" {
			t.Fatalf("replay after the answer: %s, want isv.TOKEN_INVALID", r.Code)
		}
		day := time.Now().UTC().Format("20060102")
		stats := s.mustCall(ctx, "QueryGateVerifyStatisticPublic", map[string]string{"AuthenticationType": "2", "StartDate": day, "EndDate": day})
		data, _ := stats.Body["Data"].(map[string]any)
		if total, _ := data["Total"].(float64); total != 1 {
			t.Fatalf("recorded verifications: Data %v, want Total 1 (one answer, one record)", data)
		}
	})
}

// Finding 7 (LOW): /readyz said ready while every write failed on a full
// disk. Readiness is a durable write now.
func TestReadyzOnFullDisk(t *testing.T) {
	ctx := testContext(t)
	disk := smallDisk(t)
	s := startServer(t, local, serverOptions{DataDir: disk.dir})
	if code, _ := status(t, s.URL+"/readyz", ""); code != http.StatusOK {
		t.Fatalf("/readyz before the disk filled: %d", code)
	}
	disk.fill()
	waitStatus(t, s.URL+"/readyz", http.StatusServiceUnavailable)
	_, body := status(t, s.URL+"/readyz", "")
	if strings.Contains(body, "durable") || strings.Contains(body, "disk") {
		t.Fatalf("/readyz tells an anonymous caller why: %q", body)
	}
	if _, body := status(t, s.URL+"/readyz", s.AdminToken(t)); !strings.Contains(body, "durable store") {
		t.Fatalf("/readyz with the admin token does not name the failing store: %q", body)
	}
	disk.free()
	waitStatus(t, s.URL+"/readyz", http.StatusOK)
	_ = ctx
}

// Finding 9 (LOW): /metrics, /bench/noop and /readyz's details were public
// on the API listener. --ops-addr moves them to a private listener.
func TestOpsEndpoints(t *testing.T) {
	ops := harness.FreeAddr(t)
	s := startServer(t, local, serverOptions{Args: []string{"--ops-addr", ops}})
	for _, p := range []string{"/metrics", "/bench/noop"} {
		if code, _ := status(t, s.URL+p, ""); code == http.StatusOK {
			t.Errorf("%s is on the API listener with --ops-addr", p)
		}
		if code, _ := status(t, "http://"+ops+p, ""); code != http.StatusOK {
			t.Errorf("%s on the ops listener: %d", p, code)
		}
	}
	for _, base := range []string{s.URL, "http://" + ops} {
		if code, body := status(t, base+"/readyz", ""); code != http.StatusOK || body != "ready\n" {
			t.Errorf("%s/readyz = %d %q", base, code, body)
		}
		if code, _ := status(t, base+"/healthz", ""); code != http.StatusOK {
			t.Errorf("%s/healthz = %d", base, code)
		}
	}
}

// disk is a small tmpfs that a test fills to make writes fail.
type disk struct {
	t   *testing.T
	dir string
}

func smallDisk(t *testing.T) *disk {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("a full disk is a small tmpfs mounted for the test, which needs root")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=8m,mode=0700", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs for the full-disk test: %v %s", err, out)
	}
	t.Cleanup(func() {
		for i := 0; i < 50; i++ { // the server may still be stopping
			if exec.Command("umount", dir).Run() == nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Errorf("could not unmount %s", dir)
	})
	return &disk{t: t, dir: dir}
}

// fill writes a filler file until the disk has no room left.
func (d *disk) fill() {
	f, err := os.Create(filepath.Join(d.dir, "filler"))
	if err != nil {
		d.t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 64<<10)
	for {
		if _, err := f.Write(buf); err != nil {
			break
		}
	}
	for _, n := range []int{4096, 512, 1} { // the last blocks
		for {
			if _, err := f.Write(buf[:n]); err != nil {
				break
			}
		}
	}
}

func (d *disk) free() {
	if err := os.Remove(filepath.Join(d.dir, "filler")); err != nil {
		d.t.Fatal(err)
	}
}

// lockTable holds an exclusive lock on a table of the server's database
// from break until mend: writes to it hang, as on a stuck disk.
func lockTable(t *testing.T, dsn, table string) (func(), func()) {
	var tx pgx.Tx
	var conn *pgx.Conn
	lock := func() {
		ctx := context.Background()
		c, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		conn = c
		if tx, err = c.Begin(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec(ctx, "LOCK TABLE "+table+" IN ACCESS EXCLUSIVE MODE"); err != nil {
			t.Fatal(err)
		}
	}
	unlock := func() {
		tx.Rollback(context.Background())
		conn.Close(context.Background())
	}
	t.Cleanup(func() {
		if conn != nil && !conn.IsClosed() {
			unlock()
		}
	})
	return lock, unlock
}

func status(t *testing.T, u, token string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := httpClient("").Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func get(t *testing.T, u, token string) string {
	t.Helper()
	code, body := status(t, u, token)
	if code != http.StatusOK {
		t.Fatalf("GET %s = %d %s", u, code, body)
	}
	return body
}

func waitStatus(t *testing.T, u string, want int) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		code, body := status(t, u, "")
		if code == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s = %d %q; waited for %d", u, code, body, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
