package sandbox_test

import (
	"context"
	"slices"
	"sync"
	"testing"

	"github.com/numauth/numauth/internal/sms"
	"github.com/numauth/numauth/internal/sms/sandbox"
	"github.com/numauth/numauth/internal/sms/smstest"
)

// memOutbox is an outbox in memory, for the suite; the durable stores'
// outboxes are tested by storetest.
type memOutbox struct {
	mu sync.Mutex
	es []sms.OutboxEntry
}

func (o *memOutbox) PutOutbox(_ context.Context, es ...sms.OutboxEntry) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, e := range es {
		if !slices.ContainsFunc(o.es, func(x sms.OutboxEntry) bool { return x.ID == e.ID }) {
			o.es = append(o.es, e)
		}
	}
	return nil
}

func (o *memOutbox) ListOutbox(_ context.Context, to string, limit int) ([]sms.OutboxEntry, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []sms.OutboxEntry
	for i := len(o.es) - 1; i >= 0 && len(out) < limit; i-- {
		if to == "" || o.es[i].To == to {
			out = append(out, o.es[i])
		}
	}
	return out, nil
}

func TestConformance(t *testing.T) {
	smstest.Run(t, smstest.Harness{New: func(t *testing.T, env sms.Env) smstest.World {
		ob := &memOutbox{}
		p, err := sandbox.New(sandbox.Config{Outbox: ob, Now: env.Now})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { p.Close() })
		return smstest.World{
			Provider: p,
			Received: func(t *testing.T, to string) []smstest.Delivered {
				es, _ := ob.ListOutbox(context.Background(), to, 1000)
				var out []smstest.Delivered
				for i := len(es) - 1; i >= 0; i-- {
					out = append(out, smstest.Delivered{Text: es[i].Text, ID: es[i].ID})
				}
				return out
			},
			Reject:     func(t *testing.T, to string) { p.RejectPrefix(to) },
			Outage:     func(t *testing.T, on bool) { p.SetOutage(on) },
			Receipts:   true,
			Idempotent: true,
		}
	}})
}
