package auth

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/numauth/numauth/internal/store"
)

// slowDurable: the first write waits for gate; every write takes 80 ms
// (a loaded disk), honouring its context.
type slowDurable struct {
	store.Durable
	gate, g0 chan struct{}
}

func (d *slowDurable) gateCopy() chan struct{} { return d.g0 }

func (d *slowDurable) RecordVerifications(ctx context.Context, v []store.Verification) error {
	if d.gate != nil {
		g := d.gate
		d.gate = nil
		<-g
	}
	select {
	case <-time.After(80 * time.Millisecond):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// TestNeighbourDeadline: a caller with 5 s left shares a batch with one
// that has a few ms left; the batch is cut at the short deadline, and the
// caller with time left goes again in the next batch instead of failing.
func TestNeighbourDeadline(t *testing.T) {
	g := make(chan struct{})
	d := &slowDurable{gate: g, g0: g}
	r := newRecorder("verifications", d.RecordVerifications, slog.New(slog.NewTextHandler(io.Discard, nil)))
	defer r.Close()
	go r.Write(context.Background(), store.Verification{ID: "busy"}) // occupies the writer
	time.Sleep(20 * time.Millisecond)
	short, c1 := context.WithTimeout(context.Background(), 130*time.Millisecond)
	defer c1()
	long, c2 := context.WithTimeout(context.Background(), 5*time.Second)
	defer c2()
	errs := make(chan error, 2)
	go func() { errs <- r.Write(short, store.Verification{ID: "short"}) }()
	time.Sleep(5 * time.Millisecond)
	go func() {
		err := r.Write(long, store.Verification{ID: "long"})
		errs <- err
		if err != nil {
			t.Errorf("caller with 5 s left: %v", err)
		}
	}()
	time.Sleep(15 * time.Millisecond)
	close(d.gateCopy())
	<-errs
	<-errs
}
