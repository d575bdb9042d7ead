package sqlite

import (
	"context"
	"fmt"
	"time"

	"github.com/numauth/numauth/internal/store"
)

var _ store.Maintainer = (*Store)(nil)

// deleteBatch is how many rows retention deletes per transaction: SQLite
// has one writer, and a batch this size takes milliseconds, so record
// writes queued behind it wait no longer than a group commit does.
const deleteBatch = 5000

// Maintain implements store.Maintainer. SQLite has no partitions to
// prepare; it deletes the per-minute rollup's minutes older than
// store.MinuteRollupWindow and, with a retention, the verification and SMS
// send records older than now-retention (through the indexes on the record
// time, migration 0007), each deleteBatch rows per transaction. The hourly
// rollups are kept.
func (s *Store) Maintain(ctx context.Context, now time.Time, retention time.Duration) (store.Maintenance, error) {
	var rep store.Maintenance
	if err := s.check(); err != nil {
		return rep, err
	}
	n, err := s.deleteBefore(ctx, "verification_minutely", "account_id, minute, kind, carrier, result, lat_bucket", "minute",
		micros(now.Add(-store.MinuteRollupWindow)))
	rep.MinuteRows = n
	if err != nil || retention <= 0 {
		return rep, err
	}
	cutoff := micros(now.Add(-retention))
	for _, t := range []struct{ table, col string }{{"verifications", "created_at"}, {"sms_sends", "sent_at"}} {
		n, err := s.deleteBefore(ctx, t.table, "rowid", t.col, cutoff)
		rep.Deleted += n
		if err != nil {
			return rep, err
		}
	}
	return rep, nil
}

// deleteBefore deletes the rows of table whose col is before cutoff
// (microseconds), deleteBatch rows per transaction, and returns how many
// it deleted; key is the columns that name a row (rowid, or the primary
// key of a table without one).
func (s *Store) deleteBefore(ctx context.Context, table, key, col string, cutoff int64) (int64, error) {
	var total int64
	for {
		if err := s.check(); err != nil {
			return total, err
		}
		res, err := s.w.ExecContext(ctx, `DELETE FROM `+table+` WHERE (`+key+`) IN (SELECT `+key+` FROM `+table+
			` WHERE `+col+` < ? LIMIT ?)`, cutoff, deleteBatch)
		if err != nil {
			return total, fmt.Errorf("sqlite: maintain: delete from %s: %w", table, mapErr(err))
		}
		n, err := res.RowsAffected()
		if err != nil {
			return total, mapErr(err)
		}
		total += n
		if n < deleteBatch {
			return total, nil
		}
	}
}
