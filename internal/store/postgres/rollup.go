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
// partial hours at the ends of a range are read from the records. The
// per-minute rollup (migration 0009): verification_minutely, upserted by
// the same statement, read by MinuteStats alone and pruned by Maintain.

const epoch = `timestamptz '1970-01-01 00:00:00+00'`

// rollupParts are the upserts of the batch's records into the rollups, to
// run in WriteBatch's statement. The rows are in key order, so concurrent
// batches lock the rows they share in one order (no deadlock).
func rollupParts(b store.Batch) []batchPart {
	var parts []batchPart
	if len(b.Verifications) > 0 {
		h := verificationRollupColumns(store.RollUpVerifications(b.Verifications))
		parts = append(parts, batchPart{"verification_hourly",
			"hour, account_id, scheme_code, kind, carrier, result, lat_bucket, n, billable, latency_us",
			[]string{"timestamptz", "text", "text", "text", "text", "text", "smallint", "bigint", "bigint", "bigint"},
			`ON CONFLICT (hour, account_id, scheme_code, kind, carrier, result, lat_bucket) DO UPDATE SET
				n = verification_hourly.n + excluded.n, billable = verification_hourly.billable + excluded.billable,
				latency_us = verification_hourly.latency_us + excluded.latency_us`,
			[]any{h.starts, h.accounts, h.schemes, h.kinds, h.carriers, h.results, h.buckets, h.counts, h.bills, h.lat}})
		m := verificationRollupColumns(store.RollUpVerificationMinutes(b.Verifications))
		parts = append(parts, batchPart{"verification_minutely",
			"minute, account_id, kind, carrier, result, lat_bucket, n, latency_us",
			[]string{"timestamptz", "text", "text", "text", "text", "smallint", "bigint", "bigint"},
			`ON CONFLICT (account_id, minute, kind, carrier, result, lat_bucket) DO UPDATE SET
				n = verification_minutely.n + excluded.n, latency_us = verification_minutely.latency_us + excluded.latency_us`,
			[]any{m.starts, m.accounts, m.kinds, m.carriers, m.results, m.buckets, m.counts, m.lat}})
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

// rollupColumns are verification rollup rows column by column, the
// arrays a batchPart unnests.
type rollupColumns struct {
	starts                                      []time.Time
	accounts, schemes, kinds, carriers, results []string
	buckets                                     []int16
	counts, bills, lat                          []int64
}

func verificationRollupColumns(rs []store.VerificationRollup) rollupColumns {
	n := len(rs)
	c := rollupColumns{starts: make([]time.Time, n), accounts: make([]string, n), schemes: make([]string, n),
		kinds: make([]string, n), carriers: make([]string, n), results: make([]string, n), buckets: make([]int16, n),
		counts: make([]int64, n), bills: make([]int64, n), lat: make([]int64, n)}
	for i, r := range rs {
		c.starts[i], c.accounts[i], c.schemes[i], c.kinds[i], c.carriers[i], c.results[i] = r.Start, r.AccountID, r.SchemeCode,
			r.Kind, r.Carrier, r.Result
		c.buckets[i], c.counts[i], c.bills[i], c.lat[i] = int16(r.LatBucket), r.N, r.Billable, r.LatencyUS
	}
	return c
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
		c := accountKind(p, f)
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

// accountKind is f's account and kind conditions.
func accountKind(p *params, f store.VerificationFilter) conds {
	var c conds
	if f.AccountID != "" {
		c = append(c, "account_id = "+p.arg(f.AccountID))
	}
	if f.Kind != "" {
		c = append(c, "kind = "+p.arg(f.Kind))
	}
	return c
}

// rollupGroups runs a rollup reader's query, whose rows are the columns of
// store.RollupGroup: the period start, carrier, result, latency bucket and
// the sums of n, billable and latency_us.
func (s *Store) rollupGroups(ctx context.Context, q string, args ...any) ([]store.RollupGroup, error) {
	return list(s, ctx, func(r pgx.Row) (store.RollupGroup, error) {
		var g store.RollupGroup
		var bucket int16
		err := r.Scan(&g.Start, &g.Carrier, &g.Result, &bucket, &g.N, &g.Billable, &g.LatencyUS)
		g.LatBucket = int(bucket)
		return g, err
	}, q, args...)
}

// HourlyStats implements store.Durable from the rollups alone.
func (s *Store) HourlyStats(ctx context.Context, f store.VerificationFilter) ([]store.HourStat, error) {
	var p params
	c := accountKind(&p, f)
	if f.SchemeCode != "" {
		c = append(c, "scheme_code = "+p.arg(f.SchemeCode))
	}
	from := f.From
	if !from.IsZero() {
		from = store.HourOf(from)
	}
	c.rangeOf(&p, "hour", store.TimeRange{From: from, To: f.To})
	gs, err := s.rollupGroups(ctx, `SELECT hour, '', result, lat_bucket, sum(n)::bigint, sum(billable)::bigint, sum(latency_us)::bigint
		FROM verification_hourly WHERE `+c.sql()+` GROUP BY hour, result, lat_bucket HAVING sum(n) > 0 ORDER BY hour`, p.args...)
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
	var p params
	c := accountKind(&p, f)
	c.rangeOf(&p, "minute", r)
	gs, err := s.rollupGroups(ctx, `SELECT minute, carrier, result, lat_bucket, sum(n)::bigint, 0::bigint, sum(latency_us)::bigint
		FROM verification_minutely WHERE `+c.sql()+` GROUP BY minute, carrier, result, lat_bucket HAVING sum(n) > 0
		ORDER BY minute, carrier`, p.args...)
	if err != nil {
		return nil, err
	}
	return store.MinuteStatsOf(gs), nil
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
