package auth

import (
	"context"
	"fmt"
	"time"

	"github.com/numauth/numauth/internal/carrier"
	"github.com/numauth/numauth/internal/store"
)

// StatsInput is QueryGateVerifyStatisticPublic's request.
type StatsInput struct {
	// AuthenticationType as Alibaba's: 1 one-click login, 2 local-number
	// verification.
	AuthenticationType int
	StartDate, EndDate string // yyyyMMdd, inclusive
	SceneCode          string
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
	default:
		return Stats{}, fmt.Errorf("%w: AuthenticationType must be 1 (login) or 2 (verification)", ErrInvalidParameters)
	}
	from, err1 := time.Parse("20060102", in.StartDate)
	to, err2 := time.Parse("20060102", in.EndDate)
	if err1 != nil || err2 != nil || to.Before(from) || to.Sub(from) > 366*24*time.Hour {
		return Stats{}, fmt.Errorf("%w: StartDate and EndDate must be yyyyMMdd, in order, at most a year apart", ErrInvalidParameters)
	}
	days, err := s.durable.DailyStats(ctx, store.VerificationFilter{
		AccountID: c.AccountID, Kind: kind, SchemeCode: in.SceneCode, From: from, To: to.AddDate(0, 0, 1),
	})
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
