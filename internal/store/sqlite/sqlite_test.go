package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/numauth/numauth/internal/store"
	"github.com/numauth/numauth/internal/store/migrations"
	"github.com/numauth/numauth/internal/store/storetest"
)

func open(t testing.TB) *Store {
	t.Helper()
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "numauth.db"))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

func TestConformance(t *testing.T) {
	storetest.RunDurable(t, func(t *testing.T) store.Durable { return open(t) })
}

func TestPragmas(t *testing.T) {
	s := open(t)
	defer s.Close()
	ctx := context.Background()
	for _, db := range []struct {
		name string
		db   *sql.DB
	}{{"writer", s.w}, {"reader", s.r}} {
		var mode string
		var sync, fk, busy int
		c, err := db.db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for q, dst := range map[string]any{"PRAGMA journal_mode": &mode, "PRAGMA synchronous": &sync,
			"PRAGMA foreign_keys": &fk, "PRAGMA busy_timeout": &busy} {
			if err := c.QueryRowContext(ctx, q).Scan(dst); err != nil {
				t.Fatalf("%s %s: %v", db.name, q, err)
			}
		}
		c.Close()
		if mode != "wal" || sync != 2 || fk != 1 || busy != 5000 {
			t.Errorf("%s: journal_mode=%s synchronous=%d foreign_keys=%d busy_timeout=%d; want wal 2(FULL) 1 5000",
				db.name, mode, sync, fk, busy)
		}
	}
}

func TestReopenKeepsDataAndSchema(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "numauth.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	k := store.AccessKey{ID: "k", AccountID: "a", SealedSecret: []byte("s"), Status: store.KeyActive, CreatedAt: time.Now()}
	if err := s.CreateAccessKey(ctx, k); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = Open(ctx, path)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s.Close()
	if _, err := s.GetAccessKey(ctx, "k"); err != nil {
		t.Fatalf("after reopen: %v", err)
	}
	ms, err := migrations.Load(migrationFS, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := s.r.QueryRow(`SELECT count(*) FROM schema_migrations`).Scan(&n); err != nil || n != len(ms) {
		t.Fatalf("schema_migrations rows = %d, %v; want %d (one per migration, each applied once)", n, err, len(ms))
	}
}

func TestConcurrentOpen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "numauth.db")
	var wg sync.WaitGroup
	stores := make([]*Store, 4)
	errs := make([]error, 4)
	for i := range stores {
		wg.Add(1)
		go func() {
			defer wg.Done()
			stores[i], errs[i] = Open(ctx, path)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("Open %d: %v", i, err)
		}
		defer stores[i].Close()
	}
	// Writes from every handle land in the one file.
	for i, s := range stores {
		v := store.Verification{ID: fmt.Sprint("v", i), AccountID: "a", Result: "PASS", CreatedAt: time.Now()}
		if err := s.RecordVerifications(ctx, []store.Verification{v}); err != nil {
			t.Fatalf("RecordVerifications via handle %d: %v", i, err)
		}
	}
	for i := range stores {
		if _, err := stores[0].GetVerification(ctx, fmt.Sprint("v", i)); err != nil {
			t.Fatal(err)
		}
	}
}

func TestNewerSchemaRefused(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "numauth.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.w.Exec(`INSERT INTO schema_migrations VALUES (999, '0999_future.sql', 0)`); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if s, err := Open(ctx, path); err == nil {
		s.Close()
		t.Fatal("Open of a database with a newer schema succeeded")
	}
}

func TestOpenMissingDir(t *testing.T) {
	_, err := Open(context.Background(), filepath.Join(t.TempDir(), "no", "such", "dir", "x.db"))
	if !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("Open in a missing directory: %v, want ErrUnavailable", err)
	}
}

func TestCanceledContext(t *testing.T) {
	s := open(t)
	defer s.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := s.RecordVerifications(ctx, []store.Verification{{ID: "v", CreatedAt: time.Now()}})
	if !errors.Is(err, store.ErrUnavailable) || !errors.Is(err, context.Canceled) {
		t.Fatalf("RecordVerifications with a canceled context: %v, want ErrUnavailable wrapping context.Canceled", err)
	}
	if _, err := s.GetVerification(context.Background(), "v"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("after a canceled write: %v, want ErrNotFound", err)
	}
}

func benchRecord(b *testing.B, batch int) {
	s := open(b)
	defer s.Close()
	storetest.BenchRecordVerifications(b, s, batch)
}

// One op is one RecordVerifications call (one transaction, one fsync).
func BenchmarkRecordVerifications1(b *testing.B)  { benchRecord(b, 1) }
func BenchmarkRecordVerifications64(b *testing.B) { benchRecord(b, 64) }

func BenchmarkGetAccessKey(b *testing.B) {
	s := open(b)
	defer s.Close()
	storetest.BenchGetAccessKey(b, s)
}

func TestOpenRejectsNonFilePaths(t *testing.T) {
	for _, p := range []string{"", ":memory:", "file:x.db?mode=memory", "a?b.db"} {
		if s, err := Open(context.Background(), p); err == nil {
			s.Close()
			t.Errorf("Open(%q) succeeded", p)
		}
	}
}

// TestFileModes: the database and its -wal and -shm files are 0600 whatever
// the data directory's mode and the umask, for a new database and for one
// whose files an older numauth left 0644.
func TestFileModes(t *testing.T) {
	for _, tc := range []struct {
		name     string
		existing bool // files are there, 0644, before Open
	}{
		{"new database", false},
		{"existing 0644 files", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.Chmod(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, "numauth.db")
			if tc.existing {
				s, err := Open(context.Background(), path)
				if err != nil {
					t.Fatal(err)
				}
				s.Close()
				for _, p := range []string{path, path + "-wal", path + "-shm"} {
					if err := os.WriteFile(p, nil, 0o644); err != nil && !errors.Is(err, fs.ErrExist) {
						t.Fatal(err)
					}
					if err := os.Chmod(p, 0o644); err != nil {
						t.Fatal(err)
					}
				}
			}
			s, err := Open(context.Background(), path)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			// A write makes SQLite create (or reuse) the -wal and -shm files.
			k := store.AccessKey{ID: "k", AccountID: "a", SealedSecret: []byte("s"), Status: store.KeyActive, CreatedAt: time.Now()}
			if err := s.CreateAccessKey(context.Background(), k); err != nil {
				t.Fatal(err)
			}
			for _, p := range []string{path, path + "-wal", path + "-shm"} {
				fi, err := os.Stat(p)
				if err != nil {
					t.Fatalf("%s: %v", filepath.Base(p), err)
				}
				if got := fi.Mode().Perm(); got != 0o600 {
					t.Errorf("%s has mode %#o, want 0600", filepath.Base(p), got)
				}
			}
		})
	}
}

func TestSchemeNameMigration(t *testing.T) {
	path := filepath.Join(t.TempDir(), "numauth.db")
	s, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	storetest.RunSchemeNameMigration(t, s, func() error {
		_, err := s.w.Exec(`DROP INDEX schemes_account_name; DROP TABLE sms_sends; DROP TABLE sms_outbox; DROP TABLE oauth_clients; DROP TABLE console_users; DROP TABLE audit_log; ALTER TABLE schemes DROP COLUMN fusion_strategy; DROP TABLE verification_hourly; DROP TABLE sms_hourly; DROP TABLE verification_minutely; DROP INDEX verifications_created; DELETE FROM schema_migrations WHERE version >= 2`)
		return err
	}, func() store.Durable {
		s, err := Open(context.Background(), path)
		if err != nil {
			t.Fatalf("reopen: %v", err)
		}
		return s
	})
}

// backfillStatements are the INSERT … SELECT statements of a rollup
// migration (0006_hourly_rollups.sql when file is ""), which roll up the
// records stored before it; the file must have want of them.
func backfillStatements(t testing.TB, file string, want int) []string {
	t.Helper()
	if file == "" {
		file, want = "0006_hourly_rollups.sql", 2
	}
	b, err := migrationFS.ReadFile("migrations/" + file)
	if err != nil {
		t.Fatal(err)
	}
	var code []string
	for _, l := range strings.Split(string(b), "\n") {
		if i := strings.Index(l, "--"); i >= 0 {
			l = l[:i]
		}
		code = append(code, l)
	}
	var out []string
	for _, st := range strings.Split(strings.Join(code, "\n"), ";") {
		if strings.Contains(st, "INSERT INTO") {
			out = append(out, st)
		}
	}
	if len(out) != want {
		t.Fatalf("found %d backfill statements in %s, want %d", len(out), file, want)
	}
	return out
}

func TestRollupBackfill(t *testing.T) {
	s := open(t)
	defer s.Close()
	storetest.RunRollupBackfill(t, s, func() error {
		stmts := append([]string{`DELETE FROM verification_hourly`, `DELETE FROM sms_hourly`}, backfillStatements(t, "", 0)...)
		for _, st := range stmts {
			if _, err := s.w.Exec(st); err != nil {
				return fmt.Errorf("%s: %w", st, err)
			}
		}
		return nil
	})
}

// TestMinuteBackfill: migration 0009's backfill rolls up the records of
// the last 48 hours per minute as the store does as it writes them.
func TestMinuteBackfill(t *testing.T) {
	s := open(t)
	defer s.Close()
	storetest.RunMinuteBackfill(t, s, func() error {
		stmts := append([]string{`DELETE FROM verification_minutely`}, backfillStatements(t, "0009_minute_rollups.sql", 1)...)
		for _, st := range stmts {
			if _, err := s.w.Exec(st); err != nil {
				return fmt.Errorf("%s: %w", st, err)
			}
		}
		return nil
	})
}

// TestRetentionBatches: SQLite deletes exactly the records before the
// cutoff, in several batches when there are more than deleteBatch.
func TestRetentionBatches(t *testing.T) {
	s := open(t)
	defer s.Close()
	ctx := context.Background()
	now := time.Date(2026, 6, 15, 12, 0, 0, 0, time.UTC)
	cutoff := now.Add(-24 * time.Hour)
	const old = 2*deleteBatch + 17
	// Generated in SQL, like the benchmarks' records: old ones a second
	// apart, ending 1µs before the cutoff.
	if _, err := s.w.ExecContext(ctx, `WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < ?)
		INSERT INTO verifications (id, account_id, scheme_code, kind, carrier, result, masked_phone, phone_hash,
			billable, latency_us, created_at)
		SELECT 'old-' || i, 'a', 'FC1', 'verify', 'CM', 'PASS', '', '', 1, 0, ? - 1 - i * 1000000 FROM n`,
		old, micros(cutoff)); err != nil {
		t.Fatal(err)
	}
	keep := []store.Verification{{ID: "at-cutoff", Result: "PASS", CreatedAt: cutoff}, {ID: "now", Result: "PASS", CreatedAt: now}}
	if err := s.RecordVerifications(ctx, keep); err != nil {
		t.Fatal(err)
	}
	rep, err := s.Maintain(ctx, now, 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Deleted != old {
		t.Errorf("Maintain deleted %d records, want %d", rep.Deleted, old)
	}
	for _, v := range keep {
		if _, err := s.GetVerification(ctx, v.ID); err != nil {
			t.Errorf("%s after retention: %v", v.ID, err)
		}
	}
	if _, err := s.GetVerification(ctx, "old-0"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the newest record before the cutoff after retention: %v, want ErrNotFound", err)
	}
}

// loadStatsBench fills s with n verification records, generated in SQL (a
// recursive CTE, one statement), and rolls them up with the rollup
// migration's backfill.
func loadStatsBench(b *testing.B, s *Store, n int) {
	b.Helper()
	start := time.Now()
	step := int64(storetest.StatsBenchDays) * 86400 * 1_000_000 / int64(n)
	if _, err := s.w.Exec(`WITH RECURSIVE g(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM g WHERE i + 1 < ?)
		INSERT INTO verifications (id, account_id, scheme_code, kind, carrier, result, masked_phone, phone_hash,
			billable, latency_us, created_at)
		SELECT printf('%016x', i), 'acct-' || (i % 2), 'FC' || (i % 10), CASE WHEN i % 3 = 0 THEN 'login' ELSE 'verify' END,
			CASE i % 3 WHEN 0 THEN 'CM' WHEN 1 THEN 'CU' ELSE 'CT' END,
			CASE WHEN i % 10 < 8 THEN 'PASS' WHEN i % 10 = 8 THEN 'REJECT' ELSE 'UNKNOWN' END,
			'138****5678', 'h', i % 5 > 0, 20000 + (i % 97) * 3000, ? + i * ? FROM g`,
		n, micros(storetest.StatsBenchStart), step); err != nil {
		b.Fatal(err)
	}
	for _, st := range backfillStatements(b, "", 0) {
		if _, err := s.w.Exec(st); err != nil {
			b.Fatal(err)
		}
	}
	b.Logf("loaded %d records in %v", n, time.Since(start).Round(time.Millisecond))
}

func BenchmarkStats(b *testing.B) { benchStats(b, storetest.StatsBenchSizes) }

// BenchmarkStatsLarge is BenchmarkStats at 1e7 records: minutes to load.
func BenchmarkStatsLarge(b *testing.B) { benchStats(b, []int{10_000_000}) }

func benchStats(b *testing.B, sizes []int) {
	for _, n := range sizes {
		b.Run(storetest.SizeName(n), func(b *testing.B) {
			s := open(b)
			defer s.Close()
			loadStatsBench(b, s, n)
			storetest.BenchStats(b, s, func(ctx context.Context, f store.VerificationFilter) (int, error) {
				// The statistics query before the rollups: a scan of the
				// covering index verifications_stats.
				rows, err := s.r.QueryContext(ctx, `SELECT `+dayExpr("created_at")+` AS day,
					sum(result = 'PASS'), sum(result = 'REJECT'), sum(result = 'UNKNOWN')
					FROM verifications WHERE account_id = ? AND created_at >= ? AND created_at < ?
					AND result IN ('PASS', 'REJECT', 'UNKNOWN') GROUP BY day ORDER BY day`,
					f.AccountID, micros(f.From), micros(f.To))
				if err != nil {
					return 0, err
				}
				defer rows.Close()
				days := 0
				for rows.Next() {
					days++
				}
				return days, rows.Err()
			})
		})
	}
}
