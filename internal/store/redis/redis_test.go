package redis

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/numauth/numauth/internal/store"
	"github.com/numauth/numauth/internal/store/storetest"
	"github.com/numauth/numauth/test/harness"
)

const defaultURL = "redis://127.0.0.1:6379/15"

func testURL() string {
	if v := os.Getenv("NUMAUTH_TEST_REDIS"); v != "" {
		return v
	}
	return defaultURL
}

var (
	reachOnce sync.Once
	reachErr  error
)

func skipUnlessReachable(t testing.TB) {
	t.Helper()
	reachOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s, err := Open(ctx, testURL(), "numauth-test:probe:")
		if err == nil {
			s.Close()
		}
		reachErr = err
	})
	if reachErr != nil {
		t.Skipf("Redis not reachable at NUMAUTH_TEST_REDIS=%q (%v); start it, e.g. "+
			"`redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save \"\" --appendonly no`, "+
			"or point NUMAUTH_TEST_REDIS at a server", testURL(), reachErr)
	}
}

func uniquePrefix() string {
	b := make([]byte, 6)
	rand.Read(b)
	return "numauth-test:" + hex.EncodeToString(b) + ":"
}

// open returns a store under a fresh prefix whose keys are deleted when the
// test ends.
func open(t testing.TB) *Store {
	t.Helper()
	skipUnlessReachable(t)
	prefix := uniquePrefix()
	s, err := Open(context.Background(), testURL(), prefix)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { deletePrefix(t, prefix) })
	return s
}

func deletePrefix(t testing.TB, prefix string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := harness.DeleteRedisPrefix(ctx, testURL(), prefix); err != nil {
		t.Error(err)
	}
}

func TestConformance(t *testing.T) {
	storetest.RunEphemeral(t, func(t *testing.T) store.Ephemeral { return open(t) })
}

func TestPrefixIsolates(t *testing.T) {
	a, b := open(t), open(t)
	defer a.Close()
	defer b.Close()
	ctx := context.Background()
	if err := a.Put(ctx, "k", []byte("a"), time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Get(ctx, "k"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("other prefix sees the key: %v", err)
	}
	if ok, err := b.PutIfAbsent(ctx, "k", []byte("b"), time.Minute); err != nil || !ok {
		t.Fatalf("PutIfAbsent under another prefix = %v, %v", ok, err)
	}
}

func TestTTLIsMilliseconds(t *testing.T) {
	s := open(t)
	defer s.Close()
	ctx := context.Background()
	if err := s.Put(ctx, "k", []byte("v"), 90*time.Second+1500*time.Microsecond); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Incr(ctx, "c", 2500*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]time.Duration{"k": 90*time.Second + 2*time.Millisecond, "c": 2500 * time.Millisecond} {
		pttl, err := s.c.PTTL(ctx, s.prefix+key).Result()
		if err != nil {
			t.Fatal(err)
		}
		if pttl > want || pttl < want-time.Second {
			t.Errorf("PTTL(%s) = %v, want just under %v", key, pttl, want)
		}
	}
}

func TestUnreachable(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := Open(ctx, "redis://127.0.0.1:1/0?dial_timeout=2s", "x:")
	if !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("Open of a closed port: %v, want ErrUnavailable", err)
	}
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startRedis runs a private redis-server on port and waits until it
// answers; the test's cleanup stops it.
func startRedis(t *testing.T, port int) *exec.Cmd {
	t.Helper()
	cmd := exec.Command("redis-server", "--bind", "127.0.0.1", "--port", strconv.Itoa(port),
		"--save", "", "--appendonly", "no", "--dir", t.TempDir(), "--loglevel", "warning")
	if err := cmd.Start(); err != nil {
		t.Fatalf("start redis-server: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	c := goredis.NewClient(&goredis.Options{Addr: fmt.Sprint("127.0.0.1:", port), MaxRetries: -1})
	defer c.Close()
	deadline := time.Now().Add(10 * time.Second)
	for c.Ping(context.Background()).Err() != nil {
		if time.Now().After(deadline) {
			t.Fatal("private redis-server did not come up")
		}
		time.Sleep(20 * time.Millisecond)
	}
	return cmd
}

// TestRecoversWhenRedisReturns stops a private Redis under a live store,
// checks that every call fails with ErrUnavailable, starts Redis again on
// the same port and checks that the same store works again by itself.
func TestRecoversWhenRedisReturns(t *testing.T) {
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Skip("redis-server not in PATH; it is needed to stop and restart a private Redis")
	}
	port := freePort(t)
	srv := startRedis(t, port)
	ctx := context.Background()
	s, err := Open(ctx, fmt.Sprintf("redis://127.0.0.1:%d/0?dial_timeout=1s&read_timeout=1s", port), "p:")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// Several pooled connections, so stale ones exist after the restart.
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); _, _ = s.Incr(ctx, "warm", time.Minute) }()
	}
	wg.Wait()

	_ = srv.Process.Kill()
	_ = srv.Wait()
	for name, f := range map[string]func() error{
		"Ping":        func() error { return s.Ping(ctx) },
		"PutIfAbsent": func() error { _, err := s.PutIfAbsent(ctx, "n", []byte("v"), time.Minute); return err },
		"Take":        func() error { _, err := s.Take(ctx, "n"); return err },
		"Incr":        func() error { _, err := s.Incr(ctx, "c", time.Minute); return err },
	} {
		if err := f(); !errors.Is(err, store.ErrUnavailable) {
			t.Fatalf("%s while Redis is down: %v, want ErrUnavailable", name, err)
		}
	}

	startRedis(t, port)
	var recovered atomic.Bool
	deadline := time.Now().Add(10 * time.Second)
	for !recovered.Load() {
		ok, err := s.PutIfAbsent(ctx, "after", []byte("v"), time.Minute)
		switch {
		case err == nil && ok:
			recovered.Store(true)
		case err == nil:
			t.Fatal("PutIfAbsent after restart reported a replay")
		case !errors.Is(err, store.ErrUnavailable):
			t.Fatalf("PutIfAbsent after restart: %v", err)
		case time.Now().After(deadline):
			t.Fatalf("store did not recover: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// The whole pool works again (the script is loaded again, too).
	for i := 0; i < 16; i++ {
		if n, err := s.Incr(ctx, "c", time.Minute); err != nil || n != int64(i+1) {
			t.Fatalf("Incr after recovery = %d, %v; want %d", n, err, i+1)
		}
	}
}

func keys(prefix string, n int) []string {
	k := make([]string, n)
	for i := range k {
		k[i] = prefix + strconv.Itoa(i)
	}
	return k
}

var value = []byte("1")

func BenchmarkPutIfAbsent(b *testing.B) {
	s := open(b)
	defer s.Close()
	ctx := context.Background()
	ks := keys("nonce:", b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if ok, err := s.PutIfAbsent(ctx, ks[i], value, time.Minute); err != nil || !ok {
			b.Fatal(ok, err)
		}
	}
}

func BenchmarkPutIfAbsentParallel(b *testing.B) {
	s := open(b)
	defer s.Close()
	ctx := context.Background()
	ks := keys("nonce:", b.N)
	var next atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	b.SetParallelism(8) // network-bound: 16 goroutines on 2 cores
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if ok, err := s.PutIfAbsent(ctx, ks[next.Add(1)-1], value, time.Minute); err != nil || !ok {
				b.Error(ok, err)
			}
		}
	})
}

func BenchmarkTake(b *testing.B) {
	s := open(b)
	defer s.Close()
	ctx := context.Background()
	ks := keys("tok:", b.N)
	pipe := s.c.Pipeline()
	for _, k := range ks {
		pipe.Set(ctx, s.prefix+k, value, time.Minute)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := s.Take(ctx, ks[i]); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkIncr(b *testing.B) {
	s := open(b)
	defer s.Close()
	ctx := context.Background()
	ks := keys("rl:", 1024)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := s.Incr(ctx, ks[i&1023], time.Minute); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkIncrParallel(b *testing.B) {
	s := open(b)
	defer s.Close()
	ctx := context.Background()
	ks := keys("rl:", 1024)
	var next atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	b.SetParallelism(8)
	b.RunParallel(func(pb *testing.PB) {
		i := next.Add(1) * 7919
		for pb.Next() {
			i++
			if _, err := s.Incr(ctx, ks[i&1023], time.Minute); err != nil {
				b.Error(err)
			}
		}
	})
}
