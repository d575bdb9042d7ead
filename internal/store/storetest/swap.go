package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/numauth/numauth/internal/store"
)

// swap calls Swap and fails unless it reports wantOK and wantPrev.
func swap(t *testing.T, s store.Ephemeral, g store.Guard, key string, old, val []byte, wantPrev []byte, wantOK bool, what string) {
	t.Helper()
	prev, ok, err := s.Swap(ctxFor(t), g, key, old, val, time.Minute)
	must(t, err, what)
	if ok != wantOK || !bytes.Equal(prev, wantPrev) || (prev == nil) != (wantPrev == nil) {
		t.Fatalf("%s: Swap(%q, old %q) = %q, %v; want %q, %v", what, key, old, prev, ok, wantPrev, wantOK)
	}
}

func testDecr(t *testing.T, s store.Ephemeral) {
	ctx := ctxFor(t)
	n, err := s.Decr(ctx, "absent")
	must(t, err, "Decr absent")
	if n != 0 {
		t.Fatalf("Decr on an absent key = %d, want 0", n)
	}
	getMissing(t, s, "absent") // Decr never creates a counter
	for i := 0; i < 3; i++ {
		_, err := s.Incr(ctx, "budget", time.Minute)
		must(t, err, "Incr")
	}
	for _, want := range []int64{2, 1, 0, 0} {
		n, err := s.Decr(ctx, "budget")
		must(t, err, "Decr")
		if n != want {
			t.Fatalf("Decr = %d, want %d", n, want)
		}
	}
	n, err = s.Incr(ctx, "budget", time.Minute)
	must(t, err, "Incr after Decr to zero")
	if n != 1 {
		t.Fatalf("Incr after Decr to zero = %d, want 1", n)
	}
	must(t, s.Put(ctx, "text", []byte("abc"), time.Minute), "Put")
	if _, err := s.Decr(ctx, "text"); err == nil {
		t.Fatal("Decr on a non-integer value: no error")
	}
}

// testDecrKeepsTTL: a unit given back does not extend the window.
func testDecrKeepsTTL(t *testing.T, s store.Ephemeral) {
	ctx := ctxFor(t)
	for i := 0; i < 2; i++ {
		_, err := s.Incr(ctx, "w", Short)
		must(t, err, "Incr")
	}
	_, err := s.Decr(ctx, "w")
	must(t, err, "Decr")
	eventuallyGone(t, s, "w", "counter after Decr")
}

func testSwap(t *testing.T, s store.Ephemeral) {
	none := store.Guard{}
	swap(t, s, none, "sp", nil, []byte("P1"), nil, true, "claim an absent key")
	swap(t, s, none, "sp", nil, []byte("P2"), []byte("P1"), false, "claim a held key")
	swap(t, s, none, "sp", []byte("X"), []byte("P2"), []byte("P1"), false, "swap from a wrong value")
	swap(t, s, none, "sp", []byte("P1"), []byte("D"), []byte("P1"), true, "settle")
	getEq(t, s, "sp", []byte("D"))
	// Empty values are values, not absence.
	swap(t, s, none, "e", nil, []byte{}, nil, true, "store an empty value")
	swap(t, s, none, "e", nil, []byte("x"), []byte{}, false, "an empty value is present")
	swap(t, s, none, "e", []byte{}, []byte("x"), []byte{}, true, "swap from an empty value")
	// Counters compare as decimal text.
	_, err := s.Incr(ctxFor(t), "c", time.Minute)
	must(t, err, "Incr")
	swap(t, s, none, "c", []byte("1"), []byte("done"), []byte("1"), true, "swap a counter")
	// A swapped key is free again after Delete.
	must(t, s.Delete(ctxFor(t), "sp"), "Delete")
	swap(t, s, none, "sp", nil, []byte("P3"), nil, true, "claim after Delete")
}

func testSwapExpired(t *testing.T, s store.Ephemeral) {
	_, _, err := s.Swap(ctxFor(t), store.Guard{}, "x", nil, []byte("v"), Short)
	must(t, err, "Swap")
	eventuallyGone(t, s, "x", "swapped key")
	swap(t, s, store.Guard{}, "x", nil, []byte("w"), nil, true, "claim after expiry")
}

func testSwapGuard(t *testing.T, s store.Ephemeral) {
	ctx := ctxFor(t)
	g := store.Guard{Key: "epoch", Value: []byte("1700000000000")}
	_, _, err := s.Swap(ctx, g, "nonce:a", nil, []byte{1}, time.Minute)
	mustIs(t, err, store.ErrGuard, "Swap with an absent guard marker")
	getMissing(t, s, "nonce:a")
	must(t, putMarker(ctx, s, "epoch", []byte("1700000000001")), "Put marker")
	_, _, err = s.Swap(ctx, g, "nonce:a", nil, []byte{1}, time.Minute)
	mustIs(t, err, store.ErrGuard, "Swap with a guard marker of another value")
	getMissing(t, s, "nonce:a")
	must(t, putMarker(ctx, s, "epoch", g.Value), "Put marker")
	swap(t, s, g, "nonce:a", nil, []byte{1}, nil, true, "guarded claim")
	swap(t, s, g, "nonce:a", nil, []byte{1}, []byte{1}, false, "guarded replay")
	// The marker gone (the store forgot): nothing is claimed, even a fresh key.
	must(t, deleteMarker(ctx, s, "epoch"), "Delete marker")
	_, _, err = s.Swap(ctx, g, "nonce:b", nil, []byte{1}, time.Minute)
	mustIs(t, err, store.ErrGuard, "guarded claim after the marker is gone")
	getMissing(t, s, "nonce:b")
	// The marker may be the key itself's neighbour on any shard: many keys.
	must(t, putMarker(ctx, s, "epoch", g.Value), "Put marker")
	for i := 0; i < 64; i++ {
		swap(t, s, g, fmt.Sprint("k", i), nil, []byte{1}, nil, true, "guarded claim of many keys")
	}
}

// testConcurrentSwap: of many callers claiming one key, exactly one wins,
// and of many settling the winner's claim, exactly one wins.
func testConcurrentSwap(t *testing.T, s store.Ephemeral) {
	ctx := ctxFor(t)
	g := store.Guard{Key: "epoch", Value: []byte("e1")}
	must(t, putMarker(ctx, s, "epoch", g.Value), "Put marker")
	for round := 0; round < 5; round++ {
		key := fmt.Sprint("tok", round)
		var claimed, settled atomic.Int32
		var errs firstErr
		runTogether(func(i int) {
			_, ok, err := s.Swap(ctx, g, key, nil, []byte(fmt.Sprint("P", i)), time.Minute)
			if err != nil {
				errs.Set(err)
			}
			if ok {
				claimed.Add(1)
			}
		})
		cur, err := s.Get(ctx, key)
		must(t, err, "Get")
		runTogether(func(i int) {
			_, ok, err := s.Swap(ctx, g, key, cur, []byte("D"), time.Minute)
			if err != nil {
				errs.Set(err)
			}
			if ok {
				settled.Add(1)
			}
		})
		if err := errs.Load(); err != nil {
			t.Fatalf("Swap: %v", err)
		}
		if claimed.Load() != 1 || settled.Load() != 1 {
			t.Fatalf("round %d: %d claims and %d settlements succeeded, want 1 and 1", round, claimed.Load(), settled.Load())
		}
	}
}

// putMarker makes key hold value as a guard marker: a key of its own, or on
// a store.Partitioned a copy in every partition.
func putMarker(ctx context.Context, s store.Ephemeral, key string, value []byte) error {
	p, ok := s.(store.Partitioned)
	if !ok {
		return s.Put(ctx, key, value, time.Minute)
	}
	if err := p.DeleteMarker(ctx, key); err != nil {
		return err
	}
	wrote, err := p.WriteMarker(ctx, key, value, time.Minute)
	if err == nil && !wrote {
		err = fmt.Errorf("WriteMarker(%q) after DeleteMarker wrote nothing", key)
	}
	return err
}

func deleteMarker(ctx context.Context, s store.Ephemeral, key string) error {
	if p, ok := s.(store.Partitioned); ok {
		return p.DeleteMarker(ctx, key)
	}
	return s.Delete(ctx, key)
}

// testMarker: a store.Partitioned reads a marker as a whole, and of many
// callers writing an absent marker at once exactly one writes it.
func testMarker(t *testing.T, s store.Ephemeral) {
	p, ok := s.(store.Partitioned)
	if !ok {
		t.Skip("not a store.Partitioned")
	}
	ctx := ctxFor(t)
	if _, err := p.ReadMarker(ctx, "m"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("ReadMarker of an absent marker: %v, want ErrNotFound", err)
	}
	for round := 0; round < 3; round++ {
		var wrote atomic.Int32
		var errs firstErr
		runTogether(func(i int) {
			ok, err := p.WriteMarker(ctx, "m", []byte(fmt.Sprint("v", i)), time.Minute)
			if err != nil {
				errs.Set(err)
			}
			if ok {
				wrote.Add(1)
			}
		})
		must(t, errs.Load(), "WriteMarker")
		if n := wrote.Load(); n != 1 {
			t.Fatalf("round %d: %d concurrent WriteMarker calls wrote, want exactly 1", round, n)
		}
		v, err := p.ReadMarker(ctx, "m")
		must(t, err, "ReadMarker")
		g := store.Guard{Key: "m", Value: v}
		for i := 0; i < 32; i++ {
			swap(t, s, g, fmt.Sprint("r", round, "k", i), nil, []byte{1}, nil, true, "claim guarded by the written marker")
		}
		if ok, err := p.WriteMarker(ctx, "m", []byte("other"), time.Minute); err != nil || ok {
			t.Fatalf("WriteMarker over a whole marker = %v, %v; want false, nil", ok, err)
		}
		must(t, p.DeleteMarker(ctx, "m"), "DeleteMarker")
		if _, err := p.ReadMarker(ctx, "m"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("ReadMarker after DeleteMarker: %v, want ErrNotFound", err)
		}
	}
}
