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
// prepare; with a retention it deletes the verification and SMS send
// records older than now-retention, deleteBatch rows per transaction
// (through the indexes on the record time, migration 0007). The hourly
// rollups are kept.
func (s *Store) Maintain(ctx context.Context, now time.Time, retention time.Duration) (store.Maintenance, error) {
	var rep store.Maintenance
	if err := s.check(); err != nil || retention <= 0 {
		return rep, err
	}
	cutoff := micros(now.Add(-retention))
	for _, t := range []struct{ table, col string }{{"verifications", "created_at"}, {"sms_sends", "sent_at"}} {
		for {
			if err := s.check(); err != nil {
				return rep, err
			}
			res, err := s.w.ExecContext(ctx, `DELETE FROM `+t.table+` WHERE rowid IN (SELECT rowid FROM `+t.table+
				` WHERE `+t.col+` < ? LIMIT ?)`, cutoff, deleteBatch)
			if err != nil {
				return rep, fmt.Errorf("sqlite: retention: delete from %s: %w", t.table, mapErr(err))
			}
			n, err := res.RowsAffected()
			if err != nil {
				return rep, mapErr(err)
			}
			rep.Deleted += n
			if n < deleteBatch {
				break
			}
		}
	}
	return rep, nil
}
