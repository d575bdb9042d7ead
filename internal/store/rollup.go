package store

import (
	"cmp"
	"slices"
	"time"
)

// This file holds what the SQL backends share to keep and read their hourly
// rollups: the grouping of a batch of records by rollup key, and the split
// of a query's time range into whole hours (read from the rollups) and the
// partial hours at its ends (read from the records).

// VerificationRollup is one row of the hourly verification rollup: the
// records of one hour, account, scheme, kind, carrier, result and latency
// bucket.
type VerificationRollup struct {
	Hour                                         time.Time
	AccountID, SchemeCode, Kind, Carrier, Result string
	LatBucket                                    int
	N, Billable, LatencyUS                       int64
}

// RollUpVerifications groups vs by rollup key, ordered by key (hour, then
// the strings in byte order, then the bucket): backends that upsert the
// rows in that order take their row locks in one order everywhere.
func RollUpVerifications(vs []Verification) []VerificationRollup {
	type key struct {
		hour                                   int64
		account, scheme, kind, carrier, result string
		bucket                                 int
	}
	idx := make(map[key]int, len(vs))
	var out []VerificationRollup
	for i := range vs {
		v := &vs[i]
		h := HourOf(v.CreatedAt)
		k := key{h.UnixMicro(), v.AccountID, v.SchemeCode, v.Kind, v.Carrier, v.Result, LatencyBucket(v.LatencyUS)}
		j, ok := idx[k]
		if !ok {
			j = len(out)
			idx[k] = j
			out = append(out, VerificationRollup{Hour: h, AccountID: k.account, SchemeCode: k.scheme, Kind: k.kind,
				Carrier: k.carrier, Result: k.result, LatBucket: k.bucket})
		}
		out[j].N++
		if v.Billable {
			out[j].Billable++
		}
		out[j].LatencyUS += v.LatencyUS
	}
	slices.SortFunc(out, func(a, b VerificationRollup) int {
		return cmp.Or(a.Hour.Compare(b.Hour), cmp.Compare(a.AccountID, b.AccountID), cmp.Compare(a.SchemeCode, b.SchemeCode),
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
	idx := make(map[key]int, len(ms))
	var out []SmsRollup
	for i := range ms {
		m := &ms[i]
		h := HourOf(m.SentAt)
		k := key{h.UnixMicro(), m.AccountID, m.SchemeName, m.Provider, m.Status}
		j, ok := idx[k]
		if !ok {
			j = len(out)
			idx[k] = j
			out = append(out, SmsRollup{Hour: h, AccountID: k.account, SchemeName: k.scheme, Provider: k.provider, Status: k.status})
		}
		out[j].N++
		if m.Billable {
			out[j].Billable++
		}
	}
	slices.SortFunc(out, func(a, b SmsRollup) int {
		return cmp.Or(a.Hour.Compare(b.Hour), cmp.Compare(a.AccountID, b.AccountID), cmp.Compare(a.SchemeName, b.SchemeName),
			cmp.Compare(a.Provider, b.Provider), cmp.Compare(a.Status, b.Status))
	})
	return out
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
