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
	return limit.New(m, nil)
}

func exhausted(t *testing.T, err error, budget, what string) {
	t.Helper()
	var ee *limit.ExhaustedError
	if !errors.As(err, &ee) || !errors.Is(err, limit.ErrExhausted) || ee.Budget != budget {
		t.Fatalf("%s: %v, want the %s budget exhausted", what, err, budget)
	}
}

// TestReserveKeepRefund: kept units spend the budget, given-back units do
// not, and the unit that spends it reports 0 left.
func TestReserveKeepRefund(t *testing.T) {
	ctx := context.Background()
	three := limit.Budget{Name: "mask", Limit: 3, Window: time.Hour}
	tests := []struct {
		name  string
		steps string // k: reserve and keep, r: reserve and refund, x: reserve must be exhausted
		lefts []int  // what each Keep reports
	}{
		{"three kept units spend it", "kkkxx", []int{2, 1, 0}},
		{"refunds cost nothing", "rrrrrkkkx", []int{2, 1, 0}},
		{"refunds between keeps", "krkrkx", []int{2, 1, 0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := newLimiter(t)
			var lefts []int
			for i, s := range tc.steps {
				r, err := l.Reserve(ctx, three.For("h1"))
				if s == 'x' {
					exhausted(t, err, "mask", "Reserve")
					exhausted(t, l.Check(ctx, three.For("h1")), "mask", "Check")
					continue
				}
				if err != nil {
					t.Fatalf("step %d: Reserve: %v", i, err)
				}
				if s == 'r' {
					if err := r.Refund(ctx); err != nil {
						t.Fatal(err)
					}
					continue
				}
				left, err := r.Keep(ctx)
				if err != nil {
					t.Fatal(err)
				}
				lefts = append(lefts, left)
			}
			if len(lefts) != len(tc.lefts) {
				t.Fatalf("Keep reported %v, want %v", lefts, tc.lefts)
			}
			for i := range lefts {
				if lefts[i] != tc.lefts[i] {
					t.Fatalf("Keep reported %v, want %v", lefts, tc.lefts)
				}
			}
			// Another subject has its own budget.
			if _, err := l.Reserve(ctx, three.For("h2")); err != nil {
				t.Fatalf("another subject: %v", err)
			}
		})
	}
}

// TestBusyIsNotExhausted: units held by attempts in flight make a further
// reservation busy, not exhausted, and Check does not count them.
func TestBusyIsNotExhausted(t *testing.T) {
	ctx := context.Background()
	l := newLimiter(t)
	b := limit.Budget{Name: "mask", Limit: 2, Window: time.Hour}
	r1, err := l.Reserve(ctx, b.For("h"))
	if err != nil {
		t.Fatal(err)
	}
	r2, err := l.Reserve(ctx, b.For("h"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Reserve(ctx, b.For("h")); !errors.Is(err, limit.ErrBusy) || errors.Is(err, limit.ErrExhausted) {
		t.Fatalf("reserve while two are in flight: %v, want ErrBusy", err)
	}
	if err := l.Check(ctx, b.For("h")); err != nil {
		t.Fatalf("Check while units are only reserved: %v", err)
	}
	r1.Refund(ctx)
	if left, err := r2.Keep(ctx); err != nil || left != 1 {
		t.Fatalf("Keep = %d, %v; want 1 left", left, err)
	}
	r3, err := l.Reserve(ctx, b.For("h"))
	if err != nil {
		t.Fatalf("reserve after a refund: %v", err)
	}
	if left, _ := r3.Keep(ctx); left != 0 {
		t.Fatalf("the last unit kept reports %d left", left)
	}
	_, err = l.Reserve(ctx, b.For("h"))
	exhausted(t, err, "mask", "reserve after the budget is kept")
}

// TestAllOrNone: when the second budget is spent, the first gets its unit back.
func TestAllOrNone(t *testing.T) {
	ctx := context.Background()
	l := newLimiter(t)
	acct := limit.Budget{Name: "acct", Limit: 3, Window: time.Hour}
	global := limit.Budget{Name: "global", Limit: 2, Window: time.Hour}
	for i := 0; i < 2; i++ {
		r, err := l.Reserve(ctx, acct.For("a:h"), global.For("h"))
		if err != nil {
			t.Fatal(err)
		}
		r.Keep(ctx)
	}
	_, err := l.Reserve(ctx, acct.For("a:h"), global.For("h"))
	exhausted(t, err, "global", "third reserve")
	// The account budget still has exactly one unit: the refused reserve cost nothing.
	r, err := l.Reserve(ctx, acct.For("a:h"))
	if err != nil {
		t.Fatal(err)
	}
	if left, _ := r.Keep(ctx); left != 0 {
		t.Fatalf("account budget after a refused pair: %d left after one more, want 0", left)
	}
}

func TestSpend(t *testing.T) {
	ctx := context.Background()
	l := newLimiter(t)
	tok := limit.Budget{Name: "tok", Limit: 2, Window: time.Hour}
	src := limit.Budget{Name: "src", Limit: 3, Window: time.Hour}
	for i := 0; i < 2; i++ {
		if err := l.Spend(ctx, tok.For("t1"), src.For("a")); err != nil {
			t.Fatal(err)
		}
	}
	exhausted(t, l.Spend(ctx, tok.For("t1"), src.For("a")), "tok", "third spend of a token")
	if err := l.Spend(ctx, tok.For("t2"), src.For("a")); err != nil {
		t.Fatalf("another token from the address (its third): %v", err)
	}
	exhausted(t, l.Spend(ctx, tok.For("t3"), src.For("a")), "src", "fourth from the address")
}

func TestUnlimited(t *testing.T) {
	ctx := context.Background()
	l := newLimiter(t)
	off := limit.Budget{Name: "off", Limit: 0, Window: time.Hour}
	for i := 0; i < 100; i++ {
		r, err := l.Reserve(ctx, off.For("x"))
		if err != nil {
			t.Fatal(err)
		}
		if left, _ := r.Keep(ctx); left != -1 {
			t.Fatalf("unlimited budget reports %d left", left)
		}
		if err := l.Spend(ctx, off.For("x")); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Check(ctx, off.For("x")); err != nil {
		t.Fatal(err)
	}
}

// TestParallelNeverExceeds: of many attempts at one moment that all count,
// exactly Limit are let through, however they interleave.
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
				if r, err := l.Reserve(ctx, b.For(subject)); err == nil {
					ok.Add(1)
					r.Keep(ctx)
				}
			}()
		}
		close(start)
		wg.Wait()
		if ok.Load() != 3 {
			t.Fatalf("round %d: %d of 64 parallel attempts got a unit, want exactly 3", round, ok.Load())
		}
		exhausted(t, l.Check(ctx, b.For(subject)), "mask", "Check after the round")
	}
}

func TestWindowEnds(t *testing.T) {
	ctx := context.Background()
	l := newLimiter(t)
	b := limit.Budget{Name: "w", Limit: 1, Window: 100 * time.Millisecond}
	r, err := l.Reserve(ctx, b.For("s"))
	if err != nil {
		t.Fatal(err)
	}
	r.Keep(ctx)
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

// TestCountersShareTheirWindow: the reservation and kept counters of a
// subject start and end together (their keys name the aligned window), so
// neither can outlive the other: no window holds more than Limit kept
// units, and a new window is neither busy nor exhausted.
func TestCountersShareTheirWindow(t *testing.T) {
	ctx := context.Background()
	m := memory.New()
	t.Cleanup(func() { m.Close() })
	var now atomic.Int64
	start := time.Unix(1_800_000_000, 0).Truncate(time.Hour)
	now.Store(start.UnixNano())
	l := limit.New(m, func() time.Time { return time.Unix(0, now.Load()) })
	b := limit.Budget{Name: "mask", Limit: 3, Window: time.Hour}
	at := func(d time.Duration) { now.Store(start.Add(d).UnixNano()) }

	r, err := l.Reserve(ctx, b.For("num")) // a correct login opens the window
	if err != nil {
		t.Fatal(err)
	}
	r.Refund(ctx)
	at(50 * time.Minute) // three wrong masks late in the window
	for i := 0; i < 3; i++ {
		r, err := l.Reserve(ctx, b.For("num"))
		if err != nil {
			t.Fatalf("wrong mask %d: %v", i, err)
		}
		r.Keep(ctx)
	}
	_, err = l.Reserve(ctx, b.For("num"))
	exhausted(t, err, "mask", "a fourth attempt in the window")
	at(61 * time.Minute) // the next window: both counters are new
	r, err = l.Reserve(ctx, b.For("num"))
	if err != nil {
		t.Fatalf("first attempt of the next window: %v (busy or exhausted by the last window's counters)", err)
	}
	if left, _ := r.Keep(ctx); left != 2 {
		t.Fatalf("the next window's first kept unit leaves %d, want 2", left)
	}
}

// TestUntilIgnoresWindows: a budget charged Until a subject's end gives the
// subject exactly Limit kept units across any window boundary, and each
// subject its own.
func TestUntilIgnoresWindows(t *testing.T) {
	ctx := context.Background()
	m := memory.New()
	t.Cleanup(func() { m.Close() })
	now := time.Date(2026, 1, 1, 0, 0, 59, 900e6, time.UTC) // 100 ms before a minute boundary
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	l := limit.New(m, clock)
	b := limit.Budget{Name: "check", Limit: 2, Window: time.Minute}
	end := now.Add(5 * time.Minute)
	for i := 0; i < 2; i++ {
		r, err := l.Reserve(ctx, b.Until("code-1", end))
		if err != nil {
			t.Fatal(err)
		}
		r.Keep(ctx)
		mu.Lock()
		now = now.Add(time.Second) // across the minute boundary
		mu.Unlock()
	}
	_, err := l.Reserve(ctx, b.Until("code-1", end))
	exhausted(t, err, "check", "Reserve after the boundary")
	if _, err := l.Reserve(ctx, b.Until("code-2", end)); err != nil {
		t.Fatalf("another subject: %v", err)
	}
}

// TestCooldown: of parallel claims exactly one holds; a released hold can
// be claimed again; a hold ends after its interval by itself.
func TestCooldown(t *testing.T) {
	ctx := context.Background()
	l := newLimiter(t)
	cd := limit.Cooldown{Name: "interval", Interval: 300 * time.Millisecond}
	var won atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := l.Claim(ctx, cd, "n1"); err == nil {
				won.Add(1)
			} else {
				exhausted(t, err, "interval", "a parallel claim")
			}
		}()
	}
	wg.Wait()
	if won.Load() != 1 {
		t.Fatalf("%d of 50 parallel claims held the cooldown, want 1", won.Load())
	}
	h, err := l.Claim(ctx, cd, "n2")
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Claim(ctx, cd, "n2"); err != nil { // at once, within the released marker's millisecond
		t.Fatalf("claim after release: %v", err)
	}
	time.Sleep(350 * time.Millisecond)
	if _, err := l.Claim(ctx, cd, "n1"); err != nil {
		t.Fatalf("claim after the interval: %v", err)
	}
}

// TestStaleReleaseKeepsANewerHold: releasing a hold that expired must not
// free a hold another event took since.
func TestStaleReleaseKeepsANewerHold(t *testing.T) {
	ctx := context.Background()
	l := newLimiter(t)
	cd := limit.Cooldown{Name: "interval", Interval: 50 * time.Millisecond}
	old, err := l.Claim(ctx, cd, "n")
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(80 * time.Millisecond)
	if _, err := l.Claim(ctx, limit.Cooldown{Name: "interval", Interval: time.Minute}, "n"); err != nil {
		t.Fatal(err)
	}
	old.Release(ctx)
	_, err = l.Claim(ctx, cd, "n")
	exhausted(t, err, "interval", "claim after a stale release")
}

// meeting is a Counter whose Incr, Decr and Get each wait until want calls
// are under way at once (or give up after a long while, failing): a limiter
// that sent one call's counters one after the other would never get there.
type meeting struct {
	*memory.Store
	want    int
	mu      sync.Mutex
	waiting int
	met     chan struct{}
}

func newMeeting(want int) *meeting {
	return &meeting{Store: memory.New(), want: want, met: make(chan struct{})}
}

func (m *meeting) meet(ctx context.Context) error {
	m.mu.Lock()
	m.waiting++
	if m.waiting == m.want {
		close(m.met)
		m.waiting, m.met = 0, make(chan struct{})
		m.mu.Unlock()
		return nil
	}
	met := m.met
	m.mu.Unlock()
	select {
	case <-met:
		return nil
	case <-time.After(10 * time.Second):
		return errors.New("the other counters of the call were never asked at the same time")
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (m *meeting) Incr(ctx context.Context, key string, ttl time.Duration) (int64, error) {
	if err := m.meet(ctx); err != nil {
		return 0, err
	}
	return m.Store.Incr(ctx, key, ttl)
}

func (m *meeting) Decr(ctx context.Context, key string) (int64, error) {
	if err := m.meet(ctx); err != nil {
		return 0, err
	}
	return m.Store.Decr(ctx, key)
}

func (m *meeting) Get(ctx context.Context, key string) ([]byte, error) {
	if err := m.meet(ctx); err != nil {
		return nil, err
	}
	return m.Store.Get(ctx, key)
}

// TestOneRoundTripPerCall: the counters of one call's charges are asked at
// once, not one after the other, in every operation, and the outcome is
// still the first failing charge's, in order.
func TestOneRoundTripPerCall(t *testing.T) {
	ctx := context.Background()
	a := limit.Budget{Name: "a", Limit: 1, Window: time.Hour}
	b := limit.Budget{Name: "b", Limit: 2, Window: time.Hour}
	c := limit.Budget{Name: "c", Limit: 5, Window: time.Hour}
	m := newMeeting(3)
	t.Cleanup(func() { m.Close() })
	l := limit.New(m, nil)
	charges := []limit.Charge{a.For("s"), b.For("s"), c.For("s")}
	r, err := l.Reserve(ctx, charges...)
	if err != nil {
		t.Fatalf("Reserve: %v", err)
	}
	if left, err := r.Keep(ctx); err != nil || left != 0 {
		t.Fatalf("Keep = %d, %v; want 0 left (a's one unit)", left, err)
	}
	if err := l.Check(ctx, charges...); err == nil {
		t.Fatal("Check after a's unit was kept: nil, want a exhausted")
	}
	// a is spent: Spend takes the three units, gives them back (the
	// refund's Decrs meet too) and names a.
	if err := l.Spend(ctx, charges...); !errors.Is(err, limit.ErrExhausted) {
		t.Fatalf("Spend with a spent: %v", err)
	}
	if err := l.Check(ctx, b.For("s"), c.For("s"), b.For("t")); err != nil {
		t.Fatalf("Check of b and c after the refused Spend: %v, want units left (given back)", err)
	}
	r, err = l.Reserve(ctx, b.For("s"), c.For("s"), b.For("u"))
	if err != nil {
		t.Fatalf("Reserve of b and c: %v", err)
	}
	if err := r.Refund(ctx); err != nil {
		t.Fatalf("Refund: %v", err)
	}
}
