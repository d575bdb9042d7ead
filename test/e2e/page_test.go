package e2e

import (
	"fmt"
	"strconv"
	"testing"

	"github.com/chromedp/chromedp"
)

// demoPage drives the demo page as a user does: it types into its fields,
// clicks its buttons and reads what the page shows. The page marks each
// flow's result box with data-run (runs started) and data-code (the
// outcome), and each step it shows with data-step and data-code.
type demoPage struct{ *tab }

func openDemo(t *testing.T, url string) *demoPage {
	t.Helper()
	p := &demoPage{openTab(t, url)}
	if !eval[bool](p.tab, `typeof PhoneNumberServer == "function" && typeof PhoneServerCustomization == "function"`) {
		t.Fatalf("the numauth web SDK did not load into %s", url)
	}
	return p
}

// outcome is what a flow's result box and step list show.
type outcome struct {
	Code      string `json:"code"` // PASS, REJECT, OK, or the failing code
	Text      string `json:"text"`
	TriesLeft string `json:"triesLeft"`
	TokenMs   string `json:"tokenMs"` // verify: checkAuthAvailable → spToken
	Mobile    string `json:"mobile"`
	Via       string `json:"via"`    // verify's PASS: carrier or sms
	Masked    string `json:"masked"` // login: the masked number on show
	Steps     []step `json:"steps"`
}

type step struct {
	Name string `json:"name"`
	Code string `json:"code"`
}

// stepCode returns the code the page shows for the last step named name.
func (o outcome) stepCode(name string) string {
	for i := len(o.Steps) - 1; i >= 0; i-- {
		if o.Steps[i].Name == name {
			return o.Steps[i].Code
		}
	}
	return ""
}

func (o outcome) String() string { return fmt.Sprintf("%s %q steps=%v", o.Code, o.Text, o.Steps) }

// run returns how many runs the flow ("verify" or "login") has started.
func (p *demoPage) run(flow string) int {
	n, _ := strconv.Atoi(eval[string](p.tab, `document.getElementById("`+flow+`-result").dataset.run || "0"`))
	return n
}

// await waits for the next outcome of flow after run before: a result, or,
// when orMask is set, the login's mask form on show.
func (p *demoPage) await(flow string, before int, orMask bool) outcome {
	p.t.Helper()
	return poll[outcome](p.tab, fmt.Sprintf(`(() => {
		const r = document.getElementById(%[1]q + "-result");
		const form = document.getElementById("login-mask-form");
		const masking = %[3]t && !form.hidden;
		if (Number(r.dataset.run || 0) <= %[2]d || !(r.dataset.code || masking)) return null;
		return {
			code: r.dataset.code || "", text: r.textContent, triesLeft: r.dataset.triesLeft || "",
			tokenMs: r.dataset.tokenMs || "", mobile: r.dataset.mobile || "", via: r.dataset.via || "",
			masked: masking ? document.getElementById("login-masked").textContent : "",
			steps: [...document.querySelectorAll("#" + %[1]q + "-steps li")].map(li => ({name: li.dataset.step, code: li.dataset.code})),
		};
	})()`, flow, before, orMask))
}

// act runs actions on the page and returns the flow's next outcome.
func (p *demoPage) act(flow string, orMask bool, actions ...chromedp.Action[chromedp.Void]) outcome {
	p.t.Helper()
	before := p.run(flow)
	p.do(actions...)
	return p.await(flow, before, orMask)
}

// typeInto replaces what an input holds with text typed key by key.
func typeInto(id, text string) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(clearField(id), chromedp.SendKeys(chromedp.ID(id), text))
}

// verify types phone into the verification form, submits it and returns
// what the page shows at the end.
func (p *demoPage) verify(phone string) outcome {
	p.t.Helper()
	return p.act("verify", false, typeInto("verify-phone", phone), chromedp.Click(chromedp.ID("verify-go")))
}

// replay clicks "Send the same spToken again".
func (p *demoPage) replay() outcome {
	p.t.Helper()
	return p.act("verify", false, chromedp.Click(chromedp.ID("verify-replay")))
}

// login sets the SDK timeout (seconds), clicks the login button, and returns
// the page once it shows the masked number (Masked) or a failure (Code).
func (p *demoPage) login(timeout int) outcome {
	p.t.Helper()
	return p.act("login", true, chromedp.SetValue(chromedp.ID("login-timeout"), strconv.Itoa(timeout)), chromedp.Click(chromedp.ID("login-go")))
}

// confirmMask types the four hidden digits and clicks "Log in".
func (p *demoPage) confirmMask(digits string) outcome {
	p.t.Helper()
	return p.act("login", false, typeInto("login-mask", digits), chromedp.Click(chromedp.ID("login-confirm")))
}

// clearField empties an input, as select-all and delete do. (chromedp's
// Clear resets only the value attribute, not what was typed, and SetValue
// cannot set "".)
func clearField(id string) chromedp.Action[chromedp.Void] {
	return chromedp.Evaluate[chromedp.Void](`document.getElementById(` + strconv.Quote(id) + `).value = ""`)
}

// as returns the page for use in subtest t.
func (p *demoPage) as(t *testing.T) *demoPage { return &demoPage{p.tab.as(t)} }

// maskFormShown reports whether the page asks for the hidden digits.
func (p *demoPage) maskFormShown() bool {
	return !eval[bool](p.tab, `document.getElementById("login-mask-form").hidden`)
}

// smsOffered returns the number the page offers to send a code to by SMS
// ("" when it offers none).
func (p *demoPage) smsOffered() string {
	return eval[string](p.tab, `(() => {
		const shown = id => !document.getElementById(id).hidden;
		return shown("sms") && shown("sms-send-form") ? document.getElementById("sms-phone").textContent : "";
	})()`)
}

// smsCodeAsked reports whether the page asks for the code it had sent.
func (p *demoPage) smsCodeAsked() bool {
	return eval[bool](p.tab, `!document.getElementById("sms").hidden && !document.getElementById("sms-check-form").hidden`)
}

// sendSMS clicks "Send me a code by SMS" (once it is on show).
func (p *demoPage) sendSMS() outcome {
	p.t.Helper()
	return p.act("verify", false, chromedp.Click(chromedp.ID("sms-send")))
}

// resendSMS clicks "Send a new code".
func (p *demoPage) resendSMS() outcome {
	p.t.Helper()
	return p.act("verify", false, chromedp.Click(chromedp.ID("sms-resend")))
}

// checkSMS types the code from the SMS and clicks "Check the code".
func (p *demoPage) checkSMS(code string) outcome {
	p.t.Helper()
	return p.act("verify", false, typeInto("sms-code", code), chromedp.Click(chromedp.ID("sms-check")))
}
