package auth

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"time"

	"github.com/numauth/numauth/internal/carrier"
	"github.com/numauth/numauth/internal/groupcommit"
	"github.com/numauth/numauth/internal/limit"
	"github.com/numauth/numauth/internal/secret"
	"github.com/numauth/numauth/internal/store"
	"github.com/numauth/numauth/internal/token"
)

// Config holds the service's tunables. Zero values take the defaults.
type Config struct {
	AccessTokenTTL time.Duration // default 10 min
	JwtTokenTTL    time.Duration // default 1 h
	// SPTokenTTL per operator; defaults as Alibaba's: CM 2 min, CT 10 min,
	// CU 30 min; an operator not in the map (one of another country) gets
	// DefaultSPTokenTTL.
	SPTokenTTL map[carrier.Operator]time.Duration
	SessionTTL time.Duration // H5 gateway session, at most; default 10 min
	// Prices are QueryGateVerifyBillingPublic's unit prices in fen per
	// billable call, by item (ItemVerify, ItemLogin, ItemSms); an item
	// without one is billed at 0.
	Prices map[string]int64
	// MaskTries is how many wrong login masks one account's pages may send
	// for one phone number within MaskLockTTL; the one that spends it locks
	// the number for that account until the window (which starts with the
	// first wrong mask) ends. Default 3.
	MaskTries   int
	MaskLockTTL time.Duration // default 24 h
	// MaskTriesGlobal is the same budget for one number across all
	// accounts, so that many accounts together cannot enumerate the 10⁴
	// masks. Default 10; negative: none.
	MaskTriesGlobal int
	// SessionsPerToken bounds the gateway sessions one token pair opens
	// in its lifetime (default 50); SessionsPerSource the sessions opened
	// from one address per minute (default 3000: one carrier NAT address
	// serves many phones). Negative: no bound.
	SessionsPerToken  int
	SessionsPerSource int
	// CacheTTL bounds how long an AccessKey, OAuth client or scheme read
	// from the durable store is reused by this instance (a disabled key or
	// client, or a deleted scheme, is refused everywhere within this time;
	// at once on the instance that made the change). Default 5 s; negative
	// disables caching.
	CacheTTL time.Duration
	// Carrier is the adapter used for the carrier leg; its Name is recorded
	// in spTokens. The H5 front leg needs a carrier.NetworkIdentified (a
	// redirect-only adapter's front leg answers carrier.ErrUnsupported).
	Carrier carrier.Adapter
	// SMS configures SMS codes (sms.go); without a Provider, sends answer
	// ErrSmsProviderDown.
	SMS SMSConfig
	// FusionStrategy maps a platform (OsAndroid, OsIOS, OsH5) to the
	// method its fusion flows try first: FusionCarrierFirst (the default)
	// or FusionSMSOnly (fusion.go).
	FusionStrategy map[string]string
	// Records, if set, is the group-commit writer of durable records that
	// the service shares with others (the sandbox SMS provider's outbox),
	// so that their writes share transactions; its owner closes it after
	// the service. Nil: the service writes through its own.
	Records *groupcommit.Writer[store.Batch]
	Logger  *slog.Logger
	Now     func() time.Time
}

func (c *Config) defaults() {
	if c.AccessTokenTTL <= 0 {
		c.AccessTokenTTL = 10 * time.Minute
	}
	if c.JwtTokenTTL <= 0 {
		c.JwtTokenTTL = time.Hour
	}
	ttl := map[carrier.Operator]time.Duration{
		carrier.ChinaMobile: 2 * time.Minute, carrier.ChinaTelecom: 10 * time.Minute, carrier.ChinaUnicom: 30 * time.Minute,
	}
	for op, d := range c.SPTokenTTL {
		if d > 0 {
			ttl[op] = d
		}
	}
	c.SPTokenTTL = ttl
	if c.SessionTTL <= 0 {
		c.SessionTTL = 10 * time.Minute
	}
	if c.MaskTries <= 0 {
		c.MaskTries = 3
	}
	if c.MaskLockTTL <= 0 {
		c.MaskLockTTL = 24 * time.Hour
	}
	if c.MaskTriesGlobal == 0 {
		c.MaskTriesGlobal = 10
	}
	if c.SessionsPerToken == 0 {
		c.SessionsPerToken = 50
	}
	if c.SessionsPerSource == 0 {
		c.SessionsPerSource = 3000
	}
	if c.CacheTTL == 0 {
		c.CacheTTL = 5 * time.Second
	}
	c.SMS.defaults()
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}

// Caller is the authenticated integrator behind an API call.
type Caller struct {
	AccessKeyID string
	AccountID   string
	// SourceIP is the address the call came from (the TCP peer), checked
	// against a scheme's IpWhiteList; the zero Addr when unknown, which
	// no non-empty list allows.
	SourceIP netip.Addr
}

// Service implements numauth's actions.
type Service struct {
	cfg          Config
	durable      store.Durable
	eph          store.Ephemeral
	box          *secret.Box
	sealer       *token.Sealer
	keys         *token.Keyring
	phoneKey     []byte
	smsKey       []byte                 // keys the hashes of SMS codes
	receiptSlots chan struct{}          // bounds the delivery receipts being recorded at once
	writes       *recorder[store.Batch] // durable records, group-committed
	ownWrites    bool                   // the service started writes and closes it
	epoch        *epochWatch
	limits       *limit.Limiter
	budgets      budgets
	smsBudgets   smsBudgets

	keyCache    cache[Credential]
	schemeCache cache[[]store.Scheme] // by account
	clientCache cache[store.OAuthClient]
}

// budgets are the limits the flows spend (internal/limit).
type budgets struct {
	mask, maskGlobal                    limit.Budget
	sessionsPerToken, sessionsPerSource limit.Budget
}

func newBudgets(c Config) budgets {
	return budgets{
		mask:              limit.Budget{Name: "mask", Limit: c.MaskTries, Window: c.MaskLockTTL},
		maskGlobal:        limit.Budget{Name: "mask-all", Limit: c.MaskTriesGlobal, Window: c.MaskLockTTL},
		sessionsPerToken:  limit.Budget{Name: "h5-sess-tok", Limit: c.SessionsPerToken, Window: c.AccessTokenTTL},
		sessionsPerSource: limit.Budget{Name: "h5-sess-src", Limit: c.SessionsPerSource, Window: time.Minute},
	}
}

// New builds the service. It loads (or creates) the JWT signing keys and
// starts the verification-record writer; Close stops it.
func New(ctx context.Context, cfg Config, durable store.Durable, eph store.Ephemeral, box *secret.Box) (*Service, error) {
	cfg.defaults()
	if cfg.Carrier == nil {
		return nil, errors.New("auth: no carrier adapter configured")
	}
	sealer, err := token.NewSealer(box)
	if err != nil {
		return nil, err
	}
	sealer.WithClock(cfg.Now)
	keys, err := token.LoadKeyring(ctx, durable, box)
	if err != nil {
		return nil, err
	}
	keys.WithClock(cfg.Now).WithMaxTokenLifetime(cfg.JwtTokenTTL)
	s := &Service{
		cfg: cfg, durable: durable, eph: eph, box: box, sealer: sealer, keys: keys,
		phoneKey: box.Derive("numauth phone hash v1", 32), smsKey: box.Derive("numauth sms code v1", 32),
		limits: limit.New(eph, cfg.Now), budgets: newBudgets(cfg), smsBudgets: newSmsBudgets(cfg.SMS),
	}
	s.keyCache.ttl, s.schemeCache.ttl, s.clientCache.ttl = cfg.CacheTTL, cfg.CacheTTL, cfg.CacheTTL
	s.receiptSlots = make(chan struct{}, 1024)
	if s.epoch, err = startEpochWatch(ctx, eph, cfg.Now); err != nil {
		return nil, storeErr("epoch marker", err)
	}
	if s.writes = cfg.Records; s.writes == nil {
		s.writes, s.ownWrites = newRecorder("records", store.WriteBatches(durable), cfg.Logger), true
	}
	return s, nil
}

// Close flushes pending verification records and stops the writer.
func (s *Service) Close() {
	s.epoch.close()
	if s.ownWrites {
		s.writes.Close()
	}
}

// Keyring returns the JWT keyring (for the JWKS endpoint and key rotation).
func (s *Service) Keyring() *token.Keyring { return s.keys }

// Carrier returns the configured carrier adapter.
func (s *Service) Carrier() carrier.Adapter { return s.cfg.Carrier }

// PhoneHash is the keyed hash of a number stored in verification records:
// it lets an operator match records for a known number without storing it.
// phone is in any form carrier.ParseE164 reads; the E.164 form is hashed,
// so every form of one number hashes alike.
func (s *Service) PhoneHash(phone string) string {
	e := carrier.E164(phone)
	if e == "" {
		e = phone // not a number at all: hashed as given
	}
	m := hmac.New(sha256.New, s.phoneKey)
	m.Write([]byte(e))
	return hex.EncodeToString(m.Sum(nil))
}

// storeErr maps a store failure to the service's error space.
func storeErr(op string, err error) error {
	if errors.Is(err, store.ErrUnavailable) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return fmt.Errorf("%s: %w: %w", op, ErrUnavailable, err)
	}
	return fmt.Errorf("%s: %w", op, err)
}

// notFoundAs maps a store write's error: store.ErrNotFound to notFound,
// any other failure through storeErr.
func notFoundAs(notFound error, op string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, store.ErrNotFound):
		return notFound
	}
	return storeErr(op, err)
}

// cache is a small TTL cache for hot durable reads. A fill must not undo an
// invalidation that happened while it read the store: fills take a
// generation number before reading (begin) and store only if no drop came
// since (put).
type cache[V any] struct {
	ttl time.Duration
	mu  sync.RWMutex
	m   map[string]cacheEntry[V]
	gen uint64 // bumped by every drop
}

type cacheEntry[V any] struct {
	v  V
	at time.Time
}

func (c *cache[V]) get(k string, now time.Time) (V, bool) {
	c.mu.RLock()
	e, ok := c.m[k]
	c.mu.RUnlock()
	if !ok || c.ttl < 0 || now.Sub(e.at) > c.ttl {
		var zero V
		return zero, false
	}
	return e.v, true
}

// begin returns the generation a fill must quote to put.
func (c *cache[V]) begin() uint64 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.gen
}

func (c *cache[V]) put(k string, v V, now time.Time, gen uint64) {
	if c.ttl < 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return // dropped while the value was read: it may be stale
	}
	if c.m == nil || len(c.m) > 100_000 {
		c.m = make(map[string]cacheEntry[V])
	}
	c.m[k] = cacheEntry[V]{v, now}
}

func (c *cache[V]) drop(k string) {
	c.mu.Lock()
	delete(c.m, k)
	c.gen++
	c.mu.Unlock()
}
