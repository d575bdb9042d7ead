package auth_test

import (
	"context"
	"testing"
	"time"

	"github.com/numauth/numauth/internal/auth"
)

// TestSmsWithdrawKeepsTheEarlierCodesLife: a DuplicatePolicy 1 send that
// the provider refuses restores the earlier code with the life it had, not
// the refused code's.
func TestSmsWithdrawKeepsTheEarlierCodesLife(t *testing.T) {
	st := smsStack(t, auth.SMSConfig{})
	phone := "13800138091"
	in := sendIn(phone)
	in.Interval = 1
	a := mustSend(t, st, smsCaller, in) // valid 300 s
	time.Sleep(1100 * time.Millisecond)
	st.SMS.SetOutage(true)
	in.ValidTime = 1
	if _, err := st.Svc.SendSmsCode(context.Background(), smsCaller, in); err == nil {
		t.Fatal("send during outage succeeded")
	}
	st.SMS.SetOutage(false)
	time.Sleep(2500 * time.Millisecond)
	if !check(t, st, smsCaller, phone, a.Code) {
		t.Fatal("the first code (valid 300 s, 4 s old) no longer passes after a refused send was withdrawn")
	}
}
