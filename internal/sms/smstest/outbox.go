package smstest

import (
	"context"
	"sync"
	"testing"

	"github.com/numauth/numauth/internal/sms"
)

// MemoryOutbox is an sms.Outbox in memory, for the tests of providers that
// deliver into an outbox (the sandbox); the durable stores' outboxes are
// held to the same contract by storetest.
type MemoryOutbox struct {
	mu sync.Mutex
	es []sms.OutboxEntry
}

// PutOutbox implements sms.Outbox: an ID stored already is skipped.
func (o *MemoryOutbox) PutOutbox(_ context.Context, es ...sms.OutboxEntry) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, e := range es {
		if !o.has(e.ID) {
			o.es = append(o.es, e)
		}
	}
	return nil
}

func (o *MemoryOutbox) has(id string) bool {
	for _, x := range o.es {
		if x.ID == id {
			return true
		}
	}
	return false
}

// ListOutbox implements sms.Outbox: newest first, for one recipient or all.
func (o *MemoryOutbox) ListOutbox(_ context.Context, to string, limit int) ([]sms.OutboxEntry, error) {
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

// Received is a World's Received over an outbox: what it holds for one
// number, oldest first.
func (o *MemoryOutbox) Received(t *testing.T, to string) []Delivered {
	es, _ := o.ListOutbox(context.Background(), to, 1000)
	out := make([]Delivered, 0, len(es))
	for i := len(es) - 1; i >= 0; i-- {
		out = append(out, Delivered{Text: es[i].Text, ID: es[i].ID})
	}
	return out
}
