package postgres

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/numauth/numauth/internal/store"
)

// The hourly rollups (migration 0006): verification_hourly and sms_hourly,
// upserted by the statement that writes the records, read by the
// statistics and billing queries for every whole hour of their range; the
// partial hours at the ends of a range are read from the records.

const epoch = `timestamptz '1970-01-01 00:00:00+00'`

// rollupParts are the upserts of the batch's records into the rollups, to
// run in WriteBatch's statement. The rows are in key order, so concurrent
// batches lock the rows they share in one order (no deadlock).
func rollupParts(b store.Batch) []batchPart {
	var parts []batchPart
	if len(b.Verifications) > 0 {
		rs := store.RollUpVerifications(b.Verifications)
		n := len(rs)
		hours := make([]time.Time, n)
		strs := make([][]string, 5)
		for i := range strs {
			strs[i] = make([]string, n)
		}
		buckets := make([]int16, n)
		counts, bills, lat := make([]int64, n), make([]int64, n), make([]int64, n)
		for i, r := range rs {
			hours[i] = r.Hour
			strs[0][i], strs[1][i], strs[2][i], strs[3][i], strs[4][i] = r.AccountID, r.SchemeCode, r.Kind, r.Carrier, r.Result
			buckets[i], counts[i], bills[i], lat[i] = int16(r.LatBucket), r.N, r.Billable, r.LatencyUS
		}
		parts = append(parts, batchPart{"verification_hourly",
			"hour, account_id, scheme_code, kind, carrier, result, lat_bucket, n, billable, latency_us",
			[]string{"timestamptz", "text", "text", "text", "text", "text", "smallint", "bigint", "bigint", "bigint"},
			`ON CONFLICT (hour, account_id, scheme_code, kind, carrier, result, lat_bucket) DO UPDATE SET
				n = verification_hourly.n + excluded.n, billable = verification_hourly.billable + excluded.billable,
				latency_us = verification_hourly.latency_us + excluded.latency_us`,
			[]any{hours, strs[0], strs[1], strs[2], strs[3], strs[4], buckets, counts, bills, lat}})
	}
	if len(b.SmsSends) > 0 {
		rs := store.RollUpSmsSends(b.SmsSends)
		n := len(rs)
		hours := make([]time.Time, n)
		accounts, schemes, providers := make([]string, n), make([]string, n), make([]string, n)
		status := make([]int16, n)
		counts, bills := make([]int64, n), make([]int64, n)
		for i, r := range rs {
			hours[i], accounts[i], schemes[i], providers[i] = r.Hour, r.AccountID, r.SchemeName, r.Provider
			status[i], counts[i], bills[i] = int16(r.Status), r.N, r.Billable
		}
		parts = append(parts, batchPart{"sms_hourly", "hour, account_id, scheme_name, provider, status, n, billable",
			[]string{"timestamptz", "text", "text", "text", "smallint", "bigint", "bigint"},
			`ON CONFLICT (hour, account_id, scheme_name, provider, status) DO UPDATE SET
				n = sms_hourly.n + excluded.n, billable = sms_hourly.billable + excluded.billable`,
			[]any{hours, accounts, schemes, providers, status, counts, bills}})
	}
	return parts
}

// params numbers the arguments of one statement.
type params struct{ args []any }

func (p *params) arg(v any) string {
	p.args = append(p.args, v)
	return fmt.Sprintf("$%d", len(p.args))
}

// conds collects WHERE conditions.
type conds []string

func (c conds) sql() string {
	if len(c) == 0 {
		return "true"
	}
	return strings.Join(c, " AND ")
}

func (c *conds) rangeOf(p *params, col string, r store.TimeRange) {
	if !r.From.IsZero() {
		*c = append(*c, col+" >= "+p.arg(r.From))
	}
	if !r.To.IsZero() {
		*c = append(*c, col+" < "+p.arg(r.To))
	}
}

// verificationParts is the UNION ALL of the rollup rows (of the whole
// hours) and the records (of the partial hours) that f selects, giving the
// columns rollCols reads from the rollup or rawCols from the records.
func verificationParts(p *params, f store.VerificationFilter, rollCols, rawCols string) string {
	base := func() conds {
		var c conds
		if f.AccountID != "" {
			c = append(c, "account_id = "+p.arg(f.AccountID))
		}
		if f.Kind != "" {
			c = append(c, "kind = "+p.arg(f.Kind))
		}
		if f.SchemeCode != "" {
			c = append(c, "scheme_code = "+p.arg(f.SchemeCode))
		}
		return c
	}
	whole, ok, partial := store.SplitHours(f.From, f.To)
	var parts []string
	if ok {
		c := base()
		c.rangeOf(p, "hour", whole)
		parts = append(parts, "SELECT "+rollCols+" FROM verification_hourly WHERE "+c.sql())
	}
	for _, r := range partial {
		c := base()
		c.rangeOf(p, "created_at", r)
		parts = append(parts, "SELECT "+rawCols+" FROM verifications WHERE "+c.sql())
	}
	return strings.Join(parts, " UNION ALL ")
}

// DailyStats implements store.Durable from the rollups (and the records of
// the partial hours at the ends of f's range).
func (s *Store) DailyStats(ctx context.Context, f store.VerificationFilter) ([]store.DayStat, error) {
	var p params
	parts := verificationParts(&p, f,
		`(hour AT TIME ZONE 'UTC')::date AS day, CASE result WHEN 'PASS' THEN n ELSE 0 END AS p,
			CASE result WHEN 'REJECT' THEN n ELSE 0 END AS r, CASE result WHEN 'UNKNOWN' THEN n ELSE 0 END AS u`,
		`(created_at AT TIME ZONE 'UTC')::date AS day, (result = 'PASS')::int::bigint AS p,
			(result = 'REJECT')::int::bigint AS r, (result = 'UNKNOWN')::int::bigint AS u`)
	q := `SELECT to_char(day, 'YYYY-MM-DD'), sum(p)::bigint, sum(r)::bigint, sum(u)::bigint FROM (` + parts + `) x
		GROUP BY day HAVING sum(p) + sum(r) + sum(u) > 0 ORDER BY day`
	return list(s, ctx, scanDay, q, p.args...)
}

// BillableCounts implements store.Durable from the rollups (and the
// records of the partial hours at the ends of f's range).
func (s *Store) BillableCounts(ctx context.Context, f store.VerificationFilter) ([]store.BillCount, error) {
	var p params
	parts := verificationParts(&p, f, `scheme_code, kind, billable AS c`,
		`scheme_code, kind COLLATE "C", billable::int::bigint AS c`)
	q := `SELECT scheme_code, kind, sum(c)::bigint FROM (` + parts + `) x GROUP BY scheme_code, kind HAVING sum(c) > 0
		ORDER BY scheme_code COLLATE "C", kind COLLATE "C"`
	return list(s, ctx, scanBillCount, q, p.args...)
}

// HourlyStats implements store.Durable from the rollups alone.
func (s *Store) HourlyStats(ctx context.Context, f store.VerificationFilter) ([]store.HourStat, error) {
	var p params
	var c conds
	if f.AccountID != "" {
		c = append(c, "account_id = "+p.arg(f.AccountID))
	}
	if f.Kind != "" {
		c = append(c, "kind = "+p.arg(f.Kind))
	}
	if f.SchemeCode != "" {
		c = append(c, "scheme_code = "+p.arg(f.SchemeCode))
	}
	from := f.From
	if !from.IsZero() {
		from = store.HourOf(from)
	}
	c.rangeOf(&p, "hour", store.TimeRange{From: from, To: f.To})
	type row struct {
		hour           time.Time
		result         string
		bucket         int16
		n, bill, latUS int64
	}
	rows, err := list(s, ctx, func(r pgx.Row) (row, error) {
		var x row
		err := r.Scan(&x.hour, &x.result, &x.bucket, &x.n, &x.bill, &x.latUS)
		return x, err
	}, `SELECT hour, result, lat_bucket, sum(n)::bigint, sum(billable)::bigint, sum(latency_us)::bigint
		FROM verification_hourly WHERE `+c.sql()+` GROUP BY hour, result, lat_bucket HAVING sum(n) > 0 ORDER BY hour`, p.args...)
	if err != nil {
		return nil, err
	}
	var out []store.HourStat
	for _, x := range rows {
		h := x.hour.UTC()
		if len(out) == 0 || !out[len(out)-1].Hour.Equal(h) {
			out = append(out, store.HourStat{Hour: h})
		}
		out[len(out)-1].Add(x.result, int(x.bucket), x.n, x.bill, x.latUS)
	}
	return out, nil
}

// smsParts is verificationParts for SMS sends. A filter on a number or an
// id has no rollup to read: it reads the records alone.
func smsParts(p *params, f store.SmsFilter, rollCols, rawCols string) string {
	raw := func(g store.SmsFilter) string {
		var c conds
		if g.AccountID != "" {
			c = append(c, "account_id = "+p.arg(g.AccountID))
		}
		if g.PhoneHash != "" {
			c = append(c, "phone_hash = "+p.arg(g.PhoneHash))
		}
		if g.ID != "" {
			c = append(c, "id = "+p.arg(g.ID))
		}
		c.rangeOf(p, "sent_at", store.TimeRange{From: g.From, To: g.To})
		return "SELECT " + rawCols + " FROM sms_sends WHERE " + c.sql()
	}
	if f.PhoneHash != "" || f.ID != "" {
		return raw(f)
	}
	whole, ok, partial := store.SplitHours(f.From, f.To)
	var parts []string
	if ok {
		var c conds
		if f.AccountID != "" {
			c = append(c, "account_id = "+p.arg(f.AccountID))
		}
		c.rangeOf(p, "hour", whole)
		parts = append(parts, "SELECT "+rollCols+" FROM sms_hourly WHERE "+c.sql())
	}
	for _, r := range partial {
		parts = append(parts, raw(store.SmsFilter{AccountID: f.AccountID, From: r.From, To: r.To}))
	}
	return strings.Join(parts, " UNION ALL ")
}

// SmsDailyStats implements store.Durable from the rollups (and the records
// of the partial hours at the ends of f's range).
func (s *Store) SmsDailyStats(ctx context.Context, f store.SmsFilter) ([]store.DayStat, error) {
	var p params
	parts := smsParts(&p, f,
		`(hour AT TIME ZONE 'UTC')::date AS day, CASE status WHEN 3 THEN n ELSE 0 END AS p,
			CASE status WHEN 2 THEN n ELSE 0 END AS r, CASE status WHEN 1 THEN n ELSE 0 END AS u`,
		`(sent_at AT TIME ZONE 'UTC')::date AS day, (status = 3)::int::bigint AS p,
			(status = 2)::int::bigint AS r, (status = 1)::int::bigint AS u`)
	q := `SELECT to_char(day, 'YYYY-MM-DD'), sum(p)::bigint, sum(r)::bigint, sum(u)::bigint FROM (` + parts + `) x
		GROUP BY day HAVING sum(p) + sum(r) + sum(u) > 0 ORDER BY day`
	return list(s, ctx, scanDay, q, p.args...)
}

// SmsBillableCounts implements store.Durable from the rollups (and the
// records of the partial hours at the ends of f's range).
func (s *Store) SmsBillableCounts(ctx context.Context, f store.SmsFilter) ([]store.BillCount, error) {
	var p params
	parts := smsParts(&p, f, `scheme_name, billable AS c`, `scheme_name COLLATE "C", billable::int::bigint AS c`)
	q := `SELECT scheme_name, 'sms', sum(c)::bigint FROM (` + parts + `) x GROUP BY scheme_name HAVING sum(c) > 0
		ORDER BY scheme_name COLLATE "C"`
	return list(s, ctx, scanBillCount, q, p.args...)
}

// settleSQL settles a pending SMS send and moves it from status 1 to the
// new status in the hourly rollup, in one statement; it reports whether it
// settled one and whether the record exists.
var settleSQL = `WITH u AS (
		UPDATE sms_sends SET status = $3, err_code = $4, received_at = $5
		WHERE provider = $1 AND provider_id = $2 AND provider_id <> '' AND status = 1
		RETURNING account_id, scheme_name, sent_at, billable),
	g AS (SELECT date_bin('1 hour', sent_at, ` + epoch + `) AS hour, account_id, scheme_name,
			count(*) AS n, count(*) FILTER (WHERE billable) AS b
		FROM u GROUP BY 1, 2, 3),
	h AS (INSERT INTO sms_hourly (hour, account_id, scheme_name, provider, status, n, billable)
		SELECT g.hour, g.account_id, g.scheme_name, $1, m.status, m.sign * g.n, m.sign * g.b
		FROM g CROSS JOIN (VALUES (1::smallint, -1), ($3::smallint, 1)) AS m (status, sign)
		ORDER BY 1, 2, 3, 5
		ON CONFLICT (hour, account_id, scheme_name, provider, status) DO UPDATE SET
			n = sms_hourly.n + excluded.n, billable = sms_hourly.billable + excluded.billable)
	SELECT EXISTS (SELECT 1 FROM u),
		EXISTS (SELECT 1 FROM sms_sends WHERE provider = $1 AND provider_id = $2 AND provider_id <> '')`
