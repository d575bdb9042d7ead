// Package postgres is the scale-out store.Durable, on PostgreSQL through
// pgx/v5 and its pool (pgxpool).
//
// Durability: every write is one auto-committed statement (a batch of
// verifications is one multi-row INSERT), and the session runs with
// synchronous_commit=on unless the DSN says otherwise, so a write that
// returned nil is in the server's flushed WAL (and on a synchronous
// standby, if the server is configured for one).
//
// Availability: connection, I/O and pool failures are ErrUnavailable
// (wrapped). The pool needs no restart when the server comes back: broken
// connections are dropped when they fail, idle ones are pinged before reuse,
// and new ones are dialled on demand. Reads are retried on another
// connection when one fails that way; writes are retried only when the
// driver knows that nothing reached the server.
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/numauth/numauth/internal/store"
	"github.com/numauth/numauth/internal/store/migrations"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

const (
	connectTimeout = 5 * time.Second
	pingTimeout    = 2 * time.Second
	readAttempts   = 3
)

var errClosed = fmt.Errorf("%w: postgres store is closed", store.ErrUnavailable)

// Store is a store.Durable on PostgreSQL.
type Store struct {
	pool   *pgxpool.Pool
	closed atomic.Bool
	once   sync.Once
}

var (
	_ store.Durable    = (*Store)(nil)
	_ store.Maintainer = (*Store)(nil)
)

// Open connects to dsn (a postgres:// URL or key=value string; pool
// settings such as pool_max_conns are accepted) and brings the schema in
// the connection's current schema (the first of search_path) up to date.
// Several instances may Open at once: migrations are serialised by an
// advisory lock.
func Open(ctx context.Context, dsn string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = connectTimeout
	}
	if _, ok := cfg.ConnConfig.RuntimeParams["synchronous_commit"]; !ok {
		cfg.ConnConfig.RuntimeParams["synchronous_commit"] = "on"
	}
	if cfg.ConnConfig.RuntimeParams["application_name"] == "" {
		cfg.ConnConfig.RuntimeParams["application_name"] = "numauth"
	}
	cfg.PingTimeout = pingTimeout
	cfg.HealthCheckPeriod = 15 * time.Second
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", mapErr(err))
	}
	if err := migrate(ctx, pool); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: migrate: %w", mapErr(err))
	}
	s := &Store{pool: pool}
	if _, err := s.ensurePartitions(ctx, time.Now()); err != nil {
		pool.Close()
		return nil, err
	}
	return s, nil
}

// migrate applies the missing migrations in one transaction that first
// takes a transaction-scoped advisory lock keyed on the current schema: of
// several instances starting at once, one migrates while the others wait,
// then see its committed schema_migrations rows and apply nothing. The
// lock is released at commit or rollback, or if the connection dies.
func migrate(ctx context.Context, pool *pgxpool.Pool) error {
	ms, err := migrations.Load(migrationFS, "migrations")
	if err != nil {
		return err
	}
	return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		var schema *string
		if err := tx.QueryRow(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
			return err
		}
		if schema == nil {
			return errors.New("no schema in search_path exists")
		}
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('numauth.schema_migrations.' || $1, 0))`, *schema); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version    integer     PRIMARY KEY,
			name       text        NOT NULL,
			applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
			return err
		}
		var current int
		if err := tx.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
			return err
		}
		if current > len(ms) {
			return fmt.Errorf("database schema version %d is newer than this binary's %d", current, len(ms))
		}
		for _, m := range ms[current:] {
			if _, err := tx.Exec(ctx, m.SQL); err != nil {
				return fmt.Errorf("%s: %w", m.Name, err)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, name) VALUES ($1, $2)`, m.Version, m.Name); err != nil {
				return err
			}
		}
		return nil
	})
}

// mapErr turns pgx errors into the store's sentinel errors, keeping the
// original in the chain. An error the server sent is classified by its
// SQLSTATE; any other error (dial, I/O, timeout, closed pool, context) is
// a failure to reach the server and so ErrUnavailable.
func mapErr(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return store.ErrNotFound
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case pe.Code == "23505": // unique_violation
			return fmt.Errorf("%w: %w", store.ErrConflict, err)
		case strings.HasPrefix(pe.Code, "08"), // connection_exception
			strings.HasPrefix(pe.Code, "53"),                           // insufficient_resources
			pe.Code == "57P01", pe.Code == "57P02", pe.Code == "57P03", // shutdown, cannot_connect_now
			pe.Code == "57014", pe.Code == "25006", pe.Code == "40001", pe.Code == "40P01": // canceled, read-only, serialization, deadlock
			return fmt.Errorf("%w: %w", store.ErrUnavailable, err)
		}
		return err
	}
	return fmt.Errorf("%w: %w", store.ErrUnavailable, err)
}

func (s *Store) check() error {
	if s.closed.Load() {
		return errClosed
	}
	return nil
}

// read runs an idempotent read, retrying on another connection when the
// one it got turns out to be broken (the server restarted, say).
func (s *Store) read(ctx context.Context, f func() error) error {
	var err error
	for i := 0; i < readAttempts; i++ {
		if err = s.check(); err != nil {
			return err
		}
		raw := f()
		err = mapErr(raw)
		if !errors.Is(err, store.ErrUnavailable) || ctx.Err() != nil || isConnectError(raw) {
			return err
		}
	}
	return err
}

// isConnectError reports a failure to establish a connection: the server
// is down or unreachable, and retrying at once would only wait again.
func isConnectError(err error) bool {
	var ce *pgconn.ConnectError
	return errors.As(err, &ce)
}

// write runs one statement. It is retried only when pgconn says the
// failure happened before anything was sent, since a retried INSERT that
// had in fact committed would turn into a false ErrConflict.
func (s *Store) write(ctx context.Context, want1 bool, query string, args ...any) error {
	for i := 0; ; i++ {
		if err := s.check(); err != nil {
			return err
		}
		tag, err := s.pool.Exec(ctx, query, args...)
		if err != nil {
			if i < readAttempts-1 && pgconn.SafeToRetry(err) && !isConnectError(err) && ctx.Err() == nil {
				continue
			}
			return mapErr(err)
		}
		if want1 && tag.RowsAffected() == 0 {
			return store.ErrNotFound
		}
		return nil
	}
}

func utc(t time.Time) time.Time { return t.UTC() }

func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

const accessKeyCols = `id, account_id, sealed_secret, status, description, created_at`

func scanAccessKey(r pgx.Row) (store.AccessKey, error) {
	var k store.AccessKey
	err := r.Scan(&k.ID, &k.AccountID, &k.SealedSecret, &k.Status, &k.Description, &k.CreatedAt)
	k.CreatedAt = utc(k.CreatedAt)
	return k, err
}

// CreateAccessKey implements store.Durable.
func (s *Store) CreateAccessKey(ctx context.Context, k store.AccessKey) error {
	return s.write(ctx, false, `INSERT INTO access_keys (`+accessKeyCols+`) VALUES ($1,$2,$3,$4,$5,$6)`,
		k.ID, k.AccountID, nonNil(k.SealedSecret), string(k.Status), k.Description, k.CreatedAt)
}

// GetAccessKey implements store.Durable.
func (s *Store) GetAccessKey(ctx context.Context, id string) (k store.AccessKey, err error) {
	err = s.read(ctx, func() (err error) {
		k, err = scanAccessKey(s.pool.QueryRow(ctx, `SELECT `+accessKeyCols+` FROM access_keys WHERE id = $1`, id))
		return err
	})
	if err != nil {
		return store.AccessKey{}, err
	}
	return k, nil
}

// ListAccessKeys implements store.Durable.
func (s *Store) ListAccessKeys(ctx context.Context) ([]store.AccessKey, error) {
	return list(s, ctx, scanAccessKey, `SELECT `+accessKeyCols+` FROM access_keys ORDER BY created_at, id`)
}

// SetAccessKeyStatus implements store.Durable; ErrNotFound if absent.
func (s *Store) SetAccessKeyStatus(ctx context.Context, id string, st store.KeyStatus) error {
	return s.write(ctx, true, `UPDATE access_keys SET status = $1 WHERE id = $2`, string(st), id)
}

// schemeInsertCols are the columns every schema version has; a scheme with
// a fusion strategy (version 5) adds fusion_strategy.
const schemeInsertCols = `code, account_id, name, app_name, os_type, origin, url, pack_name, pack_sign,
	bundle_id, sms_sign_name, ip_white_list, email, created_at`

const schemeCols = schemeInsertCols + `, fusion_strategy`

func scanScheme(r pgx.Row) (store.Scheme, error) {
	var c store.Scheme
	err := r.Scan(&c.Code, &c.AccountID, &c.Name, &c.AppName, &c.OsType, &c.Origin, &c.URL, &c.PackName,
		&c.PackSign, &c.BundleID, &c.SmsSignName, &c.IPWhiteList, &c.Email, &c.CreatedAt, &c.FusionStrategy)
	c.CreatedAt = utc(c.CreatedAt)
	return c, err
}

// CreateScheme implements store.Durable. The unique index on (account_id,
// name) makes a taken name ErrNameConflict.
func (s *Store) CreateScheme(ctx context.Context, c store.Scheme) error {
	q := `INSERT INTO schemes (` + schemeInsertCols + `) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14)`
	args := []any{c.Code, c.AccountID, c.Name, c.AppName, c.OsType, c.Origin, c.URL, c.PackName, c.PackSign,
		c.BundleID, c.SmsSignName, c.IPWhiteList, c.Email, c.CreatedAt}
	if c.FusionStrategy != "" {
		q = `INSERT INTO schemes (` + schemeCols + `) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15)`
		args = append(args, c.FusionStrategy)
	}
	err := s.write(ctx, false, q, args...)
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.ConstraintName == "schemes_account_name" {
		return fmt.Errorf("%w: %w", store.ErrNameConflict, pe)
	}
	return err
}

// GetScheme implements store.Durable.
func (s *Store) GetScheme(ctx context.Context, code string) (c store.Scheme, err error) {
	err = s.read(ctx, func() (err error) {
		c, err = scanScheme(s.pool.QueryRow(ctx, `SELECT `+schemeCols+` FROM schemes WHERE code = $1`, code))
		return err
	})
	if err != nil {
		return store.Scheme{}, err
	}
	return c, nil
}

// ListSchemes implements store.Durable.
func (s *Store) ListSchemes(ctx context.Context, accountID string) ([]store.Scheme, error) {
	if accountID == "" {
		return list(s, ctx, scanScheme, `SELECT `+schemeCols+` FROM schemes ORDER BY created_at, code`)
	}
	return list(s, ctx, scanScheme, `SELECT `+schemeCols+` FROM schemes WHERE account_id = $1 ORDER BY created_at, code`, accountID)
}

// DeleteScheme implements store.Durable.
func (s *Store) DeleteScheme(ctx context.Context, code string) error {
	return s.write(ctx, true, `DELETE FROM schemes WHERE code = $1`, code)
}

const verificationCols = `id, account_id, scheme_code, kind, carrier, result, masked_phone, phone_hash,
	billable, latency_us, created_at`

// RecordVerifications implements store.Durable with one multi-row INSERT
// (one round trip, one commit) per call.
func (s *Store) RecordVerifications(ctx context.Context, vs []store.Verification) error {
	return s.WriteBatch(ctx, store.Batch{Verifications: vs})
}

// verificationArgs are the unnest arrays of verification records.
func verificationArgs(vs []store.Verification) []any {
	n := len(vs)
	var (
		ids, accounts, schemes, kinds, carriers = make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		results, masked, hashes                 = make([]string, n), make([]string, n), make([]string, n)
		billable                                = make([]bool, n)
		latency                                 = make([]int64, n)
		at                                      = make([]time.Time, n)
	)
	for i := range vs {
		v := &vs[i]
		ids[i], accounts[i], schemes[i], kinds[i], carriers[i] = v.ID, v.AccountID, v.SchemeCode, v.Kind, v.Carrier
		results[i], masked[i], hashes[i] = v.Result, v.MaskedPhone, v.PhoneHash
		billable[i], latency[i], at[i] = v.Billable, v.LatencyUS, v.CreatedAt
	}
	return []any{ids, accounts, schemes, kinds, carriers, results, masked, hashes, billable, latency, at}
}

// batchPart is one table's multi-row INSERT of a batch.
type batchPart struct {
	table, cols string
	types       []string // the unnest arrays' element types, one per column
	conflict    string   // appended to the INSERT, e.g. "ON CONFLICT (id) DO NOTHING"
	args        []any
}

// WriteBatch implements store.Durable as one statement (one round trip,
// one commit, all or none), which also upserts the hourly rollups: each
// table's multi-row INSERT is a
// data-modifying WITH of it, which PostgreSQL runs to completion whether
// or not the statement reads its output.
func (s *Store) WriteBatch(ctx context.Context, b store.Batch) error {
	if err := s.check(); err != nil {
		return err
	}
	var parts []batchPart
	if len(b.Verifications) > 0 {
		args := verificationArgs(b.Verifications)
		// The id table holds the ids' uniqueness (a partitioned table's
		// unique index would have to include the time).
		parts = append(parts, batchPart{"verification_ids", "id, created_at", []string{"text", "timestamptz"}, "",
			[]any{args[0], args[len(args)-1]}})
		parts = append(parts, batchPart{"verifications", verificationCols,
			[]string{"text", "text", "text", "text", "text", "text", "text", "text", "boolean", "bigint", "timestamptz"}, "", args})
	}
	if len(b.SmsSends) > 0 {
		args := smsSendArgs(b.SmsSends)
		parts = append(parts, batchPart{"sms_send_ids", "id, sent_at", []string{"text", "timestamptz"}, "",
			[]any{args[0], args[15]}})
		parts = append(parts, batchPart{"sms_sends", smsSendCols, smsSendTypes, "", args})
	}
	if len(b.Outbox) > 0 {
		parts = append(parts, batchPart{"sms_outbox", outboxCols, outboxTypes, "ON CONFLICT (id) DO NOTHING", outboxArgs(b.Outbox)})
	}
	if len(parts) == 0 {
		return nil
	}
	parts = append(parts, rollupParts(b)...)
	var q strings.Builder
	var args []any
	for i, p := range parts {
		if len(parts) > 1 {
			if i == 0 {
				q.WriteString("WITH ")
			} else {
				q.WriteString(", ")
			}
			fmt.Fprintf(&q, "p%d AS (", i)
		}
		fmt.Fprintf(&q, "INSERT INTO %s (%s) SELECT * FROM unnest(", p.table, p.cols)
		for j, typ := range p.types {
			if j > 0 {
				q.WriteString(", ")
			}
			fmt.Fprintf(&q, "$%d::%s[]", len(args)+j+1, typ)
		}
		q.WriteString(") " + p.conflict)
		if len(parts) > 1 {
			q.WriteString(")")
		}
		args = append(args, p.args...)
	}
	if len(parts) > 1 {
		q.WriteString(" SELECT 1")
	}
	return s.write(ctx, false, q.String(), args...)
}

// GetVerification implements store.Durable.
func (s *Store) GetVerification(ctx context.Context, id string) (v store.Verification, err error) {
	err = s.read(ctx, func() error {
		// The id table names the record's time, which prunes the search to
		// one partition.
		return s.pool.QueryRow(ctx, `SELECT `+verificationCols+` FROM verifications WHERE id = $1
			AND created_at = (SELECT created_at FROM verification_ids WHERE id = $1)`, id).Scan(
			&v.ID, &v.AccountID, &v.SchemeCode, &v.Kind, &v.Carrier, &v.Result, &v.MaskedPhone, &v.PhoneHash,
			&v.Billable, &v.LatencyUS, &v.CreatedAt)
	})
	if err != nil {
		return store.Verification{}, err
	}
	v.CreatedAt = utc(v.CreatedAt)
	return v, nil
}

func scanBillCount(r pgx.Row) (store.BillCount, error) {
	var b store.BillCount
	err := r.Scan(&b.Scheme, &b.Kind, &b.Count)
	return b, err
}

// scanDay reads a (yyyy-mm-dd, pass, reject, unknown) row.
func scanDay(r pgx.Row) (store.DayStat, error) {
	var d store.DayStat
	err := r.Scan(&d.Day, &d.Pass, &d.Reject, &d.Unknown)
	return d, err
}

const signingKeyCols = `id, use, alg, sealed, public, created_at, not_after`

// PutSigningKey implements store.Durable.
func (s *Store) PutSigningKey(ctx context.Context, k store.SigningKey) error {
	var notAfter *time.Time
	if !k.NotAfter.IsZero() {
		notAfter = &k.NotAfter
	}
	return s.write(ctx, false, `INSERT INTO signing_keys (`+signingKeyCols+`) VALUES ($1,$2,$3,$4,$5,$6,$7)`,
		k.ID, k.Use, k.Alg, nonNil(k.Sealed), k.Public, k.CreatedAt, notAfter)
}

// ListSigningKeys implements store.Durable.
func (s *Store) ListSigningKeys(ctx context.Context, use string) ([]store.SigningKey, error) {
	return list(s, ctx, func(r pgx.Row) (store.SigningKey, error) {
		var k store.SigningKey
		var notAfter *time.Time
		err := r.Scan(&k.ID, &k.Use, &k.Alg, &k.Sealed, &k.Public, &k.CreatedAt, &notAfter)
		k.CreatedAt = utc(k.CreatedAt)
		if notAfter != nil {
			k.NotAfter = notAfter.UTC()
		}
		return k, err
	}, `SELECT `+signingKeyCols+` FROM signing_keys WHERE use = $1 ORDER BY created_at, id`, use)
}

func list[T any](s *Store, ctx context.Context, scan func(pgx.Row) (T, error), query string, args ...any) ([]T, error) {
	var out []T
	err := s.read(ctx, func() error {
		out = out[:0]
		rows, err := s.pool.Query(ctx, query, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			v, err := scan(rows)
			if err != nil {
				return err
			}
			out = append(out, v)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Ping implements store.Durable: one round trip to the server.
func (s *Store) Ping(ctx context.Context) error {
	return s.read(ctx, func() error { return s.pool.Ping(ctx) })
}

// ProbeWrite implements store.Durable.
func (s *Store) ProbeWrite(ctx context.Context) error {
	return s.write(ctx, true, `UPDATE schema_migrations SET version = version WHERE version = (SELECT max(version) FROM schema_migrations)`)
}

// Close closes the pool; later calls fail with store.ErrUnavailable.
// Close is idempotent.
func (s *Store) Close() error {
	s.once.Do(func() {
		s.closed.Store(true)
		s.pool.Close()
	})
	return nil
}
