package auth

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/numauth/numauth/internal/store"
)

// maxBatch bounds one group commit.
const maxBatch = 256

var errClosed = errors.New("auth: service is shutting down")

// recorder writes verification records with group commit: callers wait
// until their record is durable, and records arriving while a write is in
// flight share the next transaction. Under load this turns one fsync per
// verification into one per batch, without acknowledging anything that is
// not yet stored.
type recorder struct {
	d   store.Durable
	log *slog.Logger

	mu     sync.RWMutex
	closed bool
	in     chan recordReq
	done   chan struct{}
}

type recordReq struct {
	v   store.Verification
	out chan error
}

func newRecorder(d store.Durable, log *slog.Logger) *recorder {
	r := &recorder{d: d, log: log, in: make(chan recordReq, maxBatch), done: make(chan struct{})}
	go r.loop()
	return r
}

func (r *recorder) record(ctx context.Context, v store.Verification) error {
	req := recordReq{v: v, out: make(chan error, 1)}
	r.mu.RLock()
	if r.closed {
		r.mu.RUnlock()
		return errClosed
	}
	select {
	case r.in <- req:
		r.mu.RUnlock()
	case <-ctx.Done():
		r.mu.RUnlock()
		return ctx.Err()
	}
	// Once queued, the record is written even if the caller gives up; the
	// caller only learns of it when it waits.
	select {
	case err := <-req.out:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (r *recorder) loop() {
	defer close(r.done)
	batch := make([]recordReq, 0, maxBatch)
	recs := make([]store.Verification, 0, maxBatch)
	for first := range r.in {
		batch = append(batch[:0], first)
	fill:
		for len(batch) < maxBatch {
			select {
			case req, ok := <-r.in:
				if !ok {
					break fill
				}
				batch = append(batch, req)
			default:
				break fill
			}
		}
		recs = recs[:0]
		for _, b := range batch {
			recs = append(recs, b.v)
		}
		err := r.write(recs)
		if err != nil && len(batch) > 1 && !errors.Is(err, store.ErrUnavailable) {
			// One bad record must not fail its neighbours: write them one by one.
			for _, b := range batch {
				b.out <- r.write([]store.Verification{b.v})
			}
			continue
		}
		for _, b := range batch {
			b.out <- err
		}
	}
}

func (r *recorder) write(recs []store.Verification) error {
	// Shorter than the callers' request deadline (5 s), so a hung store
	// frees the writer for the next batch soon after callers gave up.
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Second)
	defer cancel()
	err := r.d.RecordVerifications(ctx, recs)
	if err != nil {
		r.log.Error("recording verifications failed", "records", len(recs), "err", err)
	}
	return err
}

// close stops accepting records and waits until every queued one is written.
func (r *recorder) close() {
	r.mu.Lock()
	if !r.closed {
		r.closed = true
		close(r.in)
	}
	r.mu.Unlock()
	<-r.done
}
