package memory

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"github.com/numauth/numauth/internal/store"
	"github.com/numauth/numauth/internal/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.RunEphemeral(t, func(t *testing.T) store.Ephemeral { return New() })
}

func TestShardPadding(t *testing.T) {
	if sz := unsafe.Sizeof(shard{}); sz != 64 {
		t.Fatalf("shard is %d bytes, want 64 (one cache line)", sz)
	}
}

func TestSweepRemovesExpired(t *testing.T) {
	s := New()
	defer s.Close()
	ctx := context.Background()
	for i := 0; i < 10000; i++ {
		if _, err := s.PutIfAbsent(ctx, strconv.Itoa(i), []byte("v"), time.Millisecond); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Put(ctx, "keep", []byte("v"), time.Hour); err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Millisecond)
	s.sweep()
	if n := s.count(); n != 1 {
		t.Fatalf("after sweep: %d entries, want 1", n)
	}
	if _, err := s.Get(ctx, "keep"); err != nil {
		t.Fatal(err)
	}
}

func TestJanitorRuns(t *testing.T) {
	s := New()
	defer s.Close()
	ctx := context.Background()
	if err := s.Put(ctx, "k", []byte("v"), time.Millisecond); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * sweepEvery)
	for s.count() != 0 {
		if time.Now().After(deadline) {
			t.Fatal("janitor did not remove the expired entry")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestIncrOnValue(t *testing.T) {
	s := New()
	defer s.Close()
	ctx := context.Background()
	_ = s.Put(ctx, "n", []byte("41"), time.Minute)
	if n, err := s.Incr(ctx, "n", time.Minute); err != nil || n != 42 {
		t.Fatalf("Incr on \"41\" = %d, %v; want 42", n, err)
	}
	if v, err := s.Get(ctx, "n"); err != nil || string(v) != "42" {
		t.Fatalf("Get counter = %q, %v; want \"42\"", v, err)
	}
	_ = s.Put(ctx, "s", []byte("abc"), time.Minute)
	if _, err := s.Incr(ctx, "s", time.Minute); err == nil {
		t.Fatal("Incr on a non-integer value: no error")
	}
}

func TestCloseIdempotent(t *testing.T) {
	s := New()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

// keys returns n distinct nonce-like keys.
func keys(n int) []string {
	k := make([]string, n)
	for i := range k {
		k[i] = "nonce:LTAI5tExample:" + strconv.FormatUint(uint64(i)*0x9E3779B97F4A7C15, 36)
	}
	return k
}

var value = []byte("1")

// BenchmarkPutIfAbsent stores a fresh key every time (a new nonce).
func BenchmarkPutIfAbsent(b *testing.B) {
	s := New()
	defer s.Close()
	ctx := context.Background()
	ks := keys(b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if ok, _ := s.PutIfAbsent(ctx, ks[i], value, 15*time.Minute); !ok {
			b.Fatal("not stored")
		}
	}
}

// BenchmarkPutIfAbsentReplay hits keys that exist (a replayed nonce).
func BenchmarkPutIfAbsentReplay(b *testing.B) {
	s := New()
	defer s.Close()
	ctx := context.Background()
	ks := keys(1 << 16)
	for _, k := range ks {
		_, _ = s.PutIfAbsent(ctx, k, value, time.Hour)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if ok, _ := s.PutIfAbsent(ctx, ks[i&(1<<16-1)], value, time.Hour); ok {
			b.Fatal("stored twice")
		}
	}
}

func BenchmarkPutIfAbsentParallel(b *testing.B) {
	s := New()
	defer s.Close()
	ctx := context.Background()
	ks := keys(b.N)
	var next atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if ok, _ := s.PutIfAbsent(ctx, ks[next.Add(1)-1], value, 15*time.Minute); !ok {
				b.Error("not stored")
			}
		}
	})
}

func BenchmarkTake(b *testing.B) {
	s := New()
	defer s.Close()
	ctx := context.Background()
	ks := keys(b.N)
	for _, k := range ks {
		_ = s.Put(ctx, k, value, time.Hour)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := s.Take(ctx, ks[i]); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkTakeParallel(b *testing.B) {
	s := New()
	defer s.Close()
	ctx := context.Background()
	ks := keys(b.N)
	for _, k := range ks {
		_ = s.Put(ctx, k, value, time.Hour)
	}
	var next atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.Take(ctx, ks[next.Add(1)-1]); err != nil {
				b.Error(err)
			}
		}
	})
}

// BenchmarkIncr counts on 1024 rate-limit windows.
func BenchmarkIncr(b *testing.B) {
	s := New()
	defer s.Close()
	ctx := context.Background()
	ks := keys(1024)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := s.Incr(ctx, ks[i&1023], time.Hour); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkIncrParallel(b *testing.B) {
	s := New()
	defer s.Close()
	ctx := context.Background()
	ks := keys(1024)
	var next atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := next.Add(1) * 7919
		for pb.Next() {
			i++
			if _, err := s.Incr(ctx, ks[i&1023], time.Hour); err != nil {
				b.Error(err)
			}
		}
	})
}

// BenchmarkIncrHotKey: every goroutine counts on the same key (one account's
// rate limit under load), the worst case for a sharded map.
func BenchmarkIncrHotKey(b *testing.B) {
	s := New()
	defer s.Close()
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.Incr(ctx, "rl:hot", time.Hour); err != nil {
				b.Error(err)
			}
		}
	})
}

func BenchmarkGet(b *testing.B) {
	s := New()
	defer s.Close()
	ctx := context.Background()
	ks := keys(1 << 16)
	for _, k := range ks {
		_ = s.Put(ctx, k, []byte("a session blob of a typical size, say sixty-four bytes or so...."), time.Hour)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := s.Get(ctx, ks[i&(1<<16-1)]); err != nil {
			b.Fatal(err)
		}
	}
}

// TestBounded: a full store refuses new entries with ErrFull (an
// ErrUnavailable), evicts nothing, still rewrites existing entries, and has
// room again once expired entries are swept.
func TestBounded(t *testing.T) {
	ctx := context.Background()
	const max = 64 << 10
	s := New(WithMaxBytes(max))
	defer s.Close()
	val := make([]byte, 100)
	var stored []string
	for i := 0; ; i++ {
		key := fmt.Sprintf("spu:%06d", i)
		ok, err := s.PutIfAbsent(ctx, key, val, 150*time.Millisecond)
		if errors.Is(err, store.ErrFull) {
			if !errors.Is(err, store.ErrUnavailable) {
				t.Fatalf("ErrFull does not wrap ErrUnavailable: %v", err)
			}
			break
		}
		if err != nil || !ok {
			t.Fatalf("PutIfAbsent(%s) = %v, %v", key, ok, err)
		}
		stored = append(stored, key)
		if i > max {
			t.Fatal("the store never filled")
		}
	}
	entries, used, limit := s.Usage()
	if used > limit || limit != max || entries != int64(len(stored)) {
		t.Fatalf("Usage = %d entries, %d of %d bytes; stored %d", entries, used, limit, len(stored))
	}
	// Every new-key operation is refused; nothing stored was evicted.
	if err := s.Put(ctx, "new", val, time.Minute); !errors.Is(err, store.ErrFull) {
		t.Fatalf("Put of a new key when full: %v", err)
	}
	if _, err := s.Incr(ctx, "newctr", time.Minute); !errors.Is(err, store.ErrFull) {
		t.Fatalf("Incr of a new key when full: %v", err)
	}
	if _, _, err := s.Swap(ctx, store.Guard{}, "newswap", nil, val, time.Minute); !errors.Is(err, store.ErrFull) {
		t.Fatalf("Swap of a new key when full: %v", err)
	}
	for _, k := range stored {
		if _, err := s.Get(ctx, k); err != nil {
			t.Fatalf("entry %s gone while full: %v", k, err)
		}
	}
	// Existing keys can be rewritten.
	if err := s.Put(ctx, stored[0], val[:10], time.Minute); err != nil {
		t.Fatalf("rewrite when full: %v", err)
	}
	// Once the rest expire and are swept, there is room again.
	time.Sleep(200 * time.Millisecond) // past every TTL of the fill
	s.sweep()
	if err := s.Put(ctx, "new", val, time.Minute); err != nil {
		t.Fatalf("no room after expiry: %v", err)
	}
	if entries, _, _ := s.Usage(); entries != 2 {
		t.Fatalf("after the sweep %d entries are held, want 2", entries)
	}
}
