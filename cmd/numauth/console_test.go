package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
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
	ctx, cancelT := context.WithTimeout(ctx, 90*time.Second)
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

// TestConsoleBrowser drives the console in Chromium: sign-in, the first chart, an AccessKey
// created and disabled, a scheme with a hostile name shown as text, a viewer without
// change controls, and no horizontal overflow at 360 px. With
// NUMAUTH_CONSOLE_SCREENSHOTS=1 it also writes docs/img/console-*.png.
func TestConsoleBrowser(t *testing.T) {
	const adminPW = "correct horse battery staple"
	t.Setenv("NUMAUTH_BOOTSTRAP_CONSOLE_USER", "root")
	t.Setenv("NUMAUTH_BOOTSTRAP_CONSOLE_PASSWORD", adminPW)
	ctx := consoleBrowser(t)
	hs := startServer(t)

	start := consoleSignIn(t, ctx, hs.URL, "root", adminPW)
	t.Logf("sign-in to first chart drawn: %v", time.Since(start).Round(time.Millisecond))

	// An AccessKey: created (its secret shown once), then disabled.
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
	btn := fmt.Sprintf(`button[data-key=%q]`, keyID)
	crun(t, ctx, "disable the key",
		chromedp.WaitVisible(chromedp.CSS(btn)),
		chromedp.Click(chromedp.CSS(btn)))
	ceval[bool](t, ctx, true, fmt.Sprintf(`(() => { const b = document.querySelector(%q); return !!b && b.textContent === "Enable" && b.closest("tr").querySelector(".status-Inactive") !== null })()`, btn))

	// A scheme whose name is markup: shown as text, nothing injected.
	crun(t, ctx, "create a scheme",
		chromedp.Navigate(hs.URL+"/console/#/schemes"),
		chromedp.WaitVisible(chromedp.CSS("#scheme-create")),
		chromedp.SendKeys(chromedp.CSS("#scheme-create input[name=schemeName]"), hostile),
		chromedp.SendKeys(chromedp.CSS("#scheme-create input[name=appName]"), "Demo app"),
		chromedp.SendKeys(chromedp.CSS("#scheme-create input[name=origin]"), "https://example.com"),
		chromedp.SendKeys(chromedp.CSS("#scheme-create input[name=url]"), "https://example.com/login"),
		chromedp.Click(chromedp.CSS("#scheme-create button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS(".scheme-name")))
	shown := ceval[bool](t, ctx, false, fmt.Sprintf(`[...document.querySelectorAll(".scheme-name")].some(e => e.textContent === %q)`, hostile))
	injected := ceval[bool](t, ctx, false, `document.querySelectorAll("main img, main [onerror]").length > 0`)
	if !shown || injected {
		t.Errorf("scheme name shown as text: %v; an element was injected: %v", shown, injected)
	}
	crun(t, ctx, "the keys page with a hostile description",
		chromedp.Navigate(hs.URL+"/console/#/keys"),
		chromedp.WaitVisible(chromedp.CSS(".desc")))
	injected = ceval[bool](t, ctx, false, `document.querySelectorAll("main img, main [onerror]").length > 0`)
	if injected {
		t.Error("the key's description injected an element")
	}

	// A viewer, created through the UI.
	crun(t, ctx, "create a viewer",
		chromedp.Navigate(hs.URL+"/console/#/users"),
		chromedp.WaitVisible(chromedp.CSS("#user-create")),
		chromedp.SendKeys(chromedp.CSS("#user-create input[name=name]"), "watcher"),
		chromedp.Click(chromedp.CSS("#user-create button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("#new-password")))
	viewerPW := ctext(t, ctx, "#new-password")
	crun(t, ctx, "close the dialog", chromedp.Click(chromedp.CSS("dialog button")))

	if os.Getenv("NUMAUTH_CONSOLE_SCREENSHOTS") != "" {
		screenshots(t, ctx, hs.URL)
	}

	crun(t, ctx, "sign out", chromedp.Click(chromedp.CSS("#signout")), chromedp.WaitVisible(chromedp.CSS("#signin")))
	consoleSignIn(t, ctx, hs.URL, "watcher", viewerPW)
	for _, p := range []string{"keys", "schemes", "users", "sandbox"} {
		crun(t, ctx, "viewer on "+p,
			chromedp.Navigate(hs.URL+"/console/#/"+p),
			chromedp.WaitVisible(chromedp.CSS("#page-"+p+" table")))
		controls := ceval[int](t, ctx, false, `document.querySelectorAll("main form, main td button").length`)
		if controls != 0 {
			t.Errorf("a viewer sees %d change controls on %s", controls, p)
		}
	}

	// 360 px wide: nothing sticks out sideways on any page.
	crun(t, ctx, "narrow viewport", chromedp.EmulateViewport(360, 740))
	for _, p := range []string{"overview", "stats", "billing", "keys", "schemes", "users", "audit", "outbox", "sandbox"} {
		crun(t, ctx, "360 px: "+p,
			chromedp.Navigate(hs.URL+"/console/#/"+p),
			chromedp.WaitVisible(chromedp.CSS("#page-"+p+" h1")),
			chromedp.Sleep(200*time.Millisecond))
		width := ceval[int](t, ctx, false, `document.documentElement.scrollWidth`)
		if width > 360 {
			t.Errorf("%s is %d px wide on a 360 px screen", p, width)
		}
	}
}

// screenshots writes one PNG per page to docs/img/console-NAME.png.
func screenshots(t *testing.T, ctx context.Context, base string) {
	dir := filepath.Join("..", "..", "docs", "img")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"overview", "stats", "billing", "keys", "schemes", "users", "audit", "outbox", "sandbox"} {
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
