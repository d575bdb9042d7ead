package admin

import (
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/numauth/numauth/internal/store"
)

// SmsSendJSON is one record of the SMS send log as the API shows it: the
// number masked, the text with its code starred, never the phone hash.
type SmsSendJSON struct {
	BizID       string     `json:"bizId"`
	AccountID   string     `json:"accountId"`
	SchemeName  string     `json:"schemeName"`
	MaskedPhone string     `json:"maskedPhone"`
	SignName    string     `json:"signName"`
	Template    string     `json:"templateCode"`
	Content     string     `json:"content"`
	OutID       string     `json:"outId"`
	Provider    string     `json:"provider"`
	Status      string     `json:"status"` // pending, failed, delivered
	ErrCode     string     `json:"errCode"`
	Billable    bool       `json:"billable"`
	SentAt      time.Time  `json:"sentAt"`
	ReceivedAt  *time.Time `json:"receivedAt,omitempty"`
}

var smsStatus = map[int]string{1: "pending", 2: "failed", 3: "delivered"}

// timeParam reads the RFC 3339 time of query parameter name into dst,
// leaving dst as it is when the parameter is absent.
func timeParam(v url.Values, name string, dst *time.Time) error {
	s := v.Get(name)
	if s == "" {
		return nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return bad("%s is a time in RFC 3339 (2026-12-01T08:00:00Z)", name)
	}
	*dst = t
	return nil
}

// intParam reads query parameter name as an integer in [lo, hi] into dst,
// leaving dst as it is when the parameter is absent.
func intParam(v url.Values, name string, lo, hi int, dst *int) error {
	s := v.Get(name)
	if s == "" {
		return nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		return bad("%s must be %d to %d", name, lo, hi)
	}
	*dst = n
	return nil
}

// listSmsSends: GET /admin/v1/sms/sends?account=&bizId=&from=&to= (RFC
// 3339)&offset=&limit= — the SMS send log, newest first, with the total
// the filter selects for paging.
func (a *API) listSmsSends(w http.ResponseWriter, r *http.Request, _ *Principal) error {
	v := r.URL.Query()
	f := store.SmsFilter{AccountID: v.Get("account"), ID: v.Get("bizId"), Limit: 50}
	for _, err := range []error{
		timeParam(v, "from", &f.From), timeParam(v, "to", &f.To),
		intParam(v, "offset", 0, 1_000_000, &f.Offset), intParam(v, "limit", 1, 500, &f.Limit),
	} {
		if err != nil {
			return err
		}
	}
	ms, total, err := a.cfg.Durable.ListSmsSends(r.Context(), f)
	if err != nil {
		return err
	}
	out := make([]SmsSendJSON, 0, len(ms))
	for _, m := range ms {
		j := SmsSendJSON{m.ID, m.AccountID, m.SchemeName, m.MaskedPhone, m.SignName, m.Template, m.Content, m.OutID,
			m.Provider, smsStatus[m.Status], m.ErrCode, m.Billable, m.SentAt.UTC(), nil}
		if !m.ReceivedAt.IsZero() {
			t := m.ReceivedAt.UTC()
			j.ReceivedAt = &t
		}
		out = append(out, j)
	}
	writeJSON(w, http.StatusOK, map[string]any{"sends": out, "total": total, "offset": f.Offset})
	return nil
}
