package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/numauth/numauth/internal/store"
)

// Short is the TTL the expiry tests use; they poll for the expiry with a
// generous limit rather than sleeping an exact amount.
const Short = 150 * time.Millisecond

const expiryLimit = 5 * time.Second

// RunEphemeral runs the conformance suite for a store.Ephemeral. open must
// return a fresh store whose keys no other test sees.
func RunEphemeral(t *testing.T, open func(t *testing.T) store.Ephemeral) {
	tests := []struct {
		name string
		run  func(t *testing.T, s store.Ephemeral)
	}{
		{"Ping", func(t *testing.T, s store.Ephemeral) { must(t, s.Ping(ctxFor(t)), "Ping") }},
		{"PutIfAbsent", testPutIfAbsent},
		{"Put", testPut},
		{"GetNotFound", testGetNotFound},
		{"Take", testTake},
		{"Delete", testDelete},
		{"Incr", testIncr},
		{"Values", testValues},
		{"Keys", testKeys},
		{"BadTTL", testBadTTL},
		{"Expiry", testExpiry},
		{"PutResetsTTL", testPutResetsTTL},
		{"PutIfAbsentKeepsTTL", testPutIfAbsentKeepsTTL},
		{"IncrKeepsFirstTTL", testIncrKeepsFirstTTL},
		{"ConcurrentPutIfAbsent", testConcurrentPutIfAbsent},
		{"ConcurrentTake", testConcurrentTake},
		{"ConcurrentIncr", testConcurrentIncr},
		{"ConcurrentMixed", testConcurrentMixed},
		{"Decr", testDecr},
		{"DecrKeepsTTL", testDecrKeepsTTL},
		{"Swap", testSwap},
		{"SwapExpired", testSwapExpired},
		{"SwapGuard", testSwapGuard},
		{"ConcurrentSwap", testConcurrentSwap},
		{"Marker", testMarker},
		{"Closed", testEphemeralClosed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			t.Cleanup(func() { _ = s.Close() })
			tc.run(t, s)
		})
	}
}

func getEq(t *testing.T, s store.Ephemeral, key string, want []byte) {
	t.Helper()
	got, err := s.Get(ctxFor(t), key)
	if err != nil {
		t.Fatalf("Get(%q): %v, want %q", key, err, want)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("Get(%q) = %q, want %q", key, got, want)
	}
}

func getMissing(t *testing.T, s store.Ephemeral, key string) {
	t.Helper()
	got, err := s.Get(ctxFor(t), key)
	if !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Get(%q) = %q, %v; want ErrNotFound", key, got, err)
	}
}

// putIfAbsent calls PutIfAbsent and fails unless it reports want.
func putIfAbsent(t *testing.T, s store.Ephemeral, key, val string, ttl time.Duration, want bool, what string) {
	t.Helper()
	ok, err := s.PutIfAbsent(ctxFor(t), key, []byte(val), ttl)
	must(t, err, what)
	if ok != want {
		t.Fatalf("%s: PutIfAbsent(%q) reported %v, want %v", what, key, ok, want)
	}
}

// eventuallyGone waits, up to expiryLimit, for key to read as ErrNotFound.
func eventuallyGone(t *testing.T, s store.Ephemeral, key, what string) {
	t.Helper()
	eventually(t, expiryLimit, what, func() bool {
		_, err := s.Get(ctxFor(t), key)
		return errors.Is(err, store.ErrNotFound)
	})
}

func testPutIfAbsent(t *testing.T, s store.Ephemeral) {
	ctx := ctxFor(t)
	putIfAbsent(t, s, "nonce:1", "first", time.Minute, true, "PutIfAbsent on an absent key")
	putIfAbsent(t, s, "nonce:1", "second", time.Minute, false, "PutIfAbsent on a present key")
	getEq(t, s, "nonce:1", []byte("first"))
	// After a Delete or a Take the key is free again.
	must(t, s.Delete(ctx, "nonce:1"), "Delete")
	putIfAbsent(t, s, "nonce:1", "third", time.Minute, true, "PutIfAbsent after Delete")
	if _, err := s.Take(ctx, "nonce:1"); err != nil {
		t.Fatalf("Take: %v", err)
	}
	putIfAbsent(t, s, "nonce:1", "fourth", time.Minute, true, "PutIfAbsent after Take")
	getEq(t, s, "nonce:1", []byte("fourth"))
}

func testPut(t *testing.T, s store.Ephemeral) {
	ctx := ctxFor(t)
	must(t, s.Put(ctx, "sess", []byte("v1"), time.Minute), "Put")
	getEq(t, s, "sess", []byte("v1"))
	must(t, s.Put(ctx, "sess", []byte("v2-longer"), time.Minute), "Put replace")
	getEq(t, s, "sess", []byte("v2-longer"))
	must(t, s.Put(ctx, "sess", []byte("3"), time.Minute), "Put replace shorter")
	getEq(t, s, "sess", []byte("3"))
}

func testGetNotFound(t *testing.T, s store.Ephemeral) {
	getMissing(t, s, "never")
}

func testTake(t *testing.T, s store.Ephemeral) {
	ctx := ctxFor(t)
	must(t, s.Put(ctx, "tok", []byte("payload"), time.Minute), "Put")
	got, err := s.Take(ctx, "tok")
	must(t, err, "Take")
	if string(got) != "payload" {
		t.Fatalf("Take = %q, want payload", got)
	}
	_, err = s.Take(ctx, "tok")
	mustIs(t, err, store.ErrNotFound, "Take twice")
	getMissing(t, s, "tok")
	_, err = s.Take(ctx, "never")
	mustIs(t, err, store.ErrNotFound, "Take absent")
}

func testDelete(t *testing.T, s store.Ephemeral) {
	ctx := ctxFor(t)
	must(t, s.Put(ctx, "k", []byte("v"), time.Minute), "Put")
	must(t, s.Delete(ctx, "k"), "Delete")
	getMissing(t, s, "k")
	must(t, s.Delete(ctx, "k"), "Delete again")
	must(t, s.Delete(ctx, "never"), "Delete absent")
	// A deleted counter starts again at 1.
	for i := 0; i < 3; i++ {
		if _, err := s.Incr(ctx, "c", time.Minute); err != nil {
			t.Fatalf("Incr: %v", err)
		}
	}
	must(t, s.Delete(ctx, "c"), "Delete counter")
	n, err := s.Incr(ctx, "c", time.Minute)
	must(t, err, "Incr after Delete")
	if n != 1 {
		t.Fatalf("Incr after Delete = %d, want 1", n)
	}
}

func testIncr(t *testing.T, s store.Ephemeral) {
	ctx := ctxFor(t)
	for want := int64(1); want <= 5; want++ {
		n, err := s.Incr(ctx, "rl:acct", time.Minute)
		must(t, err, "Incr")
		if n != want {
			t.Fatalf("Incr = %d, want %d", n, want)
		}
	}
	n, err := s.Incr(ctx, "rl:other", time.Minute)
	must(t, err, "Incr other key")
	if n != 1 {
		t.Fatalf("Incr on a second key = %d, want 1", n)
	}
	// A counter reads as decimal text; a decimal value counts on.
	getEq(t, s, "rl:acct", []byte("5"))
	must(t, s.Put(ctx, "num", []byte("41"), time.Minute), "Put")
	n, err = s.Incr(ctx, "num", time.Minute)
	must(t, err, "Incr on \"41\"")
	if n != 42 {
		t.Fatalf("Incr on \"41\" = %d, want 42", n)
	}
	must(t, s.Put(ctx, "text", []byte("abc"), time.Minute), "Put")
	if _, err := s.Incr(ctx, "text", time.Minute); err == nil {
		t.Fatal("Incr on a non-integer value: no error")
	}
	getEq(t, s, "text", []byte("abc"))
}

func testValues(t *testing.T, s store.Ephemeral) {
	ctx := ctxFor(t)
	// Empty, binary and large values round-trip exactly.
	big := bytes.Repeat([]byte{0, 1, 2, 0xfe, 0xff}, 64<<10/5)
	for i, v := range [][]byte{{}, {0}, []byte("\x00\xff\r\n nul"), big} {
		key := fmt.Sprint("v", i)
		must(t, s.Put(ctx, key, v, time.Minute), "Put")
		getEq(t, s, key, v)
		got, err := s.Take(ctx, key)
		must(t, err, "Take")
		if !bytes.Equal(got, v) {
			t.Fatalf("Take(%q) = %d bytes, want %d", key, len(got), len(v))
		}
	}
	// The store keeps its own copy: callers may reuse their buffers.
	buf := []byte("original")
	must(t, s.Put(ctx, "copy", buf, time.Minute), "Put")
	copy(buf, "CHANGED!")
	got, err := s.Get(ctx, "copy")
	must(t, err, "Get")
	if string(got) != "original" {
		t.Fatalf("Get after the caller changed its buffer = %q", got)
	}
	copy(got, "mutated!")
	getEq(t, s, "copy", []byte("original"))
	buf2 := []byte("pia-original")
	ok, err := s.PutIfAbsent(ctx, "copy2", buf2, time.Minute)
	must(t, err, "PutIfAbsent")
	if !ok {
		t.Fatal("PutIfAbsent reported false")
	}
	copy(buf2, "XXXXXXXXXXXX")
	getEq(t, s, "copy2", []byte("pia-original"))
}

func testKeys(t *testing.T, s store.Ephemeral) {
	ctx := ctxFor(t)
	keys := []string{"a", "A", "a:", "a:b", "nonce:LTAI:Ω:0123", "with space", "x\x00y", ""}
	for i, k := range keys {
		must(t, s.Put(ctx, k, []byte(fmt.Sprint(i)), time.Minute), fmt.Sprintf("Put(%q)", k))
	}
	for i, k := range keys {
		getEq(t, s, k, []byte(fmt.Sprint(i)))
	}
}

func testBadTTL(t *testing.T, s store.Ephemeral) {
	ctx := ctxFor(t)
	for _, ttl := range []time.Duration{0, -time.Second} {
		if _, err := s.PutIfAbsent(ctx, "bad", []byte("v"), ttl); err == nil {
			t.Errorf("PutIfAbsent with ttl %v: no error", ttl)
		}
		if err := s.Put(ctx, "bad", []byte("v"), ttl); err == nil {
			t.Errorf("Put with ttl %v: no error", ttl)
		}
		if _, err := s.Incr(ctx, "bad", ttl); err == nil {
			t.Errorf("Incr with ttl %v: no error", ttl)
		}
	}
	getMissing(t, s, "bad")
	// A TTL under a millisecond is still a positive TTL.
	putIfAbsent(t, s, "tiny", "v", time.Microsecond, true, "PutIfAbsent with a 1µs ttl")
	eventuallyGone(t, s, "tiny", "1µs entry expires")
}

func testExpiry(t *testing.T, s store.Ephemeral) {
	ctx := ctxFor(t)
	// "t" is stored first, so once "n" and "p" have expired it has too
	// (stored last, it could outlive them by the time between the calls,
	// which on a loaded machine made Take find it).
	must(t, s.Put(ctx, "t", []byte("v"), Short), "Put")
	putIfAbsent(t, s, "n", "v", Short, true, "PutIfAbsent")
	must(t, s.Put(ctx, "p", []byte("v"), Short), "Put")
	must(t, s.Put(ctx, "long", []byte("v"), time.Hour), "Put long")
	eventually(t, expiryLimit, "entries expire", func() bool {
		_, e1 := s.Get(ctx, "n")
		_, e2 := s.Get(ctx, "p")
		return errors.Is(e1, store.ErrNotFound) && errors.Is(e2, store.ErrNotFound)
	})
	_, err := s.Take(ctx, "t")
	mustIs(t, err, store.ErrNotFound, "Take expired")
	getEq(t, s, "long", []byte("v"))
	// An expired key is absent: PutIfAbsent stores again.
	putIfAbsent(t, s, "n", "w", time.Minute, true, "PutIfAbsent after expiry")
	getEq(t, s, "n", []byte("w"))
}

func testPutResetsTTL(t *testing.T, s store.Ephemeral) {
	ctx := ctxFor(t)
	putIfAbsent(t, s, "k", "short", Short, true, "PutIfAbsent")
	must(t, s.Put(ctx, "k", []byte("long"), time.Hour), "Put long")
	time.Sleep(3 * Short)
	getEq(t, s, "k", []byte("long"))
	must(t, s.Put(ctx, "k", []byte("short again"), Short), "Put short")
	eventuallyGone(t, s, "k", "shortened entry expires")
}

func testPutIfAbsentKeepsTTL(t *testing.T, s store.Ephemeral) {
	putIfAbsent(t, s, "k", "v", Short, true, "PutIfAbsent")
	// A losing PutIfAbsent changes neither value nor TTL.
	putIfAbsent(t, s, "k", "w", time.Hour, false, "second PutIfAbsent")
	eventuallyGone(t, s, "k", "entry expires with its first TTL")
}

func testIncrKeepsFirstTTL(t *testing.T, s store.Ephemeral) {
	ctx := ctxFor(t)
	n, err := s.Incr(ctx, "win", Short)
	must(t, err, "Incr")
	if n != 1 {
		t.Fatalf("first Incr = %d", n)
	}
	// Later increments with a long TTL must not extend the window: the
	// counter restarts at 1 once the first TTL has passed.
	prev := n
	eventually(t, expiryLimit, "counter window ends with its first TTL", func() bool {
		n, err := s.Incr(ctx, "win", time.Hour)
		must(t, err, "Incr")
		if n == 1 {
			return true
		}
		if n != prev+1 {
			t.Fatalf("Incr = %d after %d", n, prev)
		}
		prev = n
		return false
	})
	// The new window has the TTL given when it started (an hour).
	time.Sleep(3 * Short)
	n, err = s.Incr(ctx, "win", Short)
	must(t, err, "Incr")
	if n != 2 {
		t.Fatalf("Incr in the new window = %d, want 2", n)
	}
}

const goroutines = 64

// run starts goroutines copies of f at (nearly) the same moment.
func runTogether(f func(i int)) {
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := 0; i < goroutines; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			f(i)
		}()
	}
	close(start)
	wg.Wait()
}

func testConcurrentPutIfAbsent(t *testing.T, s store.Ephemeral) {
	ctx := ctxFor(t)
	for round := 0; round < 5; round++ {
		key := fmt.Sprint("nonce:", round)
		var wins atomic.Int32
		var winner atomic.Int32
		var errs firstErr
		runTogether(func(i int) {
			ok, err := s.PutIfAbsent(ctx, key, []byte(fmt.Sprint(i)), time.Minute)
			if err != nil {
				errs.Set(err)
				return
			}
			if ok {
				wins.Add(1)
				winner.Store(int32(i))
			}
		})
		if err := errs.Load(); err != nil {
			t.Fatalf("PutIfAbsent: %v", err)
		}
		if wins.Load() != 1 {
			t.Fatalf("round %d: %d of %d concurrent PutIfAbsent got true, want exactly 1", round, wins.Load(), goroutines)
		}
		getEq(t, s, key, []byte(fmt.Sprint(winner.Load())))
	}
}

func testConcurrentTake(t *testing.T, s store.Ephemeral) {
	ctx := ctxFor(t)
	for round := 0; round < 5; round++ {
		key := fmt.Sprint("token:", round)
		must(t, s.Put(ctx, key, []byte("the token"), time.Minute), "Put")
		var got atomic.Int32
		var errs firstErr
		runTogether(func(int) {
			v, err := s.Take(ctx, key)
			switch {
			case err == nil:
				if string(v) != "the token" {
					errs.Set(fmt.Errorf("Take = %q", v))
				}
				got.Add(1)
			case !errors.Is(err, store.ErrNotFound):
				errs.Set(err)
			}
		})
		if err := errs.Load(); err != nil {
			t.Fatalf("Take: %v", err)
		}
		if got.Load() != 1 {
			t.Fatalf("round %d: %d of %d concurrent Take got the value, want exactly 1", round, got.Load(), goroutines)
		}
	}
}

func testConcurrentIncr(t *testing.T, s store.Ephemeral) {
	ctx := ctxFor(t)
	seen := make([]atomic.Int32, goroutines+1)
	var errs firstErr
	runTogether(func(int) {
		n, err := s.Incr(ctx, "ctr", time.Minute)
		if err != nil {
			errs.Set(err)
			return
		}
		if n < 1 || n > goroutines {
			errs.Set(fmt.Errorf("Incr = %d, outside 1..%d", n, goroutines))
			return
		}
		seen[n].Add(1)
	})
	if err := errs.Load(); err != nil {
		t.Fatalf("Incr: %v", err)
	}
	for n := 1; n <= goroutines; n++ {
		if c := seen[n].Load(); c != 1 {
			t.Errorf("value %d returned %d times, want once", n, c)
		}
	}
}

// testConcurrentMixed hammers many keys with every operation at once
// (meant for -race) and checks the single-use properties still hold.
func testConcurrentMixed(t *testing.T, s store.Ephemeral) {
	ctx := ctxFor(t)
	const keys = 8
	var takes, puts [keys]atomic.Int32
	for k := 0; k < keys; k++ {
		must(t, s.Put(ctx, fmt.Sprint("m", k), []byte("v"), time.Minute), "Put")
	}
	var errs firstErr
	runTogether(func(i int) {
		for j := 0; j < 20; j++ {
			k := (i + j) % keys
			key := fmt.Sprint("m", k)
			var err error
			switch j % 4 {
			case 0:
				_, err = s.Take(ctx, key)
				if err == nil {
					takes[k].Add(1)
				}
			case 1:
				var ok bool
				ok, err = s.PutIfAbsent(ctx, fmt.Sprint("p", k), []byte("v"), time.Minute)
				if ok {
					puts[k].Add(1)
				}
			case 2:
				_, err = s.Incr(ctx, fmt.Sprint("c", k), time.Minute)
			case 3:
				_, err = s.Get(ctx, key)
			}
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				errs.Set(err)
			}
		}
	})
	if err := errs.Load(); err != nil {
		t.Fatal(err)
	}
	total := int64(0)
	for k := 0; k < keys; k++ {
		if takes[k].Load() != 1 || puts[k].Load() != 1 {
			t.Errorf("key %d: %d takes and %d winning PutIfAbsent, want 1 and 1", k, takes[k].Load(), puts[k].Load())
		}
		n, err := s.Incr(ctx, fmt.Sprint("c", k), time.Minute)
		must(t, err, "Incr")
		total += n - 1
	}
	if want := int64(goroutines * 20 / 4); total != want {
		t.Errorf("counters total %d, want %d", total, want)
	}
}

func testEphemeralClosed(t *testing.T, s store.Ephemeral) {
	ctx := ctxFor(t)
	must(t, s.Put(ctx, "k", []byte("v"), time.Minute), "Put")
	must(t, s.Close(), "Close")
	mustIs(t, s.Ping(ctx), store.ErrUnavailable, "Ping after Close")
	_, err := s.Get(ctx, "k")
	mustIs(t, err, store.ErrUnavailable, "Get after Close")
	_, err = s.PutIfAbsent(ctx, "n", []byte("v"), time.Minute)
	mustIs(t, err, store.ErrUnavailable, "PutIfAbsent after Close")
	_, err = s.Take(ctx, "k")
	mustIs(t, err, store.ErrUnavailable, "Take after Close")
	_, err = s.Incr(ctx, "c", time.Minute)
	mustIs(t, err, store.ErrUnavailable, "Incr after Close")
	_, err = s.Decr(ctx, "c")
	mustIs(t, err, store.ErrUnavailable, "Decr after Close")
	_, _, err = s.Swap(ctx, store.Guard{}, "s", nil, []byte("v"), time.Minute)
	mustIs(t, err, store.ErrUnavailable, "Swap after Close")
}

// firstErr keeps the first error reported from any goroutine.
type firstErr struct {
	mu  sync.Mutex
	err error
}

func (f *firstErr) Set(err error) {
	f.mu.Lock()
	if f.err == nil {
		f.err = err
	}
	f.mu.Unlock()
}

func (f *firstErr) Load() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.err
}
