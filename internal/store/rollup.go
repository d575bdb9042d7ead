package store

import (
	"cmp"
	"fmt"
	"slices"
	"time"
)

// This file holds what the SQL backends share to keep and read their
// rollups (hourly, and per minute for the recent past): the grouping of a
// batch of records by rollup key, the folding of a rollup query's groups
// into statistics, and the split of a query's time range into whole hours
// (read from the rollups) and the partial hours at its ends (read from the
// records).

// VerificationRollup is one row of a verification rollup: the records of
// one period (an hour in the hourly rollup, a minute in the per-minute
// one), account, scheme, kind, carrier, result and latency bucket. The
// per-minute rollup keeps no scheme (SchemeCode is "") and stores no
// billable count.
type VerificationRollup struct {
	Start                                        time.Time
	AccountID, SchemeCode, Kind, Carrier, Result string
	LatBucket                                    int
	N, Billable, LatencyUS                       int64
}

// group groups xs by the key of each (first seen first), making a group's
// row from its key and adding each x to its group's row.
func group[X any, K comparable, R any](xs []X, key func(*X) K, row func(K) R, add func(*R, *X)) []R {
	idx := make(map[K]int, len(xs))
	var out []R
	for i := range xs {
		k := key(&xs[i])
		j, ok := idx[k]
		if !ok {
			j = len(out)
			idx[k] = j
			out = append(out, row(k))
		}
		add(&out[j], &xs[i])
	}
	return out
}

// RollUpVerifications groups vs by hourly rollup key, ordered by key
// (hour, then the strings in byte order, then the bucket): backends that
// upsert the rows in that order take their row locks in one order
// everywhere.
func RollUpVerifications(vs []Verification) []VerificationRollup {
	return rollUpVerifications(vs, HourOf, true)
}

// RollUpVerificationMinutes groups vs by per-minute rollup key (minute,
// account, kind, carrier, result, bucket), ordered by key as
// RollUpVerifications orders its rows.
func RollUpVerificationMinutes(vs []Verification) []VerificationRollup {
	return rollUpVerifications(vs, MinuteOf, false)
}

// rollUpVerifications groups vs by the start of their period and their
// dimensions (the scheme too if withScheme), ordered by key.
func rollUpVerifications(vs []Verification, period func(time.Time) time.Time, withScheme bool) []VerificationRollup {
	type key struct {
		start                                  int64
		account, scheme, kind, carrier, result string
		bucket                                 int
	}
	out := group(vs, func(v *Verification) key {
		k := key{period(v.CreatedAt).UnixMicro(), v.AccountID, "", v.Kind, v.Carrier, v.Result, LatencyBucket(v.LatencyUS)}
		if withScheme {
			k.scheme = v.SchemeCode
		}
		return k
	}, func(k key) VerificationRollup {
		return VerificationRollup{Start: time.UnixMicro(k.start).UTC(), AccountID: k.account, SchemeCode: k.scheme, Kind: k.kind,
			Carrier: k.carrier, Result: k.result, LatBucket: k.bucket}
	}, func(r *VerificationRollup, v *Verification) {
		r.N++
		if v.Billable {
			r.Billable++
		}
		r.LatencyUS += v.LatencyUS
	})
	slices.SortFunc(out, func(a, b VerificationRollup) int {
		return cmp.Or(a.Start.Compare(b.Start), cmp.Compare(a.AccountID, b.AccountID), cmp.Compare(a.SchemeCode, b.SchemeCode),
			cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Carrier, b.Carrier), cmp.Compare(a.Result, b.Result),
			cmp.Compare(a.LatBucket, b.LatBucket))
	})
	return out
}

// SmsRollup is one row of the hourly SMS send rollup: the sends of one
// hour, account, SMS scheme, provider and status.
type SmsRollup struct {
	Hour                            time.Time
	AccountID, SchemeName, Provider string
	Status                          int
	N, Billable                     int64
}

// RollUpSmsSends groups ms by rollup key, ordered by key.
func RollUpSmsSends(ms []SmsSend) []SmsRollup {
	type key struct {
		hour                      int64
		account, scheme, provider string
		status                    int
	}
	out := group(ms, func(m *SmsSend) key {
		return key{HourOf(m.SentAt).UnixMicro(), m.AccountID, m.SchemeName, m.Provider, m.Status}
	}, func(k key) SmsRollup {
		return SmsRollup{Hour: time.UnixMicro(k.hour).UTC(), AccountID: k.account, SchemeName: k.scheme, Provider: k.provider,
			Status: k.status}
	}, func(r *SmsRollup, m *SmsSend) {
		r.N++
		if m.Billable {
			r.Billable++
		}
	})
	slices.SortFunc(out, func(a, b SmsRollup) int {
		return cmp.Or(a.Hour.Compare(b.Hour), cmp.Compare(a.AccountID, b.AccountID), cmp.Compare(a.SchemeName, b.SchemeName),
			cmp.Compare(a.Provider, b.Provider), cmp.Compare(a.Status, b.Status))
	})
	return out
}

// RollupGroup is one group a rollup reader's query returns: the sums of
// the rows of one period start, carrier (for the per-minute statistics;
// "" otherwise), result and latency bucket.
type RollupGroup struct {
	Start                  time.Time
	Carrier, Result        string
	LatBucket              int
	N, Billable, LatencyUS int64
}

// fold folds groups into statistics: consecutive groups of which same
// reports that they belong to the last statistic are added to it, any
// other starts a new one.
func fold[S any](gs []RollupGroup, same func(*S, *RollupGroup) bool, start func(*RollupGroup) S, add func(*S, *RollupGroup)) []S {
	var out []S
	for i := range gs {
		g := &gs[i]
		if len(out) == 0 || !same(&out[len(out)-1], g) {
			out = append(out, start(g))
		}
		add(&out[len(out)-1], g)
	}
	return out
}

// HourStatsOf folds groups ordered by Start into HourlyStats' answer.
func HourStatsOf(gs []RollupGroup) []HourStat {
	return fold(gs, func(h *HourStat, g *RollupGroup) bool { return h.Hour.Equal(g.Start) },
		func(g *RollupGroup) HourStat { return HourStat{Hour: g.Start.UTC()} },
		func(h *HourStat, g *RollupGroup) { h.Add(g.Result, g.LatBucket, g.N, g.Billable, g.LatencyUS) })
}

// MinuteStatsOf folds groups ordered by Start, then Carrier into
// MinuteStats' answer.
func MinuteStatsOf(gs []RollupGroup) []MinuteStat {
	return fold(gs, func(m *MinuteStat, g *RollupGroup) bool { return m.Minute.Equal(g.Start) && m.Carrier == g.Carrier },
		func(g *RollupGroup) MinuteStat { return MinuteStat{Minute: g.Start.UTC(), Carrier: g.Carrier} },
		func(m *MinuteStat, g *RollupGroup) { m.Add(g.Result, g.LatBucket, g.N, g.LatencyUS) })
}

// MinuteFilter checks that MinuteStats can answer f (ErrBadFilter if not)
// and returns the range of minute starts it reads: [From truncated to the
// minute, To).
func MinuteFilter(f VerificationFilter) (TimeRange, error) {
	if f.SchemeCode != "" {
		return TimeRange{}, fmt.Errorf("%w: the per-minute statistics keep no scheme", ErrBadFilter)
	}
	r := TimeRange{From: f.From, To: f.To}
	if !r.From.IsZero() {
		r.From = MinuteOf(r.From)
	}
	return r, nil
}

// MinuteOf is the start of t's UTC minute, at microsecond precision.
func MinuteOf(t time.Time) time.Time {
	return time.UnixMicro(t.UnixMicro()).UTC().Truncate(time.Minute)
}

// HourOf is the start of t's UTC hour, at microsecond precision (as the
// stores keep times).
func HourOf(t time.Time) time.Time {
	return time.UnixMicro(t.UnixMicro()).UTC().Truncate(time.Hour)
}

// TimeRange is [From, To); a zero bound is open.
type TimeRange struct{ From, To time.Time }

// SplitHours splits the query range [from, to) (a zero bound is open) into
// the whole hours a rollup answers (whole, valid when ok) and the partial
// hours at its ends that only the records can answer (at most two ranges,
// each within one hour).
func SplitHours(from, to time.Time) (whole TimeRange, ok bool, partial []TimeRange) {
	var a, b time.Time
	if !from.IsZero() {
		a = HourOf(from)
		if a.Before(from) {
			a = a.Add(time.Hour)
		}
	}
	if !to.IsZero() {
		b = HourOf(to)
	}
	if !a.IsZero() && !b.IsZero() && !a.Before(b) {
		return TimeRange{}, false, []TimeRange{{from, to}}
	}
	if !from.IsZero() && from.Before(a) {
		partial = append(partial, TimeRange{from, a})
	}
	if !to.IsZero() && b.Before(to) {
		partial = append(partial, TimeRange{b, to})
	}
	return TimeRange{a, b}, true, partial
}
