package storetest

import (
	"cmp"
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/numauth/numauth/internal/store"
)

var rollupTests = []durableTest{
	{"RollupsEqualRecount", testRollupsEqualRecount},
	{"HourlyStats", testHourlyStats},
	{"SmsSettleMovesRollup", testSmsSettleMovesRollup},
	{"MinuteStats", testMinuteStats},
	{"MinuteStatsPruned", testMinuteStatsPruned},
}

// recount is the model the rollup tests check a store against: every
// record stored, counted afresh for each query.
type recount struct {
	vs  []store.Verification
	sms []store.SmsSend
	// pruned: the per-minute rollup has no minute before it (Maintain
	// deleted them).
	pruned time.Time
}

func inRange(t time.Time, from, to time.Time) bool {
	t = t.Truncate(time.Microsecond)
	return (from.IsZero() || !t.Before(from.Truncate(time.Microsecond))) && (to.IsZero() || t.Before(to.Truncate(time.Microsecond)))
}

func (m *recount) selects(v *store.Verification, f store.VerificationFilter) bool {
	return (f.AccountID == "" || v.AccountID == f.AccountID) && (f.Kind == "" || v.Kind == f.Kind) &&
		(f.SchemeCode == "" || v.SchemeCode == f.SchemeCode) && inRange(v.CreatedAt, f.From, f.To)
}

func (m *recount) smsSelects(r *store.SmsSend, f store.SmsFilter) bool {
	return (f.AccountID == "" || r.AccountID == f.AccountID) && (f.PhoneHash == "" || r.PhoneHash == f.PhoneHash) &&
		(f.ID == "" || r.ID == f.ID) && inRange(r.SentAt, f.From, f.To)
}

func dayOf(t time.Time) string { return t.UTC().Format(time.DateOnly) }

// days turns per-day counts into the sorted list DailyStats returns.
func days(m map[string]*store.DayStat) []store.DayStat {
	var out []store.DayStat
	for _, d := range m {
		if d.Pass+d.Reject+d.Unknown > 0 {
			out = append(out, *d)
		}
	}
	slices.SortFunc(out, func(a, b store.DayStat) int { return cmp.Compare(a.Day, b.Day) })
	return out
}

func (m *recount) dailyStats(f store.VerificationFilter) []store.DayStat {
	per := map[string]*store.DayStat{}
	for i := range m.vs {
		v := &m.vs[i]
		if !m.selects(v, f) {
			continue
		}
		d := per[dayOf(v.CreatedAt)]
		if d == nil {
			d = &store.DayStat{Day: dayOf(v.CreatedAt)}
			per[d.Day] = d
		}
		switch v.Result {
		case "PASS":
			d.Pass++
		case "REJECT":
			d.Reject++
		case "UNKNOWN":
			d.Unknown++
		}
	}
	return days(per)
}

func bills(m map[[2]string]int64) []store.BillCount {
	var out []store.BillCount
	for k, n := range m {
		out = append(out, store.BillCount{Scheme: k[0], Kind: k[1], Count: n})
	}
	slices.SortFunc(out, func(a, b store.BillCount) int {
		return cmp.Or(cmp.Compare(a.Scheme, b.Scheme), cmp.Compare(a.Kind, b.Kind))
	})
	return out
}

func (m *recount) billableCounts(f store.VerificationFilter) []store.BillCount {
	per := map[[2]string]int64{}
	for i := range m.vs {
		if v := &m.vs[i]; v.Billable && m.selects(v, f) {
			per[[2]string{v.SchemeCode, v.Kind}]++
		}
	}
	return bills(per)
}

func (m *recount) hourlyStats(f store.VerificationFilter) []store.HourStat {
	from := f.From
	if !from.IsZero() {
		from = store.HourOf(from)
	}
	per := map[int64]*store.HourStat{}
	for i := range m.vs {
		v := &m.vs[i]
		h := store.HourOf(v.CreatedAt)
		g := f
		g.From, g.To = time.Time{}, time.Time{}
		if !m.selects(v, g) || !inRange(h, from, f.To) {
			continue
		}
		s := per[h.UnixMicro()]
		if s == nil {
			s = &store.HourStat{Hour: h}
			per[h.UnixMicro()] = s
		}
		count(&s.Counts, v)
		if v.Billable {
			s.Billable++
		}
	}
	var out []store.HourStat
	for _, s := range per {
		out = append(out, *s)
	}
	slices.SortFunc(out, func(a, b store.HourStat) int { return a.Hour.Compare(b.Hour) })
	return out
}

// count counts one record in c, afresh (not through Counts.Add, which the
// stores use).
func count(c *store.Counts, v *store.Verification) {
	switch v.Result {
	case "PASS":
		c.Pass++
	case "REJECT":
		c.Reject++
	case "UNKNOWN":
		c.Unknown++
	default:
		c.Other++
	}
	c.Latency[store.LatencyBucket(v.LatencyUS)]++
	c.LatencySumUS += v.LatencyUS
}

// minuteStats is MinuteStats of the records in the model whose minute
// starts at or after m.pruned (the zero time: all of them). f has no
// scheme.
func (m *recount) minuteStats(f store.VerificationFilter) []store.MinuteStat {
	from := f.From
	if !from.IsZero() {
		from = store.MinuteOf(from)
	}
	type key struct {
		minute  int64
		carrier string
	}
	per := map[key]*store.MinuteStat{}
	for i := range m.vs {
		v := &m.vs[i]
		start := store.MinuteOf(v.CreatedAt)
		g := f
		g.From, g.To = time.Time{}, time.Time{}
		if !m.selects(v, g) || !inRange(start, from, f.To) || start.Before(m.pruned) {
			continue
		}
		k := key{start.UnixMicro(), v.Carrier}
		s := per[k]
		if s == nil {
			s = &store.MinuteStat{Minute: start, Carrier: v.Carrier}
			per[k] = s
		}
		count(&s.Counts, v)
	}
	var out []store.MinuteStat
	for _, s := range per {
		out = append(out, *s)
	}
	slices.SortFunc(out, func(a, b store.MinuteStat) int {
		return cmp.Or(a.Minute.Compare(b.Minute), cmp.Compare(a.Carrier, b.Carrier))
	})
	return out
}

func (m *recount) smsDailyStats(f store.SmsFilter) []store.DayStat {
	per := map[string]*store.DayStat{}
	for i := range m.sms {
		r := &m.sms[i]
		if !m.smsSelects(r, f) {
			continue
		}
		d := per[dayOf(r.SentAt)]
		if d == nil {
			d = &store.DayStat{Day: dayOf(r.SentAt)}
			per[d.Day] = d
		}
		switch r.Status {
		case 3:
			d.Pass++
		case 2:
			d.Reject++
		case 1:
			d.Unknown++
		}
	}
	return days(per)
}

func (m *recount) smsBillableCounts(f store.SmsFilter) []store.BillCount {
	per := map[[2]string]int64{}
	for i := range m.sms {
		if r := &m.sms[i]; r.Billable && m.smsSelects(r, f) {
			per[[2]string{r.SchemeName, "sms"}]++
		}
	}
	return bills(per)
}

// rollupBase is the start of the random records' window: two hours before
// a month boundary, so that they span two months (and PostgreSQL
// partitions) and two days.
var rollupBase = time.Date(2026, 3, 31, 22, 0, 0, 0, time.UTC)

// randomTime is a time in [rollupBase, rollupBase+30h): on an hour
// boundary one time in four, else anywhere at microsecond precision.
func randomTime(r *rand.Rand) time.Time {
	h := time.Duration(r.IntN(30)) * time.Hour
	if r.IntN(4) == 0 {
		return rollupBase.Add(h)
	}
	return rollupBase.Add(h + time.Duration(r.Int64N(int64(time.Hour/time.Microsecond)))*time.Microsecond)
}

func pick[T any](r *rand.Rand, xs ...T) T { return xs[r.IntN(len(xs))] }

func randomVerification(r *rand.Rand, id string) store.Verification {
	return store.Verification{
		ID: id, AccountID: pick(r, "A", "B"), SchemeCode: pick(r, "FC1", "FC2", "FC3"),
		Kind: pick(r, "verify", "login", "fusion"), Carrier: pick(r, "CM", "CU", "CT"),
		Result:      pick(r, "PASS", "PASS", "REJECT", "UNKNOWN", "ERROR"),
		MaskedPhone: "138****5678", PhoneHash: pick(r, "h1", "h2"), Billable: r.IntN(3) > 0,
		LatencyUS: pick[int64](r, 0, 5_000, 9_999, 10_000, 30_000, 99_999, 250_000, 2_000_000, 20_000_000),
		CreatedAt: randomTime(r),
	}
}

func randomSmsSend(r *rand.Rand, id string) store.SmsSend {
	m := smsSend(id, pick(r, "A", "B"), pick(r, "h1", "h2"), randomTime(r))
	m.SchemeName = pick(r, "默认方案", "Shop", "Zoo")
	m.Provider = pick(r, "p1", "p2")
	m.ProviderID = ""
	m.Status, m.Billable = 2, false
	if r.IntN(4) > 0 {
		m.ProviderID, m.Status, m.Billable = "pid-"+id, 1, true
	}
	return m
}

func randomFilter(r *rand.Rand) store.VerificationFilter {
	var f store.VerificationFilter
	if r.IntN(2) == 0 {
		f.AccountID = pick(r, "A", "B", "C")
	}
	if r.IntN(3) == 0 {
		f.Kind = pick(r, "verify", "login", "fusion")
	}
	if r.IntN(3) == 0 {
		f.SchemeCode = pick(r, "FC1", "FC2", "FC3")
	}
	if r.IntN(3) > 0 {
		f.From = randomTime(r)
	}
	if r.IntN(3) > 0 {
		f.To = randomTime(r)
		if r.IntN(4) == 0 && !f.From.IsZero() {
			f.To = f.From.Add(time.Duration(r.IntN(90)) * time.Minute) // within an hour or two
		}
	}
	return f
}

// testRollupsEqualRecount stores a seeded random mix of records in many
// small rounds (batches of verifications and SMS sends, batches rejected
// for a duplicate id, delivery receipts) and checks after each round that
// statistics, billing, hourly and per-minute stats, over random filters
// whose bounds fall on and between hours and minutes, equal a full
// recount of the records.
func testRollupsEqualRecount(t *testing.T, s store.Durable) {
	ctx := ctxFor(t)
	r := rand.New(rand.NewPCG(20261202, 7))
	var m recount
	for round := 0; round < 40; round++ {
		var b store.Batch
		// Half the records share their rollup row with a stored record (the
		// same hour and dimensions), so that rollups are updated, not only
		// created.
		for i, n := 0, r.IntN(12); i < n; i++ {
			v := randomVerification(r, fmt.Sprintf("v-%02d-%02d", round, i))
			if len(m.vs) > 0 && r.IntN(2) == 0 {
				old := m.vs[r.IntN(len(m.vs))]
				v.AccountID, v.SchemeCode, v.Kind, v.Carrier, v.Result = old.AccountID, old.SchemeCode, old.Kind, old.Carrier, old.Result
				v.LatencyUS = old.LatencyUS
				v.CreatedAt = store.HourOf(old.CreatedAt).Add(time.Duration(r.IntN(3600)) * time.Second)
				if r.IntN(2) == 0 { // the same minute too: the per-minute row is updated
					v.CreatedAt = store.MinuteOf(old.CreatedAt).Add(time.Duration(r.IntN(60_000_000)) * time.Microsecond)
				}
			}
			b.Verifications = append(b.Verifications, v)
		}
		for i, n := 0, r.IntN(6); i < n; i++ {
			ms := randomSmsSend(r, fmt.Sprintf("s-%02d-%02d", round, i))
			if len(m.sms) > 0 && r.IntN(2) == 0 {
				old := m.sms[r.IntN(len(m.sms))]
				ms.AccountID, ms.SchemeName, ms.Provider = old.AccountID, old.SchemeName, old.Provider
				ms.SentAt = store.HourOf(old.SentAt).Add(time.Duration(r.IntN(3600)) * time.Second)
			}
			b.SmsSends = append(b.SmsSends, ms)
		}
		dup := r.IntN(6) == 0 && len(m.vs) > 0 && len(b.Verifications) > 0
		if dup {
			b.Verifications[0].ID = m.vs[r.IntN(len(m.vs))].ID
		}
		var err error
		switch {
		case len(b.SmsSends) == 0:
			err = s.RecordVerifications(ctx, b.Verifications)
		case len(b.Verifications) == 0 && r.IntN(2) == 0:
			err = s.RecordSmsSends(ctx, b.SmsSends)
		default:
			err = s.WriteBatch(ctx, b)
		}
		if dup {
			mustIs(t, err, store.ErrConflict, fmt.Sprintf("round %d: a batch with a stored id", round))
		} else {
			must(t, err, fmt.Sprintf("round %d: write", round))
			m.vs = append(m.vs, b.Verifications...)
			m.sms = append(m.sms, b.SmsSends...)
		}
		// Receipts: for pending and settled records, and for none.
		for i, n := 0, r.IntN(4); i < n && len(m.sms) > 0; i++ {
			j := r.IntN(len(m.sms))
			rec := &m.sms[j]
			st := pick(r, 2, 3)
			at := rec.SentAt.Add(time.Minute)
			err := s.SetSmsStatus(ctx, rec.Provider, rec.ProviderID, st, "X", at)
			if rec.ProviderID == "" {
				mustIs(t, err, store.ErrNotFound, "a receipt for a refused send")
				continue
			}
			must(t, err, "SetSmsStatus")
			if rec.Status == 1 {
				rec.Status, rec.ErrCode, rec.ReceivedAt = st, "X", at
			}
		}
		mustIs(t, s.SetSmsStatus(ctx, "p1", "no-such-id", 3, "X", rollupBase), store.ErrNotFound, "a receipt for no send")
		for q := 0; q < 6; q++ {
			f := randomFilter(r)
			checkRollup(t, fmt.Sprintf("round %d DailyStats(%+v)", round, f), s.DailyStats, f, m.dailyStats)
			checkRollup(t, fmt.Sprintf("round %d BillableCounts(%+v)", round, f), s.BillableCounts, f, m.billableCounts)
			checkRollup(t, fmt.Sprintf("round %d HourlyStats(%+v)", round, f), s.HourlyStats, f, m.hourlyStats)
			mf := f
			mf.SchemeCode = ""
			if r.IntN(3) == 0 && !mf.From.IsZero() {
				mf.To = mf.From.Add(time.Duration(r.IntN(5)) * time.Minute) // a few minutes; none when From = To
			}
			checkRollup(t, fmt.Sprintf("round %d MinuteStats(%+v)", round, mf), s.MinuteStats, mf, m.minuteStats)
			sf := store.SmsFilter{AccountID: f.AccountID, From: f.From, To: f.To}
			if r.IntN(5) == 0 {
				sf.PhoneHash = pick(r, "h1", "h2")
			}
			checkRollup(t, fmt.Sprintf("round %d SmsDailyStats(%+v)", round, sf), s.SmsDailyStats, sf, m.smsDailyStats)
			checkRollup(t, fmt.Sprintf("round %d SmsBillableCounts(%+v)", round, sf), s.SmsBillableCounts, sf, m.smsBillableCounts)
		}
		if t.Failed() {
			return
		}
	}
}

func checkRollup[F, T any](t *testing.T, what string, query func(context.Context, F) ([]T, error), f F, model func(F) []T) {
	t.Helper()
	got, err := query(ctxFor(t), f)
	must(t, err, what)
	if want := model(f); fmt.Sprint(normalize(got)) != fmt.Sprint(normalize(want)) {
		t.Errorf("%s:\n got  %v\n want %v", what, got, want)
	}
}

// normalize makes an empty list print as a nil one and times as UTC
// microseconds.
func normalize[T any](xs []T) any {
	if len(xs) == 0 {
		return nil
	}
	out := make([]any, len(xs))
	for i, x := range xs {
		switch x := any(x).(type) {
		case store.HourStat:
			out[i] = fmt.Sprintf("%d %s %d", x.Hour.UnixMicro(), counts(x.Counts), x.Billable)
			continue
		case store.MinuteStat:
			out[i] = fmt.Sprintf("%d %q %s", x.Minute.UnixMicro(), x.Carrier, counts(x.Counts))
			continue
		}
		out[i] = x
	}
	return out
}

func counts(c store.Counts) string {
	return fmt.Sprintf("%d %d %d %d %v %d", c.Pass, c.Reject, c.Unknown, c.Other, c.Latency, c.LatencySumUS)
}

// RunRollupBackfill checks that the backfill of a migration rolls up the
// records stored before it exactly as the store does as it writes them:
// it records a random mix through s, calls backfill (which must empty the
// rollup tables and run the migration's backfill statements again), and
// compares the statistics with a full recount.
func RunRollupBackfill(t *testing.T, s store.Durable, backfill func() error) {
	ctx := ctxFor(t)
	r := rand.New(rand.NewPCG(6, 2026))
	var m recount
	var b store.Batch
	for i := 0; i < 300; i++ {
		b.Verifications = append(b.Verifications, randomVerification(r, fmt.Sprintf("v-%03d", i)))
	}
	for i := 0; i < 100; i++ {
		b.SmsSends = append(b.SmsSends, randomSmsSend(r, fmt.Sprintf("s-%03d", i)))
	}
	must(t, s.WriteBatch(ctx, b), "WriteBatch")
	m.vs, m.sms = b.Verifications, b.SmsSends
	for i := 0; i < 100; i += 3 {
		rec := &m.sms[i]
		if rec.ProviderID != "" {
			must(t, s.SetSmsStatus(ctx, rec.Provider, rec.ProviderID, 3, "DELIVERED", rec.SentAt), "SetSmsStatus")
			rec.Status = 3
		}
	}
	must(t, backfill(), "backfill")
	all := store.VerificationFilter{}
	checkRollup(t, "HourlyStats after backfill", s.HourlyStats, all, m.hourlyStats)
	checkRollup(t, "DailyStats after backfill", s.DailyStats, all, m.dailyStats)
	checkRollup(t, "BillableCounts after backfill", s.BillableCounts, all, m.billableCounts)
	checkRollup(t, "SmsDailyStats after backfill", s.SmsDailyStats, store.SmsFilter{}, m.smsDailyStats)
	checkRollup(t, "SmsBillableCounts after backfill", s.SmsBillableCounts, store.SmsFilter{}, m.smsBillableCounts)
	got, err := s.HourlyStats(ctx, all)
	must(t, err, "HourlyStats")
	if len(got) == 0 {
		t.Fatal("HourlyStats after backfill: no hours")
	}
}

func testHourlyStats(t *testing.T, s store.Durable) {
	ctx := ctxFor(t)
	h := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	mk := func(id string, at time.Time, result string, latMS int64, billable bool) store.Verification {
		v := verification(id, at)
		v.AccountID, v.SchemeCode, v.Result, v.LatencyUS, v.Billable = "acct", "FC1", result, latMS*1000, billable
		return v
	}
	must(t, s.RecordVerifications(ctx, []store.Verification{
		mk("a", h, "PASS", 5, true), mk("b", h.Add(59*time.Minute), "PASS", 40, true),
		mk("c", h.Add(30*time.Minute), "REJECT", 120, false), mk("d", h.Add(30*time.Minute), "ERROR", 20_000, false),
		mk("e", h.Add(2*time.Hour), "UNKNOWN", 40, true),
	}), "RecordVerifications")
	got, err := s.HourlyStats(ctx, store.VerificationFilter{AccountID: "acct", From: h.Add(10 * time.Minute)})
	must(t, err, "HourlyStats")
	if len(got) != 2 {
		t.Fatalf("HourlyStats = %+v, want the hours 10:00 and 12:00 (From rounds down to its hour)", got)
	}
	first := store.HourStat{Hour: h, Counts: store.Counts{Pass: 2, Reject: 1, Other: 1, LatencySumUS: (5 + 40 + 120 + 20_000) * 1000},
		Billable: 2}
	first.Latency[0], first.Latency[2], first.Latency[4], first.Latency[store.LatencyBuckets-1] = 1, 1, 1, 1
	if fmt.Sprint(normalize(got[:1])) != fmt.Sprint(normalize([]store.HourStat{first})) {
		t.Errorf("10:00: got %+v, want %+v", got[0], first)
	}
	if !got[1].Hour.Equal(h.Add(2*time.Hour)) || got[1].Unknown != 1 || got[1].Total() != 1 {
		t.Errorf("12:00: got %+v", got[1])
	}
	// p50 of 5ms, 40ms, 120ms, 20s falls in the 25–50ms bucket; p99 in the last.
	if q := got[0].Quantile(0.5); q < 25*time.Millisecond || q > 50*time.Millisecond {
		t.Errorf("p50 = %v, want within [25ms, 50ms]", q)
	}
	if q := got[0].Quantile(0.99); q != 10*time.Second {
		t.Errorf("p99 = %v, want 10s (the last bucket's lower bound)", q)
	}
	got, err = s.HourlyStats(ctx, store.VerificationFilter{AccountID: "acct", To: h.Add(2 * time.Hour)})
	must(t, err, "HourlyStats to 12:00")
	if len(got) != 1 || !got[0].Hour.Equal(h) {
		t.Errorf("HourlyStats to 12:00 = %+v, want the 10:00 hour only (To is exclusive)", got)
	}
	got, err = s.HourlyStats(ctx, store.VerificationFilter{AccountID: "other"})
	must(t, err, "HourlyStats of another account")
	if len(got) != 0 {
		t.Errorf("another account's HourlyStats = %+v, want none", got)
	}
}

// testSmsSettleMovesRollup: a receipt moves its send from pending to its
// status in the statistics of whole hours (read from the rollup), and a
// second receipt changes nothing.
func testSmsSettleMovesRollup(t *testing.T, s store.Durable) {
	ctx := ctxFor(t)
	at := time.Date(2026, 5, 1, 10, 15, 0, 0, time.UTC)
	rec := smsSend("m1", "acct", "h", at)
	rec.Provider, rec.ProviderID, rec.Status, rec.Billable = "p", "x1", 1, true
	must(t, s.RecordSmsSends(ctx, []store.SmsSend{rec}), "RecordSmsSends")
	day := store.SmsFilter{AccountID: "acct", From: at.Truncate(24 * time.Hour), To: at.Truncate(24 * time.Hour).Add(24 * time.Hour)}
	want := func(what string, d store.DayStat) {
		t.Helper()
		got, err := s.SmsDailyStats(ctx, day)
		must(t, err, what)
		if len(got) != 1 || got[0] != d {
			t.Fatalf("%s: SmsDailyStats = %+v, want %+v", what, got, d)
		}
	}
	want("pending", store.DayStat{Day: "2026-05-01", Unknown: 1})
	must(t, s.SetSmsStatus(ctx, "p", "x1", 3, "DELIVERED", at.Add(time.Second)), "SetSmsStatus")
	want("delivered", store.DayStat{Day: "2026-05-01", Pass: 1})
	must(t, s.SetSmsStatus(ctx, "p", "x1", 2, "LATE", at.Add(time.Minute)), "a second receipt")
	want("after a second receipt", store.DayStat{Day: "2026-05-01", Pass: 1})
	got, err := s.SmsBillableCounts(ctx, day)
	must(t, err, "SmsBillableCounts")
	if len(got) != 1 || got[0].Count != 1 {
		t.Fatalf("SmsBillableCounts = %+v, want one", got)
	}
}

// testMinuteStats: the per-minute statistics of whole minutes, [From
// truncated to the minute, To), one row per minute and carrier ordered by
// minute then carrier, filtered by account and kind; no scheme filter.
func testMinuteStats(t *testing.T, s store.Durable) {
	ctx := ctxFor(t)
	m := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	mk := func(id, account, kind, carrier, result string, at time.Time, latMS int64) store.Verification {
		v := verification(id, at)
		v.AccountID, v.Kind, v.Carrier, v.Result, v.LatencyUS = account, kind, carrier, result, latMS*1000
		return v
	}
	must(t, s.RecordVerifications(ctx, []store.Verification{
		mk("a", "acct", "verify", "CM", "PASS", m.Add(-time.Microsecond), 5),
		mk("b", "acct", "verify", "CU", "PASS", m, 5),
		mk("c", "acct", "verify", "CM", "REJECT", m.Add(time.Minute-time.Microsecond), 40),
		mk("d", "acct", "verify", "CM", "UNKNOWN", m.Add(30*time.Second), 120),
		mk("e", "acct", "verify", "CT", "ERROR", m.Add(time.Minute), 20_000),
		mk("f", "acct", "login", "CM", "PASS", m.Add(2*time.Minute), 5),
		mk("g", "acct-2", "verify", "CM", "PASS", m.Add(time.Minute+time.Second), 5),
	}), "RecordVerifications")
	row := func(at time.Time, carrier string, c store.Counts) store.MinuteStat {
		return store.MinuteStat{Minute: at, Carrier: carrier, Counts: c}
	}
	var cm10, cu10, ct11, cm09, cm12, cm11 store.Counts
	cm10.Reject, cm10.Unknown, cm10.Latency[2], cm10.Latency[4], cm10.LatencySumUS = 1, 1, 1, 1, 160_000
	cu10.Pass, cu10.Latency[0], cu10.LatencySumUS = 1, 1, 5_000
	ct11.Other, ct11.Latency[store.LatencyBuckets-1], ct11.LatencySumUS = 1, 1, 20_000_000
	cm09, cm12, cm11 = cu10, cu10, cu10
	for _, c := range []struct {
		what string
		f    store.VerificationFilter
		want []store.MinuteStat
	}{
		{"From rounds down to its minute, To is exclusive",
			store.VerificationFilter{AccountID: "acct", From: m.Add(59 * time.Second), To: m.Add(2 * time.Minute)},
			[]store.MinuteStat{row(m, "CM", cm10), row(m, "CU", cu10), row(m.Add(time.Minute), "CT", ct11)}},
		{"a To inside a minute takes that minute",
			store.VerificationFilter{AccountID: "acct", To: m.Add(2*time.Minute + time.Microsecond)},
			[]store.MinuteStat{row(m.Add(-time.Minute), "CM", cm09), row(m, "CM", cm10), row(m, "CU", cu10),
				row(m.Add(time.Minute), "CT", ct11), row(m.Add(2*time.Minute), "CM", cm12)}},
		{"From on a minute's start", store.VerificationFilter{AccountID: "acct", From: m.Add(time.Minute), To: m.Add(2 * time.Minute)},
			[]store.MinuteStat{row(m.Add(time.Minute), "CT", ct11)}},
		{"one kind", store.VerificationFilter{AccountID: "acct", Kind: "login"},
			[]store.MinuteStat{row(m.Add(2*time.Minute), "CM", cm12)}},
		{"an empty range", store.VerificationFilter{AccountID: "acct", From: m, To: m}, nil},
		{"all accounts, ordered by carrier within a minute",
			store.VerificationFilter{Kind: "verify", From: m.Add(time.Minute), To: m.Add(2 * time.Minute)},
			[]store.MinuteStat{row(m.Add(time.Minute), "CM", cm11), row(m.Add(time.Minute), "CT", ct11)}},
		{"another account", store.VerificationFilter{AccountID: "acct-3"}, nil},
	} {
		got, err := s.MinuteStats(ctx, c.f)
		must(t, err, c.what)
		if fmt.Sprint(normalize(got)) != fmt.Sprint(normalize(c.want)) {
			t.Errorf("%s: MinuteStats(%+v)\n got  %v\n want %v", c.what, c.f, normalize(got), normalize(c.want))
		}
	}
	// p50 of 40ms and 120ms: the first of two records, at the top of the
	// 25–50ms bucket.
	got, err := s.MinuteStats(ctx, store.VerificationFilter{AccountID: "acct", From: m, To: m.Add(time.Minute)})
	must(t, err, "MinuteStats of 10:00")
	if len(got) == 0 || got[0].Quantile(0.5) != 50*time.Millisecond {
		t.Errorf("MinuteStats of 10:00 = %+v, want CM first with p50 50ms", got)
	}
	_, err = s.MinuteStats(ctx, store.VerificationFilter{AccountID: "acct", SchemeCode: "FC1"})
	mustIs(t, err, store.ErrBadFilter, "MinuteStats by scheme")
}

// testMinuteStatsPruned: Maintain deletes the per-minute rollup's minutes
// that started before now-MinuteRollupWindow, whatever the retention (here
// none), and reports how many rows; the records and the hourly rollups stay.
func testMinuteStatsPruned(t *testing.T, s store.Durable) {
	mt, ok := s.(store.Maintainer)
	if !ok {
		t.Skip("the store keeps no time-ranged records (not a store.Maintainer)")
	}
	ctx := ctxFor(t)
	now := time.Date(2026, 6, 15, 12, 0, 30, 0, time.UTC)
	cutoff := now.Add(-store.MinuteRollupWindow) // 2026-06-13 12:00:30
	var m recount
	for i, at := range []time.Time{
		cutoff.Add(-3 * time.Hour),   // gone
		cutoff.Add(15 * time.Second), // gone: its minute started before the cutoff
		cutoff.Add(30 * time.Second), // kept: the first minute that starts at or after it
		now, now.Add(-time.Hour), cutoff.Add(time.Hour),
	} {
		v := verification(fmt.Sprint("v", i), at)
		v.AccountID = "acct-1"
		m.vs = append(m.vs, v)
	}
	must(t, s.RecordVerifications(ctx, m.vs), "RecordVerifications")
	all := store.VerificationFilter{AccountID: "acct-1"}
	checkRollup(t, "MinuteStats before Maintain", s.MinuteStats, all, m.minuteStats)
	hours, err := s.HourlyStats(ctx, all)
	must(t, err, "HourlyStats")

	rep, err := mt.Maintain(ctx, now, 0)
	must(t, err, "Maintain")
	if rep.MinuteRows != 2 || rep.Deleted != 0 {
		t.Errorf("Maintain = %+v, want 2 minute rows and no record deleted", rep)
	}
	m.pruned = cutoff
	checkRollup(t, "MinuteStats after Maintain", s.MinuteStats, all, m.minuteStats)
	if got, want := len(m.minuteStats(all)), 4; got != want {
		t.Fatalf("the model keeps %d minutes, want %d", got, want)
	}
	checkRollup(t, "HourlyStats after Maintain", s.HourlyStats, all, func(store.VerificationFilter) []store.HourStat { return hours })
	checkRollup(t, "HourlyStats after Maintain, recounted", s.HourlyStats, all, m.hourlyStats)
	for _, v := range m.vs {
		_, err := s.GetVerification(ctx, v.ID)
		must(t, err, "a record after the minutes were pruned")
	}
	rep, err = mt.Maintain(ctx, now, 0)
	must(t, err, "Maintain again")
	if rep.MinuteRows != 0 {
		t.Errorf("a second Maintain deleted %d more minute rows", rep.MinuteRows)
	}
}

// RunMinuteBackfill checks the backfill of the per-minute rollup's
// migration: it records verifications of the last 50 hours through s,
// calls backfill (which must empty the per-minute rollup and run the
// migration's backfill statement again), and compares MinuteStats with a
// recount of the records of the minutes that started in the last 48 hours.
// No record lies within five minutes of that edge, which moves while the
// test runs.
func RunMinuteBackfill(t *testing.T, s store.Durable, backfill func() error) {
	ctx := ctxFor(t)
	r := rand.New(rand.NewPCG(9, 2026))
	now := time.Now()
	var m recount
	for i := 0; len(m.vs) < 300; i++ {
		age := time.Duration(r.Int64N(int64(50 * time.Hour)))
		if d := age - store.MinuteRollupWindow; d > -5*time.Minute && d < 5*time.Minute {
			continue
		}
		v := randomVerification(r, fmt.Sprintf("v-%03d", i))
		v.CreatedAt = now.Add(-age)
		// On a bucket's bound or just below it: the migration's CASE must
		// bucket as store.LatencyBucket does.
		v.LatencyUS = store.LatencyBoundsUS[r.IntN(len(store.LatencyBoundsUS))] - r.Int64N(2)
		m.vs = append(m.vs, v)
	}
	must(t, s.RecordVerifications(ctx, m.vs), "RecordVerifications")
	must(t, backfill(), "backfill")
	m.pruned = now.Add(-store.MinuteRollupWindow)
	all := store.VerificationFilter{}
	checkRollup(t, "MinuteStats after backfill", s.MinuteStats, all, m.minuteStats)
	if len(m.minuteStats(all)) == len((&recount{vs: m.vs}).minuteStats(all)) {
		t.Fatal("no record older than the window: the backfill's cutoff is untested")
	}
}
