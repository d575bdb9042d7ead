package groupcommit_test

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"

	"github.com/numauth/numauth/internal/groupcommit"
	"github.com/numauth/numauth/internal/store"
)

// TestEnqueuedBeforeWritten: whatever was enqueued before a Write is stored
// when that Write returns nil, in the same batch or an earlier one.
func TestEnqueuedBeforeWritten(t *testing.T) {
	var mu sync.Mutex
	var stored []int
	w := groupcommit.New("ints", func(_ context.Context, b []int) error {
		mu.Lock()
		defer mu.Unlock()
		stored = append(stored, b...)
		return nil
	}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	defer w.Close()
	ctx := context.Background()
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Go(func() {
			for i := 0; i < 200; i++ {
				n := g*1000 + i*2
				if err := w.Enqueue(ctx, n); err != nil {
					t.Error(err)
					return
				}
				if err := w.Write(ctx, n+1); err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				ok := slices.Contains(stored, n)
				mu.Unlock()
				if !ok {
					t.Errorf("%d was enqueued before %d, which is stored, but is not stored itself", n, n+1)
					return
				}
			}
		})
	}
	wg.Wait()
}

// TestClosedRefuses: after Close, Write and Enqueue answer ErrClosed, and
// everything queued before was written.
func TestClosedRefuses(t *testing.T) {
	var n int
	w := groupcommit.New("ints", func(_ context.Context, b []int) error { n += len(b); return nil }, slog.New(slog.NewTextHandler(io.Discard, nil)))
	for i := 0; i < 10; i++ {
		w.Enqueue(context.Background(), i)
	}
	w.Close()
	if n != 10 {
		t.Fatalf("%d of 10 enqueued records written by Close", n)
	}
	if err := w.Write(context.Background(), 1); err != groupcommit.ErrClosed {
		t.Fatalf("Write after Close: %v", err)
	}
	if err := w.Enqueue(context.Background(), 1); err != groupcommit.ErrClosed {
		t.Fatalf("Enqueue after Close: %v", err)
	}
}

// TestQueuedRidesAlongAfterAFailure: a queued record whose own batch failed
// for want of the store goes again at the head of the next batch, so a
// record written after it is never stored without it.
func TestQueuedRidesAlongAfterAFailure(t *testing.T) {
	started, release := make(chan struct{}), make(chan struct{})
	var mu sync.Mutex
	var batches [][]int
	w := groupcommit.New("ints", func(_ context.Context, b []int) error {
		mu.Lock()
		first := len(batches) == 0
		batches = append(batches, slices.Clone(b))
		mu.Unlock()
		if first {
			close(started)
			<-release
			return store.ErrUnavailable
		}
		return nil
	}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	defer w.Close()
	ctx := context.Background()
	if err := w.Enqueue(ctx, 1); err != nil {
		t.Fatal(err)
	}
	<-started // the writer took 1 on its own and the store is failing
	done := make(chan error)
	go func() { done <- w.Write(ctx, 2) }()
	close(release)
	if err := <-done; err != nil {
		t.Fatalf("Write(2) after the failed batch: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	// 1 is written again after the failure, in 2's batch or before it.
	with2 := slices.IndexFunc(batches, func(b []int) bool { return slices.Contains(b, 2) })
	again1 := slices.IndexFunc(batches[1:], func(b []int) bool { return slices.Contains(b, 1) })
	if with2 < 0 || again1 < 0 || again1+1 > with2 {
		t.Fatalf("batches %v: 1 is not written again before or with 2", batches)
	}
}
