// Package store defines the persistence contracts of numauth.
//
// There are two kinds of state:
//
//   - Durable state (accounts, AccessKeys, OAuth clients, schemes,
//     verification records, signing keys): the [Durable] interface, backed by SQLite by default and
//     PostgreSQL in scale-out. Nothing acknowledged to a client is lost.
//   - Ephemeral state (signature nonces, single-use tokens, H5 sessions, mask
//     attempts, rate-limit windows): the [Ephemeral] interface, kept in
//     process by default and in Redis in scale-out. Every entry has a TTL and
//     every consuming operation is a single atomic step in the shared store,
//     so "single use" holds across instances.
//
// Each backend lives in its own sub-package and passes the shared
// conformance suite in package storetest.
package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/numauth/numauth/internal/sms"
)

// Errors every backend returns (wrapped or bare); callers test with errors.Is.
var (
	// ErrNotFound: no such record, or an ephemeral entry that expired.
	ErrNotFound = errors.New("store: not found")
	// ErrConflict: a record with the same identity already exists.
	ErrConflict = errors.New("store: already exists")
	// ErrNameConflict: the account already has a scheme of that name. It
	// wraps ErrConflict, so errors.Is(err, ErrConflict) holds for it too.
	ErrNameConflict = fmt.Errorf("%w: the account has a scheme of that name", ErrConflict)
	// ErrUnavailable: the backing service cannot be reached right now.
	// Callers map it to ServiceUnavailable; the request may be retried.
	ErrUnavailable = errors.New("store: backend unavailable")
	// ErrGuard: a guarded operation found its guard marker absent or
	// holding another value, and changed nothing (see [Guard]).
	ErrGuard = errors.New("store: guard marker does not hold the expected value")
	// ErrFull: a bounded store has no room for a new entry. It wraps
	// ErrUnavailable, so callers answer ServiceUnavailable; entries already
	// stored are never evicted to make room, because an evicted "spent" or
	// "seen" marker would let a token or a signed request be used again.
	ErrFull = fmt.Errorf("%w: ephemeral store is full", ErrUnavailable)
	// ErrBadFilter: a query's filter selects by something the query
	// cannot (MinuteStats by a scheme).
	ErrBadFilter = errors.New("store: the query cannot filter on that")
)

// Guard makes an ephemeral operation conditional on a marker entry: the
// operation happens only if the entry under Key holds exactly Value,
// checked in the same atomic step as the operation itself. numauth guards
// every consumption of a single-use token or nonce with the store's epoch
// marker, so that a store which lost its data (and with it the marker) can
// never accept a replay, not even for the moment before anyone notices.
// The zero Guard guards nothing.
//
// A sharded backend keeps the marker and the guarded key on one shard.
type Guard struct {
	Key   string
	Value []byte
}

// IsZero reports whether g guards nothing.
func (g Guard) IsZero() bool { return g.Key == "" }

// KeyStatus is the state of an AccessKey.
type KeyStatus string

const (
	KeyActive   KeyStatus = "Active"
	KeyInactive KeyStatus = "Inactive"
)

// AccessKey is an integrator's credential. The secret is stored sealed
// (encrypted under the master key); the store never sees it in clear.
type AccessKey struct {
	ID           string // AccessKeyId, unique
	AccountID    string // owner; every scheme and record belongs to an account
	SealedSecret []byte
	Status       KeyStatus
	Description  string
	CreatedAt    time.Time
}

// OAuthClient is a client of the CAMARA northbound API (an OpenID Connect relying party).
//
// A backend stores the slices as given, in order, except that an empty one
// (nil or not) reads back as nil: no redirect URI, no scope, no key set
// and no secret hash are each stored as "none".
type OAuthClient struct {
	ID           string    // client_id, unique
	AccountID    string    // owner: its calls are counted, billed and limited as the account's
	Name         string    // free text
	RedirectURIs []string  // exact-match redirect URIs, at least one
	AuthMethod   string    // "private_key_jwt" or "client_secret_basic"
	JWKS         []byte    // private_key_jwt: the client's public keys (a JWK Set, JSON); nil otherwise
	SecretHash   []byte    // client_secret_basic: SHA-256 of the secret (the secret is 32 random bytes); nil otherwise
	Scopes       []string  // scopes the client may request; empty = all NV scopes
	Status       KeyStatus // Active or Inactive
	CreatedAt    time.Time
}

// Scheme (方案) is an integrator's registered app or site.
type Scheme struct {
	Code        string // SchemeCode, unique, e.g. "FC100000012345678"
	AccountID   string
	Name        string // SchemeName
	AppName     string
	OsType      string // "iOS", "Android" or "H5"
	Origin      string // H5: allowed page origin, e.g. "https://shop.example.com"
	URL         string // H5: allowed page URL (prefix match on the path), e.g. "https://shop.example.com/login"
	PackName    string // Android package name
	PackSign    string // Android package signature
	BundleID    string // iOS bundle id
	SmsSignName string
	IPWhiteList string
	Email       string
	CreatedAt   time.Time
	// FusionStrategy is the scheme's fusion authentication strategy
	// ("carrier" or "sms"); "" takes the deployment's default.
	FusionStrategy string
}

// Verification is the durable record of one carrier-backed answer:
// a local-number verification (Kind "verify") or a one-click login
// number lookup (Kind "login").
type Verification struct {
	ID          string // VerifyId
	AccountID   string
	SchemeCode  string
	Kind        string // "verify" or "login"
	Carrier     string // "CM", "CU", "CT"
	Result      string // "PASS", "REJECT", "UNKNOWN" (login: "PASS" when a number was returned)
	MaskedPhone string // e.g. "138****5678"
	PhoneHash   string // keyed hash (HMAC-SHA256, hex) of the E.164 number; never the number itself
	Billable    bool
	LatencyUS   int64 // carrier leg latency in microseconds
	CreatedAt   time.Time
}

// VerificationFilter selects verification records for statistics.
type VerificationFilter struct {
	AccountID  string    // "" = any (all accounts: operators only)
	Kind       string    // "" = any
	SchemeCode string    // "" = any
	From, To   time.Time // CreatedAt in [From, To); a zero bound is open
}

// DayStat aggregates verification results for one UTC day. Days without
// records are left out.
type DayStat struct {
	Day     string // "2006-01-02"
	Pass    int64
	Reject  int64
	Unknown int64
}

// LatencyBoundsUS are the upper bounds (exclusive, in microseconds) of the
// latency histogram the hourly rollups keep: bucket i counts the records
// with LatencyBoundsUS[i-1] <= LatencyUS < LatencyBoundsUS[i], and the last
// bucket, len(LatencyBoundsUS), those slower than every bound. They are
// fixed: the SQL backends' rollups (and the migration that backfilled them)
// are keyed by the bucket index.
var LatencyBoundsUS = [...]int64{10_000, 25_000, 50_000, 100_000, 250_000, 500_000,
	1_000_000, 2_500_000, 5_000_000, 10_000_000}

// LatencyBuckets is the number of buckets of the latency histogram.
const LatencyBuckets = len(LatencyBoundsUS) + 1

// LatencyBucket is the histogram bucket of a latency in microseconds.
func LatencyBucket(us int64) int {
	for i, b := range LatencyBoundsUS {
		if us < b {
			return i
		}
	}
	return len(LatencyBoundsUS)
}

// Counts are the results and the latency histogram of a set of
// verification records: what HourStat and MinuteStat share.
type Counts struct {
	Pass    int64
	Reject  int64
	Unknown int64
	Other   int64 // records with any other result
	// Latency is the histogram of the records' latencies: Latency[i]
	// records fell in bucket i (see LatencyBoundsUS).
	Latency [LatencyBuckets]int64
	// LatencySumUS is the sum of the records' latencies, for the mean.
	LatencySumUS int64
}

// Add adds one rollup group to c: n records of result with latency
// bucket bucket, latUS their summed latency.
func (c *Counts) Add(result string, bucket int, n, latUS int64) {
	switch result {
	case "PASS":
		c.Pass += n
	case "REJECT":
		c.Reject += n
	case "UNKNOWN":
		c.Unknown += n
	default:
		c.Other += n
	}
	c.LatencySumUS += latUS
	if bucket >= 0 && bucket < LatencyBuckets {
		c.Latency[bucket] += n
	}
}

// Merge adds o's records to c.
func (c *Counts) Merge(o Counts) {
	c.Pass += o.Pass
	c.Reject += o.Reject
	c.Unknown += o.Unknown
	c.Other += o.Other
	c.LatencySumUS += o.LatencySumUS
	for i, n := range o.Latency {
		c.Latency[i] += n
	}
}

// Total is the number of records counted.
func (c Counts) Total() int64 { return c.Pass + c.Reject + c.Unknown + c.Other }

// Quantile estimates the q-quantile (0 <= q <= 1; 0.5 is the median, 0.99
// p99) of the latencies from the histogram, interpolating linearly
// within the bucket it falls in. The estimate is off by at most the width
// of that bucket; for the last bucket (slower than every bound) it is that
// bucket's lower bound. Counts without records give 0.
func (c Counts) Quantile(q float64) time.Duration {
	var total int64
	for _, n := range c.Latency {
		total += n
	}
	if total == 0 || q != q { // q != q: NaN
		return 0
	}
	q = min(max(q, 0), 1)
	rank := q * float64(total)
	var seen int64
	for i, n := range c.Latency {
		if n == 0 || float64(seen+n) < rank {
			seen += n
			continue
		}
		if i == len(LatencyBoundsUS) {
			return time.Duration(LatencyBoundsUS[i-1]) * time.Microsecond
		}
		var lo int64
		if i > 0 {
			lo = LatencyBoundsUS[i-1]
		}
		frac := (rank - float64(seen)) / float64(n)
		return time.Duration(float64(lo)+frac*float64(LatencyBoundsUS[i]-lo)) * time.Microsecond
	}
	return time.Duration(LatencyBoundsUS[len(LatencyBoundsUS)-1]) * time.Microsecond
}

// HourStat aggregates the verification records of one UTC hour
// (HourlyStats): their results and latencies (Counts, whose Total and
// Quantile it has) and how many are billable.
type HourStat struct {
	Hour time.Time // the start of the hour, UTC
	Counts
	Billable int64
}

// Add adds one rollup group to h: n records of result with latency
// bucket bucket, bill of them billable, latUS their summed latency.
func (h *HourStat) Add(result string, bucket int, n, bill, latUS int64) {
	h.Counts.Add(result, bucket, n, latUS)
	h.Billable += bill
}

// MinuteStat aggregates the verification records of one UTC minute and
// one carrier (MinuteStats): their results and latencies.
type MinuteStat struct {
	Minute  time.Time // the start of the minute, UTC
	Carrier string
	Counts
}

// MinuteRollupWindow is how far back the per-minute rollup reaches:
// Maintain deletes the minutes that started before now minus it, whatever
// the retention of the records.
const MinuteRollupWindow = 48 * time.Hour

// BillCount is how many billable records one scheme has of one kind
// (BillableCounts, SmsBillableCounts).
type BillCount struct {
	Scheme string // a verification's SchemeCode; an SMS send's SchemeName
	Kind   string // "verify", "login", or "sms"
	Count  int64
}

// SmsSend is the durable record of one SendSmsVerifyCode that reached an
// SMS provider: accepted (Status pending or delivered) or refused by it
// (Status failed). Neither the code nor the whole number is stored.
type SmsSend struct {
	ID          string // BizId, unique
	AccountID   string
	SchemeName  string // the SMS scheme (方案) name, "默认方案" by default
	PhoneHash   string // keyed hash of the E.164 number, as Verification's
	MaskedPhone string // e.g. "138****5678"; for numbers outside +86 "+44 7700****23"
	CountryCode string // e.g. "86"
	SignName    string
	Template    string // TemplateCode
	// Content is the text as sent with the code replaced by '*'
	// characters: what QuerySendDetails shows, never the code itself.
	Content    string
	OutID      string
	Provider   string // the provider's registered name
	ProviderID string // the provider's message id; "" when it refused
	Status     int    // 1 pending receipt, 2 failed, 3 delivered (QuerySendDetails' SendStatus)
	ErrCode    string // "DELIVERED", the network's error code, or numauth's refusal code
	Billable   bool   // the provider accepted it
	SentAt     time.Time
	ReceivedAt time.Time // when delivery was reported; zero until then
}

// SmsFilter selects SMS send records. Every set field must match.
type SmsFilter struct {
	AccountID string    // "" = any (operators only)
	PhoneHash string    // "" = any
	ID        string    // BizId; "" = any
	From, To  time.Time // SentAt in [From, To); a zero bound is open
	// Offset and Limit page the answer (newest first); Limit 0 means no
	// rows, only the total.
	Offset, Limit int
}

// Batch is records of several kinds to store in one transaction.
type Batch struct {
	Verifications []Verification
	SmsSends      []SmsSend
	Outbox        []sms.OutboxEntry
}

// Merge appends o's records to b.
func (b *Batch) Merge(o Batch) {
	b.Verifications = append(b.Verifications, o.Verifications...)
	b.SmsSends = append(b.SmsSends, o.SmsSends...)
	b.Outbox = append(b.Outbox, o.Outbox...)
}

// WriteBatches returns the function that stores batches in d as one
// (for a group-commit writer of Batch).
func WriteBatches(d Durable) func(context.Context, []Batch) error {
	return func(ctx context.Context, bs []Batch) error {
		if len(bs) == 1 {
			return d.WriteBatch(ctx, bs[0])
		}
		var all Batch
		for _, b := range bs {
			all.Merge(b)
		}
		return d.WriteBatch(ctx, all)
	}
}

// SigningKey is a key used to sign JWTs or to seal tokens. The private
// material is sealed under the master key.
type SigningKey struct {
	ID        string // key id ("kid"), unique
	Use       string // "jwt" or "seal"
	Alg       string // e.g. "ES256", "A256GCM"
	Sealed    []byte // sealed private key material
	Public    []byte // public key (PKIX DER) for asymmetric keys, else nil
	CreatedAt time.Time
	// NotAfter: the key is no longer used to issue new tokens after this
	// time but is still accepted for verification. Zero = current.
	NotAfter time.Time
}

// Kinds of [SealedSecret].
const (
	SealedAccessKey  = "access-key"  // an AccessKey's SealedSecret
	SealedSigningKey = "signing-key" // a SigningKey's Sealed private half
)

// SealedSecret names one value the durable store keeps sealed under the
// master key, for re-sealing after a master-key rotation.
type SealedSecret struct {
	Kind   string // SealedAccessKey or SealedSigningKey
	ID     string // the record's id (AccessKeyId, key id)
	Use    string // a signing key's Use; "" for an AccessKey
	Sealed []byte
}

// Durable is the durable store. Implementations must be safe for
// concurrent use; a write that returned nil is on stable storage.
type Durable interface {
	CreateAccessKey(ctx context.Context, k AccessKey) error // ErrConflict if the ID exists
	GetAccessKey(ctx context.Context, id string) (AccessKey, error)
	ListAccessKeys(ctx context.Context) ([]AccessKey, error)              // ordered by CreatedAt, ID
	SetAccessKeyStatus(ctx context.Context, id string, s KeyStatus) error // ErrNotFound if absent

	CreateOAuthClient(ctx context.Context, c OAuthClient) error // ErrConflict if the ID exists
	GetOAuthClient(ctx context.Context, id string) (OAuthClient, error)
	// ListOAuthClients lists the OAuth clients of one account, or of all
	// accounts when accountID is "", ordered by CreatedAt, ID.
	ListOAuthClients(ctx context.Context, accountID string) ([]OAuthClient, error)
	// SetOAuthClientActive sets the client's Status to KeyActive or
	// KeyInactive; ErrNotFound if absent.
	SetOAuthClientActive(ctx context.Context, id string, active bool) error

	// CreateScheme stores a scheme: ErrConflict if the code exists,
	// ErrNameConflict if the account has a scheme of that name (names are
	// compared byte for byte; of concurrent creations of one name in one
	// account exactly one succeeds).
	CreateScheme(ctx context.Context, s Scheme) error
	GetScheme(ctx context.Context, code string) (Scheme, error)
	// ListSchemes lists the schemes of one account, or of all accounts when
	// accountID is "", ordered by CreatedAt, Code.
	ListSchemes(ctx context.Context, accountID string) ([]Scheme, error)
	DeleteScheme(ctx context.Context, code string) error // ErrNotFound if absent

	// RecordVerifications stores records atomically (all or none).
	// Recording the same ID twice is ErrConflict and stores nothing.
	RecordVerifications(ctx context.Context, v []Verification) error
	GetVerification(ctx context.Context, id string) (Verification, error)
	// ListVerifications returns the records q selects, newest first.
	ListVerifications(ctx context.Context, q VerificationQuery) ([]Verification, error)
	DailyStats(ctx context.Context, f VerificationFilter) ([]DayStat, error) // ordered by Day
	// BillableCounts counts the billable records f selects per scheme code
	// and kind, ordered by Scheme, then Kind; groups without any are left out.
	BillableCounts(ctx context.Context, f VerificationFilter) ([]BillCount, error)
	// HourlyStats aggregates the records f selects per UTC hour, oldest
	// first, for a console to chart: results, billable records and the
	// latency histogram. It reads the hourly rollups only, so the range is
	// in whole hours: the hours whose start is in [From truncated to the
	// hour, To). Hours without records are left out. Rollups outlive
	// retention (see Maintainer): the hours of records already deleted are
	// still there.
	HourlyStats(ctx context.Context, f VerificationFilter) ([]HourStat, error)
	// MinuteStats aggregates the records f selects per UTC minute and
	// carrier, ordered by minute, then carrier (byte order), for the
	// console's live view. It reads the per-minute rollup only, so the
	// range is in whole minutes: the minutes whose start is in [From
	// truncated to the minute, To). Minutes without records are left out.
	// The rollup keeps the recent past only: Maintain deletes the minutes
	// older than MinuteRollupWindow. It keeps no scheme: a filter with a
	// SchemeCode is ErrBadFilter.
	MinuteStats(ctx context.Context, f VerificationFilter) ([]MinuteStat, error)

	// WriteBatch stores every record of b in one transaction, all or none,
	// as RecordVerifications, RecordSmsSends and PutOutbox would: a
	// verification or SMS send id stored already is ErrConflict and stores
	// nothing; an outbox id stored already is skipped.
	WriteBatch(ctx context.Context, b Batch) error
	// RecordSmsSends stores SMS send records atomically (all or none).
	// Recording the same ID twice is ErrConflict and stores nothing.
	RecordSmsSends(ctx context.Context, s []SmsSend) error
	// SetSmsStatus records a delivery receipt on the record of one
	// provider's message: Status (2 or 3), ErrCode and ReceivedAt. Only a
	// record still pending (Status 1) changes; a receipt for a record that
	// is already settled changes nothing and is not an error. ErrNotFound
	// if no record has that provider and provider id.
	SetSmsStatus(ctx context.Context, provider, providerID string, status int, errCode string, at time.Time) error
	// ListSmsSends returns the records f selects, newest (SentAt, then ID)
	// first, paged by f.Offset and f.Limit, and how many f selects in all.
	ListSmsSends(ctx context.Context, f SmsFilter) ([]SmsSend, int64, error)
	// SmsDailyStats counts the records f selects per UTC day of SentAt:
	// Pass = delivered (3), Reject = failed (2), Unknown = pending (1).
	// Paging fields are ignored; days without records are left out.
	SmsDailyStats(ctx context.Context, f SmsFilter) ([]DayStat, error)
	// SmsBillableCounts counts the billable (provider-accepted) records f
	// selects per SMS scheme name, Kind "sms", ordered by Scheme; paging
	// fields are ignored and schemes without any are left out.
	SmsBillableCounts(ctx context.Context, f SmsFilter) ([]BillCount, error)
	// PutOutbox and ListOutbox keep the sandbox SMS provider's outbox
	// (sms.Outbox): entries are stored all or none, an entry whose ID is
	// stored already is skipped and is not an error; the list is newest
	// first (CreatedAt, then ID).
	PutOutbox(ctx context.Context, es ...sms.OutboxEntry) error
	ListOutbox(ctx context.Context, to string, limit int) ([]sms.OutboxEntry, error)

	// Console users (internal/admin): names are compared byte for byte.
	CreateConsoleUser(ctx context.Context, u ConsoleUser) error // ErrConflict if the name exists
	GetConsoleUser(ctx context.Context, name string) (ConsoleUser, error)
	ListConsoleUsers(ctx context.Context) ([]ConsoleUser, error) // ordered by Name
	// UpdateConsoleUser applies ch and moves Generation on by one, in one
	// step; it returns the user as stored after it. ErrNotFound if absent.
	UpdateConsoleUser(ctx context.Context, name string, ch ConsoleUserChange) (ConsoleUser, error)
	DeleteConsoleUser(ctx context.Context, name string) error // ErrNotFound if absent
	// AppendAudit stores audit entries, all or none; an ID stored already
	// is ErrConflict.
	AppendAudit(ctx context.Context, es ...AuditEntry) error
	// ListAudit returns the entries f selects, newest (greatest ID) first.
	ListAudit(ctx context.Context, f AuditFilter) ([]AuditEntry, error)

	PutSigningKey(ctx context.Context, k SigningKey) error                 // ErrConflict if the ID exists
	ListSigningKeys(ctx context.Context, use string) ([]SigningKey, error) // ordered by CreatedAt, ID
	// RetireSigningKey sets the key's NotAfter (it stops issuing then);
	// ErrNotFound if absent.
	RetireSigningKey(ctx context.Context, id string, notAfter time.Time) error

	// ResealSecrets calls reseal once for every sealed secret the store
	// keeps (see [SealedSecret]) and stores the value it returns where it
	// reports a change, all in one transaction: if reseal or a write fails,
	// nothing changes. It returns how many values changed. Concurrent
	// writes of those secrets wait for it or make it fail, never get lost.
	ResealSecrets(ctx context.Context, reseal func(SealedSecret) (sealed []byte, changed bool, err error)) (int, error)

	// Ping reports whether the backend is reachable (ErrUnavailable if not).
	Ping(ctx context.Context) error
	// ProbeWrite makes one durable write that changes nothing (the newest
	// schema version row rewritten with itself) and reports whether it
	// reached stable storage: readiness must mean that writes succeed, not
	// only that reads do (a full disk, a read-only replica).
	ProbeWrite(ctx context.Context) error
	Close() error
}

// Maintainer is implemented by the durable stores that keep records in
// time-ranged storage (the SQL backends). numauth calls Maintain at start
// and then hourly; it is safe to call from several instances at once.
type Maintainer interface {
	// Maintain prepares storage for the records to come (PostgreSQL: the
	// monthly partitions of the current month and the next ones) and, if
	// retention > 0, deletes the verification and SMS send records older
	// than now-retention: PostgreSQL drops the partitions that lie wholly
	// before the cutoff and deletes the rest in batches, SQLite deletes in
	// batches of a few thousand rows per transaction. The hourly rollups are
	// kept: they are the statistics and the bills of the deleted period.
	// Whatever the retention, it deletes the per-minute rollup's minutes
	// that started before now-MinuteRollupWindow (MinuteStats).
	Maintain(ctx context.Context, now time.Time, retention time.Duration) (Maintenance, error)
}

// Maintenance reports what one Maintain call did.
type Maintenance struct {
	Created []string // partitions created
	Dropped []string // partitions dropped whole
	Deleted int64    // records deleted row by row
	// MinuteRows is how many rows of the per-minute rollup it deleted
	// (older than MinuteRollupWindow).
	MinuteRows int64
}

// Ephemeral is the store of short-lived, TTL-bound state. Every method is a
// single atomic operation on the shared backend. ttl must be > 0 (else the
// call fails); backends may round it up to a millisecond.
type Ephemeral interface {
	// PutIfAbsent stores value under key unless the key exists; it reports
	// whether it stored. This is how nonces and single-use tokens are
	// consumed: exactly one of many concurrent callers gets true.
	PutIfAbsent(ctx context.Context, key string, value []byte, ttl time.Duration) (bool, error)
	// Put stores value under key, replacing any previous value and TTL.
	Put(ctx context.Context, key string, value []byte, ttl time.Duration) error
	// Get returns the value, or ErrNotFound.
	Get(ctx context.Context, key string) ([]byte, error)
	// Take returns the value and deletes the key in one step, or ErrNotFound.
	Take(ctx context.Context, key string) ([]byte, error)
	// Delete removes the key; deleting an absent key is not an error.
	Delete(ctx context.Context, key string) error
	// Incr adds one to the counter under key and returns the new value. A
	// counter that did not exist starts at 0 and gets the TTL; an existing
	// counter keeps its TTL (fixed windows for rate limits and try budgets).
	// Get reads a counter as decimal text; Incr on a non-integer value fails.
	Incr(ctx context.Context, key string, ttl time.Duration) (int64, error)
	// Decr takes one back from the counter under key and returns the new
	// value. It never goes below zero, never creates a counter (an absent
	// key stays absent and reads 0) and keeps the counter's TTL. It is how
	// a budget gives back a unit reserved for an attempt that turned out not
	// to count.
	Decr(ctx context.Context, key string) (int64, error)
	// Swap stores value under key, with ttl, if the key currently holds old,
	// where a nil old means the key must be absent (or expired) and a
	// non-nil empty old matches an empty value. With a non-zero guard it
	// also requires the guard's marker to hold the guard's value; if it does
	// not, Swap fails with ErrGuard and changes nothing. Everything is one
	// atomic step. It returns the value the key held before (nil if absent)
	// and whether it stored. This is the state machine step of single-use
	// tokens and nonces: claim (absent → pending), settle, or take over an
	// abandoned claim, each exactly once across all instances.
	Swap(ctx context.Context, g Guard, key string, old, value []byte, ttl time.Duration) (prev []byte, swapped bool, err error)
	// Ping reports whether the backend is reachable (ErrUnavailable if not).
	Ping(ctx context.Context) error
	Close() error
}

// Partitioned is the capability of an ephemeral store whose keys live on
// several servers that can each lose their data on their own (a Redis
// Cluster's masters). A guard marker then has a copy in every partition,
// next to the keys it guards (Swap checks the copy beside its key), and is
// read and written as a whole: its loss on any one partition is the loss
// the epoch must notice. Users assert it where they keep a marker, and use
// Get / PutIfAbsent / Put on a store without it.
type Partitioned interface {
	Ephemeral
	// ReadMarker returns the marker's value when every copy holds it, and
	// ErrNotFound when any copy is missing or differs.
	ReadMarker(ctx context.Context, key string) ([]byte, error)
	// WriteMarker writes value to every copy, with ttl, and reports true;
	// it reports false and writes nothing when another caller is writing
	// the marker at the moment or a whole marker is in place already.
	WriteMarker(ctx context.Context, key string, value []byte, ttl time.Duration) (bool, error)
	// DeleteMarker deletes every copy: the next ReadMarker is ErrNotFound.
	DeleteMarker(ctx context.Context, key string) error
}
