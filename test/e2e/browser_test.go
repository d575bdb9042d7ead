package e2e

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// One Chromium serves the whole package: every test gets its own tab.
var (
	browserCtx  context.Context // nil when there is no browser
	browserSkip string          // why there is none
)

// findChromium returns the browser binary: $NUMAUTH_CHROMIUM, else the
// first of chromium, chromium-browser, google-chrome on PATH.
func findChromium() (string, error) {
	if p := os.Getenv("NUMAUTH_CHROMIUM"); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("NUMAUTH_CHROMIUM=%s: %w", p, err)
		}
		return p, nil
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", errors.New("no Chromium found: set NUMAUTH_CHROMIUM or install chromium (Debian: apt-get install chromium)")
}

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(runWithBrowser(m))
}

func runWithBrowser(m *testing.M) int {
	path, err := findChromium()
	if err != nil {
		browserSkip = err.Error()
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "numauth-e2e-chromium-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(dir),
		chromedp.WindowSize(1000, 900),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true),
		// Tabs run side by side and all but one are in the background: keep
		// their timers (the SDK's timeouts) and rendering at full speed.
		chromedp.Flag("disable-background-timer-throttling", true),
		chromedp.Flag("disable-backgrounding-occluded-windows", true),
		chromedp.Flag("disable-renderer-backgrounding", true),
	)
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(actx)
	defer cancelBrowser()
	start := time.Now()
	if err := chromedp.Do(bctx); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: starting %s: %v\n", path, err)
		return 1
	}
	fmt.Fprintf(os.Stderr, "e2e: %s started in %v\n", path, time.Since(start).Round(time.Millisecond))
	browserCtx = bctx
	return m.Run()
}

// needBrowser skips the test when there is no browser.
func needBrowser(t *testing.T) {
	t.Helper()
	if browserCtx == nil {
		t.Skip("browser tests skipped: " + browserSkip)
	}
}

// tab is one browser tab of a test.
type tab struct {
	t       *testing.T
	ctx     context.Context
	console *consoleLog
}

// consoleLog collects what a page writes to its console.
type consoleLog struct {
	mu    sync.Mutex
	lines []string
}

func (c *consoleLog) add(s string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lines = append(c.lines, s)
}

func (c *consoleLog) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return strings.Join(c.lines, "\n  ")
}

// as returns the tab for use in subtest t: failures go to t.
func (tb *tab) as(t *testing.T) *tab { return &tab{t: t, ctx: tb.ctx, console: tb.console} }

// actionTimeout bounds one step of a test in the browser.
const actionTimeout = 20 * time.Second

// openTab opens a new tab on url and waits until the page has loaded. The
// tab closes when the test ends; if the test failed, the page's console
// goes to the test log.
func openTab(t *testing.T, url string) *tab {
	t.Helper()
	needBrowser(t)
	ctx, cancel := chromedp.NewContext(browserCtx)
	tb := &tab{t: t, ctx: ctx, console: &consoleLog{}}
	t.Cleanup(func() {
		cancel()
		if t.Failed() {
			t.Logf("browser console of %s:\n  %s", url, tb.console)
		}
	})
	if err := chromedp.Do(ctx); err != nil { // opens the tab
		t.Fatalf("open tab: %v", err)
	}
	msgs := chromedp.Console(ctx)
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			tb.console.add(m.String())
		}
	}()
	tb.do(chromedp.Navigate(url))
	return tb
}

// do runs actions in the tab, failing the test on an error.
func (tb *tab) do(actions ...chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, actionTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		tb.t.Fatalf("browser: %v", err)
	}
}

// eval evaluates a JavaScript expression in the page (awaiting a Promise)
// and decodes its value.
func eval[T any](tb *tab, expr string) T {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, actionTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		tb.t.Fatalf("browser: evaluate %.80q: %v", expr, err)
	}
	return v
}

// poll waits until a JavaScript expression is truthy and decodes its value.
func poll[T any](tb *tab, expr string) T {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, actionTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Poll[T](expr,
		chromedp.WithPollingInterval(10*time.Millisecond), chromedp.WithPollingTimeout(actionTimeout)))
	if err != nil {
		tb.t.Fatalf("browser: waiting for %.80q: %v", expr, err)
	}
	return v
}

// screenshot returns a PNG of the whole page, 1000 CSS pixels wide.
func screenshot(tb *tab) []byte {
	tb.t.Helper()
	// Size the viewport to the page: a capture beyond a smaller viewport
	// may cut the page's end.
	h := eval[int64](tb, `document.documentElement.scrollHeight`)
	tb.do(chromedp.EmulateViewport(1000, h))
	defer tb.do(chromedp.ResetViewport())
	ctx, cancel := context.WithTimeout(tb.ctx, actionTimeout)
	defer cancel()
	img, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		tb.t.Fatalf("browser: screenshot: %v", err)
	}
	return img
}
