// Package groupcommit writes records with group commit: callers wait until
// their record is durable, and records arriving while a write is in flight
// share the next transaction, so under load one fsync serves a batch.
package groupcommit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/numauth/numauth/internal/store"
)

// maxBatch bounds one group commit.
const maxBatch = 256

// WriteTimeout bounds one group commit. It is shorter than the
// callers' request deadline (5 s by default), so a hung store frees the
// writer for the next batch soon after callers gave up.
const WriteTimeout = 4 * time.Second

// ErrClosed: the writer was closed; it wraps store.ErrUnavailable.
var ErrClosed = fmt.Errorf("%w: records writer is shutting down", store.ErrUnavailable)

// Writer writes records with group commit: callers wait
// until their record is durable, and records arriving while a write is in
// flight share the next transaction. Under load this turns one fsync per
// verification into one per batch, without acknowledging anything that is
// not yet stored.
//
// A record is written only for a caller who learns the outcome: a caller
// whose deadline passes while its record still waits in the queue withdraws
// it (it is never written, and the caller answers ServiceUnavailable); a
// batch the writer has taken is written under the earliest deadline of its
// callers, who wait for its outcome. So a client told ServiceUnavailable
// was never billed for it, except where the store itself cannot say whether
// a commit happened (the deadline or a lost connection during COMMIT); the
// spToken's own record id makes even that case answer the one record to a
// retry.
type Writer[T any] struct {
	put  func(context.Context, []T) error // stores a batch atomically
	what string                           // the records' name, for the log
	log  *slog.Logger

	mu     sync.RWMutex
	closed bool
	in     chan recordReq[T]
	done   chan struct{}
}

type recordReq[T any] struct {
	v        T
	queued   bool // Enqueue'd: nobody waits; carried to the next batch when a batch fails
	tries    int  // batches a queued record was in that failed
	out      chan error
	deadline time.Time     // the caller's; zero: none
	state    *atomic.Int32 // reqQueued, then reqTaken by the writer or reqWithdrawn by the caller
}

const (
	reqQueued int32 = iota
	reqTaken
	reqWithdrawn
)

// New starts a writer that stores batches with put (atomically: all or
// none) and logs failures naming what; Close stops it. The writer reuses
// the slice it hands put: put must not keep it, or anything in it, once it
// returns.
func New[T any](what string, put func(context.Context, []T) error, log *slog.Logger) *Writer[T] {
	r := &Writer[T]{put: put, what: what, log: log, in: make(chan recordReq[T], maxBatch), done: make(chan struct{})}
	go r.loop()
	return r
}

// Enqueue queues v without waiting for it to be stored: it is written in
// the same batch as the records queued after it or in an earlier one (a
// batch that fails for want of time or of the store takes it along into the
// next, at its head), so a record queued after it and stored (Write
// returned nil) means v is stored too; v is given up, and logged, only
// after it failed in maxQueuedTries batches or on its own. ctx bounds only
// the wait for room in the queue. A batch of nothing but such records is
// held up to queuedLinger for a Write to join it, so that a record queued
// just before a Write (the sandbox outbox entry of an SMS send, before the
// send's record) costs no commit of its own.
func (r *Writer[T]) Enqueue(ctx context.Context, v T) error {
	req := recordReq[T]{v: v, queued: true, out: make(chan error, 1), state: new(atomic.Int32)}
	r.mu.RLock()
	defer r.mu.RUnlock()
	if r.closed {
		return ErrClosed
	}
	select {
	case r.in <- req:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Write queues v and returns once it is stored (nil), could not be stored
// (the store's error), or ctx ended while it still waited in the queue (it
// is then never written).
func (r *Writer[T]) Write(ctx context.Context, v T) error {
	req := recordReq[T]{v: v, out: make(chan error, 1), state: new(atomic.Int32)}
	req.deadline, _ = ctx.Deadline()
	r.mu.RLock()
	if r.closed {
		r.mu.RUnlock()
		return ErrClosed
	}
	select {
	case r.in <- req:
		r.mu.RUnlock()
	case <-ctx.Done():
		r.mu.RUnlock()
		return ctx.Err()
	}
	select {
	case err := <-req.out:
		return err
	case <-ctx.Done():
		if req.state.CompareAndSwap(reqQueued, reqWithdrawn) {
			return ctx.Err() // never written
		}
		return <-req.out // in a transaction bounded by this deadline: its outcome is the answer
	}
}

func (r *Writer[T]) loop() {
	defer close(r.done)
	batch := make([]recordReq[T], 0, maxBatch)
	carry := make([]recordReq[T], 0, maxBatch)
	recs := make([]T, 0, maxBatch)
	take := func(req recordReq[T]) {
		if req.state.CompareAndSwap(reqQueued, reqTaken) {
			batch = append(batch, req)
		}
	}
	open := true
	// fill adds what is queued already, without waiting.
	fill := func() {
		for open && len(batch) < maxBatch {
			select {
			case req, ok := <-r.in:
				if !ok {
					open = false
					return
				}
				take(req)
			default:
				return
			}
		}
	}
	for open || len(carry) > 0 {
		batch = append(batch[:0], carry...)
		carry = carry[:0]
		if len(batch) == 0 {
			first, ok := <-r.in
			if !ok {
				return
			}
			take(first)
		}
		fill()
		if open && len(batch) > 0 && len(batch) < maxBatch && allQueued(batch) {
			// Nobody waits for these: hold them a moment for the record
			// that usually follows (an SMS send's own record follows its
			// outbox entry), so that the two share one commit, one round
			// trip, instead of taking one each.
			r.linger(&batch, &open, take)
			fill()
		}
		if len(batch) == 0 {
			continue
		}
		recs = recs[:0]
		deadline := time.Now().Add(WriteTimeout)
		for _, b := range batch {
			recs = append(recs, b.v)
			if !b.deadline.IsZero() && b.deadline.Before(deadline) {
				deadline = b.deadline
			}
		}
		timedOut, err := r.write(recs, deadline)
		if err != nil && (timedOut || errors.Is(err, store.ErrUnavailable)) {
			// Queued records go again at the head of the next batch, ahead
			// of everything queued after them, so a later record is never
			// stored without them.
			batch = carryQueued(batch, &carry)
		}
		switch {
		case err != nil && timedOut:
			// The batch ran out of its earliest caller's time. Callers with
			// time of their own left go again in the next batch: records
			// have per-token ids, so one the store did commit after all
			// answers ErrConflict there, which recordOnce turns into the
			// recorded answer.
			for _, b := range batch {
				if !b.deadline.IsZero() && b.deadline.After(deadline) {
					carry = append(carry, b)
				} else {
					b.out <- err
				}
			}
		case err != nil && len(batch) > 1 && !errors.Is(err, store.ErrUnavailable):
			// One bad record must not fail its neighbours: write them one by one.
			for _, b := range batch {
				own := b.deadline
				if own.IsZero() {
					own = time.Now().Add(WriteTimeout)
				}
				_, err := r.write([]T{b.v}, own)
				b.out <- err
			}
		default:
			for _, b := range batch {
				b.out <- err
			}
		}
	}
}

// queuedLinger is how long a batch of Enqueue'd records only (nobody
// waits for them) is held for a Write to join it.
const queuedLinger = 20 * time.Millisecond

// linger adds to batch what arrives within queuedLinger, until a record
// somebody waits for arrives, the batch is full or the writer is closed.
func (r *Writer[T]) linger(batch *[]recordReq[T], open *bool, take func(recordReq[T])) {
	t := time.NewTimer(queuedLinger)
	defer t.Stop()
	for len(*batch) < maxBatch {
		select {
		case req, ok := <-r.in:
			if !ok {
				*open = false
				return
			}
			take(req)
			if !req.queued {
				return
			}
		case <-t.C:
			return
		}
	}
}

// allQueued reports whether nobody waits for any record of batch.
func allQueued[T any](batch []recordReq[T]) bool {
	for _, b := range batch {
		if !b.queued {
			return false
		}
	}
	return true
}

// maxQueuedTries bounds how many failed batches a queued record rides
// along in before it is given up (and logged with its batch).
const maxQueuedTries = 8

// carryQueued moves the queued records of a failed batch, while they have
// tries left, to carry, and returns the others.
func carryQueued[T any](batch []recordReq[T], carry *[]recordReq[T]) []recordReq[T] {
	rest := batch[:0]
	for _, b := range batch {
		if b.queued && b.tries < maxQueuedTries {
			b.tries++
			*carry = append(*carry, b)
			continue
		}
		rest = append(rest, b)
	}
	return rest
}

// write writes one batch, bounded by the earliest deadline of its callers:
// every caller learns the outcome by its own deadline, so nobody is told
// ServiceUnavailable for a record that is written later.
// It reports whether the deadline ended the write.
func (r *Writer[T]) write(recs []T, deadline time.Time) (timedOut bool, err error) {
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	err = r.put(ctx, recs)
	if err != nil {
		r.log.Error("recording "+r.what+" failed", "records", len(recs), "err", err)
	}
	return err != nil && ctx.Err() != nil, err
}

// Close stops accepting records and waits until every queued one is written.
func (r *Writer[T]) Close() {
	r.mu.Lock()
	if !r.closed {
		r.closed = true
		close(r.in)
	}
	r.mu.Unlock()
	<-r.done
}
