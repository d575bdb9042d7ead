package auth_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/numauth/numauth/internal/auth"
	"github.com/numauth/numauth/internal/sms"
)

// slowPeer is a provider whose peer (like Alibaba's SendSms) has taken the
// message before its answer comes back; the answer is lost when ctx ends.
type slowPeer struct{ delivered atomic.Int32 }

func (p *slowPeer) Send(ctx context.Context, m sms.Message) (sms.Accepted, error) {
	p.delivered.Add(1) // the request reached the peer
	select {
	case <-ctx.Done():
		return sms.Accepted{}, fmt.Errorf("%w: %w", sms.ErrUnavailable, ctx.Err())
	case <-time.After(time.Second):
		return sms.Accepted{ProviderID: m.ID, Status: sms.StatusPending}, nil
	}
}
func (p *slowPeer) Close() error { return nil }

// TestSmsProviderTimeoutKeepsTheInterval: a provider that may have sent the
// text but answered too late (or a caller who hung up) does not give the
// Interval back, so a slow provider cannot be used to text one number
// without limit.
func TestSmsProviderTimeoutKeepsTheInterval(t *testing.T) {
	p := &slowPeer{}
	st := smsStack(t, auth.SMSConfig{Provider: p, ProviderName: "slow", PerHour: 5, PerDay: 10, PerDayGlobal: 20})
	for i := 0; i < 30; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		_, err := st.Svc.SendSmsCode(ctx, smsCaller, sendIn("13800138092"))
		cancel()
		if err == nil {
			t.Fatal("unexpected success")
		}
	}
	if n := p.delivered.Load(); n > 20 {
		t.Fatalf("%d texts reached the provider for one number within a second (Interval 60 s, 5/hour, 20/day for all accounts)", n)
	}
}
