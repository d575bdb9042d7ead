package auth

import (
	"context"
	"sort"
	"strings"
	"time"

	"github.com/numauth/numauth/internal/carrier"
	"github.com/numauth/numauth/internal/store"
)

// StatsInput is QueryGateVerifyStatisticPublic's request.
type StatsInput struct {
	// AuthenticationType as Alibaba's: 1 one-click login, 2 local-number
	// verification, 3 SMS codes.
	AuthenticationType int
	StartDate, EndDate string // yyyyMMdd, inclusive
	SceneCode          string
	// OsType narrows login and verification counts to the caller's
	// schemes of that OS (Android, iOS; numauth also takes H5); it does
	// not narrow SMS, whose records belong to no scheme's OS. "" = any.
	OsType string
}

// Stats is the answer: totals and one row per day with records.
type Stats struct {
	Total, TotalSuccess, TotalFail, TotalUnknown int64
	Days                                         []store.DayStat
}

// Statistics sums the caller's verification records per UTC day.
func (s *Service) Statistics(ctx context.Context, c Caller, in StatsInput) (Stats, error) {
	var kind string
	switch in.AuthenticationType {
	case 1:
		kind = string(carrier.KindLogin)
	case 2:
		kind = string(carrier.KindVerify)
	case 3:
	default:
		return Stats{}, hint(ErrInvalidParameters, "AuthenticationType must be 1 (login), 2 (verification) or 3 (SMS)")
	}
	from, err1 := time.Parse("20060102", in.StartDate)
	to, err2 := time.Parse("20060102", in.EndDate)
	if err1 != nil || err2 != nil || to.Before(from) || to.Sub(from) > 366*24*time.Hour {
		return Stats{}, hint(ErrInvalidParameters, "StartDate and EndDate must be yyyyMMdd, in order, at most a year apart")
	}
	var days []store.DayStat
	var err error
	if in.AuthenticationType == 3 {
		// SMS sends: success = delivered, fail = failed, unknown = awaiting
		// a delivery receipt. SMS schemes are names, not scheme codes, so
		// SceneCode does not narrow them.
		days, err = s.durable.SmsDailyStats(ctx, store.SmsFilter{AccountID: c.AccountID, From: from, To: to.AddDate(0, 0, 1)})
	} else {
		f := store.VerificationFilter{AccountID: c.AccountID, Kind: kind, SchemeCode: in.SceneCode, From: from, To: to.AddDate(0, 0, 1)}
		if strings.TrimSpace(in.OsType) == "" {
			days, err = s.durable.DailyStats(ctx, f)
		} else {
			days, err = s.osDailyStats(ctx, c, f, in.OsType)
		}
	}
	if err != nil {
		return Stats{}, storeErr("statistics", err)
	}
	st := Stats{Days: days}
	for _, d := range days {
		st.TotalSuccess += d.Pass
		st.TotalFail += d.Reject
		st.TotalUnknown += d.Unknown
	}
	st.Total = st.TotalSuccess + st.TotalFail + st.TotalUnknown
	return st, nil
}

// osDailyStats is DailyStats over the caller's schemes of one OS (and
// f.SchemeCode's, if set), merged by day. Records of deleted schemes have
// no OS any more and are left out.
func (s *Service) osDailyStats(ctx context.Context, c Caller, f store.VerificationFilter, osType string) ([]store.DayStat, error) {
	os, ok := NormalizeOsType(osType)
	if !ok {
		return nil, hint(ErrInvalidParameters, "OsType must be Android or iOS")
	}
	list, err := s.schemes(ctx, c.AccountID, false)
	if err != nil {
		return nil, err
	}
	byDay := map[string]*store.DayStat{}
	for _, sc := range list {
		if sc.OsType != os || (f.SchemeCode != "" && sc.Code != f.SchemeCode) {
			continue
		}
		f := f
		f.SchemeCode = sc.Code
		days, err := s.durable.DailyStats(ctx, f)
		if err != nil {
			return nil, err
		}
		for _, d := range days {
			m := byDay[d.Day]
			if m == nil {
				m = &store.DayStat{Day: d.Day}
				byDay[d.Day] = m
			}
			m.Pass, m.Reject, m.Unknown = m.Pass+d.Pass, m.Reject+d.Reject, m.Unknown+d.Unknown
		}
	}
	out := make([]store.DayStat, 0, len(byDay))
	for _, d := range byDay {
		out = append(out, *d)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Day < out[j].Day })
	return out, nil
}
