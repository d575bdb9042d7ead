package auth

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/numauth/numauth/internal/store"
)

// The ephemeral store is the only record of which spTokens were spent and
// which signature nonces were seen. A store that loses its data (the
// in-process one on restart, a Redis restarted without persistence) would
// let both be used again. The epoch marker detects that: it is a key holding
// the time it was created; when it is gone, the store forgot, and the first
// instance to notice writes a new one. Anything issued or signed before the
// current epoch is refused, because its "used" mark may have been lost.
const (
	kEpoch = "epoch"
	// epochTTL is "never" in practice: a marker that expired would start a
	// new epoch and refuse every outstanding token for nothing.
	epochTTL      = 10 * 365 * 24 * time.Hour
	epochInterval = 200 * time.Millisecond
)

type epochWatch struct {
	eph  store.Ephemeral
	now  func() time.Time
	unix atomic.Int64 // current epoch, unix milliseconds
	// mark is the marker's value as last read: the guard of every
	// consumption, which the store checks in the same atomic step; markMS
	// is the same value as a number, which spTokens carry.
	mark   atomic.Pointer[[]byte]
	markMS atomic.Int64
	// suspect is set while the store has been failing: when it answers
	// again it may have come back empty, so the marker is read (or written)
	// before anything is minted or checked against the epoch. A new epoch
	// then starts when the store came back, not up to a poll later, and
	// tokens issued after its return stay valid.
	suspect atomic.Bool
	stop    chan struct{}
	done    chan struct{}
}

func startEpochWatch(ctx context.Context, eph store.Ephemeral, now func() time.Time) (*epochWatch, error) {
	w := &epochWatch{eph: eph, now: now, stop: make(chan struct{}), done: make(chan struct{})}
	if err := w.refresh(ctx); err != nil {
		return nil, err
	}
	go w.loop()
	return w, nil
}

// refresh reads the marker, creating it when it is missing.
func (w *epochWatch) refresh(ctx context.Context) error {
	v, err := w.read(ctx)
	if errors.Is(err, store.ErrNotFound) {
		created := w.now().UnixMilli()
		var wrote bool
		if wrote, err = w.create(ctx, []byte(strconv.FormatInt(created, 10))); err != nil {
			return err
		}
		v, err = w.read(ctx) // another instance may have won
		// On a partitioned store another instance may be writing the
		// marker's copies right now: wait for it to finish (its lock
		// lasts a few seconds at most).
		for i := 0; !wrote && errors.Is(err, store.ErrNotFound) && i < 100; i++ {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(50 * time.Millisecond):
			}
			v, err = w.read(ctx)
		}
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("%w: the epoch marker is being written by another instance", store.ErrUnavailable)
		}
	}
	if err != nil {
		return err
	}
	ms, err := strconv.ParseInt(string(v), 10, 64)
	if err != nil {
		// A marker that is not ours: overwrite it with a new epoch.
		ms = w.now().UnixMilli()
		if err := w.overwrite(ctx, []byte(strconv.FormatInt(ms, 10))); err != nil {
			return err
		}
	}
	if ms > w.unix.Load() {
		w.unix.Store(ms)
	}
	mark := []byte(strconv.FormatInt(ms, 10))
	w.mark.Store(&mark)
	w.markMS.Store(ms)
	return nil
}

// read, create and overwrite keep the marker: one key on a store of one
// partition, a copy in every partition on a store.Partitioned (each can
// forget on its own, and a guarded Swap checks the copy beside its key).
func (w *epochWatch) read(ctx context.Context) ([]byte, error) {
	if p, ok := w.eph.(store.Partitioned); ok {
		return p.ReadMarker(ctx, kEpoch)
	}
	return w.eph.Get(ctx, kEpoch)
}

// create writes a new marker unless one is there; it reports whether this
// call wrote it (false: another instance did, or is doing so).
func (w *epochWatch) create(ctx context.Context, v []byte) (bool, error) {
	if p, ok := w.eph.(store.Partitioned); ok {
		return p.WriteMarker(ctx, kEpoch, v, epochTTL)
	}
	return w.eph.PutIfAbsent(ctx, kEpoch, v, epochTTL)
}

func (w *epochWatch) overwrite(ctx context.Context, v []byte) error {
	if p, ok := w.eph.(store.Partitioned); ok {
		// WriteMarker leaves a whole marker alone, and this one is whole.
		if err := p.DeleteMarker(ctx, kEpoch); err != nil {
			return err
		}
		_, err := p.WriteMarker(ctx, kEpoch, v, epochTTL)
		return err
	}
	return w.eph.Put(ctx, kEpoch, v, epochTTL)
}

func (w *epochWatch) loop() {
	defer close(w.done)
	t := time.NewTicker(epochInterval)
	defer t.Stop()
	for {
		select {
		case <-w.stop:
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			if err := w.refresh(ctx); err != nil {
				w.suspect.Store(true) // retried at the next tick
			} else {
				w.suspect.Store(false)
			}
			cancel()
		}
	}
}

// current returns the epoch (unix ms), first re-reading the marker if the
// store has been failing; if it still fails, so does the caller, at once.
func (w *epochWatch) current(ctx context.Context) (int64, error) {
	if w.suspect.Load() {
		if err := w.refresh(ctx); err != nil {
			return 0, storeErr("epoch marker", err)
		}
		w.suspect.Store(false)
	}
	return w.unix.Load(), nil
}

// guard returns the guard every consumption carries (the marker as last
// read) and the epoch, re-reading the marker first if the store has been
// failing or a guard failed.
func (w *epochWatch) guard(ctx context.Context) (store.Guard, int64, int64, error) {
	ms, err := w.current(ctx)
	if err != nil {
		return store.Guard{}, 0, 0, err
	}
	return store.Guard{Key: kEpoch, Value: *w.mark.Load()}, ms, w.markMS.Load(), nil
}

// invalidate makes the next current or guard re-read the marker: a guard
// failed, so the store forgot or another instance started a new epoch.
func (w *epochWatch) invalidate() { w.suspect.Store(true) }

// failed notes a failed store call.
func (w *epochWatch) failed(err error) {
	if errors.Is(err, store.ErrUnavailable) {
		w.suspect.Store(true)
	}
}

func (w *epochWatch) close() {
	close(w.stop)
	<-w.done
}

// Epoch is the time since which the ephemeral store has remembered every
// nonce and spent token. Requests signed before it are refused. It fails
// (ErrUnavailable) while the store cannot be read.
func (s *Service) Epoch(ctx context.Context) (time.Time, error) {
	ms, err := s.epoch.current(ctx)
	return time.UnixMilli(ms), err
}

// SettleEpoch waits, if the epoch began in the current second, until that
// second is over. A signed request of the epoch's own second is refused
// (ConsumeNonce), so a server that just started a new epoch (an empty
// in-process store) waits at most a second before it takes calls, and no
// client that signed after the start is refused.
func (s *Service) SettleEpoch(ctx context.Context) error {
	ms, err := s.epoch.current(ctx)
	if err != nil {
		return err
	}
	wait := time.UnixMilli(ms).Truncate(time.Second).Add(time.Second).Sub(s.cfg.Now())
	if wait <= 0 || wait > time.Second {
		return nil
	}
	select {
	case <-time.After(wait):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
