package sqlite

import (
	"context"
	"database/sql"
	"strconv"
	"strings"

	"github.com/numauth/numauth/internal/store"
)

// The hourly rollups (migration 0006): verification_hourly and sms_hourly,
// kept in the transaction that writes the records, read by the statistics
// and billing queries for every whole hour of their range; the partial
// hours at the ends of a range are read from the records. The per-minute
// rollup (migration 0009): verification_minutely, kept in the same
// transaction, read by MinuteStats alone and pruned by Maintain.

const (
	upsertVerificationHourly = `INSERT INTO verification_hourly (hour, account_id, scheme_code, kind, carrier, result,
		lat_bucket, n, billable, latency_us) VALUES (?,?,?,?,?,?,?,?,?,?)
		ON CONFLICT (hour, account_id, scheme_code, kind, carrier, result, lat_bucket) DO UPDATE SET
		n = n + excluded.n, billable = billable + excluded.billable, latency_us = latency_us + excluded.latency_us`
	upsertSmsHourly = `INSERT INTO sms_hourly (hour, account_id, scheme_name, provider, status, n, billable)
		VALUES (?,?,?,?,?,?,?)
		ON CONFLICT (hour, account_id, scheme_name, provider, status) DO UPDATE SET
		n = n + excluded.n, billable = billable + excluded.billable`
	upsertVerificationMinutely = `INSERT INTO verification_minutely (minute, account_id, kind, carrier, result, lat_bucket,
		n, latency_us) VALUES (?,?,?,?,?,?,?,?)
		ON CONFLICT (account_id, minute, kind, carrier, result, lat_bucket) DO UPDATE SET
		n = n + excluded.n, latency_us = latency_us + excluded.latency_us`
)

// rollUp adds the batch's records to the hourly and per-minute rollups in
// tx.
func (s *Store) rollUp(ctx context.Context, tx *sql.Tx, b store.Batch) error {
	if len(b.Verifications) > 0 {
		if err := upsertEach(ctx, tx.StmtContext(ctx, s.upVerificationHourly), store.RollUpVerifications(b.Verifications),
			func(r *store.VerificationRollup) []any {
				return []any{micros(r.Start), r.AccountID, r.SchemeCode, r.Kind, r.Carrier, r.Result, r.LatBucket, r.N, r.Billable, r.LatencyUS}
			}); err != nil {
			return err
		}
		if err := upsertEach(ctx, tx.StmtContext(ctx, s.upVerificationMinute), store.RollUpVerificationMinutes(b.Verifications),
			func(r *store.VerificationRollup) []any {
				return []any{micros(r.Start), r.AccountID, r.Kind, r.Carrier, r.Result, r.LatBucket, r.N, r.LatencyUS}
			}); err != nil {
			return err
		}
	}
	if len(b.SmsSends) > 0 {
		return upsertEach(ctx, tx.StmtContext(ctx, s.upSmsHourly), store.RollUpSmsSends(b.SmsSends), func(r *store.SmsRollup) []any {
			return []any{micros(r.Hour), r.AccountID, r.SchemeName, r.Provider, r.Status, r.N, r.Billable}
		})
	}
	return nil
}

// upsertEach runs the prepared upsert st once per rollup row, in order;
// args gives a row's arguments.
func upsertEach[R any](ctx context.Context, st *sql.Stmt, rows []R, args func(*R) []any) error {
	for i := range rows {
		if _, err := st.ExecContext(ctx, args(&rows[i])...); err != nil {
			return mapErr(err)
		}
	}
	return nil
}

// hourExpr is the start of the UTC hour of a microsecond column (floor
// division, right before 1970 too); dayExpr its UTC day number.
func hourExpr(col string) string {
	return "(" + col + " - (((" + col + " % 3600000000) + 3600000000) % 3600000000))"
}

func dayExpr(col string) string {
	day := strconv.Itoa(usPerDay)
	return "((" + col + " - (((" + col + " % " + day + ") + " + day + ") % " + day + ")) / " + day + ")"
}

// conds collects WHERE conditions and their arguments.
type conds struct {
	where []string
	args  []any
}

func (c *conds) add(cond string, args ...any) {
	c.where = append(c.where, cond)
	c.args = append(c.args, args...)
}

func (c *conds) rangeOf(col string, r store.TimeRange) {
	if !r.From.IsZero() {
		c.add(col+" >= ?", micros(r.From))
	}
	if !r.To.IsZero() {
		c.add(col+" < ?", micros(r.To))
	}
}

func (c *conds) sql() string {
	if len(c.where) == 0 {
		return "1 = 1"
	}
	return strings.Join(c.where, " AND ")
}

// verificationParts is the UNION ALL of the rollup rows (of the whole
// hours) and the records (of the partial hours) that f selects, each part
// giving the columns cols reads from the rollup (rollCols) or the records
// (rawCols), in the same order.
func verificationParts(f store.VerificationFilter, rollCols, rawCols string) (string, []any) {
	base := func(c *conds) {
		c.accountKind(f)
		if f.SchemeCode != "" {
			c.add("scheme_code = ?", f.SchemeCode)
		}
	}
	whole, ok, partial := store.SplitHours(f.From, f.To)
	var parts []string
	var args []any
	if ok {
		var c conds
		base(&c)
		c.rangeOf("hour", whole)
		parts = append(parts, "SELECT "+rollCols+" FROM verification_hourly WHERE "+c.sql())
		args = append(args, c.args...)
	}
	for _, r := range partial {
		var c conds
		base(&c)
		c.rangeOf("created_at", r)
		parts = append(parts, "SELECT "+rawCols+" FROM verifications WHERE "+c.sql())
		args = append(args, c.args...)
	}
	return strings.Join(parts, " UNION ALL "), args
}

// DailyStats implements store.Durable from the rollups (and the records of
// the partial hours at the ends of f's range).
func (s *Store) DailyStats(ctx context.Context, f store.VerificationFilter) ([]store.DayStat, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	parts, args := verificationParts(f,
		dayExpr("hour")+` AS day, (result = 'PASS') * n AS p, (result = 'REJECT') * n AS r, (result = 'UNKNOWN') * n AS u`,
		dayExpr("created_at")+` AS day, result = 'PASS' AS p, result = 'REJECT' AS r, result = 'UNKNOWN' AS u`)
	q := `SELECT day, sum(p), sum(r), sum(u) FROM (` + parts + `) GROUP BY day HAVING sum(p) + sum(r) + sum(u) > 0 ORDER BY day`
	return list(s, ctx, scanDay, q, args...)
}

// BillableCounts implements store.Durable from the rollups (and the
// records of the partial hours at the ends of f's range).
func (s *Store) BillableCounts(ctx context.Context, f store.VerificationFilter) ([]store.BillCount, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	parts, args := verificationParts(f, `scheme_code, kind, billable AS c`, `scheme_code, kind, billable <> 0 AS c`)
	q := `SELECT scheme_code, kind, sum(c) FROM (` + parts + `) GROUP BY scheme_code, kind HAVING sum(c) > 0
		ORDER BY scheme_code, kind`
	return list(s, ctx, scanBillCount, q, args...)
}

// accountKind adds f's account and kind conditions to c.
func (c *conds) accountKind(f store.VerificationFilter) {
	if f.AccountID != "" {
		c.add("account_id = ?", f.AccountID)
	}
	if f.Kind != "" {
		c.add("kind = ?", f.Kind)
	}
}

// rollupGroups runs a rollup reader's query, whose rows are the columns of
// store.RollupGroup: the period start (microseconds), carrier, result,
// latency bucket and the sums of n, billable and latency_us.
func (s *Store) rollupGroups(ctx context.Context, q string, args ...any) ([]store.RollupGroup, error) {
	return list(s, ctx, func(r scanner) (store.RollupGroup, error) {
		var g store.RollupGroup
		var start int64
		err := r.Scan(&start, &g.Carrier, &g.Result, &g.LatBucket, &g.N, &g.Billable, &g.LatencyUS)
		g.Start = fromMicros(start)
		return g, err
	}, q, args...)
}

// HourlyStats implements store.Durable from the rollups alone.
func (s *Store) HourlyStats(ctx context.Context, f store.VerificationFilter) ([]store.HourStat, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	var c conds
	c.accountKind(f)
	if f.SchemeCode != "" {
		c.add("scheme_code = ?", f.SchemeCode)
	}
	from := f.From
	if !from.IsZero() {
		from = store.HourOf(from)
	}
	c.rangeOf("hour", store.TimeRange{From: from, To: f.To})
	gs, err := s.rollupGroups(ctx, `SELECT hour, '', result, lat_bucket, sum(n), sum(billable), sum(latency_us) FROM verification_hourly
		WHERE `+c.sql()+` GROUP BY hour, result, lat_bucket HAVING sum(n) > 0 ORDER BY hour`, c.args...)
	if err != nil {
		return nil, err
	}
	return store.HourStatsOf(gs), nil
}

// MinuteStats implements store.Durable from the per-minute rollup.
func (s *Store) MinuteStats(ctx context.Context, f store.VerificationFilter) ([]store.MinuteStat, error) {
	r, err := store.MinuteFilter(f)
	if err != nil {
		return nil, err
	}
	if err := s.check(); err != nil {
		return nil, err
	}
	var c conds
	c.accountKind(f)
	c.rangeOf("minute", r)
	gs, err := s.rollupGroups(ctx, `SELECT minute, carrier, result, lat_bucket, sum(n), 0, sum(latency_us) FROM verification_minutely
		WHERE `+c.sql()+` GROUP BY minute, carrier, result, lat_bucket HAVING sum(n) > 0 ORDER BY minute, carrier`, c.args...)
	if err != nil {
		return nil, err
	}
	return store.MinuteStatsOf(gs), nil
}

// smsParts is verificationParts for SMS sends. A filter on a number or an
// id has no rollup to read: it reads the records alone.
func smsParts(f store.SmsFilter, rollCols, rawCols string) (string, []any) {
	if f.PhoneHash != "" || f.ID != "" {
		where, args := smsWhere(f)
		return "SELECT " + rawCols + " FROM sms_sends WHERE " + where, args
	}
	whole, ok, partial := store.SplitHours(f.From, f.To)
	var parts []string
	var args []any
	if ok {
		var c conds
		if f.AccountID != "" {
			c.add("account_id = ?", f.AccountID)
		}
		c.rangeOf("hour", whole)
		parts = append(parts, "SELECT "+rollCols+" FROM sms_hourly WHERE "+c.sql())
		args = append(args, c.args...)
	}
	for _, r := range partial {
		where, a := smsWhere(store.SmsFilter{AccountID: f.AccountID, From: r.From, To: r.To})
		parts = append(parts, "SELECT "+rawCols+" FROM sms_sends WHERE "+where)
		args = append(args, a...)
	}
	return strings.Join(parts, " UNION ALL "), args
}

// SmsDailyStats implements store.Durable from the rollups (and the records
// of the partial hours at the ends of f's range).
func (s *Store) SmsDailyStats(ctx context.Context, f store.SmsFilter) ([]store.DayStat, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	parts, args := smsParts(f,
		dayExpr("hour")+` AS day, (status = 3) * n AS p, (status = 2) * n AS r, (status = 1) * n AS u`,
		dayExpr("sent_at")+` AS day, status = 3 AS p, status = 2 AS r, status = 1 AS u`)
	q := `SELECT day, sum(p), sum(r), sum(u) FROM (` + parts + `) GROUP BY day HAVING sum(p) + sum(r) + sum(u) > 0 ORDER BY day`
	return list(s, ctx, scanDay, q, args...)
}

// SmsBillableCounts implements store.Durable from the rollups (and the
// records of the partial hours at the ends of f's range).
func (s *Store) SmsBillableCounts(ctx context.Context, f store.SmsFilter) ([]store.BillCount, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	parts, args := smsParts(f, `scheme_name, billable AS c`, `scheme_name, billable <> 0 AS c`)
	q := `SELECT scheme_name, 'sms', sum(c) FROM (` + parts + `) GROUP BY scheme_name HAVING sum(c) > 0 ORDER BY scheme_name`
	return list(s, ctx, scanBillCount, q, args...)
}

// settleHourly moves one settled SMS send from status 1 to status in the
// rollup, in tx.
func settleHourly(ctx context.Context, tx *sql.Tx, account, scheme, provider string, sentAt int64, billable bool, status int) error {
	hour := micros(store.HourOf(fromMicros(sentAt)))
	var b int64
	if billable {
		b = 1
	}
	if _, err := tx.ExecContext(ctx, upsertSmsHourly, hour, account, scheme, provider, 1, -1, -b); err != nil {
		return mapErr(err)
	}
	if _, err := tx.ExecContext(ctx, upsertSmsHourly, hour, account, scheme, provider, status, 1, b); err != nil {
		return mapErr(err)
	}
	return nil
}
