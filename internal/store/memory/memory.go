// Package memory is the in-process store.Ephemeral: the default for a
// single numauth instance. It sits on every request's hot path (signature
// nonces), so it is built for speed: the key space is split over many shards,
// each a plain map under its own mutex, so operations on different keys
// rarely contend; every operation is one short critical section.
//
// Expiry is checked on every read, so an expired entry is never returned; a
// background janitor removes expired entries once a second so that memory is
// reclaimed even for keys that are never read again (most nonces).
//
// The store's memory is bounded ([WithMaxBytes]): when a new entry would
// take it past the bound, the write fails with store.ErrFull and nothing is
// evicted, because an evicted "spent" or "seen" marker would reopen a
// replay. Entries that already exist can always be rewritten.
package memory

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"math"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/numauth/numauth/internal/store"
)

const (
	shardCount = 64 // power of two
	// sweepEvery is how often the janitor removes expired entries.
	sweepEvery = time.Second
	// entryOverhead is what one entry costs beyond its key and value: the
	// map slot, the entry struct and the slice and string headers, rounded up.
	entryOverhead = 96
	// DefaultMaxBytes bounds a store built without WithMaxBytes.
	DefaultMaxBytes = 512 << 20
)

var (
	errClosed = fmt.Errorf("%w: memory store is closed", store.ErrUnavailable)
	errTTL    = errors.New("memory: ttl must be > 0")
	errNotInt = errors.New("memory: value is not an integer")
)

type entry struct {
	val     []byte // immutable once stored; nil for counters
	n       int64  // counter value when isCount
	exp     int64  // expiry on the store's clock (ns since start)
	isCount bool
}

type shard struct {
	mu   sync.Mutex
	m    map[string]entry
	peak int      // largest len(m) since the map was last rebuilt
	_    [40]byte // pad to a cache line: neighbours do not false-share
}

// size is what an entry under key costs against the store's bound.
func size(key string, e entry) int64 { return int64(len(key) + len(e.val) + entryOverhead) }

// Store is an in-process store.Ephemeral. The zero value is not usable;
// call New.
type Store struct {
	seed   maphash.Seed
	start  time.Time // monotonic clock origin
	closed atomic.Bool
	shards [shardCount]shard

	max     int64
	used    atomic.Int64 // bytes, by size()
	entries atomic.Int64

	stop     chan struct{}
	done     chan struct{}
	stopOnce sync.Once
}

var _ store.Ephemeral = (*Store)(nil)

// Option configures a Store.
type Option func(*Store)

// WithMaxBytes bounds the memory the store's entries may take (keys, values
// and per-entry overhead); n <= 0 keeps DefaultMaxBytes.
func WithMaxBytes(n int64) Option {
	return func(s *Store) {
		if n > 0 {
			s.max = n
		}
	}
}

// New returns an empty store and starts its janitor; Close stops it.
func New(opts ...Option) *Store {
	s := &Store{
		seed:  maphash.MakeSeed(),
		start: time.Now(),
		max:   DefaultMaxBytes,
		stop:  make(chan struct{}),
		done:  make(chan struct{}),
	}
	for _, o := range opts {
		o(s)
	}
	for i := range s.shards {
		s.shards[i].m = make(map[string]entry)
	}
	go s.janitor()
	return s
}

// now is the time on the store's monotonic clock, in nanoseconds.
func (s *Store) now() int64 { return int64(time.Since(s.start)) }

func (s *Store) shard(key string) *shard { return &s.shards[s.index(key)] }

func (s *Store) index(key string) uint64 { return maphash.String(s.seed, key) & (shardCount - 1) }

// expiry returns now+ttl, saturating, or an error for a bad ttl or a closed
// store.
func (s *Store) expiry(ttl time.Duration) (int64, int64, error) {
	if s.closed.Load() {
		return 0, 0, errClosed
	}
	if ttl <= 0 {
		return 0, 0, errTTL
	}
	now := s.now()
	exp := now + int64(ttl)
	if exp < now {
		exp = math.MaxInt64
	}
	return now, exp, nil
}

// set stores e under key in sh (whose lock the caller holds), keeping the
// byte count; a new key that does not fit fails with store.ErrFull. old is
// the entry the key held (expired or not) and had says whether it held one.
func (s *Store) set(sh *shard, key string, e entry, old entry, had bool) error {
	n := size(key, e)
	if had {
		s.used.Add(n - size(key, old))
	} else {
		if s.used.Add(n) > s.max {
			s.used.Add(-n)
			return store.ErrFull
		}
		s.entries.Add(1)
	}
	sh.m[key] = e
	return nil
}

// remove deletes key from sh (whose lock the caller holds), keeping the
// byte count.
func (s *Store) remove(sh *shard, key string, e entry) {
	delete(sh.m, key)
	s.used.Add(-size(key, e))
	s.entries.Add(-1)
}

// Usage reports the entries held (expired ones included until the janitor
// removes them) and the bytes they take against the bound.
func (s *Store) Usage() (entries, bytes, max int64) {
	return s.entries.Load(), s.used.Load(), s.max
}

func clone(b []byte) []byte {
	c := make([]byte, len(b))
	copy(c, b)
	return c
}

// bytes is the value of e as Get returns it; counters read as decimal text,
// as in Redis.
func (e *entry) bytes() []byte {
	if e.isCount {
		return strconv.AppendInt(nil, e.n, 10)
	}
	return e.val
}

// PutIfAbsent implements store.Ephemeral.
func (s *Store) PutIfAbsent(_ context.Context, key string, value []byte, ttl time.Duration) (bool, error) {
	now, exp, err := s.expiry(ttl)
	if err != nil {
		return false, err
	}
	v := clone(value) // outside the lock; wasted only on a replay
	sh := s.shard(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	old, ok := sh.m[key]
	if ok && old.exp > now {
		return false, nil
	}
	if err := s.set(sh, key, entry{val: v, exp: exp}, old, ok); err != nil {
		return false, err
	}
	return true, nil
}

// Put implements store.Ephemeral.
func (s *Store) Put(_ context.Context, key string, value []byte, ttl time.Duration) error {
	_, exp, err := s.expiry(ttl)
	if err != nil {
		return err
	}
	v := clone(value)
	sh := s.shard(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	old, ok := sh.m[key]
	return s.set(sh, key, entry{val: v, exp: exp}, old, ok)
}

// Get implements store.Ephemeral. The returned slice is the caller's.
func (s *Store) Get(_ context.Context, key string) ([]byte, error) {
	if s.closed.Load() {
		return nil, errClosed
	}
	now := s.now()
	sh := s.shard(key)
	sh.mu.Lock()
	e, ok := sh.m[key]
	sh.mu.Unlock()
	if !ok || e.exp <= now {
		return nil, store.ErrNotFound
	}
	if e.isCount {
		return e.bytes(), nil
	}
	return clone(e.val), nil // stored values are never mutated, so copy unlocked
}

// Take implements store.Ephemeral.
func (s *Store) Take(_ context.Context, key string) ([]byte, error) {
	if s.closed.Load() {
		return nil, errClosed
	}
	now := s.now()
	sh := s.shard(key)
	sh.mu.Lock()
	e, ok := sh.m[key]
	if ok {
		s.remove(sh, key, e)
	}
	sh.mu.Unlock()
	if !ok || e.exp <= now {
		return nil, store.ErrNotFound
	}
	return e.bytes(), nil // removed from the map: no one else holds it
}

// Delete implements store.Ephemeral.
func (s *Store) Delete(_ context.Context, key string) error {
	if s.closed.Load() {
		return errClosed
	}
	sh := s.shard(key)
	sh.mu.Lock()
	if e, ok := sh.m[key]; ok {
		s.remove(sh, key, e)
	}
	sh.mu.Unlock()
	return nil
}

// Incr implements store.Ephemeral. Incrementing a key that holds a
// non-integer value is an error, as in Redis.
func (s *Store) Incr(_ context.Context, key string, ttl time.Duration) (int64, error) {
	now, exp, err := s.expiry(ttl)
	if err != nil {
		return 0, err
	}
	sh := s.shard(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	old, had := sh.m[key]
	e := old
	switch {
	case !had || e.exp <= now:
		e = entry{isCount: true, exp: exp}
	case !e.isCount:
		n, perr := strconv.ParseInt(string(e.val), 10, 64)
		if perr != nil {
			return 0, errNotInt
		}
		e = entry{isCount: true, n: n, exp: e.exp}
	}
	if e.n == math.MaxInt64 {
		return 0, errors.New("memory: increment would overflow")
	}
	e.n++
	if err := s.set(sh, key, e, old, had); err != nil {
		return 0, err
	}
	return e.n, nil
}

// Decr implements store.Ephemeral.
func (s *Store) Decr(_ context.Context, key string) (int64, error) {
	if s.closed.Load() {
		return 0, errClosed
	}
	now := s.now()
	sh := s.shard(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	e, ok := sh.m[key]
	if !ok || e.exp <= now {
		return 0, nil
	}
	old := e
	if !e.isCount {
		n, perr := strconv.ParseInt(string(e.val), 10, 64)
		if perr != nil {
			return 0, errNotInt
		}
		e = entry{isCount: true, n: n, exp: e.exp}
	}
	if e.n > 0 {
		e.n--
	}
	if err := s.set(sh, key, e, old, true); err != nil {
		return 0, err
	}
	return e.n, nil
}

// Swap implements store.Ephemeral. The guard's shard and the key's shard
// are locked together (in shard order, so two swaps never deadlock).
func (s *Store) Swap(_ context.Context, g store.Guard, key string, old, value []byte, ttl time.Duration) ([]byte, bool, error) {
	now, exp, err := s.expiry(ttl)
	if err != nil {
		return nil, false, err
	}
	v := clone(value)
	ki := s.index(key)
	sh := &s.shards[ki]
	var gs *shard
	var gi uint64
	if !g.IsZero() {
		gi = s.index(g.Key)
		gs = &s.shards[gi]
	}
	switch {
	case gs == nil || gs == sh:
		sh.mu.Lock()
		defer sh.mu.Unlock()
	case gi < ki:
		gs.mu.Lock()
		defer gs.mu.Unlock()
		sh.mu.Lock()
		defer sh.mu.Unlock()
	default:
		sh.mu.Lock()
		defer sh.mu.Unlock()
		gs.mu.Lock()
		defer gs.mu.Unlock()
	}
	if gs != nil {
		ge, ok := gs.m[g.Key]
		if !ok || ge.exp <= now || !bytes.Equal(ge.bytes(), g.Value) {
			return nil, false, store.ErrGuard
		}
	}
	cur, had := sh.m[key]
	var prev []byte
	if had && cur.exp > now {
		prev = clone(cur.bytes())
	}
	if (old == nil) != (prev == nil) || (old != nil && !bytes.Equal(prev, old)) {
		return prev, false, nil
	}
	if err := s.set(sh, key, entry{val: v, exp: exp}, cur, had); err != nil {
		return prev, false, err
	}
	return prev, true, nil
}

// Ping implements store.Ephemeral.
func (s *Store) Ping(context.Context) error {
	if s.closed.Load() {
		return errClosed
	}
	return nil
}

// Close stops the janitor and drops every entry. Later calls fail with
// store.ErrUnavailable. Close is idempotent.
func (s *Store) Close() error {
	s.stopOnce.Do(func() {
		s.closed.Store(true)
		close(s.stop)
		<-s.done
		for i := range s.shards {
			sh := &s.shards[i]
			sh.mu.Lock()
			for k, e := range sh.m {
				s.remove(sh, k, e)
			}
			sh.mu.Unlock()
		}
	})
	return nil
}

func (s *Store) janitor() {
	defer close(s.done)
	t := time.NewTicker(sweepEvery)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.sweep()
		}
	}
}

// sweep removes expired entries, one shard at a time so that no lock is
// held for long. A map that has shrunk to under a quarter of its peak is
// rebuilt, because Go maps never give memory back by themselves.
func (s *Store) sweep() {
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		if n := len(sh.m); n > sh.peak {
			sh.peak = n
		}
		now := s.now()
		for k, e := range sh.m {
			if e.exp <= now {
				s.remove(sh, k, e)
			}
		}
		if n := len(sh.m); sh.peak > 4096 && n < sh.peak/4 {
			m := make(map[string]entry, n)
			for k, e := range sh.m {
				m[k] = e
			}
			sh.m, sh.peak = m, n
		}
		sh.mu.Unlock()
	}
}

// count returns the number of entries held, expired or not (for tests).
func (s *Store) count() int {
	n := 0
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		n += len(sh.m)
		sh.mu.Unlock()
	}
	return n
}
