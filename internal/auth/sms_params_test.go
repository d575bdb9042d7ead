package auth_test

import (
	"context"
	"testing"

	"github.com/numauth/numauth/internal/auth"
	"github.com/numauth/numauth/internal/sms"
)

type capture struct{ m sms.Message }

func (c *capture) Send(_ context.Context, m sms.Message) (sms.Accepted, error) {
	c.m = m
	return sms.Accepted{ProviderID: "x" + m.ID, Status: sms.StatusPending}, nil
}
func (c *capture) Close() error { return nil }

// TestSmsDefaultMinReachesTheProvider: a templated provider (aliyun)
// renders from Params, so the ${min} numauth fills by default is in Params
// as it is in Text.
func TestSmsDefaultMinReachesTheProvider(t *testing.T) {
	p := &capture{}
	st := smsStack(t, auth.SMSConfig{Provider: p, ProviderName: "cap"})
	mustSend(t, st, smsCaller, sendIn("13800138093"))
	t.Logf("Text %q Params %v", p.m.Text, p.m.Params)
	if _, ok := p.m.Params["min"]; !ok {
		t.Fatal("the template's ${min} is rendered into Text but missing from Params")
	}
}
