package redis

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/numauth/numauth/internal/store"
	"github.com/numauth/numauth/internal/store/storetest"
	"github.com/numauth/numauth/test/harness"
)

// The package's tests share one 3-master cluster (no replicas), started on
// first use and stopped by TestMain; a test that kills nodes starts its own.
var (
	clusterOnce sync.Once
	cluster     *harness.RedisCluster
	clusterErr  error
	clusterDir  string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if cluster != nil {
		cluster.Stop()
	}
	if clusterDir != "" {
		os.RemoveAll(clusterDir)
	}
	os.Exit(code)
}

func sharedCluster(t testing.TB) *harness.RedisCluster {
	t.Helper()
	if why := harness.RedisClusterTools(); why != "" {
		t.Skipf("Redis Cluster tests need %s", why)
	}
	clusterOnce.Do(func() {
		clusterDir, clusterErr = os.MkdirTemp("", "numauth-redis-cluster-")
		if clusterErr == nil {
			cluster, clusterErr = harness.StartRedisClusterIn(clusterDir, 3, 0)
		}
	})
	if clusterErr != nil {
		t.Fatalf("redis cluster: %v", clusterErr)
	}
	return cluster
}

func openCluster(t testing.TB, c *harness.RedisCluster, opts ...Option) *ClusterStore {
	t.Helper()
	s, err := OpenCluster(context.Background(), c.Addrs(), uniquePrefix(), opts...)
	if err != nil {
		t.Fatalf("OpenCluster: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestClusterConformance(t *testing.T) {
	c := sharedCluster(t)
	storetest.RunEphemeral(t, func(t *testing.T) store.Ephemeral { return openCluster(t, c) })
}

// TestClusterBuckets: the 256 bucket tags are 256 distinct slots, and the
// cluster spreads them over every master.
func TestClusterBuckets(t *testing.T) {
	c := sharedCluster(t)
	ctx := context.Background()
	cc := goredis.NewClusterClient(&goredis.ClusterOptions{Addrs: c.Addrs(), DisableIdentity: true})
	defer cc.Close()
	slots := map[int64]bool{}
	masters := map[string]int{}
	for b := 0; b < Buckets; b++ {
		key := "numauth:" + bucketTags[b] + "x"
		slot, err := cc.ClusterKeySlot(ctx, key).Result()
		if err != nil {
			t.Fatal(err)
		}
		slots[slot] = true
		m, err := cc.MasterForKey(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		masters[m.Options().Addr]++
	}
	if len(slots) != Buckets {
		t.Fatalf("%d bucket tags fall in %d slots, want %d distinct", Buckets, len(slots), Buckets)
	}
	if len(masters) != 3 {
		t.Fatalf("buckets on %d masters, want all 3: %v", len(masters), masters)
	}
	t.Logf("buckets per master: %v", masters)
}

func TestClusterRefusesBracedPrefix(t *testing.T) {
	for _, p := range []string{"a{b}:", "x{", "}y"} {
		if _, err := OpenCluster(context.Background(), []string{"127.0.0.1:1"}, p); err == nil || !strings.Contains(err.Error(), "brace") {
			t.Errorf("OpenCluster(prefix %q) = %v, want a brace error", p, err)
		}
	}
	if _, err := OpenCluster(context.Background(), []string{"localhost"}, "p:"); err == nil {
		t.Error("OpenCluster with a seed without a port: no error")
	}
}

// TestClusterMarkerLoss: one master's share of the marker gone (it lost its
// data) makes the marker unreadable and fails every guarded claim in the
// buckets it held, while claims elsewhere still hold the guard.
func TestClusterMarkerLoss(t *testing.T) {
	c := sharedCluster(t)
	s := openCluster(t, c)
	ctx := context.Background()
	if ok, err := s.WriteMarker(ctx, "epoch", []byte("1"), time.Minute); err != nil || !ok {
		t.Fatalf("WriteMarker = %v, %v", ok, err)
	}
	lost := 7
	if err := s.cluster.Del(ctx, s.kIn(lost, "epoch")).Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ReadMarker(ctx, "epoch"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("ReadMarker with one copy gone: %v, want ErrNotFound", err)
	}
	g := store.Guard{Key: "epoch", Value: []byte("1")}
	var refused, claimed int
	for i := 0; i < 2000 && (refused == 0 || claimed == 0); i++ {
		key := fmt.Sprint("sp:", i)
		_, ok, err := s.Swap(ctx, g, key, nil, []byte{1}, time.Minute)
		switch {
		case bucketOf(key) == lost:
			if !errors.Is(err, store.ErrGuard) {
				t.Fatalf("claim of %q in the bucket that lost its copy: %v, %v; want ErrGuard", key, ok, err)
			}
			refused++
		case err != nil || !ok:
			t.Fatalf("claim of %q: %v, %v", key, ok, err)
		default:
			claimed++
		}
	}
	if refused == 0 {
		t.Fatal("no key of the lost bucket tried")
	}
	// A copy holding another value is as bad as a missing one.
	if err := s.cluster.Set(ctx, s.kIn(lost, "epoch"), "2", time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ReadMarker(ctx, "epoch"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("ReadMarker with one copy different: %v, want ErrNotFound", err)
	}
	if ok, err := s.WriteMarker(ctx, "epoch", []byte("3"), time.Minute); err != nil || !ok {
		t.Fatalf("WriteMarker over a broken marker = %v, %v; want it written", ok, err)
	}
	if v, err := s.ReadMarker(ctx, "epoch"); err != nil || string(v) != "3" {
		t.Fatalf("ReadMarker = %q, %v; want 3", v, err)
	}
}

// TestWaitReplicas: with replicas to wait for, writes count once a replica
// has them; asking for more replicas than there are fails every write with
// ErrUnavailable instead of counting it.
func TestWaitReplicas(t *testing.T) {
	c := harness.StartRedisCluster(t, 3, 1)
	ctx := context.Background()
	s := openCluster(t, c, WaitReplicas(1, time.Second))
	storetest.RunEphemeral(t, func(t *testing.T) store.Ephemeral { return openCluster(t, c, WaitReplicas(1, time.Second)) })
	if ok, err := s.PutIfAbsent(ctx, "n", []byte("v"), time.Minute); err != nil || !ok {
		t.Fatalf("PutIfAbsent with one replica to wait for = %v, %v", ok, err)
	}
	two := openCluster(t, c, WaitReplicas(2, 50*time.Millisecond))
	if _, err := two.PutIfAbsent(ctx, "m", []byte("v"), time.Minute); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("PutIfAbsent waiting for 2 replicas of 1: %v, want ErrUnavailable", err)
	}
	if _, err := two.Incr(ctx, "c", time.Minute); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("Incr waiting for 2 replicas of 1: %v, want ErrUnavailable", err)
	}
}

// TestClusterFailover: a master killed under load. Calls to its slots fail
// with ErrUnavailable (they do not hang) until its replica is promoted, then
// succeed again by themselves; every claim acknowledged before, during or
// after the failover is still there on the new master, so none can be
// claimed twice.
func TestClusterFailover(t *testing.T) {
	c := harness.StartRedisCluster(t, 3, 1)
	s := openCluster(t, c, WaitReplicas(1, time.Second))
	ctx := context.Background()

	var (
		mu       sync.Mutex
		acked    []string
		failures atomic.Int64
		slowest  atomic.Int64
		seq      atomic.Int64
		stop     = make(chan struct{})
		wg       sync.WaitGroup
	)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				key := fmt.Sprint("sp:", seq.Add(1))
				cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
				start := time.Now()
				_, ok, err := s.Swap(cctx, store.Guard{}, key, nil, []byte("done"), 5*time.Minute)
				cancel()
				if d := time.Since(start).Milliseconds(); d > slowest.Load() {
					slowest.Store(d)
				}
				switch {
				case err == nil && ok:
					mu.Lock()
					acked = append(acked, key)
					mu.Unlock()
				case err == nil:
					t.Errorf("claim of the fresh key %q found it held", key)
				case errors.Is(err, store.ErrUnavailable):
					failures.Add(1)
					time.Sleep(20 * time.Millisecond)
				default:
					t.Errorf("claim of %q: %v (want success or ErrUnavailable)", key, err)
				}
			}
		}()
	}
	time.Sleep(500 * time.Millisecond)
	victim, err := c.MasterOf(ctx, s.k("sp:1"))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Kill(victim); err != nil {
		t.Fatal(err)
	}
	// The replica takes over the slots; writes to them still fail, since
	// the new master has no replica to acknowledge them, until the old
	// master is back, as the new one's replica.
	hctx, hcancel := context.WithTimeout(ctx, 30*time.Second)
	err = c.WaitFailover(hctx, victim)
	if err == nil {
		err = c.WaitHealthy(hctx, 3, -1)
	}
	hcancel()
	if err == nil {
		err = c.Restart(victim)
	}
	if err == nil {
		hctx, hcancel = context.WithTimeout(ctx, 30*time.Second)
		err = c.WaitHealthy(hctx, 3, 1)
		hcancel()
	}
	if err != nil {
		close(stop)
		wg.Wait()
		t.Fatalf("no failover: %v\n%s", err, c.Logs())
	}
	// Keep going until calls to every slot succeed again.
	deadline := time.Now().Add(20 * time.Second)
	for {
		f := failures.Load()
		time.Sleep(time.Second)
		if failures.Load() == f {
			break
		}
		if time.Now().After(deadline) {
			close(stop)
			wg.Wait()
			t.Fatalf("calls still failing 20 s after the failover (%d failures)", failures.Load())
		}
	}
	close(stop)
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	t.Logf("killed master %s: %d claims acknowledged, %d refused with ErrUnavailable during the failover, slowest call %d ms",
		victim, len(acked), failures.Load(), slowest.Load())
	if failures.Load() == 0 {
		t.Fatal("no call failed while a master was down: the kill did not hit the load")
	}
	for _, key := range acked {
		_, ok, err := s.Swap(ctx, store.Guard{}, key, nil, []byte("again"), time.Minute)
		if err != nil {
			t.Fatalf("second claim of %q: %v", key, err)
		}
		if ok {
			t.Fatalf("acknowledged claim of %q lost in the failover: claimed a second time", key)
		}
	}
}

// TestMayHaveRun: which errors the cluster client may send a command again
// after.
func TestMayHaveRun(t *testing.T) {
	dial := &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}
	read := &net.OpError{Op: "read", Net: "tcp", Err: errors.New("connection reset by peer")}
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{nil, false},
		{goredis.Nil, false},
		{dial, false},
		{fmt.Errorf("wrapped: %w", dial), false},
		{goredis.ErrPoolTimeout, false},
		{goredis.ErrClosed, false},
		{context.Canceled, false},
		{context.DeadlineExceeded, false},
		{io.EOF, true},
		{io.ErrUnexpectedEOF, true},
		{read, true},
		{&lostReply{"x"}, false},
	} {
		if got := mayHaveRun(tc.err); got != tc.want {
			t.Errorf("mayHaveRun(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}
