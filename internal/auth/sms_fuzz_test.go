package auth

import (
	"strings"
	"testing"
)

// FuzzRenderSms: the template renderer never panics, a checkable text
// holds the code, and the redacted text holds it only where the template
// or the integrator's values did themselves.
func FuzzRenderSms(f *testing.F) {
	f.Add("验证码${code}，${min}分钟内有效，请勿泄露。", `{"code":"##code##"}`)
	f.Add("${a}${b}${code}", `{"a":"1","b":2,"code":"x##code##y"}`)
	f.Add("${}${${code}}", `{"code":"##code####code##"}`)
	f.Add("no variables", `{}`)
	f.Add("${code}", `{"code":"123456"}`)
	f.Fuzz(func(t *testing.T, tpl, param string) {
		p, err := parseTemplateParam(param)
		if err != nil {
			return
		}
		const code = "Qz7Wk3"
		text, redacted, checkable, err := renderSms("numauth", tpl, p, code, 300)
		if err != nil {
			return
		}
		if !strings.HasPrefix(text, "【numauth】") || !strings.HasPrefix(redacted, "【numauth】") {
			t.Fatalf("no sign in %q / %q", text, redacted)
		}
		if checkable && !strings.Contains(text, code) {
			t.Fatalf("checkable text without the code: %q", text)
		}
		if strings.Contains(redacted, code) && !strings.Contains(tpl, code) && !strings.Contains(param, code) {
			t.Fatalf("the redacted text holds the code: %q", redacted)
		}
	})
}

// FuzzParseSmsNumber: the number parser never panics and what it accepts
// is E.164.
func FuzzParseSmsNumber(f *testing.F) {
	for _, s := range [][2]string{{"13800138000", ""}, {"+86 138-0013-8000", "86"}, {"7700900123", "44"}, {"+447700900123", "44"}, {"", "1"}, {"1", "+1"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, phone, country string) {
		n, err := parseSmsNumber(phone, country)
		if err != nil {
			return
		}
		if !strings.HasPrefix(n.e164, "+"+n.country) || len(n.e164) > 16 || strings.Trim(n.e164[1:], "0123456789") != "" {
			t.Fatalf("parseSmsNumber(%q, %q) = %+v: not E.164", phone, country, n)
		}
		if strings.Contains(n.masked, n.e164[len(n.e164)-6:]) {
			t.Fatalf("mask %q shows too much of %q", n.masked, n.e164)
		}
	})
}
