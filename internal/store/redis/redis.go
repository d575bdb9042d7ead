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
//
// On a single server under load the commands of concurrent callers go out
// together: beyond a few under way they are queued on go-redis's
// autopipeliner, which writes whatever is queued as one pipeline on one
// connection and reads the replies back in order (do). Each command is still its own command, answered on its own;
// batching saves the system calls and wakeups of one write and one read per
// command, in numauth and in Redis, which on a busy machine is most of what
// a command costs the client (docs/performance.md).
package redis

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
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
var incrScript = newScript(`
local n = redis.call('INCR', KEYS[1])
if n == 1 or redis.call('PTTL', KEYS[1]) < 0 then
	redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
return n`)

// decrScript gives a unit back without creating a counter or going below
// zero; DECR keeps the key's TTL.
var decrScript = newScript(`
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
var swapScript = newScript(`
if ARGV[1] == '1' and redis.call('GET', KEYS[2]) ~= ARGV[2] then return {-1} end
local cur = redis.call('GET', KEYS[1])
local ok
if ARGV[3] == '1' then ok = (cur == ARGV[4]) else ok = (cur == false) end
if ok then redis.call('SET', KEYS[1], ARGV[5], 'PX', ARGV[6]) end
local r = 0
if ok then r = 1 end
if cur then return {r, cur} end
return {r}`)

// script is a Lua script and its SHA-1, sent as EVALSHA (EVAL when the
// server does not know it yet, or in a pipeline).
type script struct{ src, sha string }

func newScript(src string) script {
	h := sha1.Sum([]byte(src))
	return script{src: src, sha: hex.EncodeToString(h[:])}
}

// cmd is the script's command on keys and args: EVALSHA, or EVAL with the
// source when eval is set. The arguments are laid out in one slice.
func (sc script) cmd(ctx context.Context, eval bool, keys []string, args ...any) *goredis.Cmd {
	a := make([]any, 0, 3+len(keys)+len(args))
	if eval {
		a = append(a, "eval", sc.src)
	} else {
		a = append(a, "evalsha", sc.sha)
	}
	a = append(a, len(keys))
	for _, k := range keys {
		a = append(a, k)
	}
	return goredis.NewCmd(ctx, append(a, args...)...)
}

// Store is a store.Ephemeral on Redis.
type Store struct {
	c       goredis.UniversalClient
	cluster *goredis.ClusterClient // nil on a single server
	single  *goredis.Client        // nil on a cluster
	// ap batches the commands of concurrent callers (see do); nil on a
	// cluster, where every command goes to c on its own.
	ap *goredis.AutoPipeliner
	// replyWithin bounds the wait for a command's reply through ap, its time
	// in the queue included: the read timeout, as for a command on its own.
	replyWithin time.Duration
	expiries    expiries
	// outstanding counts the commands under way in do (see direct).
	outstanding atomic.Int64
	prefix      string
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
	s := &Store{c: c, single: c, prefix: prefix, waitReplicas: o.waitReplicas, waitTimeout: o.waitTimeout,
		replyWithin: opt.ReadTimeout, expiries: expiries{after: opt.ReadTimeout}}
	if s.waitReplicas == 0 {
		// The deferred face with its default, ordered options: one batch in
		// flight at a time, so that the commands arriving meanwhile go out
		// together as the next one, in the order they came.
		ap, err := c.AsyncAutoPipeline()
		if err != nil {
			c.Close()
			return nil, fmt.Errorf("redis: %w", err)
		}
		s.ap = ap
	}
	if err := s.Ping(ctx); err != nil {
		s.c.Close()
		return nil, fmt.Errorf("redis: %w", err)
	}
	return s, nil
}

// direct is how many commands may be under way at once before do sends
// one more through ap rather than on a connection of its own. A flow's
// commands that a caller sends together (a call's budgets, up to four; a
// session written while its budgets are spent) then still go out at once
// when Redis is otherwise idle: through ap alone, the second would wait for
// the first's batch to come back. Under load, when more than this many are
// under way, commands go out in batches.
const direct = 4

// do runs one command and returns its error. While no more than direct
// commands are under way it goes out on its own, on a connection of the
// client's pool, bounded by ctx and the read timeout as before. Through ap
// the command joins the next batch and the caller waits for its reply at
// most about replyWithin (or until ctx's deadline, if that is sooner): the
// autopipeliner runs a batch on its own context, so without this bound a
// caller queued behind a batch that a hung Redis never answers would wait
// for that batch's timeout and then its own. A command given up on this way
// may still run (as may one whose reply was lost), and its result is not
// read: the caller gets ErrUnavailable. ap never sends a command twice: its
// client has no retries (MaxRetries -1), so a batch whose connection fails
// leaves every command in it with the error.
//
// A ctx cancelled without a deadline (a client that went away) stops no
// wait once the command is queued: the command is on its way by then.
func (s *Store) do(ctx context.Context, cmd goredis.Cmder) error {
	if s.ap == nil {
		_ = s.c.Process(ctx, cmd)
		return cmd.Err()
	}
	defer s.outstanding.Add(-1)
	if s.outstanding.Add(1) <= direct {
		_ = s.c.Process(ctx, cmd)
		return cmd.Err()
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	var wctx context.Context = s.expiries.next()
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < s.replyWithin {
		var cancel context.CancelFunc
		wctx, cancel = context.WithDeadline(ctx, dl)
		defer cancel()
	}
	f := s.ap.Submit(ctx, cmd)
	err := f.WaitContext(wctx)
	if err != nil && wctx.Err() != nil && errors.Is(err, wctx.Err()) {
		return fmt.Errorf("no reply in time (the command may still run): %w", err)
	}
	return err
}

// expiryTick is the resolution of expiries: a wait ends between after and
// after+expiryTick from its start.
const expiryTick = 10 * time.Millisecond

// expiries hands out the contexts that bound do's waits, one per
// expiryTick shared by every command that starts in it: one timer a tick
// instead of a timer and a cancellable context per command, which the
// profile of the hot path showed.
type expiries struct {
	after time.Duration
	mu    sync.Mutex
	tick  int64
	cur   *expiry
}

func (e *expiries) next() *expiry {
	tick := time.Now().UnixNano() / int64(expiryTick)
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.cur == nil || e.tick != tick {
		x := &expiry{done: make(chan struct{})}
		time.AfterFunc(e.after+expiryTick, func() { close(x.done) })
		e.tick, e.cur = tick, x
	}
	return e.cur
}

// expiry is a context.Context that ends when its done channel is closed.
type expiry struct{ done chan struct{} }

func (x *expiry) Deadline() (time.Time, bool) { return time.Time{}, false }
func (x *expiry) Done() <-chan struct{}       { return x.done }
func (x *expiry) Value(any) any               { return nil }
func (x *expiry) Err() error {
	select {
	case <-x.done:
		return context.DeadlineExceeded
	default:
		return nil
	}
}

// runScript runs sc through do: EVALSHA, and EVAL if the server does not
// know the script yet (NOSCRIPT: it did not run).
func (s *Store) runScript(ctx context.Context, sc script, keys []string, args ...any) (*goredis.Cmd, error) {
	cmd := sc.cmd(ctx, false, keys, args...)
	err := s.do(ctx, cmd)
	if err != nil && goredis.HasErrorPrefix(err, "NOSCRIPT") {
		cmd = sc.cmd(ctx, true, keys, args...)
		err = s.do(ctx, cmd)
	}
	return cmd, err
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
	cmd := goredis.NewBoolCmd(ctx, "set", k, value, "px", px.Milliseconds(), "nx")
	if err := s.write(ctx, k, cmd); err != nil {
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
	return mapErr(s.write(ctx, k, goredis.NewStatusCmd(ctx, "set", k, value, "px", px.Milliseconds())))
}

// Get implements store.Ephemeral.
func (s *Store) Get(ctx context.Context, key string) ([]byte, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	cmd := goredis.NewStringCmd(ctx, "get", s.k(key))
	if err := s.do(ctx, cmd); err != nil {
		return nil, mapErr(err)
	}
	return cmd.Bytes()
}

// Take implements store.Ephemeral with GETDEL.
func (s *Store) Take(ctx context.Context, key string) ([]byte, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	k := s.k(key)
	cmd := goredis.NewStringCmd(ctx, "getdel", k)
	if err := s.write(ctx, k, cmd); err != nil {
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
	return mapErr(s.write(ctx, k, goredis.NewIntCmd(ctx, "del", k)))
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
	cmd, err := s.writeScript(ctx, k, incrScript, []string{k}, px.Milliseconds())
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
	cmd, err := s.writeScript(ctx, k, decrScript, []string{k})
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
	cmd, err := s.writeScript(ctx, k, swapScript, keys, guarded, g.Value, hasOld, old, value, px.Milliseconds())
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
