package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/numauth/numauth/internal/store"
	"github.com/numauth/numauth/internal/store/migrations"
)

// partitionOf names the partition that holds the record with id.
func partitionOf(t *testing.T, s *Store, table, id string) string {
	t.Helper()
	var p string
	if err := s.pool.QueryRow(context.Background(), `SELECT tableoid::regclass::text FROM `+table+` WHERE id = $1`, id).Scan(&p); err != nil {
		t.Fatalf("partition of %s %s: %v", table, id, err)
	}
	return p
}

func TestPartitionsMonthBoundaries(t *testing.T) {
	s := open(t)
	defer s.Close()
	ctx := context.Background()
	rep, err := s.Maintain(ctx, time.Date(2026, 3, 15, 0, 0, 0, 0, time.UTC), 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"verifications_p202603", "verifications_p202606", "sms_sends_p202603", "sms_sends_p202606"} {
		if !slices.Contains(rep.Created, want) {
			t.Errorf("Maintain created %v, want %s among them", rep.Created, want)
		}
	}
	cst := time.FixedZone("CST", 8*3600)
	cases := []struct {
		id   string
		at   time.Time
		want string
	}{
		{"last-march", time.Date(2026, 3, 31, 23, 59, 59, 999999000, time.UTC), "p202603"},
		{"first-april", time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC), "p202604"},
		// 07:00 on April 1st in +08:00 is still March in UTC.
		{"april-in-cst", time.Date(2026, 4, 1, 7, 0, 0, 0, cst), "p202603"},
		{"far-future", time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC), "default"},
		{"far-past", time.Date(1999, 12, 31, 0, 0, 0, 0, time.UTC), "default"},
	}
	var b store.Batch
	for _, c := range cases {
		b.Verifications = append(b.Verifications, store.Verification{ID: c.id, AccountID: "a", Result: "PASS", CreatedAt: c.at})
		b.SmsSends = append(b.SmsSends, store.SmsSend{ID: c.id, AccountID: "a", Status: 1, SentAt: c.at})
	}
	if err := s.WriteBatch(ctx, b); err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		for _, table := range []string{"verifications", "sms_sends"} {
			if got := partitionOf(t, s, table, c.id); got != table+"_"+c.want {
				t.Errorf("%s %s (%v) is in %s, want %s_%s", table, c.id, c.at.UTC(), got, table, c.want)
			}
		}
		if _, err := s.GetVerification(ctx, c.id); err != nil {
			t.Errorf("GetVerification(%s): %v", c.id, err)
		}
	}
	// An id is unique across partitions, whatever the time of the second record.
	for _, c := range cases {
		for _, at := range []time.Time{c.at, c.at.AddDate(0, 1, 0), time.Date(2026, 5, 2, 0, 0, 0, 0, time.UTC)} {
			err := s.RecordVerifications(ctx, []store.Verification{{ID: c.id, Result: "PASS", CreatedAt: at}})
			if !errors.Is(err, store.ErrConflict) {
				t.Errorf("verification %s again at %v: %v, want ErrConflict", c.id, at, err)
			}
			err = s.RecordSmsSends(ctx, []store.SmsSend{{ID: c.id, Status: 1, SentAt: at}})
			if !errors.Is(err, store.ErrConflict) {
				t.Errorf("SMS send %s again at %v: %v, want ErrConflict", c.id, at, err)
			}
		}
	}
	// The month of far-future gets its partition: its records move out of
	// the default partition into it.
	if _, err := s.Maintain(ctx, time.Date(2030, 12, 20, 0, 0, 0, 0, time.UTC), 0); err != nil {
		t.Fatal(err)
	}
	for _, table := range []string{"verifications", "sms_sends"} {
		if got := partitionOf(t, s, table, "far-future"); got != table+"_p203101" {
			t.Errorf("%s far-future is in %s after its month's partition was created, want %s_p203101", table, got, table)
		}
	}
	if _, err := s.GetVerification(ctx, "far-future"); err != nil {
		t.Errorf("GetVerification after the move: %v", err)
	}
	var n int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM verifications`).Scan(&n); err != nil || n != len(cases) {
		t.Errorf("verifications holds %d records (%v), want %d", n, err, len(cases))
	}
}

func TestPartitionsConcurrentMaintain(t *testing.T) {
	dsn, _ := freshSchema(t)
	ctx := context.Background()
	const n = 4
	stores := make([]*Store, n)
	for i := range stores {
		s, err := Open(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		stores[i] = s
	}
	// A record of a month to come lands in the default partition first.
	at := time.Date(2040, 2, 10, 0, 0, 0, 0, time.UTC)
	if err := stores[0].RecordVerifications(ctx, []store.Verification{{ID: "x", Result: "PASS", CreatedAt: at}}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	reps, errs := make([]store.Maintenance, n), make([]error, n)
	for i, s := range stores {
		wg.Add(1)
		go func() {
			defer wg.Done()
			reps[i], errs[i] = s.Maintain(ctx, at, 0)
		}()
	}
	wg.Wait()
	created := map[string]int{}
	for i := range stores {
		if errs[i] != nil {
			t.Fatalf("Maintain %d: %v", i, errs[i])
		}
		for _, p := range reps[i].Created {
			created[p]++
		}
	}
	for _, p := range []string{"verifications_p204002", "verifications_p204005", "sms_sends_p204002"} {
		if created[p] != 1 {
			t.Errorf("%s created %d times, want once", p, created[p])
		}
	}
	if got := partitionOf(t, stores[1], "verifications", "x"); got != "verifications_p204002" {
		t.Errorf("record is in %s, want verifications_p204002", got)
	}
}

// TestPartitionMigrationKeepsRecords applies the migrations up to version
// 5, stores records in the tables of that version, then lets Open apply
// versions 6 and 7: every record is kept, in its month's partition, its id
// is still unique, and the rollups hold it.
func TestPartitionMigrationKeepsRecords(t *testing.T) {
	dsn, schema := freshSchema(t)
	ctx := context.Background()
	c := admin(t)
	defer c.Close(ctx)
	ms, err := migrations.Load(migrationFS, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Exec(ctx, `SET search_path = `+schema+`; CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		t.Fatal(err)
	}
	for _, m := range ms[:5] {
		if _, err := c.Exec(ctx, m.SQL); err != nil {
			t.Fatalf("%s: %v", m.Name, err)
		}
		if _, err := c.Exec(ctx, `INSERT INTO schema_migrations (version, name) VALUES ($1, $2)`, m.Version, m.Name); err != nil {
			t.Fatal(err)
		}
	}
	months := []time.Time{time.Date(2025, 11, 30, 23, 0, 0, 0, time.UTC), time.Date(2025, 12, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2026, 2, 14, 12, 0, 0, 0, time.UTC)}
	for i, at := range months {
		if _, err := c.Exec(ctx, `INSERT INTO verifications (id, account_id, scheme_code, kind, carrier, result, masked_phone,
			phone_hash, billable, latency_us, created_at) VALUES ($1, 'a', 'FC1', 'verify', 'CM', 'PASS', '', '', true, 1000, $2)`,
			fmt.Sprint("v", i), at); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Exec(ctx, `INSERT INTO sms_sends (id, account_id, scheme_name, phone_hash, masked_phone, country_code,
			sign_name, template, content, out_id, provider, provider_id, status, err_code, billable, sent_at)
			VALUES ($1, 'a', 's', 'h', '', '86', '', '', '', '', 'p', $1, 1, '', true, $2)`, fmt.Sprint("s", i), at); err != nil {
			t.Fatal(err)
		}
	}
	s, err := Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i, at := range months {
		want := at.Format("200601")
		if got := partitionOf(t, s, "verifications", fmt.Sprint("v", i)); got != "verifications_p"+want {
			t.Errorf("v%d is in %s, want verifications_p%s", i, got, want)
		}
		if got := partitionOf(t, s, "sms_sends", fmt.Sprint("s", i)); got != "sms_sends_p"+want {
			t.Errorf("s%d is in %s, want sms_sends_p%s", i, got, want)
		}
		if _, err := s.GetVerification(ctx, fmt.Sprint("v", i)); err != nil {
			t.Errorf("GetVerification(v%d): %v", i, err)
		}
		err := s.RecordVerifications(ctx, []store.Verification{{ID: fmt.Sprint("v", i), CreatedAt: time.Now()}})
		if !errors.Is(err, store.ErrConflict) {
			t.Errorf("v%d again: %v, want ErrConflict", i, err)
		}
		err = s.RecordSmsSends(ctx, []store.SmsSend{{ID: fmt.Sprint("s", i), SentAt: time.Now()}})
		if !errors.Is(err, store.ErrConflict) {
			t.Errorf("s%d again: %v, want ErrConflict", i, err)
		}
	}
	days, err := s.DailyStats(ctx, store.VerificationFilter{AccountID: "a"})
	if err != nil || len(days) != 3 {
		t.Errorf("DailyStats after the migrations = %v (%v), want 3 days", days, err)
	}
}

// TestRetentionWholeMonths: PostgreSQL drops the partitions of the months
// that ended before the cutoff, and keeps the month the cutoff falls in
// whole, older records included.
func TestRetentionWholeMonths(t *testing.T) {
	s := open(t)
	defer s.Close()
	ctx := context.Background()
	now := time.Date(2026, 7, 20, 0, 0, 0, 0, time.UTC)
	if _, err := s.Maintain(ctx, time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC), 0); err != nil {
		t.Fatal(err)
	}
	ats := map[string]time.Time{
		"april":      time.Date(2026, 4, 15, 0, 0, 0, 0, time.UTC),
		"end-of-may": time.Date(2026, 5, 31, 23, 59, 59, 0, time.UTC),
		"june-1st":   time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC), // before the cutoff, in its month
		"june-20th":  time.Date(2026, 6, 20, 0, 0, 0, 0, time.UTC),
	}
	var vs []store.Verification
	for id, at := range ats {
		vs = append(vs, store.Verification{ID: id, Result: "PASS", CreatedAt: at})
	}
	if err := s.RecordVerifications(ctx, vs); err != nil {
		t.Fatal(err)
	}
	rep, err := s.Maintain(ctx, now, 40*24*time.Hour) // cutoff 2026-06-10
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"verifications_p202604", "verifications_p202605", "sms_sends_p202604", "sms_sends_p202605"} {
		if !slices.Contains(rep.Dropped, p) {
			t.Errorf("Maintain dropped %v, want %s among them", rep.Dropped, p)
		}
	}
	if slices.Contains(rep.Dropped, "verifications_p202606") {
		t.Errorf("Maintain dropped the cutoff's month: %v", rep.Dropped)
	}
	for id, gone := range map[string]bool{"april": true, "end-of-may": true, "june-1st": false, "june-20th": false} {
		_, err := s.GetVerification(ctx, id)
		if gone && !errors.Is(err, store.ErrNotFound) || !gone && err != nil {
			t.Errorf("%s after retention: %v (want gone: %v)", id, err, gone)
		}
	}
	var ids int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM verification_ids`).Scan(&ids); err != nil || ids != 2 {
		t.Errorf("verification_ids holds %d ids (%v), want the 2 kept records'", ids, err)
	}
}
