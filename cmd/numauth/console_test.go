package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/numauth/numauth/internal/bench"
)

const hostile = `<img src=x onerror=alert(1)>`

// consoleBrowser starts a headless Chromium for one test, or skips when there is none.
func consoleBrowser(t *testing.T) context.Context {
	t.Helper()
	path := os.Getenv("NUMAUTH_CHROMIUM")
	if path == "" {
		for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
			if p, err := exec.LookPath(name); err == nil {
				path = p
				break
			}
		}
	}
	if path == "" {
		t.Skip("no Chromium found (set NUMAUTH_CHROMIUM or install chromium): skipping the console's browser test")
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(path), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck, chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1100, 900),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true),
	)
	ctx, cancelB := chromedp.NewContext(actx)
	ctx, cancelT := context.WithTimeout(ctx, 180*time.Second)
	t.Cleanup(func() { cancelT(); cancelB(); cancelA() })
	return ctx
}

func crun(t *testing.T, ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func ctext(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("text of %s: %v", sel, err)
	}
	return v
}

// ceval evaluates expr, or with poll waits until it is truthy.
func ceval[T any](t *testing.T, ctx context.Context, poll bool, expr string) T {
	t.Helper()
	a := chromedp.Evaluate[T](expr)
	if poll {
		a = chromedp.Poll[T](expr, chromedp.WithPollingTimeout(30*time.Second))
	}
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatalf("evaluate %.80q: %v", expr, err)
	}
	return v
}

func consoleSignIn(t *testing.T, ctx context.Context, base, user, pw string) time.Time {
	t.Helper()
	crun(t, ctx, "open the sign-in page",
		chromedp.Navigate(base+"/console/#/overview"),
		chromedp.WaitVisible(chromedp.CSS("#signin")))
	start := time.Now()
	crun(t, ctx, "sign in as "+user,
		chromedp.SendKeys(chromedp.CSS("#user"), user),
		chromedp.SendKeys(chromedp.CSS("#password"), pw),
		chromedp.Click(chromedp.CSS("#signin button[type=submit]")))
	wctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(wctx, chromedp.WaitVisible(chromedp.CSS("#chart canvas"))); err != nil {
		t.Fatalf("no chart after sign-in (%v); the page says: %s", err, ceval[string](t, ctx, false, `document.body.innerText`))
	}
	return start
}

// consolePages are the console's pages, by the name in their URL.
var consolePages = []string{"overview", "stats", "billing", "log", "accounts", "keys", "schemes", "camara", "users", "audit", "sms", "sandbox"}

// scriptDialogs records every alert, confirm or prompt the page opens and
// dismisses it: the console opens none of its own, so each is an injected
// script.
func scriptDialogs(t *testing.T, ctx context.Context) func() []string {
	var mu sync.Mutex
	var seen []string
	evs := chromedp.Events(ctx, page.JavascriptDialogOpening)
	go func() {
		for ev, err := range evs {
			if err != nil {
				return
			}
			mu.Lock()
			seen = append(seen, string(ev.Type)+": "+ev.Message)
			mu.Unlock()
			chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: false})
		}
	}()
	return func() []string { mu.Lock(); defer mu.Unlock(); return slices.Clone(seen) }
}

// TestConsoleBrowser drives the console in Chromium as the issue asks: sign in, create an
// AccessKey and a scheme through the UI, set a sandbox fault, run verifications through the
// API and see the overview, the statistics and the log change, disable the key and see the
// API refuse it, change and delete users, a viewer without change controls, CSRF and XSS
// attempts that fail, sign-in throttling, an ended session back at sign-in, no horizontal
// overflow at 360 px, and a store outage shown as a banner. With
// NUMAUTH_CONSOLE_SCREENSHOTS=1 it also writes docs/img/console-*.png, with the data the
// test made.
func TestConsoleBrowser(t *testing.T) {
	const adminPW = "correct horse battery staple"
	t.Setenv("NUMAUTH_BOOTSTRAP_CONSOLE_USER", "root")
	t.Setenv("NUMAUTH_BOOTSTRAP_CONSOLE_PASSWORD", adminPW)
	ctx := consoleBrowser(t)
	dialogs := scriptDialogs(t, ctx)
	hs, srv := startServerAndStores(t)

	start := consoleSignIn(t, ctx, hs.URL, "root", adminPW)
	t.Logf("sign-in to first chart drawn: %v", time.Since(start).Round(time.Millisecond))

	// An AccessKey: created (its secret shown once) and accepted by the API.
	crun(t, ctx, "create an AccessKey",
		chromedp.Navigate(hs.URL+"/console/#/keys"),
		chromedp.WaitVisible(chromedp.CSS("#key-create")),
		chromedp.SendKeys(chromedp.CSS("#key-create input[name=description]"), hostile),
		chromedp.Click(chromedp.CSS("#key-create button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("#new-key-secret")))
	keyID, secret := ctext(t, ctx, "#new-key-id"), ctext(t, ctx, "#new-key-secret")
	crun(t, ctx, "close the dialog", chromedp.Click(chromedp.CSS("dialog button")))
	if keyID == "" || len(secret) < 16 {
		t.Fatalf("the dialog showed id %q, secret %q", keyID, secret)
	}
	if !callAs(t, hs, keyID, secret) {
		t.Fatal("the API refuses the AccessKey the console just created")
	}

	// A scheme whose name is markup: shown as text, nothing injected.
	crun(t, ctx, "create a scheme",
		chromedp.Navigate(hs.URL+"/console/#/schemes"),
		chromedp.WaitVisible(chromedp.CSS("#scheme-create")),
		chromedp.SendKeys(chromedp.CSS("#scheme-create input[name=schemeName]"), hostile),
		chromedp.SendKeys(chromedp.CSS("#scheme-create input[name=appName]"), "Demo app"),
		chromedp.SendKeys(chromedp.CSS("#scheme-create input[name=origin]"), "https://example.com"),
		chromedp.SendKeys(chromedp.CSS("#scheme-create input[name=url]"), "https://example.com/login"),
		chromedp.Click(chromedp.CSS("#scheme-create button[type=submit]")))
	noInjection := func(where string) {
		t.Helper()
		if ceval[bool](t, ctx, false, `document.querySelectorAll("main img, main [onerror], main script").length > 0`) {
			t.Errorf("%s: an element was injected", where)
		}
	}
	// The list has the scheme callAs made; wait for the new one, shown as text.
	ceval[bool](t, ctx, true, fmt.Sprintf(`[...document.querySelectorAll(".scheme-name")].some(e => e.textContent === %q)`, hostile))
	noInjection("schemes")

	// A CAMARA client with a markup name: its secret shown once, then disabled.
	crun(t, ctx, "create a CAMARA client",
		chromedp.Navigate(hs.URL+"/console/#/camara"),
		chromedp.WaitVisible(chromedp.CSS("#client-create")),
		chromedp.SendKeys(chromedp.CSS("#client-create input[name=name]"), hostile),
		chromedp.SendKeys(chromedp.CSS("#client-create input[name=redirectUris]"), "https://app.example/cb"),
		chromedp.Click(chromedp.CSS("#client-create button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("#new-client-secret")))
	clientID, clientSecret := ctext(t, ctx, "#new-client-id"), ctext(t, ctx, "#new-client-secret")
	crun(t, ctx, "close the dialog", chromedp.Click(chromedp.CSS("dialog button")))
	if !strings.HasPrefix(clientID, "nv-") || len(clientSecret) < 20 {
		t.Fatalf("the client dialog showed %q, %q", clientID, clientSecret)
	}
	cbtn := fmt.Sprintf(`button[data-client=%q]`, clientID)
	crun(t, ctx, "disable the client", chromedp.WaitVisible(chromedp.CSS(cbtn)), chromedp.Click(chromedp.CSS(cbtn)))
	ceval[bool](t, ctx, true, fmt.Sprintf(`(() => { const b = document.querySelector(%q); return !!b && b.textContent === "Enable" && b.closest("tr").querySelector(".status-Inactive") !== null })()`, cbtn))
	if !ceval[bool](t, ctx, false, fmt.Sprintf(`[...document.querySelectorAll(".client-name")].some(e => e.textContent === %q)`, hostile)) || strings.Contains(ceval[string](t, ctx, false, `document.body.innerText`), clientSecret) {
		t.Error("the client's name is not shown as text, or its secret is still on the page")
	}
	noInjection("camara")

	// A sandbox fault set through the UI: 20 ms on China Mobile's calls.
	crun(t, ctx, "set a fault",
		chromedp.Navigate(hs.URL+"/console/#/sandbox"),
		chromedp.WaitVisible(chromedp.CSS(`button[data-fault="CM"]`)),
		chromedp.SetValue(chromedp.CSS(`tr:has(button[data-fault="CM"]) input[name=latency]`), "20ms"),
		chromedp.Click(chromedp.CSS(`button[data-fault="CM"]`)))
	ceval[bool](t, ctx, true, `(() => { const i = document.querySelector('tr:has(button[data-fault="CM"]) input[name=latency]'); return !!i && i.value === "20ms" && !document.querySelector("main .error") })()`)

	// Verifications, logins and SMS codes through the API, as an integrator's servers make them.
	for _, run := range []struct {
		kind  bench.Kind
		flows int
	}{{bench.KindVerify, 24}, {bench.KindLogin, 8}, {bench.KindSMS, 3}} {
		rep, err := bench.Run(ctx, bench.Config{Target: hs.URL, AccessKeyID: keyID, AccessKeySecret: secret, Kind: run.kind,
			Flows: run.flows, Concurrency: 4, Phone: "13800138000"})
		if err != nil || rep.Flows != int64(run.flows) {
			t.Fatalf("%s flows through the API: %v; report %+v", run.kind, err, rep)
		}
	}
	crun(t, ctx, "the overview counts them",
		chromedp.Navigate(hs.URL+"/console/#/overview"),
		chromedp.WaitVisible(chromedp.CSS("#chart canvas")))
	ceval[bool](t, ctx, true, `(() => { location.hash === "#/overview" || (location.hash = "#/overview"); const n = document.querySelector("#live-total"); return !!n && Number(n.textContent) >= 32 })()`)
	if cm := ceval[string](t, ctx, false, `[...document.querySelectorAll("#by-carrier tr")].filter(r => r.querySelector(".carrier")?.textContent === "CM").map(r => r.innerText).join("")`); cm == "" {
		t.Errorf("the overview has no China Mobile row: %s", ctext(t, ctx, "#by-carrier"))
	}
	if p50 := ctext(t, ctx, "#live-p50"); !strings.HasSuffix(p50, " ms") {
		t.Errorf("the overview's p50 is %q", p50)
	}
	crun(t, ctx, "statistics by hour",
		chromedp.Navigate(hs.URL+"/console/#/stats"),
		chromedp.WaitVisible(chromedp.CSS("#stats-form")),
		chromedp.SetValue(chromedp.CSS("#stats-form select[name=by]"), "hour"),
		chromedp.SetValue(chromedp.CSS("#stats-form select[name=account]"), "default"),
		chromedp.Click(chromedp.CSS("#stats-form button[type=submit]")))
	ceval[bool](t, ctx, true, `/^total 24, pass 24/.test(document.querySelector("#stats-total")?.textContent ?? "")`)
	crun(t, ctx, "accounts", chromedp.Navigate(hs.URL+"/console/#/accounts"), chromedp.WaitVisible(chromedp.CSS("#page-accounts .account")))
	if row := ceval[string](t, ctx, false, `[...document.querySelectorAll("#page-accounts tbody tr")].find(r => r.querySelector(".account")?.textContent === "default")?.innerText ?? ""`); !strings.Contains(row, "(2)") {
		t.Errorf("the default account's row is %q, want its two active AccessKeys (the bootstrap key and the console's)", row)
	}
	crun(t, ctx, "the log, searched by masked number",
		chromedp.Navigate(hs.URL+"/console/#/log"),
		chromedp.WaitVisible(chromedp.CSS("#log-search")),
		chromedp.SendKeys(chromedp.CSS("#log-search input[name=phone]"), "138****8000"),
		chromedp.SetValue(chromedp.CSS("#log-search select[name=kind]"), "verify"),
		chromedp.Click(chromedp.CSS("#log-search button[type=submit]")))
	ceval[bool](t, ctx, true, `document.querySelectorAll("#page-log tbody .masked").length === 24`)
	if ceval[bool](t, ctx, false, `/13800138000/.test(document.body.innerText)`) {
		t.Error("the verification log shows a whole number")
	}
	crun(t, ctx, "the log refuses a whole number",
		chromedp.SetValue(chromedp.CSS("#log-search input[name=phone]"), "13800138000"),
		chromedp.Click(chromedp.CSS("#log-search button[type=submit]")))
	ceval[bool](t, ctx, true, `/InvalidParameter/.test(document.querySelector("#page-log .error")?.textContent ?? "")`)
	crun(t, ctx, "the SMS log", chromedp.Navigate(hs.URL+"/console/#/sms"), chromedp.WaitVisible(chromedp.CSS(".sms-text")))
	if n := ceval[int](t, ctx, false, `document.querySelectorAll(".sms-text").length`); n != 3 {
		t.Errorf("the SMS log shows %d sends, want 3", n)
	}

	// Users: a viewer made admin and back, a user deleted after the in-page question.
	crun(t, ctx, "create a viewer",
		chromedp.Navigate(hs.URL+"/console/#/users"),
		chromedp.WaitVisible(chromedp.CSS("#user-create")),
		chromedp.SendKeys(chromedp.CSS("#user-create input[name=name]"), "watcher"),
		chromedp.Click(chromedp.CSS("#user-create button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("#new-password")))
	viewerPW := ctext(t, ctx, "#new-password")
	crun(t, ctx, "close the dialog", chromedp.Click(chromedp.CSS("dialog button")))
	roleOf := `(n) => [...document.querySelectorAll("#page-users tbody tr")].find(r => r.querySelector(".user-name")?.textContent === n)?.querySelector(".role")?.textContent`
	for _, want := range []string{"admin", "viewer"} {
		crun(t, ctx, "make watcher "+want,
			chromedp.WaitVisible(chromedp.CSS(`[data-user="watcher"] .role-toggle`)),
			chromedp.Click(chromedp.CSS(`[data-user="watcher"] .role-toggle`)))
		ceval[bool](t, ctx, true, fmt.Sprintf(`(%s)("watcher") === %q`, roleOf, want))
	}
	crun(t, ctx, "create a user to delete",
		chromedp.SendKeys(chromedp.CSS("#user-create input[name=name]"), hostile),
		chromedp.Click(chromedp.CSS("#user-create button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("#new-password")),
		chromedp.Click(chromedp.CSS("dialog button")))
	noInjection("users")
	crun(t, ctx, "delete it",
		chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`[data-user=%q] .user-delete`, hostile))),
		chromedp.Click(chromedp.CSS(fmt.Sprintf(`[data-user=%q] .user-delete`, hostile))),
		chromedp.WaitVisible(chromedp.CSS("#confirm-ok")),
		chromedp.Click(chromedp.CSS("#confirm-ok")))
	ceval[bool](t, ctx, true, fmt.Sprintf(`(%s)(%q) === undefined && !!document.querySelector(".user-name")`, roleOf, hostile))

	// CSRF: a write from this origin without the session's token, or with another, is refused.
	for _, hdr := range []string{`{}`, `{"X-CSRF-Token": "forged"}`} {
		got := ceval[string](t, ctx, true, fmt.Sprintf(`fetch("/admin/v1/keys", {method: "POST", credentials: "same-origin",
			headers: Object.assign({"Content-Type": "application/json"}, %s), body: "{}"}).then(r => r.json().then(b => r.status + " " + b.code))`, hdr))
		if got != "403 CsrfTokenInvalid" {
			t.Errorf("a write with headers %s: %s, want 403 CsrfTokenInvalid", hdr, got)
		}
	}

	if os.Getenv("NUMAUTH_CONSOLE_SCREENSHOTS") != "" {
		screenshots(t, ctx, hs.URL)
	}

	// The key disabled through the UI: the API refuses it.
	btn := fmt.Sprintf(`button[data-key=%q]`, keyID)
	crun(t, ctx, "disable the key",
		chromedp.Navigate(hs.URL+"/console/#/keys"),
		chromedp.WaitVisible(chromedp.CSS(btn)),
		chromedp.Click(chromedp.CSS(btn)))
	ceval[bool](t, ctx, true, fmt.Sprintf(`(() => { const b = document.querySelector(%q); return !!b && b.textContent === "Enable" && b.closest("tr").querySelector(".status-Inactive") !== null })()`, btn))
	noInjection("keys")
	if callAs(t, hs, keyID, secret) {
		t.Error("the API still accepts the AccessKey the console disabled")
	}
	crun(t, ctx, "delete the scheme",
		chromedp.Navigate(hs.URL+"/console/#/schemes"),
		chromedp.WaitVisible(chromedp.CSS(".scheme-name")))
	code := ceval[string](t, ctx, false, fmt.Sprintf(`[...document.querySelectorAll("#page-schemes tbody tr")].find(r => r.querySelector(".scheme-name")?.textContent === %q).querySelector("button").dataset.scheme`, hostile))
	crun(t, ctx, "confirm the delete",
		chromedp.Click(chromedp.CSS(fmt.Sprintf(`button[data-scheme=%q]`, code))),
		chromedp.WaitVisible(chromedp.CSS("#confirm-ok")),
		chromedp.Click(chromedp.CSS("#confirm-ok")))
	ceval[bool](t, ctx, true, fmt.Sprintf(`!document.querySelector(%q) && !!document.querySelector("#page-schemes table")`, fmt.Sprintf(`button[data-scheme=%q]`, code)))

	// Sign-in throttling: after the per-user budget of wrong passwords, the right one is refused too.
	crun(t, ctx, "sign out", chromedp.Click(chromedp.CSS("#signout")), chromedp.WaitVisible(chromedp.CSS("#signin")))
	signInError := func(user, pw string) string {
		t.Helper()
		ceval[bool](t, ctx, false, `(document.querySelector(".signin .error")?.remove(), true)`)
		crun(t, ctx, "sign in as "+user,
			chromedp.SetValue(chromedp.CSS("#user"), user),
			chromedp.SetValue(chromedp.CSS("#password"), pw),
			chromedp.Click(chromedp.CSS("#signin button[type=submit]")))
		return ceval[string](t, ctx, true, `document.querySelector(".signin .error")?.textContent ?? ""`)
	}
	var last string
	for i := 0; i < 6 && !strings.Contains(last, "SignInThrottled"); i++ {
		last = signInError("watcher", fmt.Sprint("guess ", i))
	}
	if !strings.Contains(last, "SignInThrottled") {
		t.Fatalf("after wrong passwords the page says %q, want SignInThrottled", last)
	}
	if e := signInError("watcher", viewerPW); !strings.Contains(e, "SignInThrottled") {
		t.Fatalf("the right password while throttled: the page says %q, want SignInThrottled", e)
	}

	// A viewer: another user, whose budget is untouched.
	reader := createUserOver(t, hs.URL, "root", adminPW, "reader")
	consoleSignIn(t, ctx, hs.URL, "reader", reader)
	for _, p := range []string{"keys", "schemes", "users", "sandbox", "camara", "accounts"} {
		crun(t, ctx, "viewer on "+p,
			chromedp.Navigate(hs.URL+"/console/#/"+p),
			chromedp.WaitVisible(chromedp.CSS("#page-"+p+" table")))
		if n := ceval[int](t, ctx, false, `document.querySelectorAll("main form, main td button, main td input").length`); n != 0 {
			t.Errorf("a viewer sees %d change controls on %s", n, p)
		}
	}
	got := ceval[string](t, ctx, true, `fetch("/admin/v1/users/reader", {method: "DELETE", credentials: "same-origin",
		headers: {"X-CSRF-Token": "x"}}).then(r => r.json().then(b => r.status + " " + b.code))`)
	if got != "403 CsrfTokenInvalid" && got != "403 Forbidden" {
		t.Errorf("a viewer's delete: %s, want 403", got)
	}

	// 360 px wide: nothing sticks out sideways on any page.
	crun(t, ctx, "narrow viewport", chromedp.EmulateViewport(360, 740))
	for _, p := range consolePages {
		crun(t, ctx, "360 px: "+p,
			chromedp.Navigate(hs.URL+"/console/#/"+p),
			chromedp.WaitVisible(chromedp.CSS("#page-"+p+" h1")),
			chromedp.Sleep(200*time.Millisecond))
		if width := ceval[int](t, ctx, false, `document.documentElement.scrollWidth`); width > 360 {
			t.Errorf("%s is %d px wide on a 360 px screen", p, width)
		}
	}
	crun(t, ctx, "wide again", chromedp.EmulateViewport(1100, 900))

	// The session ended elsewhere ("sign out everywhere"): the next page is the sign-in.
	signOutEverywhere(t, hs.URL, "reader", reader)
	crun(t, ctx, "navigate after the session ended",
		chromedp.Click(chromedp.CSS(`nav a[href="#/audit"]`)),
		chromedp.WaitVisible(chromedp.CSS("#signin-note")))
	if note := ctext(t, ctx, "#signin-note"); !strings.Contains(note, "session ended") {
		t.Errorf("after the session ended the sign-in says %q", note)
	}

	// A store outage: a banner, not a blank page.
	consoleSignIn(t, ctx, hs.URL, "root", adminPW)
	srv.close()
	crun(t, ctx, "a page during the outage",
		chromedp.Click(chromedp.CSS(`nav a[href="#/keys"]`)),
		chromedp.WaitVisible(chromedp.CSS(".banner")))
	if b := ctext(t, ctx, ".banner"); !strings.Contains(b, "store is unavailable") {
		t.Errorf("the outage banner says %q", b)
	}

	if d := dialogs(); len(d) != 0 {
		t.Errorf("script dialogs opened (injected script ran): %q", d)
	}
}

// createUserOver creates a viewer through the admin API, signed in as an admin.
func createUserOver(t *testing.T, base, admin, pw, name string) string {
	t.Helper()
	c, csrf := adminSession(t, base, admin, pw)
	var out struct{ Password string }
	consoleCall(t, c, "POST", base+"/admin/v1/users", csrf, `{"name":"`+name+`","role":"viewer"}`, http.StatusCreated, &out)
	return out.Password
}

// signOutEverywhere ends every session of user from another client.
func signOutEverywhere(t *testing.T, base, user, pw string) {
	t.Helper()
	c, csrf := adminSession(t, base, user, pw)
	consoleCall(t, c, "POST", base+"/admin/v1/session/everywhere", csrf, "", http.StatusNoContent, nil)
}

func adminSession(t *testing.T, base, user, pw string) (*http.Client, string) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	var s struct{ CsrfToken string }
	b, _ := json.Marshal(map[string]string{"user": user, "password": pw})
	consoleCall(t, c, "POST", base+"/admin/v1/session", "", string(b), http.StatusOK, &s)
	return c, s.CsrfToken
}

func consoleCall(t *testing.T, c *http.Client, method, target, csrf, body string, want int, out any) {
	t.Helper()
	req, _ := http.NewRequest(method, target, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if csrf != "" {
		req.Header.Set("X-CSRF-Token", csrf)
	}
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	if res.StatusCode != want {
		t.Fatalf("%s %s: %d %s, want %d", method, target, res.StatusCode, raw, want)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("%s %s: %v", method, target, err)
		}
	}
}

// screenshots writes one PNG per page to docs/img/console-NAME.png.
func screenshots(t *testing.T, ctx context.Context, base string) {
	dir := filepath.Join("..", "..", "docs", "img")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, p := range consolePages {
		crun(t, ctx, "screenshot "+p,
			chromedp.Navigate(base+"/console/#/"+p),
			chromedp.WaitVisible(chromedp.CSS("#page-"+p+" h1")),
			chromedp.Sleep(500*time.Millisecond))
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatal(err)
		}
		name := filepath.Join(dir, "console-"+strings.ToLower(p)+".png")
		if err := os.WriteFile(name, png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s (%d bytes)", name, len(png))
	}
}
