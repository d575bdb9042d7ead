package limit_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/numauth/numauth/internal/limit"
	"github.com/numauth/numauth/internal/store/memory"
)

func newLimiter(t *testing.T) *limit.Limiter {
	t.Helper()
	m := memory.New()
	t.Cleanup(func() { m.Close() })
	return limit.New(m)
}

func TestReserve(t *testing.T) {
	ctx := context.Background()
	three := limit.Budget{Name: "mask", Limit: 3, Window: time.Hour}
	tests := []struct {
		name  string
		steps []string // "r" reserve and keep, "f" reserve and refund, "x" reserve must fail
		lefts []int    // Left after each successful reserve
	}{
		{"spends up to the limit", []string{"r", "r", "r", "x", "x"}, []int{2, 1, 0}},
		{"refunds give units back", []string{"f", "f", "f", "f", "r", "r", "r", "x"}, []int{2, 2, 2, 2, 2, 1, 0}},
		{"a refused reserve costs nothing", []string{"r", "r", "r", "x", "x", "x"}, []int{2, 1, 0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := newLimiter(t)
			var lefts []int
			for i, s := range tc.steps {
				r, err := l.Reserve(ctx, three.For("h1"))
				if s == "x" {
					var ee *limit.ExhaustedError
					if !errors.As(err, &ee) || !errors.Is(err, limit.ErrExhausted) || ee.Budget != "mask" {
						t.Fatalf("step %d: Reserve = %v, want the mask budget exhausted", i, err)
					}
					if err := l.Check(ctx, three.For("h1")); !errors.Is(err, limit.ErrExhausted) {
						t.Fatalf("step %d: Check = %v, want exhausted", i, err)
					}
					continue
				}
				if err != nil {
					t.Fatalf("step %d: Reserve: %v", i, err)
				}
				lefts = append(lefts, r.Left())
				if s == "f" {
					if err := r.Refund(ctx); err != nil {
						t.Fatal(err)
					}
				}
			}
			if len(lefts) != len(tc.lefts) {
				t.Fatalf("lefts %v, want %v", lefts, tc.lefts)
			}
			for i := range lefts {
				if lefts[i] != tc.lefts[i] {
					t.Fatalf("lefts %v, want %v", lefts, tc.lefts)
				}
			}
			// Another subject has its own budget.
			if _, err := l.Reserve(ctx, three.For("h2")); err != nil {
				t.Fatalf("another subject: %v", err)
			}
		})
	}
}

// TestAllOrNone: when the second budget is spent, the first gets its unit back.
func TestAllOrNone(t *testing.T) {
	ctx := context.Background()
	l := newLimiter(t)
	acct := limit.Budget{Name: "acct", Limit: 3, Window: time.Hour}
	global := limit.Budget{Name: "global", Limit: 2, Window: time.Hour}
	for i := 0; i < 2; i++ {
		if _, err := l.Reserve(ctx, acct.For("a:h"), global.For("h")); err != nil {
			t.Fatal(err)
		}
	}
	_, err := l.Reserve(ctx, acct.For("a:h"), global.For("h"))
	var ee *limit.ExhaustedError
	if !errors.As(err, &ee) || ee.Budget != "global" {
		t.Fatalf("third reserve = %v, want the global budget exhausted", err)
	}
	// The account budget still has exactly one unit: the refused reserve cost nothing.
	r, err := l.Reserve(ctx, acct.For("a:h"))
	if err != nil || r.Left() != 0 {
		t.Fatalf("account budget after a refused pair: %v, left %d; want one unit left", err, r.Left())
	}
}

func TestUnlimited(t *testing.T) {
	ctx := context.Background()
	l := newLimiter(t)
	off := limit.Budget{Name: "off", Limit: 0, Window: time.Hour}
	for i := 0; i < 100; i++ {
		r, err := l.Reserve(ctx, off.For("x"))
		if err != nil || r.Left() != -1 {
			t.Fatalf("unlimited budget: %v, left %d", err, r.Left())
		}
	}
	if err := l.Check(ctx, off.For("x")); err != nil {
		t.Fatal(err)
	}
}

// TestParallelNeverExceeds: of many reserves at one moment, exactly Limit
// succeed, however they interleave.
func TestParallelNeverExceeds(t *testing.T) {
	ctx := context.Background()
	l := newLimiter(t)
	b := limit.Budget{Name: "mask", Limit: 3, Window: time.Hour}
	for round := 0; round < 20; round++ {
		subject := string(rune('a' + round))
		var ok atomic.Int32
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := 0; i < 64; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				if _, err := l.Reserve(ctx, b.For(subject)); err == nil {
					ok.Add(1)
				}
			}()
		}
		close(start)
		wg.Wait()
		if ok.Load() != 3 {
			t.Fatalf("round %d: %d of 64 parallel reserves succeeded, want exactly 3", round, ok.Load())
		}
	}
}

func TestWindowEnds(t *testing.T) {
	ctx := context.Background()
	l := newLimiter(t)
	b := limit.Budget{Name: "w", Limit: 1, Window: 100 * time.Millisecond}
	if _, err := l.Reserve(ctx, b.For("s")); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Reserve(ctx, b.For("s")); !errors.Is(err, limit.ErrExhausted) {
		t.Fatalf("second reserve in the window: %v", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for l.Check(ctx, b.For("s")) != nil {
		if time.Now().After(deadline) {
			t.Fatal("the window never ended")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := l.Reserve(ctx, b.For("s")); err != nil {
		t.Fatalf("reserve in the next window: %v", err)
	}
}
