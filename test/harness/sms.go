package harness

import (
	"regexp"
	"testing"
)

// smsCode finds the code in a text of numauth's default template 100001
// (【sign】验证码${code}，${min}分钟内有效，请勿泄露。).
var smsCode = regexp.MustCompile(`验证码(\w+)`)

// LastSMSCode returns the code of the newest text the sandbox SMS provider
// delivered to phone, as the user would read it in the SMS, failing the
// test if there is none.
func (in *Instance) LastSMSCode(t testing.TB, phone string) string {
	t.Helper()
	msgs := in.Outbox(t, phone)
	if len(msgs) == 0 {
		t.Fatalf("the sandbox outbox holds no text to %s", phone)
	}
	m := smsCode.FindStringSubmatch(msgs[0].Text)
	if m == nil {
		t.Fatalf("no code in the text to %s: %q", phone, msgs[0].Text)
	}
	return m[1]
}
