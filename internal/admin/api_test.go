package admin_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/numauth/numauth/internal/admin"
	"github.com/numauth/numauth/internal/auth/authtest"
	"github.com/numauth/numauth/internal/store"
)

const token = "admin-token-for-tests"

type env struct {
	t     *testing.T
	stack *authtest.Stack
	srv   *httptest.Server
	src   string // the source address the API believes (X-Test-Source)
}

// newEnv serves the API over HTTP on the test stack. Two envs may share a
// stack: two instances of one deployment.
func newEnv(t *testing.T, st *authtest.Stack) *env {
	t.Helper()
	return newEnvWith(t, st, nil)
}

// newEnvWith is newEnv with the API's configuration changed by with (a
// clock, a durable store that fails).
func newEnvWith(t *testing.T, st *authtest.Stack, with func(*admin.Config)) *env {
	t.Helper()
	if st == nil {
		st = authtest.New(t, authtest.Options{})
	}
	cfg := admin.Config{
		Service: st.Svc, Durable: st.Durable, Ephemeral: st.Eph, AdminToken: token,
		SignInPerUser: 3, SignInPerSource: 6,
		ClientAddr: func(r *http.Request) netip.Addr {
			a, err := netip.ParseAddr(r.Header.Get("X-Test-Source"))
			if err != nil {
				return netip.MustParseAddr("192.0.2.1")
			}
			return a
		},
	}
	if with != nil {
		with(&cfg)
	}
	api := admin.New(cfg)
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	return &env{t: t, stack: st, srv: srv, src: "192.0.2.1"}
}

// client is one browser: a cookie jar and the CSRF token of its session.
type client struct {
	e    *env
	hc   *http.Client
	csrf string
	bear string
}

func (e *env) browser() *client {
	jar, _ := cookiejar.New(nil)
	return &client{e: e, hc: &http.Client{Jar: jar}}
}

func (e *env) tokenClient() *client { return &client{e: e, hc: http.DefaultClient, bear: token} }

type answer struct {
	status int
	body   map[string]any
	raw    string
	header http.Header
}

func (c *client) do(method, path string, body any, hdr ...string) answer {
	c.e.t.Helper()
	var rd io.Reader
	if body != nil {
		if s, ok := body.(string); ok {
			rd = strings.NewReader(s)
		} else {
			b, _ := json.Marshal(body)
			rd = bytes.NewReader(b)
		}
	}
	req, _ := http.NewRequest(method, c.e.srv.URL+path, rd)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Test-Source", c.e.src)
	if c.csrf != "" {
		req.Header.Set(admin.CSRFHeader, c.csrf)
	}
	if c.bear != "" {
		req.Header.Set("Authorization", "Bearer "+c.bear)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		c.e.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	a := answer{status: resp.StatusCode, raw: string(raw), header: resp.Header}
	json.Unmarshal(raw, &a.body)
	return a
}

func (a answer) code() string { s, _ := a.body["code"].(string); return s }

func (c *client) signIn(user, password string) answer {
	c.e.t.Helper()
	a := c.do("POST", "/admin/v1/session", map[string]string{"user": user, "password": password})
	if a.status == 200 {
		c.csrf, _ = a.body["csrfToken"].(string)
	}
	return a
}

func mustStatus(t *testing.T, a answer, want int, what string) {
	t.Helper()
	if a.status != want {
		t.Fatalf("%s: status %d, want %d: %s", what, a.status, want, a.raw)
	}
}

func createUser(t *testing.T, d store.Durable, name string, role store.ConsoleRole) string {
	t.Helper()
	pw, err := admin.CreateUser(context.Background(), d, name, role, "", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return pw
}

func TestSignInAndCookie(t *testing.T) {
	e := newEnv(t, nil)
	pw := createUser(t, e.stack.Durable, "ann", store.RoleAdmin)
	b := e.browser()
	mustStatus(t, b.do("GET", "/admin/v1/keys", nil), 401, "before sign-in")
	a := b.signIn("ann", pw)
	mustStatus(t, a, 200, "sign-in")
	sc := a.header.Get("Set-Cookie")
	for _, want := range []string{admin.CookieName + "=", "HttpOnly", "SameSite=Strict", "Path=/"} {
		if !strings.Contains(sc, want) {
			t.Errorf("Set-Cookie %q lacks %q", sc, want)
		}
	}
	if strings.Contains(sc, "Secure") {
		t.Errorf("Set-Cookie %q is Secure on plain HTTP", sc)
	}
	if b.csrf == "" || a.body["role"] != "admin" {
		t.Fatalf("sign-in answer %s", a.raw)
	}
	mustStatus(t, b.do("GET", "/admin/v1/keys", nil), 200, "keys after sign-in")
	s := b.do("GET", "/admin/v1/session", nil)
	if s.body["user"] != "ann" || s.body["csrfToken"] != b.csrf {
		t.Fatalf("GET session = %s", s.raw)
	}
	mustStatus(t, b.do("DELETE", "/admin/v1/session", nil), 204, "sign-out")
	mustStatus(t, b.do("GET", "/admin/v1/keys", nil), 401, "after sign-out")

	// A wrong password and an unknown user answer alike.
	w1, w2 := e.browser().signIn("ann", "wrong-password-123"), e.browser().signIn("nobody", "wrong-password-123")
	if w1.status != 401 || w2.status != 401 || w1.raw != w2.raw || w1.code() != "SignInFailed" {
		t.Fatalf("wrong password %d %s; unknown user %d %s", w1.status, w1.raw, w2.status, w2.raw)
	}
}

func TestSecureCookieBehindTLS(t *testing.T) {
	st := authtest.New(t, authtest.Options{})
	srv := httptest.NewTLSServer(admin.New(admin.Config{Service: st.Svc, Durable: st.Durable, Ephemeral: st.Eph}))
	defer srv.Close()
	pw := createUser(t, st.Durable, "ann", store.RoleAdmin)
	b, _ := json.Marshal(map[string]string{"user": "ann", "password": pw})
	resp, err := srv.Client().Post(srv.URL+"/admin/v1/session", "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if sc := resp.Header.Get("Set-Cookie"); !strings.Contains(sc, "Secure") {
		t.Fatalf("Set-Cookie over TLS = %q, want Secure", sc)
	}
}

func TestCSRF(t *testing.T) {
	e := newEnv(t, nil)
	pw := createUser(t, e.stack.Durable, "ann", store.RoleAdmin)
	b := e.browser()
	mustStatus(t, b.signIn("ann", pw), 200, "sign-in")
	good := b.csrf
	for _, tc := range []struct {
		name, csrf string
		hdr        []string
	}{
		{"none", "", nil},
		{"wrong", "x" + good, nil},
		{"cross-site", good, []string{"Sec-Fetch-Site", "cross-site"}},
		{"same-site", good, []string{"Sec-Fetch-Site", "same-site"}},
	} {
		b.csrf = tc.csrf
		a := b.do("POST", "/admin/v1/keys", map[string]string{"description": "csrf " + tc.name}, tc.hdr...)
		if a.status != 403 || a.code() != "CsrfTokenInvalid" {
			t.Errorf("%s CSRF token: %d %s, want 403 CsrfTokenInvalid", tc.name, a.status, a.raw)
		}
	}
	b.csrf = good
	mustStatus(t, b.do("POST", "/admin/v1/keys", map[string]string{"description": "ok"}, "Sec-Fetch-Site", "same-origin"), 201, "write with the token")
	ks := b.do("GET", "/admin/v1/keys", nil)
	if n := len(ks.body["keys"].([]any)); n != 1 {
		t.Fatalf("%d keys after the refused writes and one good one, want 1: %s", n, ks.raw)
	}
	// Reads need no token; the admin token needs none for writes either.
	b.csrf = ""
	mustStatus(t, b.do("GET", "/admin/v1/keys", nil), 200, "read without a token")
	mustStatus(t, e.tokenClient().do("POST", "/admin/v1/keys", map[string]string{}), 201, "admin token write")
	bad := e.tokenClient()
	bad.bear = "wrong"
	mustStatus(t, bad.do("GET", "/admin/v1/keys", nil), 401, "wrong admin token")
}

func TestViewerReadsOnly(t *testing.T) {
	e := newEnv(t, nil)
	createUser(t, e.stack.Durable, "ann", store.RoleAdmin)
	pw := createUser(t, e.stack.Durable, "vic", store.RoleViewer)
	v := e.browser()
	mustStatus(t, v.signIn("vic", pw), 200, "viewer sign-in")
	key := e.tokenClient().do("POST", "/admin/v1/keys", map[string]string{})
	id, _ := key.body["accessKeyId"].(string)
	for _, w := range []struct{ method, path string }{
		{"POST", "/admin/v1/keys"},
		{"POST", "/admin/v1/keys/" + id + "/disable"},
		{"POST", "/admin/v1/schemes"},
		{"DELETE", "/admin/v1/schemes/FC000"},
		{"POST", "/admin/v1/users"},
		{"PATCH", "/admin/v1/users/ann"},
		{"DELETE", "/admin/v1/users/ann"},
		{"POST", "/admin/v1/users/ann/password"},
	} {
		a := v.do(w.method, w.path, map[string]any{"name": "x", "role": "admin", "schemeName": "s", "osType": "H5"})
		if a.status != 403 || a.code() != "Forbidden" {
			t.Errorf("viewer %s %s: %d %s, want 403 Forbidden", w.method, w.path, a.status, a.raw)
		}
	}
	for _, path := range []string{"/admin/v1/keys", "/admin/v1/schemes", "/admin/v1/users", "/admin/v1/audit", "/admin/v1/camara/clients", "/admin/v1/stats/daily", "/admin/v1/stats/live", "/admin/v1/billing"} {
		mustStatus(t, v.do("GET", path, nil), 200, "viewer GET "+path)
	}
	ks := v.do("GET", "/admin/v1/keys", nil)
	if strings.Contains(ks.raw, "ecret") {
		t.Fatalf("the key list shows a secret: %s", ks.raw)
	}
	// Every refusal is in the audit log, with who tried.
	au := e.tokenClient().do("GET", "/admin/v1/audit?actor=user:vic", nil)
	entries, _ := au.body["entries"].([]any)
	var forbidden int
	for _, x := range entries {
		if x.(map[string]any)["outcome"] == "Forbidden" {
			forbidden++
		}
	}
	if forbidden != 8 {
		t.Fatalf("%d Forbidden entries for vic in the audit log, want 8: %s", forbidden, au.raw)
	}
}

func TestKeysSchemesAndAudit(t *testing.T) {
	e := newEnv(t, nil)
	pw := createUser(t, e.stack.Durable, "ann", store.RoleAdmin)
	b := e.browser()
	mustStatus(t, b.signIn("ann", pw), 200, "sign-in")
	k := b.do("POST", "/admin/v1/keys", map[string]string{"description": "<b>shop</b>"})
	mustStatus(t, k, 201, "create key")
	id, _ := k.body["accessKeyId"].(string)
	if sec, _ := k.body["accessKeySecret"].(string); len(sec) < 20 || id == "" {
		t.Fatalf("create key = %s", k.raw)
	}
	if strings.Contains(k.raw, "<b>") {
		t.Fatalf("the answer has unescaped markup: %s", k.raw)
	}
	// The secret is shown once: the list never has it.
	if l := b.do("GET", "/admin/v1/keys", nil); strings.Contains(l.raw, k.body["accessKeySecret"].(string)) {
		t.Fatal("the key list shows the secret")
	}
	mustStatus(t, b.do("POST", "/admin/v1/keys/"+id+"/disable", nil), 204, "disable key")
	if c, err := e.stack.Svc.ResolveKey(context.Background(), id); err == nil && c.Active {
		t.Fatal("the disabled key still resolves as active")
	}
	mustStatus(t, b.do("POST", "/admin/v1/keys/"+id+"/enable", nil), 204, "enable key")
	mustStatus(t, b.do("POST", "/admin/v1/keys/LTAInone/enable", nil), 404, "enable an absent key")

	hostile := `<script>alert("x")</script>`
	s := b.do("POST", "/admin/v1/schemes", map[string]string{"schemeName": hostile, "appName": "app", "osType": "H5",
		"origin": "https://shop.example.com", "url": "https://shop.example.com/login"})
	mustStatus(t, s, 201, "create scheme")
	code, _ := s.body["schemeCode"].(string)
	if s.body["schemeName"] != hostile || strings.Contains(s.raw, "<script>") {
		t.Fatalf("scheme answer %s: the name must round-trip, escaped", s.raw)
	}
	mustStatus(t, b.do("POST", "/admin/v1/schemes", map[string]string{"schemeName": hostile, "appName": "app", "osType": "H5",
		"origin": "https://shop.example.com", "url": "https://shop.example.com/login"}), 409, "scheme of a taken name")
	mustStatus(t, b.do("POST", "/admin/v1/schemes", map[string]string{"schemeName": "x", "osType": "Windows"}), 400, "bad OS type")
	mustStatus(t, b.do("DELETE", "/admin/v1/schemes/"+code, nil), 204, "delete scheme")
	mustStatus(t, b.do("DELETE", "/admin/v1/schemes/"+code, nil), 404, "delete it again")

	au := b.do("GET", "/admin/v1/audit?limit=50", nil)
	var got []string
	for _, x := range au.body["entries"].([]any) {
		m := x.(map[string]any)
		if m["actor"] != "user:ann" {
			t.Errorf("entry by %v, want user:ann: %v", m["actor"], m)
		}
		got = append(got, fmt.Sprint(m["action"], " ", m["outcome"]))
	}
	want := []string{"schemes.delete NotFound", "schemes.delete ok", "schemes.create InvalidParameter", "schemes.create Conflict",
		"schemes.create ok", "keys.enable NotFound", "keys.enable ok", "keys.disable ok", "keys.create ok", "session.create ok"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("audit log (newest first)\n got %q\nwant %q", got, want)
	}
	if strings.Contains(au.raw, pw) || strings.Contains(au.raw, k.body["accessKeySecret"].(string)) {
		t.Fatal("the audit log holds a secret")
	}
}

func TestBadInput(t *testing.T) {
	e := newEnv(t, nil)
	c := e.tokenClient()
	for _, tc := range []struct {
		method, path string
		body         any
	}{
		{"POST", "/admin/v1/keys", `{"account":`},
		{"POST", "/admin/v1/keys", `{"nope":1}`},
		{"POST", "/admin/v1/keys", `{} {}`},
		{"POST", "/admin/v1/keys", `[]`},
		{"POST", "/admin/v1/keys", `{"description":` + strings.Repeat(`"x`, 1) + strings.Repeat("x", 70<<10) + `"}`},
		{"POST", "/admin/v1/users", map[string]string{"name": "", "role": "admin"}},
		{"POST", "/admin/v1/users", map[string]string{"name": "a\x00b", "role": "admin"}},
		{"POST", "/admin/v1/users", map[string]string{"name": " pad", "role": "admin"}},
		{"POST", "/admin/v1/users", map[string]string{"name": "bob", "role": "root"}},
		{"POST", "/admin/v1/users", map[string]string{"name": "bob", "role": "admin", "password": "short"}},
		{"PATCH", "/admin/v1/users/bob", map[string]string{}},
		{"GET", "/admin/v1/audit?limit=0", nil},
		{"GET", "/admin/v1/stats/daily?type=9", nil},
		{"GET", "/admin/v1/billing?type=x", nil},
		{"POST", "/admin/v1/session", `{"user":"","password":"x"}`},
	} {
		a := c.do(tc.method, tc.path, tc.body)
		if a.status != 400 || a.code() != "InvalidParameter" {
			t.Errorf("%s %s %v: %d %s, want 400 InvalidParameter", tc.method, tc.path, tc.body, a.status, a.raw)
		}
	}
}

func TestSignInThrottled(t *testing.T) {
	e := newEnv(t, nil)
	pw := createUser(t, e.stack.Durable, "ann", store.RoleAdmin)
	// Per user: 3 wrong passwords (from 3 addresses), then even the right
	// one is refused.
	for i := 0; i < 3; i++ {
		e.src = fmt.Sprint("198.51.100.", i+1)
		mustStatus(t, e.browser().signIn("ann", "wrong-password-123"), 401, "wrong password")
	}
	e.src = "198.51.100.9"
	a := e.browser().signIn("ann", pw)
	if a.status != 429 || a.code() != "SignInThrottled" || a.header.Get("Retry-After") == "" {
		t.Fatalf("sign-in after 3 wrong passwords: %d %s", a.status, a.raw)
	}
	// Per source: 6 wrong passwords for 6 users from one address lock the
	// address, for a user it never tried too.
	pw2 := createUser(t, e.stack.Durable, "bob", store.RoleViewer)
	e.src = "203.0.113.7"
	for i := 0; i < 6; i++ {
		mustStatus(t, e.browser().signIn(fmt.Sprint("u", i), "wrong-password-123"), 401, "wrong user")
	}
	if a := e.browser().signIn("bob", pw2); a.status != 429 {
		t.Fatalf("sign-in from a throttled address: %d %s", a.status, a.raw)
	}
	e.src = "203.0.113.8"
	mustStatus(t, e.browser().signIn("bob", pw2), 200, "the same user from another address")
	// A right password costs nothing: many sign-ins in a row all pass.
	for i := 0; i < 8; i++ {
		mustStatus(t, e.browser().signIn("bob", pw2), 200, "repeated right sign-in")
	}
}

// TestParallelWrongPasswords: a burst of parallel guesses never gets more
// than the budget's 3 checks of the password.
func TestParallelWrongPasswords(t *testing.T) {
	e := newEnv(t, nil)
	createUser(t, e.stack.Durable, "ann", store.RoleAdmin)
	var wg sync.WaitGroup
	var mu sync.Mutex
	count := map[int]int{}
	for i := 0; i < 20; i++ {
		wg.Go(func() {
			// each from its own address: only the per-user budget binds
			jar, _ := cookiejar.New(nil)
			c := &client{e: e, hc: &http.Client{Jar: jar}}
			body, _ := json.Marshal(map[string]string{"user": "ann", "password": "wrong-password-123"})
			req, _ := http.NewRequest("POST", e.srv.URL+"/admin/v1/session", bytes.NewReader(body))
			req.Header.Set("X-Test-Source", fmt.Sprint("198.51.100.", i+10))
			resp, err := c.hc.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			mu.Lock()
			count[resp.StatusCode]++
			mu.Unlock()
		})
	}
	wg.Wait()
	if count[401] > 3 || count[200] > 0 || count[401]+count[429] != 20 {
		t.Fatalf("20 parallel wrong passwords answered %v; want at most 3 checked (401), the rest 429", count)
	}
}

// TestSessionsAcrossInstances: two API instances on one deployment's
// stores share sessions; "sign out everywhere", a role change, disabling
// and a password reset end every session at once, on both.
func TestSessionsAcrossInstances(t *testing.T) {
	e1 := newEnv(t, nil)
	e2 := newEnv(t, e1.stack)
	pw := createUser(t, e1.stack.Durable, "ann", store.RoleAdmin)
	createUser(t, e1.stack.Durable, "root", store.RoleAdmin)
	b := e1.browser()
	mustStatus(t, b.signIn("ann", pw), 200, "sign-in on 1")
	// The same cookie on instance 2.
	b2 := &client{e: e2, hc: &http.Client{Jar: b.hc.Jar}, csrf: b.csrf}
	u1, _ := http.NewRequest("GET", e1.srv.URL, nil)
	u2, _ := http.NewRequest("GET", e2.srv.URL, nil)
	b.hc.Jar.SetCookies(u2.URL, b.hc.Jar.Cookies(u1.URL))
	mustStatus(t, b2.do("GET", "/admin/v1/keys", nil), 200, "session on instance 2")
	other := e2.browser()
	mustStatus(t, other.signIn("ann", pw), 200, "second session on 2")

	mustStatus(t, b2.do("POST", "/admin/v1/session/everywhere", nil), 204, "sign out everywhere")
	mustStatus(t, b.do("GET", "/admin/v1/keys", nil), 401, "first session after sign-out everywhere")
	mustStatus(t, other.do("GET", "/admin/v1/keys", nil), 401, "second session after sign-out everywhere")

	root := e1.tokenClient()
	for _, change := range []struct {
		name string
		do   func() answer
	}{
		{"demoted", func() answer { return root.do("PATCH", "/admin/v1/users/ann", map[string]any{"role": "viewer"}) }},
		{"disabled", func() answer { return root.do("PATCH", "/admin/v1/users/ann", map[string]any{"disabled": true}) }},
		{"password reset", func() answer { return root.do("POST", "/admin/v1/users/ann/password", map[string]string{}) }},
	} {
		s := e2.browser()
		a := s.signIn("ann", pw)
		mustStatus(t, a, 200, "sign-in before "+change.name)
		a = change.do()
		if a.status >= 300 {
			t.Fatalf("%s: %d %s", change.name, a.status, a.raw)
		}
		mustStatus(t, s.do("GET", "/admin/v1/keys", nil), 401, "session after the user was "+change.name)
		if change.name == "password reset" {
			newPW, _ := a.body["password"].(string)
			mustStatus(t, e1.browser().signIn("ann", pw), 401, "old password after reset")
			mustStatus(t, e1.browser().signIn("ann", newPW), 200, "new password")
		}
		if change.name == "disabled" {
			mustStatus(t, e1.browser().signIn("ann", pw), 401, "sign-in of a disabled user")
			mustStatus(t, root.do("PATCH", "/admin/v1/users/ann", map[string]any{"disabled": false}), 200, "enable")
		}
	}
}

func TestUsersAndLastAdmin(t *testing.T) {
	e := newEnv(t, nil)
	c := e.tokenClient()
	a := c.do("POST", "/admin/v1/users", map[string]string{"name": "ann", "role": "admin"})
	mustStatus(t, a, 201, "create user")
	pw, _ := a.body["password"].(string)
	if len(pw) < 20 {
		t.Fatalf("generated password %q", pw)
	}
	mustStatus(t, c.do("POST", "/admin/v1/users", map[string]string{"name": "ann", "role": "viewer"}), 409, "taken name")
	mustStatus(t, c.do("POST", "/admin/v1/users", map[string]string{"name": "bob", "password": "correct horse battery"}), 201, "user with a password")
	l := c.do("GET", "/admin/v1/users", nil)
	if strings.Contains(l.raw, "argon2") || strings.Contains(l.raw, pw) {
		t.Fatalf("the user list shows a hash or a password: %s", l.raw)
	}
	if us := l.body["users"].([]any); len(us) != 2 || us[1].(map[string]any)["role"] != "viewer" {
		t.Fatalf("users = %s (bob defaults to viewer)", l.raw)
	}
	for _, tc := range []struct{ method, path string }{{"DELETE", "/admin/v1/users/ann"}, {"PATCH", "/admin/v1/users/ann"}} {
		a := c.do(tc.method, tc.path, map[string]any{"role": "viewer"})
		if a.status != 409 || a.code() != "LastAdmin" {
			t.Fatalf("%s the last admin: %d %s", tc.method, a.status, a.raw)
		}
	}
	mustStatus(t, c.do("PATCH", "/admin/v1/users/bob", map[string]any{"role": "admin"}), 200, "promote bob")
	mustStatus(t, c.do("DELETE", "/admin/v1/users/ann", nil), 204, "delete ann now")
	mustStatus(t, c.do("DELETE", "/admin/v1/users/ann", nil), 404, "delete ann again")
}

func TestEnsureUser(t *testing.T) {
	st := authtest.New(t, authtest.Options{})
	ctx := context.Background()
	made, err := admin.EnsureUser(ctx, st.Durable, "boot", "bootstrap-password-1", time.Now())
	if err != nil || !made {
		t.Fatalf("EnsureUser = %v, %v", made, err)
	}
	made, err = admin.EnsureUser(ctx, st.Durable, "boot", "another-password-22", time.Now())
	if err != nil || made {
		t.Fatalf("EnsureUser again = %v, %v; want it left alone", made, err)
	}
	u, _ := st.Durable.GetConsoleUser(ctx, "boot")
	if ok, _ := admin.VerifyPassword(ctx, u.PasswordHash, "bootstrap-password-1"); !ok || u.Role != store.RoleAdmin {
		t.Fatalf("bootstrap user %+v does not take its first password", u)
	}
	if _, err := admin.EnsureUser(ctx, st.Durable, "x", "short", time.Now()); err == nil || !admin.IsBadInput(err) {
		t.Fatalf("EnsureUser with a short password: %v", err)
	}
}

func TestVerificationLog(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	at := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	var vs []store.Verification
	for i := 0; i < 5; i++ {
		vs = append(vs, store.Verification{ID: fmt.Sprint("v", i), AccountID: "default", SchemeCode: "FC1", Kind: "verify",
			Carrier: "CM", Result: "PASS", MaskedPhone: "138****567" + fmt.Sprint(i%2), PhoneHash: "secret-hash-" + fmt.Sprint(i),
			LatencyUS: 1500, CreatedAt: at.Add(time.Duration(i) * time.Minute)})
	}
	if err := e.stack.Durable.RecordVerifications(ctx, vs); err != nil {
		t.Fatal(err)
	}
	c := e.tokenClient()
	a := c.do("GET", "/admin/v1/verifications?phone=138****5671", nil)
	mustStatus(t, a, 200, "search by masked number")
	got := a.body["verifications"].([]any)
	if len(got) != 2 || got[0].(map[string]any)["verifyId"] != "v3" || got[0].(map[string]any)["latencyMs"] != 1.5 {
		t.Fatalf("search = %s", a.raw)
	}
	if strings.Contains(a.raw, "secret-hash") {
		t.Fatal("the log shows phone hashes")
	}
	// Pages of 2 with the cursor: v4 v3 | v2 v1 | v0.
	var seen []string
	path := "/admin/v1/verifications?limit=2"
	for i := 0; i < 5 && path != ""; i++ {
		a := c.do("GET", path, nil)
		mustStatus(t, a, 200, "page")
		for _, x := range a.body["verifications"].([]any) {
			seen = append(seen, x.(map[string]any)["verifyId"].(string))
		}
		path = ""
		if n, ok := a.body["next"].(string); ok {
			path = "/admin/v1/verifications?limit=2&before=" + n
		}
	}
	if fmt.Sprint(seen) != "[v4 v3 v2 v1 v0]" {
		t.Fatalf("pages = %v", seen)
	}
	for _, q := range []string{"phone=13812345678", "phone=<script>", "kind=x", "result=pass", "from=yesterday", "before=abc", "limit=0"} {
		a := c.do("GET", "/admin/v1/verifications?"+q, nil)
		if a.status != 400 {
			t.Errorf("?%s: %d %s, want 400", q, a.status, a.raw)
		}
	}
}

func TestHourlyStats(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Hour)
	var vs []store.Verification
	for i := 0; i < 10; i++ {
		res := "PASS"
		if i%5 == 0 {
			res = "REJECT"
		}
		vs = append(vs, store.Verification{ID: fmt.Sprint("h", i), AccountID: "default", SchemeCode: "FC1", Kind: "verify",
			Carrier: "CM", Result: res, MaskedPhone: "138****0000", PhoneHash: "x", Billable: res == "PASS",
			LatencyUS: int64(20000 + i*1000), CreatedAt: now.Add(-time.Duration(i%2) * time.Hour).Add(time.Minute)})
	}
	if err := e.stack.Durable.RecordVerifications(ctx, vs); err != nil {
		t.Fatal(err)
	}
	a := e.tokenClient().do("GET", "/admin/v1/stats/hourly", nil)
	mustStatus(t, a, 200, "hourly stats")
	hours := a.body["hours"].([]any)
	if len(hours) != 2 {
		t.Fatalf("hours = %s", a.raw)
	}
	var total, pass, reject float64
	for _, h := range hours {
		m := h.(map[string]any)
		total += m["total"].(float64)
		pass += m["pass"].(float64)
		reject += m["reject"].(float64)
		if p50 := m["p50Ms"].(float64); p50 < 10 || p50 > 50 {
			t.Errorf("p50 %v ms for latencies of 20–29 ms", p50)
		}
	}
	if total != 10 || pass != 8 || reject != 2 {
		t.Fatalf("sums %v/%v/%v, want 10/8/2: %s", total, pass, reject, a.raw)
	}
	for _, q := range []string{"from=x", "kind=y", "from=2026-12-02T00:00:00Z&to=2026-12-01T00:00:00Z", "from=2025-01-01T00:00:00Z&to=2026-01-01T00:00:00Z"} {
		if a := e.tokenClient().do("GET", "/admin/v1/stats/hourly?"+q, nil); a.status != 400 {
			t.Errorf("?%s: %d %s", q, a.status, a.raw)
		}
	}
}

// liveAnswer is GET /admin/v1/stats/live's answer as the console reads it.
type liveAnswer struct {
	From    string `json:"from"`
	To      string `json:"to"`
	Minutes []struct {
		Minute    string           `json:"minute"`
		Total     int64            `json:"total"`
		Pass      int64            `json:"pass"`
		Reject    int64            `json:"reject"`
		Unknown   int64            `json:"unknown"`
		ByCarrier map[string]int64 `json:"byCarrier"`
	} `json:"minutes"`
	Carriers []struct {
		Carrier string  `json:"carrier"`
		Total   int64   `json:"total"`
		Pass    int64   `json:"pass"`
		Reject  int64   `json:"reject"`
		Unknown int64   `json:"unknown"`
		P50MS   float64 `json:"p50Ms"`
		P99MS   float64 `json:"p99Ms"`
	} `json:"carriers"`
	Total   int64   `json:"total"`
	Pass    int64   `json:"pass"`
	Reject  int64   `json:"reject"`
	Unknown int64   `json:"unknown"`
	P50MS   float64 `json:"p50Ms"`
	P99MS   float64 `json:"p99Ms"`
}

// String prints the answer with latencies to 0.01 ms: the estimate is
// computed in floating point and truncated to the microsecond.
func (l liveAnswer) String() string {
	r := func(f float64) string { return fmt.Sprintf("%.2f", f) }
	var b strings.Builder
	fmt.Fprintf(&b, "%s..%s total=%d/%d/%d/%d p=%s/%s\n", l.From, l.To, l.Total, l.Pass, l.Reject, l.Unknown, r(l.P50MS), r(l.P99MS))
	for _, m := range l.Minutes {
		fmt.Fprintf(&b, "  %s %d/%d/%d/%d %v\n", m.Minute, m.Total, m.Pass, m.Reject, m.Unknown, m.ByCarrier)
	}
	for _, c := range l.Carriers {
		fmt.Fprintf(&b, "  %s %d/%d/%d/%d p=%s/%s\n", c.Carrier, c.Total, c.Pass, c.Reject, c.Unknown, r(c.P50MS), r(c.P99MS))
	}
	return b.String()
}

// failingMinutes is a durable store whose per-minute statistics are down.
type failingMinutes struct{ store.Durable }

func (failingMinutes) MinuteStats(context.Context, store.VerificationFilter) ([]store.MinuteStat, error) {
	return nil, fmt.Errorf("reading the rollup: %w", store.ErrUnavailable)
}

func TestLiveStats(t *testing.T) {
	now := time.Date(2026, 12, 2, 10, 30, 40, 0, time.UTC)
	clock := func(c *admin.Config) { c.Now = func() time.Time { return now } }
	e := newEnvWith(t, nil, clock)
	at := func(hms string) time.Time {
		x, err := time.Parse(time.RFC3339Nano, "2026-12-02T"+hms+"Z")
		if err != nil {
			t.Fatal(err)
		}
		return x
	}
	var vs []store.Verification
	for i, r := range []struct {
		at, account, kind, carrier, result string
		latMS                              int64
	}{
		{"10:27:59.999999", "default", "verify", "CM", "PASS", 5}, // before a 3-minute window
		{"10:28:00", "default", "verify", "CM", "PASS", 15},
		{"10:28:30", "default", "verify", "CU", "REJECT", 15},
		{"10:28:59.999999", "default", "verify", "CM", "UNKNOWN", 30},
		{"10:29:10", "default", "login", "CT", "PASS", 15},
		{"10:29:20", "other", "verify", "CM", "PASS", 15},
		{"10:30:40", "default", "verify", "CM", "ERROR", 15}, // in the totals, not in pass/reject/unknown
		{"10:31:00", "default", "verify", "CM", "PASS", 15},  // the next minute: after the window
	} {
		vs = append(vs, store.Verification{ID: fmt.Sprint("m", i), AccountID: r.account, SchemeCode: "FC1", Kind: r.kind,
			Carrier: r.carrier, Result: r.result, MaskedPhone: "138****0000", PhoneHash: "x", LatencyUS: r.latMS * 1000,
			CreatedAt: at(r.at)})
	}
	if err := e.stack.Durable.RecordVerifications(context.Background(), vs); err != nil {
		t.Fatal(err)
	}
	// The q-quantile of n latencies is the one of rank q×n, interpolated
	// linearly within its histogram bucket (0–10, 10–25, 25–50 ms here):
	// e.g. CM's four of the 3-minute window, three in 10–25 ms and one in
	// 25–50 ms, have p50 10 + (2/3)×15 = 20 and p99 25 + 0.96×25 = 49;
	// all six have p99 25 + 0.94×25 = 48.5.
	const (
		p50of1in10to25 = "17.50" // 10 + 0.5×15
		p99of1in10to25 = "24.85" // 10 + 0.99×15
	)
	for _, c := range []struct {
		name, query string
		want        string
	}{
		{"the last 3 minutes, all accounts and kinds", "?minutes=3", `2026-12-02T10:28:00Z..2026-12-02T10:31:00Z total=6/3/1/1 p=19.00/48.50
  2026-12-02T10:28:00Z 3/1/1/1 map[CM:2 CU:1]
  2026-12-02T10:29:00Z 2/2/0/0 map[CM:1 CT:1]
  2026-12-02T10:30:00Z 1/0/0/0 map[CM:1]
  CM 4/2/0/1 p=20.00/49.00
  CT 1/1/0/0 p=` + p50of1in10to25 + `/` + p99of1in10to25 + `
  CU 1/0/1/0 p=` + p50of1in10to25 + `/` + p99of1in10to25 + `
`},
		{"one account and kind: a minute without records is left out", "?minutes=3&account=default&kind=verify",
			`2026-12-02T10:28:00Z..2026-12-02T10:31:00Z total=4/1/1/1 p=20.00/49.00
  2026-12-02T10:28:00Z 3/1/1/1 map[CM:2 CU:1]
  2026-12-02T10:30:00Z 1/0/0/0 map[CM:1]
  CM 3/1/0/1 p=21.25/49.25
  CU 1/0/1/0 p=` + p50of1in10to25 + `/` + p99of1in10to25 + `
`},
		{"the default hour", "?kind=verify&account=default", `2026-12-02T09:31:00Z..2026-12-02T10:31:00Z total=5/2/1/1 p=17.50/48.75
  2026-12-02T10:27:00Z 1/1/0/0 map[CM:1]
  2026-12-02T10:28:00Z 3/1/1/1 map[CM:2 CU:1]
  2026-12-02T10:30:00Z 1/0/0/0 map[CM:1]
  CM 4/2/0/1 p=17.50/49.00
  CU 1/0/1/0 p=` + p50of1in10to25 + `/` + p99of1in10to25 + `
`},
		{"one minute: the current one", "?minutes=1", `2026-12-02T10:30:00Z..2026-12-02T10:31:00Z total=1/0/0/0 p=17.50/24.85
  2026-12-02T10:30:00Z 1/0/0/0 map[CM:1]
  CM 1/0/0/0 p=17.50/24.85
`},
		{"no records", "?minutes=1440&account=nobody", `2026-12-01T10:31:00Z..2026-12-02T10:31:00Z total=0/0/0/0 p=0.00/0.00
`},
	} {
		t.Run(c.name, func(t *testing.T) {
			a := e.tokenClient().do("GET", "/admin/v1/stats/live"+c.query, nil)
			mustStatus(t, a, 200, c.query)
			var got liveAnswer
			if err := json.Unmarshal([]byte(a.raw), &got); err != nil {
				t.Fatal(err)
			}
			if got.String() != c.want {
				t.Errorf("%s:\n got  %s\n want %s\n(%s)", c.query, got, c.want, a.raw)
			}
			// Empty lists are lists, not null: the console maps over them.
			for _, k := range []string{`"minutes":`, `"carriers":`} {
				if strings.Contains(a.raw, k+"null") {
					t.Errorf("%s: %snull in %s", c.query, k, a.raw)
				}
			}
		})
	}

	for _, c := range []struct{ query, hint string }{
		{"?minutes=0", "minutes"}, {"?minutes=1441", "minutes"}, {"?minutes=-5", "minutes"}, {"?minutes=1.5", "minutes"},
		{"?minutes=abc", "minutes"}, {"?minutes=", ""}, {"?kind=fusion", "kind"}, {"?kind=VERIFY", "kind"},
	} {
		a := e.tokenClient().do("GET", "/admin/v1/stats/live"+c.query, nil)
		if c.hint == "" { // an empty parameter is the default
			mustStatus(t, a, 200, c.query)
			continue
		}
		msg, _ := a.body["message"].(string)
		if a.status != 400 || a.code() != "InvalidParameter" || !strings.Contains(msg, c.hint) {
			t.Errorf("%s: %d %s, want 400 InvalidParameter naming %s", c.query, a.status, a.raw, c.hint)
		}
	}

	pw := createUser(t, e.stack.Durable, "vic", store.RoleViewer)
	v := e.browser()
	mustStatus(t, e.browser().do("GET", "/admin/v1/stats/live", nil), 401, "signed out")
	mustStatus(t, v.signIn("vic", pw), 200, "viewer sign-in")
	a := v.do("GET", "/admin/v1/stats/live?minutes=3", nil)
	mustStatus(t, a, 200, "a viewer reads the live statistics")
	if a.body["total"] != 6.0 {
		t.Errorf("the viewer's total = %v, want 6: %s", a.body["total"], a.raw)
	}

	down := newEnvWith(t, e.stack, func(c *admin.Config) {
		clock(c)
		c.Durable = failingMinutes{c.Durable}
	})
	a = down.tokenClient().do("GET", "/admin/v1/stats/live", nil)
	if a.status != 503 || a.code() != "ServiceUnavailable" {
		t.Errorf("store down: %d %s, want 503 ServiceUnavailable", a.status, a.raw)
	}
}
