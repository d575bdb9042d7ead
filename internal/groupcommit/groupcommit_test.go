package groupcommit_test

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"

	"github.com/numauth/numauth/internal/groupcommit"
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
