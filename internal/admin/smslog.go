package admin

import (
	"net/http"
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

// listSmsSends: GET /admin/v1/sms/sends?account=&bizId=&from=&to= (RFC
// 3339)&offset=&limit= — the SMS send log, newest first, with the total
// the filter selects for paging.
func (a *API) listSmsSends(w http.ResponseWriter, r *http.Request, _ *Principal) error {
	v := r.URL.Query()
	f := store.SmsFilter{AccountID: v.Get("account"), ID: v.Get("bizId"), Limit: 50}
	if err := firstErr(timeParam(v, "from", &f.From), timeParam(v, "to", &f.To),
		intParam(v, "offset", 0, 1_000_000, &f.Offset), intParam(v, "limit", 1, 500, &f.Limit)); err != nil {
		return err
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
