// Package sqlite is the default store.Durable: one SQLite file, through the
// pure-Go driver modernc.org/sqlite (no cgo, so the numauth binary builds
// without a C toolchain).
//
// Durability: the database runs in WAL mode with synchronous=FULL, so every
// commit fsyncs the WAL before it returns: a write that returned nil
// survives a crash of the process and of the machine. The fsync is paid
// once per transaction, which is why RecordVerifications takes a batch.
//
// Concurrency: SQLite allows one writer at a time, so all writes go through
// one connection (callers queue in database/sql, not in SQLite's busy
// loop) and every write transaction begins IMMEDIATE; reads use a small
// pool of read-only connections that WAL lets run beside the writer.
package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/numauth/numauth/internal/store"
	"github.com/numauth/numauth/internal/store/migrations"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

const (
	busyTimeout = 5 * time.Second
	readers     = 4
)

var errClosed = fmt.Errorf("%w: sqlite store is closed", store.ErrUnavailable)

// Store is a store.Durable on one SQLite file.
type Store struct {
	w, r   *sql.DB
	closed atomic.Bool
	once   sync.Once
	cerr   error

	insVerification *sql.Stmt // on w
	insSmsSend      *sql.Stmt // on w
	insOutbox       *sql.Stmt // on w
	getAccessKey    *sql.Stmt // on r
	getVerification *sql.Stmt // on r

	upVerificationHourly *sql.Stmt // on w
	upSmsHourly          *sql.Stmt // on w
	upVerificationMinute *sql.Stmt // on w
}

var _ store.Durable = (*Store)(nil)

func dsn(path string, write bool) string {
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeout.Milliseconds()))
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous(FULL)")
	if write {
		q.Add("_pragma", "journal_mode(WAL)")
		q.Set("_txlock", "immediate")
	} else {
		q.Add("_pragma", "query_only(1)")
	}
	return path + "?" + q.Encode()
}

// Open opens (creating if needed) the database at path and brings its
// schema up to date. The directory must exist. The database file and its
// -wal and -shm files are made readable by their owner only (0600).
func Open(ctx context.Context, path string) (*Store, error) {
	if path == "" || path == ":memory:" || strings.HasPrefix(path, "file:") {
		return nil, fmt.Errorf("sqlite: path %q: want a file path (each connection of the pool needs the same file)", path)
	}
	if strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("sqlite: path %q must not contain '?' or '#'", path)
	}
	if dir := filepath.Dir(path); dir != "" {
		if _, err := os.Stat(dir); err != nil {
			return nil, fmt.Errorf("%w: sqlite: %w", store.ErrUnavailable, err)
		}
	}
	if err := ownerOnly(path); err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	w, err := sql.Open("sqlite", dsn(path, true))
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	s := &Store{w: w}
	if err := migrateRetrying(ctx, w); err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite: migrate %s: %w", path, mapErr(err))
	}
	s.r, err = sql.Open("sqlite", dsn(path, false))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	s.r.SetMaxOpenConns(readers)
	s.r.SetMaxIdleConns(readers)
	s.r.SetConnMaxLifetime(0)
	s.r.SetConnMaxIdleTime(0)
	for _, p := range []struct {
		db   *sql.DB
		dst  **sql.Stmt
		stmt string
	}{
		{w, &s.insVerification, `INSERT INTO verifications (id, account_id, scheme_code, kind, carrier, result,
			masked_phone, phone_hash, billable, latency_us, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)`},
		{w, &s.insOutbox, `INSERT INTO sms_outbox (id, provider_id, recipient, sign_name, template_code, text, created_at)
			VALUES (?,?,?,?,?,?,?) ON CONFLICT (id) DO NOTHING`},
		{w, &s.insSmsSend, `INSERT INTO sms_sends (` + smsSendCols + `) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`},
		{s.r, &s.getAccessKey, `SELECT ` + accessKeyCols + ` FROM access_keys WHERE id = ?`},
		{s.r, &s.getVerification, `SELECT ` + verificationCols + ` FROM verifications WHERE id = ?`},
		{w, &s.upVerificationHourly, upsertVerificationHourly},
		{w, &s.upSmsHourly, upsertSmsHourly},
		{w, &s.upVerificationMinute, upsertVerificationMinutely},
	} {
		if *p.dst, err = p.db.PrepareContext(ctx, p.stmt); err != nil {
			s.Close()
			return nil, fmt.Errorf("sqlite: prepare: %w", mapErr(err))
		}
	}
	return s, nil
}

// fileMode is the mode of the database file and of its -wal and -shm files:
// they hold the sealed secrets and every verification record, so only the
// owner may read them, whatever the umask or the data directory's mode.
const fileMode = 0o600

// ownerOnly creates the database file with fileMode before SQLite opens it
// (SQLite creates a new file 0644 less the umask, and gives the -wal and
// -shm files the database file's mode), and takes group and other access
// away from the files of a database created before.
func ownerOnly(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, fileMode)
	if err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		if fi.Mode().Perm()&0o077 != 0 {
			if err := os.Chmod(p, fileMode); err != nil {
				return fmt.Errorf("restrict %s to its owner: %w", p, err)
			}
		}
	}
	return nil
}

// migrateRetrying runs migrate, again while it finds the file busy, for up
// to busyTimeout: a process that opens a new file at the moment another
// switches it to WAL gets SQLITE_BUSY at once, without the busy handler
// (SQLite does not wait for a journal mode change), and migrate reads the
// schema version afresh in each attempt.
func migrateRetrying(ctx context.Context, db *sql.DB) error {
	deadline := time.Now().Add(busyTimeout)
	for {
		err := migrate(ctx, db)
		var se *sqlite.Error
		if err == nil || !errors.As(err, &se) || se.Code()&0xff != sqlite3.SQLITE_BUSY || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// migrate applies the missing migrations in one IMMEDIATE transaction, so
// that processes opening the same file at once apply each exactly once.
func migrate(ctx context.Context, db *sql.DB) error {
	ms, err := migrations.Load(migrationFS, "migrations")
	if err != nil {
		return err
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER NOT NULL PRIMARY KEY,
		name       TEXT    NOT NULL,
		applied_at INTEGER NOT NULL)`); err != nil {
		return err
	}
	var current int
	if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
		return err
	}
	if current > len(ms) {
		return fmt.Errorf("database schema version %d is newer than this binary's %d", current, len(ms))
	}
	for _, m := range ms[current:] {
		if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
			return fmt.Errorf("%s: %w", m.Name, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
			m.Version, m.Name, time.Now().UnixMicro()); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// mapErr turns driver errors into the store's sentinel errors, keeping the
// original in the chain.
func mapErr(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return store.ErrNotFound
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY, sqlite3.SQLITE_CONSTRAINT_UNIQUE:
			return fmt.Errorf("%w: %w", store.ErrConflict, err)
		}
		switch se.Code() & 0xff {
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_CANTOPEN,
			sqlite3.SQLITE_FULL, sqlite3.SQLITE_READONLY, sqlite3.SQLITE_NOMEM, sqlite3.SQLITE_INTERRUPT,
			sqlite3.SQLITE_PROTOCOL, sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_PERM:
			return fmt.Errorf("%w: %w", store.ErrUnavailable, err)
		}
		return err
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, sql.ErrConnDone) || errors.Is(err, driver.ErrBadConn) ||
		strings.Contains(err.Error(), "sql: database is closed") || strings.Contains(err.Error(), "sql: statement is closed") {
		return fmt.Errorf("%w: %w", store.ErrUnavailable, err)
	}
	return err
}

func micros(t time.Time) int64 { return t.UnixMicro() }

func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }

func nullMicros(t time.Time) sql.NullInt64 {
	if t.IsZero() {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: t.UnixMicro(), Valid: true}
}

func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

func (s *Store) check() error {
	if s.closed.Load() {
		return errClosed
	}
	return nil
}

// exec runs one auto-committed write; want1 makes "no row affected" ErrNotFound.
func (s *Store) exec(ctx context.Context, want1 bool, query string, args ...any) error {
	if err := s.check(); err != nil {
		return err
	}
	res, err := s.w.ExecContext(ctx, query, args...)
	if err != nil {
		return mapErr(err)
	}
	if want1 {
		n, err := res.RowsAffected()
		if err != nil {
			return mapErr(err)
		}
		if n == 0 {
			return store.ErrNotFound
		}
	}
	return nil
}

const accessKeyCols = `id, account_id, sealed_secret, status, description, created_at`

type scanner interface{ Scan(...any) error }

func scanAccessKey(r scanner) (store.AccessKey, error) {
	var k store.AccessKey
	var at int64
	err := r.Scan(&k.ID, &k.AccountID, &k.SealedSecret, &k.Status, &k.Description, &at)
	k.CreatedAt = fromMicros(at)
	return k, err
}

// CreateAccessKey implements store.Durable.
func (s *Store) CreateAccessKey(ctx context.Context, k store.AccessKey) error {
	return s.exec(ctx, false, `INSERT INTO access_keys (`+accessKeyCols+`) VALUES (?,?,?,?,?,?)`,
		k.ID, k.AccountID, nonNil(k.SealedSecret), string(k.Status), k.Description, micros(k.CreatedAt))
}

// GetAccessKey implements store.Durable.
func (s *Store) GetAccessKey(ctx context.Context, id string) (store.AccessKey, error) {
	if err := s.check(); err != nil {
		return store.AccessKey{}, err
	}
	k, err := scanAccessKey(s.getAccessKey.QueryRowContext(ctx, id))
	if err != nil {
		return store.AccessKey{}, mapErr(err)
	}
	return k, nil
}

// ListAccessKeys implements store.Durable.
func (s *Store) ListAccessKeys(ctx context.Context) ([]store.AccessKey, error) {
	return list(s, ctx, scanAccessKey, `SELECT `+accessKeyCols+` FROM access_keys ORDER BY created_at, id`)
}

// SetAccessKeyStatus implements store.Durable; ErrNotFound if absent.
func (s *Store) SetAccessKeyStatus(ctx context.Context, id string, st store.KeyStatus) error {
	return s.exec(ctx, true, `UPDATE access_keys SET status = ? WHERE id = ?`, string(st), id)
}

// schemeInsertCols are the columns every schema version has; a scheme with
// a fusion strategy (version 5) adds fusion_strategy.
const schemeInsertCols = `code, account_id, name, app_name, os_type, origin, url, pack_name, pack_sign,
	bundle_id, sms_sign_name, ip_white_list, email, created_at`

const schemeCols = schemeInsertCols + `, fusion_strategy`

func scanScheme(r scanner) (store.Scheme, error) {
	var c store.Scheme
	var at int64
	err := r.Scan(&c.Code, &c.AccountID, &c.Name, &c.AppName, &c.OsType, &c.Origin, &c.URL, &c.PackName,
		&c.PackSign, &c.BundleID, &c.SmsSignName, &c.IPWhiteList, &c.Email, &at, &c.FusionStrategy)
	c.CreatedAt = fromMicros(at)
	return c, err
}

// CreateScheme implements store.Durable. The unique index on (account_id,
// name) makes a taken name ErrNameConflict.
func (s *Store) CreateScheme(ctx context.Context, c store.Scheme) error {
	q := `INSERT INTO schemes (` + schemeInsertCols + `) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)`
	args := []any{c.Code, c.AccountID, c.Name, c.AppName, c.OsType, c.Origin, c.URL, c.PackName, c.PackSign,
		c.BundleID, c.SmsSignName, c.IPWhiteList, c.Email, micros(c.CreatedAt)}
	if c.FusionStrategy != "" {
		q = `INSERT INTO schemes (` + schemeCols + `) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`
		args = append(args, c.FusionStrategy)
	}
	err := s.exec(ctx, false, q, args...)
	// SQLite names the index's columns: "UNIQUE constraint failed: schemes.account_id, schemes.name".
	var se *sqlite.Error
	if errors.As(err, &se) && strings.Contains(se.Error(), "schemes.name") {
		return fmt.Errorf("%w: %w", store.ErrNameConflict, se)
	}
	return err
}

// GetScheme implements store.Durable.
func (s *Store) GetScheme(ctx context.Context, code string) (store.Scheme, error) {
	if err := s.check(); err != nil {
		return store.Scheme{}, err
	}
	c, err := scanScheme(s.r.QueryRowContext(ctx, `SELECT `+schemeCols+` FROM schemes WHERE code = ?`, code))
	if err != nil {
		return store.Scheme{}, mapErr(err)
	}
	return c, nil
}

// ListSchemes implements store.Durable.
func (s *Store) ListSchemes(ctx context.Context, accountID string) ([]store.Scheme, error) {
	if accountID == "" {
		return list(s, ctx, scanScheme, `SELECT `+schemeCols+` FROM schemes ORDER BY created_at, code`)
	}
	return list(s, ctx, scanScheme, `SELECT `+schemeCols+` FROM schemes WHERE account_id = ? ORDER BY created_at, code`, accountID)
}

// DeleteScheme implements store.Durable.
func (s *Store) DeleteScheme(ctx context.Context, code string) error {
	return s.exec(ctx, true, `DELETE FROM schemes WHERE code = ?`, code)
}

const verificationCols = `id, account_id, scheme_code, kind, carrier, result, masked_phone, phone_hash,
	billable, latency_us, created_at`

// RecordVerifications implements store.Durable: one IMMEDIATE transaction
// (one fsync) per call, one prepared insert per record.
func (s *Store) RecordVerifications(ctx context.Context, vs []store.Verification) error {
	return s.WriteBatch(ctx, store.Batch{Verifications: vs})
}

func verificationRow(v *store.Verification) (string, []any) {
	return "verification " + strconv.Quote(v.ID), []any{v.ID, v.AccountID, v.SchemeCode, v.Kind, v.Carrier, v.Result,
		v.MaskedPhone, v.PhoneHash, v.Billable, v.LatencyUS, micros(v.CreatedAt)}
}

// WriteBatch implements store.Durable: one transaction, all or none, which
// also adds the records to the hourly rollups.
func (s *Store) WriteBatch(ctx context.Context, b store.Batch) error {
	if err := s.check(); err != nil {
		return err
	}
	if len(b.Verifications)+len(b.SmsSends)+len(b.Outbox) == 0 {
		return nil
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return mapErr(err)
	}
	defer tx.Rollback()
	if err := insertEach(ctx, tx, s.insVerification, b.Verifications, verificationRow); err != nil {
		return err
	}
	if err := insertEach(ctx, tx, s.insSmsSend, b.SmsSends, smsSendRow); err != nil {
		return err
	}
	if err := insertEach(ctx, tx, s.insOutbox, b.Outbox, outboxRow); err != nil {
		return err
	}
	if err := s.rollUp(ctx, tx, b); err != nil {
		return err
	}
	return mapErr(tx.Commit())
}

// insertEach runs the prepared insert ins in tx once per record; row gives
// a record's name (for the error) and its arguments.
func insertEach[T any](ctx context.Context, tx *sql.Tx, ins *sql.Stmt, recs []T, row func(*T) (string, []any)) error {
	if len(recs) == 0 {
		return nil
	}
	st := tx.StmtContext(ctx, ins)
	for i := range recs {
		name, args := row(&recs[i])
		if _, err := st.ExecContext(ctx, args...); err != nil {
			return fmt.Errorf("%s: %w", name, mapErr(err))
		}
	}
	return nil
}

// GetVerification implements store.Durable.
func (s *Store) GetVerification(ctx context.Context, id string) (store.Verification, error) {
	if err := s.check(); err != nil {
		return store.Verification{}, err
	}
	var v store.Verification
	var at int64
	err := s.getVerification.QueryRowContext(ctx, id).Scan(&v.ID, &v.AccountID, &v.SchemeCode, &v.Kind,
		&v.Carrier, &v.Result, &v.MaskedPhone, &v.PhoneHash, &v.Billable, &v.LatencyUS, &at)
	if err != nil {
		return store.Verification{}, mapErr(err)
	}
	v.CreatedAt = fromMicros(at)
	return v, nil
}

const usPerDay = 86400 * 1_000_000

func scanBillCount(r scanner) (store.BillCount, error) {
	var b store.BillCount
	err := r.Scan(&b.Scheme, &b.Kind, &b.Count)
	return b, err
}

// scanDay reads a (day number, pass, reject, unknown) row.
func scanDay(r scanner) (store.DayStat, error) {
	var d store.DayStat
	var day int64
	err := r.Scan(&day, &d.Pass, &d.Reject, &d.Unknown)
	d.Day = time.Unix(day*86400, 0).UTC().Format(time.DateOnly)
	return d, err
}

const signingKeyCols = `id, use, alg, sealed, public, created_at, not_after`

// PutSigningKey implements store.Durable.
func (s *Store) PutSigningKey(ctx context.Context, k store.SigningKey) error {
	return s.exec(ctx, false, `INSERT INTO signing_keys (`+signingKeyCols+`) VALUES (?,?,?,?,?,?,?)`,
		k.ID, k.Use, k.Alg, nonNil(k.Sealed), k.Public, micros(k.CreatedAt), nullMicros(k.NotAfter))
}

// ListSigningKeys implements store.Durable.
func (s *Store) ListSigningKeys(ctx context.Context, use string) ([]store.SigningKey, error) {
	return list(s, ctx, func(r scanner) (store.SigningKey, error) {
		var k store.SigningKey
		var at int64
		var na sql.NullInt64
		err := r.Scan(&k.ID, &k.Use, &k.Alg, &k.Sealed, &k.Public, &at, &na)
		k.CreatedAt = fromMicros(at)
		if na.Valid {
			k.NotAfter = fromMicros(na.Int64)
		}
		return k, err
	}, `SELECT `+signingKeyCols+` FROM signing_keys WHERE use = ? ORDER BY created_at, id`, use)
}

func list[T any](s *Store, ctx context.Context, scan func(scanner) (T, error), query string, args ...any) ([]T, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	rows, err := s.r.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, mapErr(err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, mapErr(err)
		}
		out = append(out, v)
	}
	return out, mapErr(rows.Err())
}

// Ping implements store.Durable: it reads the schema version from the file.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.check(); err != nil {
		return err
	}
	var v int
	return mapErr(s.r.QueryRowContext(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&v))
}

// ProbeWrite implements store.Durable.
func (s *Store) ProbeWrite(ctx context.Context) error {
	return s.exec(ctx, true, `UPDATE schema_migrations SET version = version WHERE version = (SELECT max(version) FROM schema_migrations)`)
}

// Close closes the database; later calls fail with store.ErrUnavailable.
// Close is idempotent.
func (s *Store) Close() error {
	s.once.Do(func() {
		s.closed.Store(true)
		var errs []error
		for _, st := range []*sql.Stmt{s.insVerification, s.insSmsSend, s.insOutbox, s.getAccessKey, s.getVerification,
			s.upVerificationHourly, s.upSmsHourly, s.upVerificationMinute} {
			if st != nil {
				errs = append(errs, st.Close())
			}
		}
		if s.r != nil {
			errs = append(errs, s.r.Close())
		}
		errs = append(errs, s.w.Close())
		s.cerr = errors.Join(errs...)
	})
	return s.cerr
}
