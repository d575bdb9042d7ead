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
}

// recount is the model the rollup tests check a store against: every
// record stored, counted afresh for each query.
type recount struct {
	vs  []store.Verification
	sms []store.SmsSend
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
		switch v.Result {
		case "PASS":
			s.Pass++
		case "REJECT":
			s.Reject++
		case "UNKNOWN":
			s.Unknown++
		default:
			s.Other++
		}
		if v.Billable {
			s.Billable++
		}
		s.Latency[store.LatencyBucket(v.LatencyUS)]++
		s.LatencySumUS += v.LatencyUS
	}
	var out []store.HourStat
	for _, s := range per {
		out = append(out, *s)
	}
	slices.SortFunc(out, func(a, b store.HourStat) int { return a.Hour.Compare(b.Hour) })
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
// statistics, billing and hourly stats, over random filters whose bounds
// fall on and between hours, equal a full recount of the records.
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
		if h, ok := any(x).(store.HourStat); ok {
			out[i] = fmt.Sprintf("%d %d %d %d %d %d %v %d", h.Hour.UnixMicro(), h.Pass, h.Reject, h.Unknown, h.Other,
				h.Billable, h.Latency, h.LatencySumUS)
			continue
		}
		out[i] = x
	}
	return out
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
	first := store.HourStat{Hour: h, Pass: 2, Reject: 1, Other: 1, Billable: 2, LatencySumUS: (5 + 40 + 120 + 20_000) * 1000}
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
