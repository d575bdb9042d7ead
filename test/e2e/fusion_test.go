package e2e

import (
	"strconv"
	"testing"

	"github.com/chromedp/chromedp"
)

// fusionAwait waits until the fusion card shows a result after run before,
// or the form named form is on show (form "": a result only).
func (p *demoPage) fusionAwait(before int, form string) outcome {
	p.t.Helper()
	return poll[outcome](p.tab, `(() => {
		const r = document.getElementById("fusion-result");
		const f = `+strconv.Quote(form)+`;
		const asking = f && !document.getElementById(f).hidden;
		if (!(asking || (Number(r.dataset.run || 0) > `+strconv.Itoa(before)+` && r.dataset.code))) return null;
		return {
			code: asking ? "" : r.dataset.code, text: r.textContent, mobile: r.dataset.mobile || "", via: r.dataset.via || "",
			masked: document.getElementById("fusion-masked").textContent,
			steps: [...document.querySelectorAll("#fusion-steps li")].map(li => ({name: li.dataset.step, code: li.dataset.code})),
		};
	})()`)
}

// fusionStart clicks the fusion button and waits for the form named form.
func (p *demoPage) fusionStart(form string) outcome {
	p.t.Helper()
	before := p.run("fusion")
	p.do(chromedp.Click(chromedp.ID("fusion-go")))
	return p.fusionAwait(before, form)
}

// fusionAnswer types text into a fusion form's input, submits it and waits
// for the form named next (or, "", the result).
func (p *demoPage) fusionAnswer(input, button, text, next string) outcome {
	p.t.Helper()
	before := p.run("fusion") - 1
	p.do(typeInto(input, text), chromedp.Click(chromedp.ID(button)))
	return p.fusionAwait(before, next)
}

// TestH5Fusion runs fusion authentication in Chromium: the demo's server
// mints the fusion token and answers the VerifyToken with the official
// Alibaba Cloud SDK, the page runs numauth's FusionAuth. On a cellular line
// the carrier's one-click login answers; on Wi-Fi the SDK falls back to an
// SMS code, read from the sandbox outbox.
func TestH5Fusion(t *testing.T) {
	needBrowser(t)

	t.Run("Carrier", func(t *testing.T) {
		t.Parallel()
		s := startStack(t, lineNumber)
		p := openDemo(t, s.pageURL)
		o := p.fusionStart("fusion-mask-form")
		if o.Masked != lineMasked {
			t.Fatalf("the page asks about %q, want %s", o.Masked, lineMasked)
		}
		o = p.fusionAnswer("fusion-mask", "fusion-mask-ok", lineMask, "")
		wantCode(t, o, "PASS")
		if o.Mobile != lineNumber || o.Via != "carrier" {
			t.Errorf("fusion result %s: mobile %q via %q, want %s by carrier", o, o.Mobile, o.Via, lineNumber)
		}
		wantSteps(t, o, []step{{"GetFusionAuthToken", "OK"}, {"onMaskPhone", "600000"}, {"start", "600000"}, {"VerifyWithFusionAuthToken", "OK"}})
	})

	t.Run("WiFiSMS", func(t *testing.T) {
		t.Parallel()
		s := startStack(t, "")
		p := openDemo(t, s.pageURL)
		p.fusionStart("fusion-phone-form")
		p.fusionAnswer("fusion-phone", "fusion-phone-ok", otherCM, "fusion-code-form")
		o := p.fusionAnswer("fusion-code", "fusion-code-ok", s.numauth.LastSMSCode(t, "+86"+otherCM), "")
		wantCode(t, o, "PASS")
		if o.Mobile != otherCM || o.Via != "sms" {
			t.Errorf("fusion result %s: mobile %q via %q, want %s by sms", o, o.Mobile, o.Via, otherCM)
		}
		wantSteps(t, o, []step{{"GetFusionAuthToken", "OK"}, {"onPhoneNumber", "600000"}, {"onSmsCode", "600000"}, {"start", "600000"}, {"VerifyWithFusionAuthToken", "OK"}})
	})
}
