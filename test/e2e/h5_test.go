package e2e

import (
	"bytes"
	"flag"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

var updateScreenshot = flag.Bool("update-screenshot", false, "rewrite docs/img/h5-demo.png from the demo page")

const (
	// lineNumber is the sandbox line of the browser's address (127.0.0.1),
	// a China Mobile number; lineMask is its 4th to 7th digits.
	lineNumber = "13800138000"
	lineMasked = "138****8000"
	lineMask   = "0013"
	// otherCM is another China Mobile number: the carrier can compare it
	// with the line, and says REJECT.
	otherCM = "13900139000"
)

// verifySteps are the steps of a verification that gets to numauth's verdict.
var verifySteps = []step{
	{"GetAuthToken", "OK"}, {"checkAuthAvailable", "600000"}, {"getVerifyToken", "600000"}, {"VerifyPhoneWithToken", "OK"},
}

func wantSteps(t *testing.T, o outcome, want []step) {
	t.Helper()
	if !slices.Equal(o.Steps, want) {
		t.Errorf("steps = %v, want %v (result %s)", o.Steps, want, o)
	}
}

func wantCode(t *testing.T, o outcome, code string) {
	t.Helper()
	if o.Code != code {
		t.Fatalf("result %s, want code %s", o, code)
	}
}

// TestH5 runs both H5 flows end to end: Chromium loads the demo page from the
// integrator server, the page calls numauth's gateway cross-origin with the
// web SDK, and the integrator server calls numauth's server API with the
// official Alibaba Cloud SDK. Each case asserts the exact code the SDK or the
// server API gives. Cases that change the carrier's state run on their own
// numauth.
func TestH5(t *testing.T) {
	needBrowser(t)
	shared := startStack(t, lineNumber)

	t.Run("VerifyPass", func(t *testing.T) {
		t.Parallel()
		p := openDemo(t, shared.pageURL)
		var ms []int
		for range 5 {
			o := p.verify(lineNumber)
			wantCode(t, o, "PASS")
			wantSteps(t, o, verifySteps)
			if !strings.Contains(o.Text, lineNumber) || o.Via != "carrier" {
				t.Errorf("result text %q (via %q) does not name the number and the carrier", o.Text, o.Via)
			}
			if n := p.smsOffered(); n != "" {
				t.Errorf("after a carrier PASS the page offers an SMS to %q", n)
			}
			n, err := strconv.Atoi(o.TokenMs)
			if err != nil {
				t.Fatalf("the page shows no spToken time: %q", o.TokenMs)
			}
			ms = append(ms, n)
		}
		slices.Sort(ms)
		t.Logf("checkAuthAvailable → spToken in the browser: min %d ms, median %d ms, max %d ms (%d runs)",
			ms[0], ms[len(ms)/2], ms[len(ms)-1], len(ms))
	})

	t.Run("VerifyReject", func(t *testing.T) {
		t.Parallel()
		o := openDemo(t, shared.pageURL).verify(otherCM)
		wantCode(t, o, "REJECT")
		wantSteps(t, o, verifySteps)
	})

	t.Run("ReplayedSpToken", func(t *testing.T) {
		t.Parallel()
		p := openDemo(t, shared.pageURL)
		wantCode(t, p.verify(lineNumber), "PASS")
		o := p.replay()
		wantCode(t, o, "isv.TOKEN_INVALID")
		// The page adds the replay to the steps of the flow it repeats.
		wantSteps(t, o, append(slices.Clip(verifySteps), step{"VerifyPhoneWithToken", "isv.TOKEN_INVALID"}))
	})

	t.Run("ForeignOrigin", func(t *testing.T) {
		t.Parallel()
		// A page on a third port whose server mints tokens for the
		// registered page (its AccessKey can): the tokens name another
		// origin than the one the browser sends.
		_, thief := serveDemo(t, shared.numauth.URL, shared.pageURL)
		p := openDemo(t, thief)
		o := p.verify(lineNumber)
		wantCode(t, o, "600025")
		wantSteps(t, o, []step{{"GetAuthToken", "OK"}, {"checkAuthAvailable", "600025"}})
		o = p.login(5)
		wantCode(t, o, "600025")
		wantSteps(t, o, []step{{"GetAuthToken", "OK"}, {"checkLoginAvailable", "600025"}})

		// The registered page opened under another name of the same host is
		// another origin too (docs/demo.md suggests trying it).
		o = openDemo(t, strings.Replace(shared.pageURL, "127.0.0.1", "localhost", 1)).verify(lineNumber)
		wantCode(t, o, "600025")

		// The same page asking for tokens for its own origin gets none: no
		// scheme allows it.
		_, unregistered := serveDemo(t, shared.numauth.URL, "")
		o = openDemo(t, unregistered).verify(lineNumber)
		wantCode(t, o, "isv.SCENE_QUERY_FAIL")
		wantSteps(t, o, []step{{"GetAuthToken", "isv.SCENE_QUERY_FAIL"}})
	})

	t.Run("Login", func(t *testing.T) {
		t.Parallel()
		p := openDemo(t, shared.pageURL)
		o := p.login(5)
		if o.Masked != lineMasked {
			t.Fatalf("the page shows mask %q, want %q (%s)", o.Masked, lineMasked, o)
		}
		wantSteps(t, o, []step{{"GetAuthToken", "OK"}, {"checkLoginAvailable", "600000"}, {"getLoginMaskPhone", "600000"}})
		o = p.confirmMask(lineMask)
		wantCode(t, o, "OK")
		if o.Mobile != lineNumber || !strings.Contains(o.Text, lineNumber) {
			t.Errorf("logged in as %q (%q), want %s", o.Mobile, o.Text, lineNumber)
		}
		if got := o.stepCode("getLoginToken"); got != "600000" {
			t.Errorf("getLoginToken = %s, want 600000", got)
		}
		if got := o.stepCode("GetPhoneWithToken"); got != "OK" {
			t.Errorf("GetPhoneWithToken = %s, want OK", got)
		}
	})

	t.Run("WrongMask", func(t *testing.T) {
		t.Parallel()
		p := openDemo(t, shared.pageURL)
		if o := p.login(5); o.Masked != lineMasked {
			t.Fatalf("no mask on show: %s", o)
		}
		o := p.confirmMask("9999")
		wantCode(t, o, "600011")
		if o.TriesLeft != "2" {
			t.Errorf("tries left = %q, want 2", o.TriesLeft)
		}
		if !p.maskFormShown() {
			t.Fatal("after one wrong mask the page no longer asks for the digits")
		}
		o = p.confirmMask(lineMask)
		wantCode(t, o, "OK")
		if o.Mobile != lineNumber {
			t.Errorf("logged in as %q, want %s", o.Mobile, lineNumber)
		}
	})

	t.Run("MaskBudget", func(t *testing.T) {
		t.Parallel()
		s := startStack(t, lineNumber) // locks the number: its own numauth
		// Another tab got the mask before the budget is spent.
		early := openDemo(t, s.pageURL)
		if o := early.login(5); o.Masked != lineMasked {
			t.Fatalf("no mask on show: %s", o)
		}
		p := openDemo(t, s.pageURL)
		if o := p.login(5); o.Masked != lineMasked {
			t.Fatalf("no mask on show: %s", o)
		}
		for i, left := range []string{"2", "1", ""} {
			o := p.confirmMask("999" + strconv.Itoa(i))
			wantCode(t, o, "600011")
			if o.TriesLeft != left {
				t.Errorf("wrong mask %d: tries left = %q, want %q", i+1, o.TriesLeft, left)
			}
			if left == "" && !strings.Contains(o.Text, "locked") {
				t.Errorf("after the last try the page says %q, want it to say the number is locked", o.Text)
			}
		}
		if p.maskFormShown() {
			t.Error("the page still asks for digits after the budget is spent")
		}
		// The right digits no longer help: not in the other tab's session...
		o := early.confirmMask(lineMask)
		wantCode(t, o, "600011")
		if o.TriesLeft != "" || !strings.Contains(o.Text, "locked") {
			t.Errorf("right mask after lock: %s, want the locked answer", o)
		}
		// ...and a new flow does not even show the mask.
		o = p.login(5)
		wantCode(t, o, "600011")
		wantSteps(t, o, []step{{"GetAuthToken", "OK"}, {"checkLoginAvailable", "600000"}, {"getLoginMaskPhone", "600011"}})
	})

	t.Run("CarrierFaults", func(t *testing.T) {
		t.Parallel()
		s := startStack(t, lineNumber) // changes faults and subscribers: its own numauth
		page := openDemo(t, s.pageURL)

		for _, c := range []struct {
			name, flag, code string
		}{
			{"Maintenance", "--maintenance", "600013"},
			{"Quota", "--quota-exhausted", "600014"},
		} {
			t.Run(c.name, func(t *testing.T) {
				p := page.as(t)
				s.setFault(t, "CM", c.flag)
				o := p.verify(lineNumber)
				wantCode(t, o, c.code)
				wantSteps(t, o, []step{{"GetAuthToken", "OK"}, {"checkAuthAvailable", "600000"}, {"getVerifyToken", c.code}})
				if n := p.smsOffered(); n != lineNumber {
					t.Errorf("the carrier failed, and the page offers an SMS to %q, want %s", n, lineNumber)
				}
			})
		}
		t.Run("Recovered", func(t *testing.T) {
			p := page.as(t)
			wantCode(t, p.verify(lineNumber), "PASS")
		})

		t.Run("Timeout", func(t *testing.T) {
			p := page.as(t)
			s.setFault(t, "CM", "--latency", "3s")
			// The page shows the timeout.
			o := p.login(1)
			wantCode(t, o, "600015")
			wantSteps(t, o, []step{{"GetAuthToken", "OK"}, {"checkLoginAvailable", "600000"}, {"getLoginMaskPhone", "600015"}})

			// The SDK calls back once, when the second runs out, and drops
			// the answer that comes after the carrier's 3 s.
			r := eval[struct {
				Check, First, Ms int
			}](p.tab, `(async () => {
				const t = await (await fetch("api/tokens?biz=login")).json();
				const c = new PhoneServerCustomization();
				const check = await c.checkLoginAvailable({accessToken: t.accessToken, jwtToken: t.jwtToken, timeout: 5});
				const calls = [];
				const t0 = performance.now();
				const first = await c.getLoginMaskPhone({timeout: 1, callback: r => calls.push(r.code)});
				window.lateTest = {c, calls};
				return {check: check.code, first: first.code, ms: Math.round(performance.now() - t0)};
			})()`)
			if r.Check != 600000 || r.First != 600015 {
				t.Fatalf("checkLoginAvailable %d, getLoginMaskPhone %d; want 600000, 600015", r.Check, r.First)
			}
			if r.Ms < 900 || r.Ms >= 3000 {
				t.Errorf("600015 came after %d ms; want it when the 1 s timeout runs out, before the carrier's 3 s", r.Ms)
			}
			time.Sleep(3*time.Second - time.Duration(r.Ms)*time.Millisecond + 500*time.Millisecond)
			if calls := eval[[]int](p.tab, `window.lateTest.calls`); !slices.Equal(calls, []int{600015}) {
				t.Errorf("callback calls after the carrier answered = %v, want exactly [600015]", calls)
			}
			// The session outlives a timeout: with the carrier fast again,
			// the same flow goes on.
			s.cli(t, "sandbox", "faults", "set", "CM")
			m := eval[struct {
				Code        int
				MaskedPhone string
			}](p.tab, `window.lateTest.c.getLoginMaskPhone({timeout: 5})`)
			if m.Code != 600000 || m.MaskedPhone != lineMasked {
				t.Errorf("after the fault cleared: getLoginMaskPhone = %d %q, want 600000 %q", m.Code, m.MaskedPhone, lineMasked)
			}
		})

		t.Run("UnmappedAddress", func(t *testing.T) {
			p := page.as(t)
			s.cli(t, "sandbox", "subscribers", "remove", "127.0.0.1")
			t.Cleanup(func() { s.cli(t, "sandbox", "subscribers", "add", "127.0.0.1="+lineNumber) })
			o := p.verify(lineNumber)
			wantCode(t, o, "600008")
			wantSteps(t, o, []step{{"GetAuthToken", "OK"}, {"checkAuthAvailable", "600000"}, {"getVerifyToken", "600008"}})
			if n := p.smsOffered(); n != lineNumber {
				t.Errorf("no line here, and the page offers an SMS to %q, want %s", n, lineNumber)
			}
			o = p.login(5)
			wantCode(t, o, "600008")
		})
	})

	t.Run("SMSFallback", func(t *testing.T) {
		t.Parallel()
		testSMSFallback(t)
	})

	t.Run("Screenshot", func(t *testing.T) {
		t.Parallel()
		p := openDemo(t, shared.pageURL)
		wantCode(t, p.verify(lineNumber), "PASS")
		if o := p.login(5); o.Masked != lineMasked {
			t.Fatalf("no mask on show: %s", o)
		}
		wantCode(t, p.confirmMask(lineMask), "OK")
		img := screenshot(p.tab)
		cfg, err := png.DecodeConfig(bytes.NewReader(img))
		if err != nil {
			t.Fatalf("screenshot is not a PNG: %v", err)
		}
		if cfg.Width < 600 || cfg.Height < 600 {
			t.Errorf("screenshot is %dx%d, want the whole page", cfg.Width, cfg.Height)
		}
		if *updateScreenshot {
			out := filepath.Join("..", "..", "docs", "img", "h5-demo.png")
			if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(out, img, 0o644); err != nil {
				t.Fatal(err)
			}
			t.Logf("wrote %s (%dx%d)", out, cfg.Width, cfg.Height)
		}
	})
}

// wifiSteps are the steps of a verification where the browser has no
// cellular line (Wi-Fi).
var wifiSteps = []step{{"GetAuthToken", "OK"}, {"checkAuthAvailable", "600000"}, {"getVerifyToken", "600008"}}

// smsPath verifies phone on a page whose browser has no cellular line, takes
// the SMS the page offers, and returns the outcome of the send.
func smsPath(t *testing.T, p *demoPage, phone string) outcome {
	t.Helper()
	o := p.verify(phone)
	wantCode(t, o, "600008")
	wantSteps(t, o, wifiSteps)
	if n := p.smsOffered(); n != phone {
		t.Fatalf("on Wi-Fi the page offers an SMS to %q, want %s", n, phone)
	}
	return p.sendSMS()
}

// wrongCode returns a code of the same length as code that is not code.
func wrongCode(code string) string { return string('0'+(code[0]-'0'+1)%10) + code[1:] }

// testSMSFallback runs the SMS path of verification for a visitor whose
// address is no sandbox subscriber: getVerifyToken answers 600008, the page
// offers a code by SMS to the typed number, the test reads the code from
// numauth's sandbox outbox as the user reads their SMS, and types it.
func testSMSFallback(t *testing.T) {
	s := startStack(t, "", "--sms-sandbox-reject", "+86137")
	sent := append(slices.Clip(wifiSteps), step{"SendSmsVerifyCode", "OK"})

	t.Run("Pass", func(t *testing.T) {
		t.Parallel()
		p := openDemo(t, s.pageURL)
		o := smsPath(t, p, lineNumber)
		wantCode(t, o, "SENT")
		wantSteps(t, o, sent)
		if !p.smsCodeAsked() {
			t.Fatal("the code is sent, and the page does not ask for it")
		}
		o = p.checkSMS(s.numauth.LastSMSCode(t, lineNumber))
		wantCode(t, o, "PASS")
		wantSteps(t, o, append(slices.Clip(sent), step{"CheckSmsVerifyCode", "OK"}))
		if o.Via != "sms" || !strings.Contains(o.Text, lineNumber) || !strings.Contains(o.Text, "SMS") {
			t.Errorf("SMS PASS shows %q (via %q), want the number confirmed by SMS", o.Text, o.Via)
		}
		if p.smsOffered() != "" || p.smsCodeAsked() {
			t.Error("after the PASS the page still offers or asks for a code")
		}
		// A new verification of the number within the Interval: no second code.
		o = smsPath(t, p, lineNumber)
		wantCode(t, o, "FREQUENCY_FAIL")
		if !strings.Contains(o.Text, "less than a minute ago") {
			t.Errorf("FREQUENCY_FAIL shows %q, want it to say when a code was sent", o.Text)
		}
	})

	t.Run("WrongCode", func(t *testing.T) {
		t.Parallel()
		p := openDemo(t, s.pageURL)
		wantCode(t, smsPath(t, p, otherCM), "SENT")
		code := s.numauth.LastSMSCode(t, otherCM)
		o := p.checkSMS(wrongCode(code))
		wantCode(t, o, "UNKNOWN")
		if !strings.Contains(o.Text, "wrong code") {
			t.Errorf("a wrong code shows %q, want the wrong-code message", o.Text)
		}
		if got := o.stepCode("CheckSmsVerifyCode"); got != "OK" {
			t.Errorf("CheckSmsVerifyCode = %s, want OK (with UNKNOWN)", got)
		}
		if !p.smsCodeAsked() {
			t.Fatal("after a wrong code the page no longer asks for the code")
		}
		// Asking for a new code at once is refused, and the first one stays good.
		o = p.resendSMS()
		wantCode(t, o, "FREQUENCY_FAIL")
		if !p.smsCodeAsked() {
			t.Fatal("after FREQUENCY_FAIL the page no longer asks for the code already sent")
		}
		o = p.checkSMS(code)
		wantCode(t, o, "PASS")
		if o.Via != "sms" {
			t.Errorf("PASS via %q, want sms", o.Via)
		}
	})

	t.Run("ProviderRejected", func(t *testing.T) {
		t.Parallel()
		const refused = "13700137000"
		p := openDemo(t, s.pageURL)
		o := smsPath(t, p, refused)
		wantCode(t, o, "PROVIDER_REJECTED")
		wantSteps(t, o, append(slices.Clip(wifiSteps), step{"SendSmsVerifyCode", "PROVIDER_REJECTED"}))
		if !strings.Contains(o.Text, "nothing was sent") {
			t.Errorf("PROVIDER_REJECTED shows %q, want it to say nothing was sent", o.Text)
		}
		if p.smsOffered() != refused {
			t.Error("after the provider refused, the page no longer offers to send")
		}
	})

	t.Run("PhoneScreen", func(t *testing.T) {
		t.Parallel()
		const phone = "15000150000"
		p := openDemo(t, s.pageURL)
		p.do(chromedp.EmulateViewport(360, 740))
		// The page fits the screen: nothing sticks out sideways.
		fits := func(screen string) {
			t.Helper()
			wide := eval[[]string](p.tab, `[...document.querySelectorAll("#verify *")]
				.filter(e => e.getBoundingClientRect().right > innerWidth + 0.5).map(e => e.id || e.className || e.tagName)`)
			if len(wide) > 0 || eval[bool](p.tab, `document.documentElement.scrollWidth > innerWidth`) {
				t.Errorf("%s on a 360 px screen: these stick out: %v", screen, wide)
			}
		}
		wantCode(t, p.verify(phone), "600008")
		fits("the SMS offer")
		wantCode(t, p.sendSMS(), "SENT")
		fits("the code form")
		wantCode(t, p.checkSMS(s.numauth.LastSMSCode(t, phone)), "PASS")
	})

	t.Run("Limit", func(t *testing.T) {
		t.Parallel()
		l := startStack(t, "", "--sms-account-per-day", "1") // its own account budget
		p := openDemo(t, l.pageURL)
		wantCode(t, smsPath(t, p, lineNumber), "SENT")
		o := smsPath(t, p, otherCM)
		wantCode(t, o, "BUSINESS_LIMIT_CONTROL")
		if !strings.Contains(o.Text, "too many codes") {
			t.Errorf("BUSINESS_LIMIT_CONTROL shows %q, want the limit message", o.Text)
		}
	})
}
