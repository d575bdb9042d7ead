package redis

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"net"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/numauth/numauth/internal/store"
)

// Buckets is the number of hash-tag buckets a cluster store spreads its
// keys over. Every key K is stored as PREFIX{bb}K, where bb is two hex
// digits chosen from K (FNV-1a of K, mod Buckets): so a key's slot depends
// on its name alone, the 256 tags fall in 256 distinct slots (spread over
// the masters as the cluster assigns slots), and a guard marker can have a
// copy in every bucket, next to every key it guards.
const Buckets = 256

var bucketTags = func() (t [Buckets]string) {
	for b := range t {
		t[b] = fmt.Sprintf("{%02x}", b)
	}
	return t
}()

func bucketOf(key string) int {
	h := fnv.New32a()
	h.Write([]byte(key))
	return int(h.Sum32() % Buckets)
}

// k is the stored name of key: the prefix, then on a cluster the key's
// bucket tag.
func (s *Store) k(key string) string {
	if s.cluster == nil {
		return s.prefix + key
	}
	return s.prefix + bucketTags[bucketOf(key)] + key
}

// kLike is the stored name of other in key's bucket (on a cluster), so one
// script can name both.
func (s *Store) kLike(key, other string) string {
	if s.cluster == nil {
		return s.prefix + other
	}
	return s.prefix + bucketTags[bucketOf(key)] + other
}

func (s *Store) kIn(bucket int, key string) string { return s.prefix + bucketTags[bucket] + key }

// Option configures Open and OpenCluster.
type Option func(*openOptions)

type openOptions struct {
	waitReplicas int
	waitTimeout  time.Duration
}

func options(opts []Option) openOptions {
	var o openOptions
	for _, f := range opts {
		f(&o)
	}
	return o
}

// readTimeout bounds the wait for any reply: a WAIT's included.
func (o openOptions) readTimeout() time.Duration {
	return 500*time.Millisecond + o.waitTimeout
}

// WaitReplicas makes every write count only once n replicas of the master
// that took it have acknowledged it (WAIT n timeout, pipelined on the
// connection that wrote): a master that dies right after answering cannot
// take a spent token or a seen nonce with it when its replica is promoted.
// A write that fewer replicas acknowledged in time fails with
// store.ErrUnavailable (it may stay on the master; every caller of the store
// treats such a failure as "refuse"). n = 0 (the default) does not wait.
func WaitReplicas(n int, timeout time.Duration) Option {
	return func(o *openOptions) {
		o.waitReplicas = n
		o.waitTimeout = timeout
	}
}

// write runs one write command for the stored key k. Without WaitReplicas it
// goes through do (the client routes it and follows MOVED/ASK); with it,
// the command and a WAIT are pipelined on one connection to k's master.
func (s *Store) write(ctx context.Context, k string, cmd goredis.Cmder) error {
	if s.waitReplicas == 0 {
		return s.do(ctx, cmd)
	}
	return s.writeWait(ctx, k, func() goredis.Cmder { return cmd })
}

// writeScript runs sc on keys as a write for the stored key k: through
// runScript without WaitReplicas, else as EVAL in writeWait's pipeline
// (whose NOSCRIPT answer would come too late to fall back).
func (s *Store) writeScript(ctx context.Context, k string, sc script, keys []string, args ...any) (*goredis.Cmd, error) {
	if s.waitReplicas == 0 {
		return s.runScript(ctx, sc, keys, args...)
	}
	var cmd *goredis.Cmd
	err := s.writeWait(ctx, k, func() goredis.Cmder {
		cmd = sc.cmd(ctx, true, keys, args...)
		return cmd
	})
	return cmd, err
}

// writeWait pipelines the command mk makes and a WAIT on one connection to
// k's master. A command that was redirected is made again (it did not run).
func (s *Store) writeWait(ctx context.Context, k string, mk func() goredis.Cmder) error {
	for attempt := 0; ; attempt++ {
		m := s.single
		if s.cluster != nil {
			var err error
			if m, err = s.cluster.MasterForKey(ctx, k); err != nil {
				return err
			}
		}
		var cmd goredis.Cmder
		var wait *goredis.Cmd
		_, _ = m.Pipelined(ctx, func(p goredis.Pipeliner) error {
			cmd = mk()
			_ = p.Process(ctx, cmd)
			wait = p.Do(ctx, "WAIT", s.waitReplicas, s.waitTimeout.Milliseconds())
			return nil
		})
		err := cmd.Err()
		if err != nil && !errors.Is(err, goredis.Nil) {
			// MOVED / ASK: the command did not run; learn the new map and go again.
			if redirected(err) && s.cluster != nil && attempt < 2 {
				s.cluster.ReloadState(ctx)
				continue
			}
			return err
		}
		if werr := wait.Err(); werr != nil {
			return fmt.Errorf("%w: WAIT after the write: %w", store.ErrUnavailable, werr)
		}
		if n, _ := wait.Int64(); n < int64(s.waitReplicas) {
			return fmt.Errorf("%w: the write reached %d of %d replicas within %v", store.ErrUnavailable, n, s.waitReplicas, s.waitTimeout)
		}
		return err
	}
}

func redirected(err error) bool {
	msg := err.Error()
	return strings.HasPrefix(msg, "MOVED ") || strings.HasPrefix(msg, "ASK ")
}

// ClusterStore is a store.Ephemeral on a Redis Cluster. Every method is one
// command or script on the master of the key's slot; a guarded Swap finds
// its marker's copy in the key's bucket. It is also a store.Partitioned:
// each master can lose its data on its own, so the guard marker (the
// epoch) is kept in every bucket and read as a whole.
type ClusterStore struct{ *Store }

var _ store.Partitioned = (*ClusterStore)(nil)

// OpenCluster connects to the Redis Cluster that the seed addresses
// (host:port) belong to and checks that it answers. prefix must not hold a
// '{' (the bucket tag that follows it must be the key's first hash tag).
// Commands follow MOVED and ASK redirects and go again after an error that
// proves they did not run (a refused dial, CLUSTERDOWN, TRYAGAIN); after
// any other error they are not sent again, as on a single server.
func OpenCluster(ctx context.Context, addrs []string, prefix string, opts ...Option) (*ClusterStore, error) {
	if len(addrs) == 0 {
		return nil, errors.New("redis cluster: no seed address")
	}
	if strings.ContainsAny(prefix, "{}") {
		return nil, fmt.Errorf("redis cluster: the prefix %q holds a brace, which would change the keys' hash slots", prefix)
	}
	for _, a := range addrs {
		if _, _, err := net.SplitHostPort(a); err != nil {
			return nil, fmt.Errorf("redis cluster: seed %q is not host:port", a)
		}
	}
	o := options(opts)
	cc := goredis.NewClusterClient(&goredis.ClusterOptions{
		Addrs:                 addrs,
		MaxRetries:            -1, // a node's own client never sends a command twice
		DialTimeout:           time.Second,
		DialerRetries:         1,
		ReadTimeout:           o.readTimeout(),
		WriteTimeout:          500 * time.Millisecond,
		ContextTimeoutEnabled: true,
		DisableIdentity:       true,
		// A failover moves slots to a promoted replica; commands to them fail
		// until the client learns the new map, at the latest after this.
		ClusterStateReloadInterval: time.Second,
		NewClient: func(o *goredis.Options) *goredis.Client {
			c := goredis.NewClient(o)
			c.AddHook(noReplay{})
			return c
		},
	})
	s := &ClusterStore{&Store{c: cc, cluster: cc, prefix: prefix, waitReplicas: o.waitReplicas, waitTimeout: o.waitTimeout}}
	if err := s.Ping(ctx); err != nil {
		cc.Close()
		return nil, fmt.Errorf("redis cluster: %w", err)
	}
	return s, nil
}

// ReadMarker implements store.Partitioned: the marker's value when every
// bucket holds the same one, else store.ErrNotFound (a master lost its data,
// or nobody wrote it yet).
func (s *ClusterStore) ReadMarker(ctx context.Context, key string) ([]byte, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	pipe := s.c.Pipeline()
	cmds := make([]*goredis.StringCmd, Buckets)
	for b := range cmds {
		cmds[b] = pipe.Get(ctx, s.kIn(b, key))
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, goredis.Nil) {
		return nil, mapErr(err)
	}
	var v []byte
	for b, c := range cmds {
		x, err := c.Bytes()
		if err != nil {
			return nil, mapErr(err) // goredis.Nil: store.ErrNotFound
		}
		if b == 0 {
			v = x
		} else if !bytes.Equal(x, v) {
			return nil, store.ErrNotFound
		}
	}
	return v, nil
}

// markerLockTTL bounds how long a writer that died half-way keeps others
// from writing the marker.
const markerLockTTL = 5 * time.Second

// WriteMarker implements store.Partitioned: it writes value to every bucket
// unless another caller is writing the marker or a whole marker is there
// already, reporting whether it wrote.
func (s *ClusterStore) WriteMarker(ctx context.Context, key string, value []byte, ttl time.Duration) (bool, error) {
	if err := s.check(); err != nil {
		return false, err
	}
	px, err := pxTTL(ttl)
	if err != nil {
		return false, err
	}
	lock := s.kIn(0, key+":writing")
	ok, err := s.c.SetNX(ctx, lock, "1", markerLockTTL).Result()
	if err != nil {
		return false, mapErr(err)
	}
	if !ok {
		return false, nil
	}
	defer s.c.Del(context.WithoutCancel(ctx), lock)
	// Another writer may have finished between our read and the lock.
	if _, err := s.ReadMarker(ctx, key); err == nil {
		return false, nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return false, err
	}
	pipe := s.c.Pipeline()
	for b := 0; b < Buckets; b++ {
		pipe.Set(ctx, s.kIn(b, key), value, px)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return false, mapErr(err)
	}
	return true, nil
}

// noReplay keeps the cluster client from sending a command again after an
// error that does not prove it did not run (a lost reply, a read timeout):
// go-redis retries those on a cluster whatever MaxRetries says, and a second
// SET NX would report a false replay, a second INCR count twice. The error
// is replaced by one the client does not retry; errors that prove the
// command did not run (a refused dial, a redirect, CLUSTERDOWN) are kept,
// and retried.
type noReplay struct{}

func (noReplay) DialHook(next goredis.DialHook) goredis.DialHook { return next }

func (noReplay) ProcessHook(next goredis.ProcessHook) goredis.ProcessHook {
	return func(ctx context.Context, cmd goredis.Cmder) error {
		err := next(ctx, cmd)
		if mayHaveRun(err) {
			err = &lostReply{err.Error()}
			cmd.SetErr(err)
		}
		return err
	}
}

func (noReplay) ProcessPipelineHook(next goredis.ProcessPipelineHook) goredis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []goredis.Cmder) error {
		err := next(ctx, cmds)
		for _, c := range cmds {
			if mayHaveRun(c.Err()) {
				c.SetErr(&lostReply{c.Err().Error()})
			}
		}
		if mayHaveRun(err) {
			err = &lostReply{err.Error()}
		}
		return err
	}
}

// lostReply is a network error after a command may have been sent. It wraps
// nothing, so no retry rule of the client matches it; mapErr makes it
// store.ErrUnavailable.
type lostReply struct{ msg string }

func (e *lostReply) Error() string {
	return "redis: " + e.msg + " (the command may have run; not sent again)"
}

func mayHaveRun(err error) bool {
	if err == nil || errors.Is(err, goredis.Nil) {
		return false
	}
	var re goredis.Error
	if errors.As(err, &re) {
		return false // the server answered
	}
	var lr *lostReply
	if errors.As(err, &lr) {
		return false
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return false
	}
	for _, e := range []error{goredis.ErrPoolTimeout, goredis.ErrClosed, context.Canceled, context.DeadlineExceeded} {
		if errors.Is(err, e) {
			return false
		}
	}
	return true
}

// DeleteMarker implements store.Partitioned.
func (s *ClusterStore) DeleteMarker(ctx context.Context, key string) error {
	if err := s.check(); err != nil {
		return err
	}
	pipe := s.c.Pipeline()
	for b := 0; b < Buckets; b++ {
		pipe.Del(ctx, s.kIn(b, key))
	}
	_, err := pipe.Exec(ctx)
	return mapErr(err)
}
