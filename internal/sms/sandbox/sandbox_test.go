package sandbox_test

import (
	"testing"

	"github.com/numauth/numauth/internal/sms"
	"github.com/numauth/numauth/internal/sms/sandbox"
	"github.com/numauth/numauth/internal/sms/smstest"
)

func TestConformance(t *testing.T) {
	smstest.Run(t, smstest.Harness{New: func(t *testing.T, env sms.Env) smstest.World {
		ob := &smstest.MemoryOutbox{}
		p, err := sandbox.New(sandbox.Config{Outbox: ob, Now: env.Now})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { p.Close() })
		return smstest.World{
			Provider:   p,
			Received:   ob.Received,
			Reject:     func(t *testing.T, to string) { p.RejectPrefix(to) },
			Outage:     func(t *testing.T, on bool) { p.SetOutage(on) },
			Receipts:   true,
			Idempotent: true,
		}
	}})
}
