package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/numauth/numauth/internal/store"
	"github.com/numauth/numauth/internal/store/migrations"
	"github.com/numauth/numauth/internal/store/storetest"
)

const defaultDSN = "postgres://root@127.0.0.1:5432/test?sslmode=disable"

func baseDSN() string {
	if v := os.Getenv("NUMAUTH_TEST_POSTGRES"); v != "" {
		return v
	}
	return defaultDSN
}

var (
	reachOnce sync.Once
	reachErr  error
)

// admin connects to the test server, or skips the test when it is not
// reachable.
func admin(t testing.TB) *pgx.Conn {
	t.Helper()
	reachOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, baseDSN())
		if err == nil {
			c.Close(ctx)
		}
		reachErr = err
	})
	if reachErr != nil {
		t.Skipf("PostgreSQL not reachable at NUMAUTH_TEST_POSTGRES=%q (%v); start it, e.g. "+
			"`pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`, or point "+
			"NUMAUTH_TEST_POSTGRES at a server (trust auth, database test)", baseDSN(), reachErr)
	}
	c, err := pgx.Connect(context.Background(), baseDSN())
	if err != nil {
		t.Fatalf("connect %s: %v", baseDSN(), err)
	}
	return c
}

// freshSchema creates an empty schema, dropped when the test ends, and
// returns a DSN whose search_path is that schema.
func freshSchema(t testing.TB) (dsn, schema string) {
	t.Helper()
	c := admin(t)
	defer c.Close(context.Background())
	b := make([]byte, 6)
	rand.Read(b)
	schema = "numauth_test_" + hex.EncodeToString(b)
	if _, err := c.Exec(context.Background(), `CREATE SCHEMA `+schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		c := admin(t)
		defer c.Close(context.Background())
		if _, err := c.Exec(context.Background(), `DROP SCHEMA `+schema+` CASCADE`); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	return withParams(t, baseDSN(), "search_path", schema, "application_name", schema), schema
}

func withParams(t testing.TB, dsn string, kv ...string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatalf("NUMAUTH_TEST_POSTGRES must be a URL: %v", err)
	}
	q := u.Query()
	for i := 0; i < len(kv); i += 2 {
		q.Set(kv[i], kv[i+1])
	}
	u.RawQuery = q.Encode()
	return u.String()
}

func open(t testing.TB) *Store {
	t.Helper()
	dsn, _ := freshSchema(t)
	s, err := Open(context.Background(), dsn)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

func TestConformance(t *testing.T) {
	storetest.RunDurable(t, func(t *testing.T) store.Durable { return open(t) })
}

func TestConcurrentOpenMigratesOnce(t *testing.T) {
	dsn, schema := freshSchema(t)
	const n = 6
	var wg sync.WaitGroup
	stores, errs := make([]*Store, n), make([]error, n)
	for i := range stores {
		wg.Add(1)
		go func() {
			defer wg.Done()
			stores[i], errs[i] = Open(context.Background(), dsn)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("Open %d: %v", i, err)
		}
		defer stores[i].Close()
	}
	c := admin(t)
	defer c.Close(context.Background())
	var rows int
	if err := c.QueryRow(context.Background(), `SELECT count(*) FROM `+schema+`.schema_migrations`).Scan(&rows); err != nil {
		t.Fatal(err)
	}
	ms, err := migrations.Load(migrationFS, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	if want := len(ms); rows != want {
		t.Fatalf("schema_migrations has %d rows, want %d (one per migration, each applied once)", rows, want)
	}
	// All instances see each other's writes.
	ctx := context.Background()
	for i, s := range stores {
		if err := s.RecordVerifications(ctx, []store.Verification{{ID: fmt.Sprint("v", i), Result: "PASS", CreatedAt: time.Now()}}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range stores {
		if _, err := stores[0].GetVerification(ctx, fmt.Sprint("v", i)); err != nil {
			t.Fatal(err)
		}
	}
}

func TestSchemeNameMigration(t *testing.T) {
	dsn, _ := freshSchema(t)
	openDSN := func() store.Durable {
		s, err := Open(context.Background(), dsn)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		return s
	}
	s := openDSN().(*Store)
	storetest.RunSchemeNameMigration(t, s, func() error {
		// Version 7 partitioned verifications: back to version 1's table.
		_, err := s.pool.Exec(context.Background(), `DROP INDEX schemes_account_name; DROP TABLE sms_sends; DROP TABLE sms_outbox; DROP TABLE oauth_clients; DROP TABLE console_users; DROP TABLE audit_log; ALTER TABLE schemes DROP COLUMN fusion_strategy; DROP TABLE verification_hourly; DROP TABLE sms_hourly; DROP TABLE verification_minutely; DROP TABLE verifications; DROP TABLE verification_ids; DROP TABLE sms_send_ids; DELETE FROM schema_migrations WHERE version >= 2`)
		if err != nil {
			return err
		}
		for _, st := range migrationStatements(t, "0001_init.sql") {
			if strings.Contains(st, "verifications") {
				if _, err := s.pool.Exec(context.Background(), st); err != nil {
					return err
				}
			}
		}
		return nil
	}, openDSN)
}

func TestUnreachable(t *testing.T) {
	admin(t).Close(context.Background()) // skip together with the others
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := Open(ctx, "postgres://root@127.0.0.1:1/test?sslmode=disable&connect_timeout=2")
	if !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("Open of a closed port: %v, want ErrUnavailable", err)
	}
}

// TestRecoversFromLostConnections kills every server backend of the pool
// (as a server restart would) and checks that the store works again
// without being reopened; any failure in between is ErrUnavailable.
func TestRecoversFromLostConnections(t *testing.T) {
	dsn, schema := freshSchema(t)
	ctx := context.Background()
	s, err := Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	k := store.AccessKey{ID: "k", AccountID: "a", SealedSecret: []byte("x"), Status: store.KeyActive, CreatedAt: time.Now()}
	if err := s.CreateAccessKey(ctx, k); err != nil {
		t.Fatal(err)
	}
	// Fill the pool with several connections.
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); _, _ = s.GetAccessKey(ctx, "k") }()
	}
	wg.Wait()

	for round := 0; round < 3; round++ {
		c := admin(t)
		var killed int
		err := c.QueryRow(ctx, `SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity
			WHERE application_name = $1 AND pid <> pg_backend_pid()) t`, schema).Scan(&killed)
		c.Close(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if killed == 0 {
			t.Fatal("no backend of the store's pool found to terminate")
		}
		okRead, okWrite := false, false
		for i := 0; i < 10 && !(okRead && okWrite); i++ {
			if _, err := s.GetAccessKey(ctx, "k"); err == nil {
				okRead = true
			} else if !errors.Is(err, store.ErrUnavailable) {
				t.Fatalf("GetAccessKey after losing connections: %v, want success or ErrUnavailable", err)
			}
			v := store.Verification{ID: fmt.Sprint("r", round, "-", i), Result: "PASS", CreatedAt: time.Now()}
			if err := s.RecordVerifications(ctx, []store.Verification{v}); err == nil {
				okWrite = true
			} else if !errors.Is(err, store.ErrUnavailable) {
				t.Fatalf("RecordVerifications after losing connections: %v, want success or ErrUnavailable", err)
			}
		}
		if !okRead || !okWrite {
			t.Fatalf("round %d: store did not recover (read ok %v, write ok %v)", round, okRead, okWrite)
		}
		if err := s.Ping(ctx); err != nil {
			t.Fatalf("Ping after recovery: %v", err)
		}
	}
}

func TestNewerSchemaRefused(t *testing.T) {
	dsn, schema := freshSchema(t)
	s, err := Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	c := admin(t)
	defer c.Close(context.Background())
	if _, err := c.Exec(context.Background(), `INSERT INTO `+schema+`.schema_migrations (version, name) VALUES (999, '0999_future.sql')`); err != nil {
		t.Fatal(err)
	}
	if s, err := Open(context.Background(), dsn); err == nil {
		s.Close()
		t.Fatal("Open of a database with a newer schema succeeded")
	}
}

func benchRecord(b *testing.B, batch int) {
	s := open(b)
	defer s.Close()
	storetest.BenchRecordVerifications(b, s, batch)
}

// One op is one RecordVerifications call (one statement, one commit).
func BenchmarkRecordVerifications1(b *testing.B)  { benchRecord(b, 1) }
func BenchmarkRecordVerifications64(b *testing.B) { benchRecord(b, 64) }

func BenchmarkGetAccessKey(b *testing.B) {
	s := open(b)
	defer s.Close()
	storetest.BenchGetAccessKey(b, s)
}

// migrationStatements are the statements of a migration file, without
// comments (the files hold no ';' inside a statement).
func migrationStatements(t testing.TB, file string) []string {
	t.Helper()
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
		if strings.TrimSpace(st) != "" {
			out = append(out, st)
		}
	}
	return out
}

// backfillStatements are the INSERT … SELECT statements of a rollup
// migration (0006_hourly_rollups.sql when file is ""), which roll up the
// records stored before it; the file must have want of them.
func backfillStatements(t testing.TB, file string, want int) []string {
	t.Helper()
	if file == "" {
		file, want = "0006_hourly_rollups.sql", 2
	}
	var out []string
	for _, st := range migrationStatements(t, file) {
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
		stmts := append([]string{`TRUNCATE verification_hourly, sms_hourly`}, backfillStatements(t, "", 0)...)
		for _, st := range stmts {
			if _, err := s.pool.Exec(context.Background(), st); err != nil {
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
		stmts := append([]string{`TRUNCATE verification_minutely`}, backfillStatements(t, "0009_minute_rollups.sql", 1)...)
		for _, st := range stmts {
			if _, err := s.pool.Exec(context.Background(), st); err != nil {
				return fmt.Errorf("%s: %w", st, err)
			}
		}
		return nil
	})
}

// loadStatsBench fills s with n verification records, generated in SQL
// (generate_series, one statement, with their ids), and rolls them up with
// the rollup migration's backfill.
func loadStatsBench(b *testing.B, s *Store, n int) {
	b.Helper()
	ctx := context.Background()
	start := time.Now()
	if _, err := s.pool.Exec(ctx, `INSERT INTO verifications (id, account_id, scheme_code, kind, carrier, result, masked_phone, phone_hash,
			billable, latency_us, created_at)
		SELECT lpad(to_hex(i), 16, '0'), 'acct-' || (i % 2), 'FC' || (i % 10), CASE WHEN i % 3 = 0 THEN 'login' ELSE 'verify' END,
			CASE i % 3 WHEN 0 THEN 'CM' WHEN 1 THEN 'CU' ELSE 'CT' END,
			CASE WHEN i % 10 < 8 THEN 'PASS' WHEN i % 10 = 8 THEN 'REJECT' ELSE 'UNKNOWN' END,
			'138****5678', 'h', i % 5 > 0, 20000 + (i % 97) * 3000,
			$2::timestamptz + i * ($3::bigint * interval '1 microsecond')
		FROM generate_series(0, $1::bigint - 1) AS i`, n, storetest.StatsBenchStart, int64(storetest.StatsBenchDays)*86400*1_000_000/int64(n)); err != nil {
		b.Fatal(err)
	}
	if _, err := s.pool.Exec(ctx, `INSERT INTO verification_ids SELECT id, created_at FROM verifications`); err != nil {
		b.Fatal(err)
	}
	for _, st := range backfillStatements(b, "", 0) {
		if _, err := s.pool.Exec(ctx, st); err != nil {
			b.Fatal(err)
		}
	}
	for _, t := range []string{"verifications", "verification_hourly"} {
		if _, err := s.pool.Exec(ctx, `VACUUM ANALYZE `+t); err != nil {
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
			ctx := context.Background()
			// The records' month gets its partition, as Maintain would make it.
			if _, err := s.Maintain(ctx, storetest.StatsBenchStart, 0); err != nil {
				b.Fatal(err)
			}
			loadStatsBench(b, s, n)
			storetest.BenchStats(b, s, func(ctx context.Context, f store.VerificationFilter) (int, error) {
				// The statistics query before the rollups: a scan of the
				// covering index verifications_stats.
				rows, err := s.pool.Query(ctx, `SELECT to_char(day, 'YYYY-MM-DD'), pass, reject, unknown FROM (
					SELECT (created_at AT TIME ZONE 'UTC')::date AS day,
						count(*) FILTER (WHERE result = 'PASS') AS pass,
						count(*) FILTER (WHERE result = 'REJECT') AS reject,
						count(*) FILTER (WHERE result = 'UNKNOWN') AS unknown
					FROM verifications WHERE account_id = $1 AND created_at >= $2 AND created_at < $3
						AND result IN ('PASS', 'REJECT', 'UNKNOWN')
					GROUP BY day) d ORDER BY day`, f.AccountID, f.From, f.To)
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
