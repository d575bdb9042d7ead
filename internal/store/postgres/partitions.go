package postgres

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/numauth/numauth/internal/store"
)

// Monthly partitions (migration 0007). verifications and sms_sends are
// partitioned by month of their record time, <table>_pYYYYMM covering
// [the 1st of the month, the 1st of the next) in UTC, and <table>_default
// catches any other time. The store creates the partitions of the current
// month and the next monthsAhead at Open and at every Maintain; retention
// drops whole months.

// monthsAhead is how many months after the current one have partitions
// ready: an instance that is down for a while, or a clock that runs ahead,
// still finds its records a partition of their own.
const monthsAhead = 3

// deleteBatch is how many rows retention deletes per transaction from a
// default partition (and from the id tables), so that writers never wait
// long behind it.
const deleteBatch = 5000

// recordTable is a partitioned record table and its id table.
type recordTable struct {
	name, timeCol string
	ids           string // the id table, keyed by id, with the record time in timeCol
}

var recordTables = []recordTable{
	{"verifications", "created_at", "verification_ids"},
	{"sms_sends", "sent_at", "sms_send_ids"},
}

func monthStart(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
}

func partitionName(table string, month time.Time) string {
	return table + "_p" + month.Format("200601")
}

// parsePartition reads the month of a partition named partitionName(table, month).
func parsePartition(table, name string) (time.Time, bool) {
	rest, ok := strings.CutPrefix(name, table+"_p")
	if !ok || len(rest) != 6 {
		return time.Time{}, false
	}
	m, err := time.Parse("200601", rest)
	return m, err == nil
}

// tableExists reports whether the current schema has a table named $1. It
// reads pg_class with the statement's snapshot, so run after the advisory
// lock it sees a table another instance committed meanwhile (to_regclass
// may answer from a cache that the lock does not refresh).
const tableExists = `SELECT EXISTS (SELECT 1 FROM pg_class WHERE relname = $1 AND relnamespace = current_schema()::regnamespace)`

// lockPartitions takes the transaction-scoped advisory lock that
// serialises partition changes in the current schema between instances.
func lockPartitions(ctx context.Context, tx pgx.Tx) error {
	_, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('numauth.partitions.' || current_schema(), 0))`)
	return err
}

// ensurePartitions creates the partitions of the months from now's to
// monthsAhead after it that do not exist yet and returns their names.
// Records of such a month that landed in the default partition meanwhile
// are moved into the new partition (PostgreSQL refuses to create a
// partition whose rows the default partition holds). Safe to run from
// several instances at once: each change is made under an advisory lock,
// and after checking again under it.
func (s *Store) ensurePartitions(ctx context.Context, now time.Time) ([]string, error) {
	var created []string
	for _, t := range recordTables {
		for i := 0; i <= monthsAhead; i++ {
			m := monthStart(now).AddDate(0, i, 0)
			name := partitionName(t.name, m)
			var exists bool
			if err := s.read(ctx, func() error {
				return s.pool.QueryRow(ctx, tableExists, name).Scan(&exists)
			}); err != nil {
				return created, err
			}
			if exists {
				continue
			}
			made, err := s.createPartition(ctx, t, m)
			if err != nil {
				return created, fmt.Errorf("postgres: create partition %s: %w", name, mapErr(err))
			}
			if made {
				created = append(created, name)
			}
		}
	}
	return created, nil
}

// createPartition creates the partition of table t for month m, unless
// another instance did it first; it reports whether it created it.
func (s *Store) createPartition(ctx context.Context, t recordTable, m time.Time) (bool, error) {
	name := partitionName(t.name, m)
	lo, hi := m, m.AddDate(0, 1, 0)
	bounds := fmt.Sprintf("FOR VALUES FROM ('%s') TO ('%s')", lo.Format(time.RFC3339), hi.Format(time.RFC3339))
	made := false
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := lockPartitions(ctx, tx); err != nil {
			return err
		}
		var exists, inDefault bool
		if err := tx.QueryRow(ctx, tableExists, name).Scan(&exists); err != nil || exists {
			return err
		}
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM `+t.name+`_default WHERE `+t.timeCol+` >= $1 AND `+t.timeCol+` < $2)`,
			lo, hi).Scan(&inDefault); err != nil {
			return err
		}
		made = true
		if !inDefault {
			_, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS `+name+` PARTITION OF `+t.name+` `+bounds)
			return err
		}
		// Move the month's records out of the default partition into a
		// table of their own, then attach it as the month's partition.
		for _, q := range []string{
			`CREATE TABLE ` + name + ` (LIKE ` + t.name + ` INCLUDING DEFAULTS INCLUDING CONSTRAINTS)`,
			`WITH moved AS (DELETE FROM ` + t.name + `_default WHERE ` + t.timeCol + ` >= '` + lo.Format(time.RFC3339) +
				`' AND ` + t.timeCol + ` < '` + hi.Format(time.RFC3339) + `' RETURNING *) INSERT INTO ` + name + ` SELECT * FROM moved`,
			`ALTER TABLE ` + t.name + ` ATTACH PARTITION ` + name + ` ` + bounds,
		} {
			if _, err := tx.Exec(ctx, q); err != nil {
				return err
			}
		}
		return nil
	})
	return made, err
}

// Maintain implements store.Maintainer: it creates the partitions of the
// current month and the next ones and, with a retention, drops the
// partitions of the months that ended before now-retention, and deletes
// in batches the records before the start of the cutoff's month from the
// default partition and the ids of all of them from the id tables.
// Records are kept by whole months: one older than the retention goes
// when its month ends before the cutoff. The hourly rollups are kept; the
// per-minute rollup's minutes older than store.MinuteRollupWindow are
// deleted, in batches, whatever the retention.
func (s *Store) Maintain(ctx context.Context, now time.Time, retention time.Duration) (store.Maintenance, error) {
	var rep store.Maintenance
	if err := s.check(); err != nil {
		return rep, err
	}
	created, err := s.ensurePartitions(ctx, now)
	rep.Created = created
	if err != nil {
		return rep, err
	}
	rep.MinuteRows, err = s.deleteBefore(ctx, "verification_minutely", "minute", now.Add(-store.MinuteRollupWindow))
	if err != nil || retention <= 0 {
		return rep, err
	}
	before := monthStart(now.Add(-retention))
	for _, t := range recordTables {
		var parts []string
		if err := s.read(ctx, func() error {
			rows, err := s.pool.Query(ctx, `SELECT c.relname FROM pg_inherits i
				JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent
				WHERE p.relname = $1 AND p.relnamespace = current_schema()::regnamespace`, t.name)
			if err != nil {
				return err
			}
			parts, err = pgx.CollectRows(rows, pgx.RowTo[string])
			return err
		}); err != nil {
			return rep, err
		}
		slices.Sort(parts)
		for _, p := range parts {
			m, ok := parsePartition(t.name, p)
			if !ok || m.AddDate(0, 1, 0).After(before) {
				continue
			}
			if err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
				if err := lockPartitions(ctx, tx); err != nil {
					return err
				}
				_, err := tx.Exec(ctx, `DROP TABLE IF EXISTS `+p)
				return err
			}); err != nil {
				return rep, fmt.Errorf("postgres: drop partition %s: %w", p, mapErr(err))
			}
			rep.Dropped = append(rep.Dropped, p)
		}
		for _, tab := range []string{t.name + "_default", t.ids} {
			n, err := s.deleteBefore(ctx, tab, t.timeCol, before)
			if tab != t.ids {
				rep.Deleted += n
			}
			if err != nil {
				return rep, err
			}
		}
	}
	return rep, nil
}

// deleteBefore deletes the rows of table whose col is before t, deleteBatch
// rows per transaction, and returns how many it deleted.
func (s *Store) deleteBefore(ctx context.Context, table, col string, t time.Time) (int64, error) {
	var total int64
	for {
		if err := s.check(); err != nil {
			return total, err
		}
		tag, err := s.pool.Exec(ctx, `DELETE FROM `+table+` WHERE ctid IN (SELECT ctid FROM `+table+` WHERE `+col+` < $1 LIMIT $2)`,
			t, deleteBatch)
		if err != nil {
			return total, fmt.Errorf("postgres: maintain: delete from %s: %w", table, mapErr(err))
		}
		total += tag.RowsAffected()
		if tag.RowsAffected() < deleteBatch {
			return total, nil
		}
	}
}
