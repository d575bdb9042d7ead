// Package redis is the scale-out store.Ephemeral, on Redis through
// go-redis/v9. Every method is one Redis command (or one Lua script, which
// Redis runs atomically), so single use holds across numauth instances:
//
//   - PutIfAbsent: SET key value PX ttl NX
//   - Put: SET key value PX ttl
//   - Get: GET; Take: GETDEL (Redis >= 6.2); Delete: DEL
//   - Incr: a script doing INCR, then PEXPIRE when the counter is new
//   - Decr: a script doing DECR unless the counter is absent or zero
//   - Swap: a script comparing the guard marker and the key, then SET PX
//
// A guarded Swap names two keys in one script; on a Redis Cluster
// (OpenCluster, cluster.go) both hash to one slot by design: every key lives
// in one of 256 hash-tag buckets and the guard's marker has a copy in each.
//
// Commands are never retried by the client: after a lost reply a retried
// SET NX would report a false replay and a retried INCR would count twice.
// A network failure is ErrUnavailable (wrapped) and the caller decides; the
// client's pool reconnects by itself when Redis is back.
package redis

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/numauth/numauth/internal/store"
)

var (
	errClosed = fmt.Errorf("%w: redis store is closed", store.ErrUnavailable)
	errTTL    = errors.New("redis: ttl must be > 0")
)

// incrScript starts a fixed window: the TTL is set only by the INCR that
// created the counter (or if the key somehow has none), never extended.
var incrScript = goredis.NewScript(`
local n = redis.call('INCR', KEYS[1])
if n == 1 or redis.call('PTTL', KEYS[1]) < 0 then
	redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
return n`)

// decrScript gives a unit back without creating a counter or going below
// zero; DECR keeps the key's TTL.
var decrScript = goredis.NewScript(`
local v = redis.call('GET', KEYS[1])
if not v then return 0 end
if tonumber(v) == nil then return redis.error_reply('ERR value is not an integer') end
if tonumber(v) <= 0 then return 0 end
return redis.call('DECR', KEYS[1])`)

// swapScript: KEYS[1] the key, KEYS[2] the guard marker (ignored unless
// ARGV[1] is "1"); ARGV[2] the guard value, ARGV[3] "1" if an old value is
// required (else the key must be absent), ARGV[4] that value, ARGV[5] the
// new value, ARGV[6] the TTL in ms. Returns {-1} when the guard fails, else
// {swapped (0|1), previous value?}.
var swapScript = goredis.NewScript(`
if ARGV[1] == '1' and redis.call('GET', KEYS[2]) ~= ARGV[2] then return {-1} end
local cur = redis.call('GET', KEYS[1])
local ok
if ARGV[3] == '1' then ok = (cur == ARGV[4]) else ok = (cur == false) end
if ok then redis.call('SET', KEYS[1], ARGV[5], 'PX', ARGV[6]) end
local r = 0
if ok then r = 1 end
if cur then return {r, cur} end
return {r}`)

// Store is a store.Ephemeral on Redis.
type Store struct {
	c       goredis.UniversalClient
	cluster *goredis.ClusterClient // nil on a single server
	single  *goredis.Client        // nil on a cluster
	prefix  string
	// waitReplicas > 0: every write is acknowledged by that many replicas
	// (WAIT on the connection that wrote) before it counts; see write.
	waitReplicas int
	waitTimeout  time.Duration
	closed       atomic.Bool
	once         sync.Once
}

var _ store.Ephemeral = (*Store)(nil)

// Open connects to url (redis://[user:pass@]host:port/db, rediss:// for
// TLS; go-redis options such as pool_size are accepted as query
// parameters) and checks that the server answers. Every key is stored
// under prefix, so several deployments or tests can share one database.
func Open(ctx context.Context, url, prefix string, opts ...Option) (*Store, error) {
	opt, err := goredis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("redis: %w", err)
	}
	if opt.MaxRetries == 0 {
		opt.MaxRetries = -1 // see the package doc
	}
	// Fail fast when Redis is unreachable or hangs: every call of numauth's
	// is one small command, so these bounds are generous for a live Redis
	// and keep a dead one from holding requests for go-redis's 5 s defaults.
	// A URL may set its own (dial_timeout, read_timeout, write_timeout).
	if opt.DialTimeout == 0 {
		opt.DialTimeout = time.Second
	}
	if opt.DialerRetries == 0 {
		opt.DialerRetries = 1 // default 5: up to 5 dial timeouts per call when Redis is unreachable
	}
	o := options(opts)
	if opt.ReadTimeout == 0 {
		opt.ReadTimeout = o.readTimeout()
	}
	if opt.WriteTimeout == 0 {
		opt.WriteTimeout = 500 * time.Millisecond
	}
	opt.ContextTimeoutEnabled = true
	opt.DisableIdentity = true // CLIENT SETINFO needs Redis 7.2
	c := goredis.NewClient(opt)
	s := &Store{c: c, single: c, prefix: prefix, waitReplicas: o.waitReplicas, waitTimeout: o.waitTimeout}
	if err := s.Ping(ctx); err != nil {
		s.c.Close()
		return nil, fmt.Errorf("redis: %w", err)
	}
	return s, nil
}

// mapErr turns go-redis errors into the store's sentinel errors, keeping
// the original in the chain. A reply error from the server is passed on,
// except those meaning the server cannot serve right now; any other error
// (dial, I/O, timeout, closed client, context) is ErrUnavailable.
func mapErr(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, goredis.Nil) {
		return store.ErrNotFound
	}
	var re goredis.Error
	if errors.As(err, &re) {
		msg := err.Error()
		for _, p := range []string{"MOVED", "ASK", "LOADING", "BUSY", "MASTERDOWN", "CLUSTERDOWN", "TRYAGAIN", "READONLY", "NOREPLICAS", "OOM"} {
			if strings.HasPrefix(msg, p+" ") {
				return fmt.Errorf("%w: %w", store.ErrUnavailable, err)
			}
		}
		return err
	}
	return fmt.Errorf("%w: %w", store.ErrUnavailable, err)
}

// pxTTL rounds ttl up to Redis's millisecond resolution.
func pxTTL(ttl time.Duration) (time.Duration, error) {
	if ttl <= 0 {
		return 0, errTTL
	}
	return (ttl + time.Millisecond - 1).Truncate(time.Millisecond), nil
}

func (s *Store) check() error {
	if s.closed.Load() {
		return errClosed
	}
	return nil
}

// PutIfAbsent implements store.Ephemeral.
func (s *Store) PutIfAbsent(ctx context.Context, key string, value []byte, ttl time.Duration) (bool, error) {
	if err := s.check(); err != nil {
		return false, err
	}
	px, err := pxTTL(ttl)
	if err != nil {
		return false, err
	}
	k := s.k(key)
	var cmd *goredis.BoolCmd
	err = s.write(ctx, k, func(c goredis.Cmdable) goredis.Cmder {
		cmd = c.SetNX(ctx, k, value, px)
		return cmd
	})
	if err != nil {
		return false, mapErr(err)
	}
	return cmd.Val(), nil
}

// Put implements store.Ephemeral.
func (s *Store) Put(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	if err := s.check(); err != nil {
		return err
	}
	px, err := pxTTL(ttl)
	if err != nil {
		return err
	}
	k := s.k(key)
	return mapErr(s.write(ctx, k, func(c goredis.Cmdable) goredis.Cmder { return c.Set(ctx, k, value, px) }))
}

// Get implements store.Ephemeral.
func (s *Store) Get(ctx context.Context, key string) ([]byte, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	b, err := s.c.Get(ctx, s.k(key)).Bytes()
	if err != nil {
		return nil, mapErr(err)
	}
	return b, nil
}

// Take implements store.Ephemeral with GETDEL.
func (s *Store) Take(ctx context.Context, key string) ([]byte, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	k := s.k(key)
	var cmd *goredis.StringCmd
	err := s.write(ctx, k, func(c goredis.Cmdable) goredis.Cmder {
		cmd = c.GetDel(ctx, k)
		return cmd
	})
	if err != nil {
		return nil, mapErr(err)
	}
	return cmd.Bytes()
}

// Delete implements store.Ephemeral.
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := s.check(); err != nil {
		return err
	}
	k := s.k(key)
	return mapErr(s.write(ctx, k, func(c goredis.Cmdable) goredis.Cmder { return c.Del(ctx, k) }))
}

// Incr implements store.Ephemeral.
func (s *Store) Incr(ctx context.Context, key string, ttl time.Duration) (int64, error) {
	if err := s.check(); err != nil {
		return 0, err
	}
	px, err := pxTTL(ttl)
	if err != nil {
		return 0, err
	}
	k := s.k(key)
	var cmd *goredis.Cmd
	err = s.write(ctx, k, func(c goredis.Cmdable) goredis.Cmder {
		cmd = runScript(ctx, c, incrScript, []string{k}, px.Milliseconds())
		return cmd
	})
	if err != nil {
		return 0, mapErr(err)
	}
	return cmd.Int64()
}

// Decr implements store.Ephemeral.
func (s *Store) Decr(ctx context.Context, key string) (int64, error) {
	if err := s.check(); err != nil {
		return 0, err
	}
	k := s.k(key)
	var cmd *goredis.Cmd
	err := s.write(ctx, k, func(c goredis.Cmdable) goredis.Cmder {
		cmd = runScript(ctx, c, decrScript, []string{k})
		return cmd
	})
	if err != nil {
		return 0, mapErr(err)
	}
	return cmd.Int64()
}

// Swap implements store.Ephemeral in one script. The guard's marker is the
// copy in the key's own bucket on a cluster, so both keys are in one slot.
func (s *Store) Swap(ctx context.Context, g store.Guard, key string, old, value []byte, ttl time.Duration) ([]byte, bool, error) {
	if err := s.check(); err != nil {
		return nil, false, err
	}
	px, err := pxTTL(ttl)
	if err != nil {
		return nil, false, err
	}
	k := s.k(key)
	keys := []string{k, k}
	guarded, hasOld := "0", "0"
	if !g.IsZero() {
		keys[1], guarded = s.kLike(key, g.Key), "1"
	}
	if old != nil {
		hasOld = "1"
	}
	var cmd *goredis.Cmd
	err = s.write(ctx, k, func(c goredis.Cmdable) goredis.Cmder {
		cmd = runScript(ctx, c, swapScript, keys, guarded, g.Value, hasOld, old, value, px.Milliseconds())
		return cmd
	})
	if err != nil {
		return nil, false, mapErr(err)
	}
	res, err := cmd.Slice()
	if err != nil {
		return nil, false, mapErr(err)
	}
	if len(res) == 0 {
		return nil, false, fmt.Errorf("redis: swap script answered nothing")
	}
	code, _ := res[0].(int64)
	if code == -1 {
		return nil, false, store.ErrGuard
	}
	var prev []byte
	if len(res) > 1 {
		str, ok := res[1].(string)
		if !ok {
			return nil, false, fmt.Errorf("redis: swap script answered %T", res[1])
		}
		prev = []byte(str)
	}
	return prev, code == 1, nil
}

// Ping implements store.Ephemeral.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.check(); err != nil {
		return err
	}
	return mapErr(s.c.Ping(ctx).Err())
}

// Close closes the client; later calls fail with store.ErrUnavailable.
// Close is idempotent.
func (s *Store) Close() error {
	var err error
	s.once.Do(func() {
		s.closed.Store(true)
		err = s.c.Close()
	})
	return err
}
