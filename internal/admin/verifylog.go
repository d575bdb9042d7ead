package admin

import (
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/numauth/numauth/internal/store"
)

// VerificationJSON is one record of the verification log as the API shows
// it: the number only masked, never its hash.
type VerificationJSON struct {
	VerifyID    string    `json:"verifyId"`
	AccountID   string    `json:"accountId"`
	SchemeCode  string    `json:"schemeCode"`
	Kind        string    `json:"kind"`
	Carrier     string    `json:"carrier"`
	Result      string    `json:"result"`
	MaskedPhone string    `json:"maskedPhone"`
	LatencyMS   float64   `json:"latencyMs"`
	Billable    bool      `json:"billable"`
	CreatedAt   time.Time `json:"createdAt"`
}

// maskedPattern is a masked number as records hold it: digits (and a
// leading +) with a run of asterisks, e.g. 138****5678.
var maskedPattern = regexp.MustCompile(`^\+?[0-9]{1,8}\*{2,8}[0-9]{2,6}$`)

// listVerifications: GET /admin/v1/verifications?account=&verifyId=&phone=
// (masked)&scheme=&kind=&result=&from=&to= (RFC 3339)&before=CURSOR&limit=.
func (a *API) listVerifications(w http.ResponseWriter, r *http.Request, _ *Principal) error {
	v := r.URL.Query()
	q := store.VerificationQuery{AccountID: v.Get("account"), ID: v.Get("verifyId"), SchemeCode: v.Get("scheme")}
	if p := v.Get("phone"); p != "" {
		if !maskedPattern.MatchString(p) {
			return bad("phone is searched by its masked form, as the log shows it (138****5678)")
		}
		q.MaskedPhone = p
	}
	switch k := v.Get("kind"); k {
	case "", "verify", "login":
		q.Kind = k
	default:
		return bad("kind is verify or login")
	}
	switch res := v.Get("result"); res {
	case "", "PASS", "REJECT", "UNKNOWN":
		q.Result = res
	default:
		return bad("result is PASS, REJECT or UNKNOWN")
	}
	if err := firstErr(timeParam(v, "from", &q.From), timeParam(v, "to", &q.To), intParam(v, "limit", 1, 500, &q.Limit)); err != nil {
		return err
	}
	if c := v.Get("before"); c != "" {
		us, id, ok := strings.Cut(c, ".")
		n, err := strconv.ParseInt(us, 10, 64)
		if !ok || err != nil || id == "" {
			return bad("before is the next cursor of a previous answer")
		}
		q.BeforeAt, q.BeforeID = time.UnixMicro(n).UTC(), id
	}
	vs, err := a.cfg.Durable.ListVerifications(r.Context(), q)
	if err != nil {
		return err
	}
	out := make([]VerificationJSON, 0, len(vs))
	for _, x := range vs {
		out = append(out, VerificationJSON{x.ID, x.AccountID, x.SchemeCode, x.Kind, x.Carrier, x.Result, x.MaskedPhone,
			float64(x.LatencyUS) / 1000, x.Billable, x.CreatedAt})
	}
	ans := map[string]any{"verifications": out}
	if len(vs) == q.QueryLimit() {
		last := vs[len(vs)-1]
		ans["next"] = strconv.FormatInt(last.CreatedAt.UnixMicro(), 10) + "." + last.ID
	}
	writeJSON(w, http.StatusOK, ans)
	return nil
}

// hourlyStats: GET /admin/v1/stats/hourly?from=&to= (RFC 3339; default the
// last 24 hours)&account=&scheme=&kind= — the hourly rollups, for charts:
// results, billable records, and p50/p99 of the carrier leg's latency
// estimated from each hour's histogram.
func (a *API) hourlyStats(w http.ResponseWriter, r *http.Request, _ *Principal) error {
	v := r.URL.Query()
	now := a.cfg.Now().UTC()
	f := store.VerificationFilter{AccountID: v.Get("account"), SchemeCode: v.Get("scheme"), From: now.Add(-24 * time.Hour), To: now.Add(time.Hour)}
	switch k := v.Get("kind"); k {
	case "", "verify", "login":
		f.Kind = k
	default:
		return bad("kind is verify or login")
	}
	if err := firstErr(timeParam(v, "from", &f.From), timeParam(v, "to", &f.To)); err != nil {
		return err
	}
	if !f.To.After(f.From) || f.To.Sub(f.From) > 93*24*time.Hour {
		return bad("from must be before to, at most 93 days apart")
	}
	hs, err := a.cfg.Durable.HourlyStats(r.Context(), f)
	if err != nil {
		return err
	}
	out := make([]map[string]any, 0, len(hs))
	for _, h := range hs {
		out = append(out, map[string]any{
			"hour": h.Hour, "total": h.Total(), "pass": h.Pass, "reject": h.Reject, "unknown": h.Unknown, "billable": h.Billable,
			"p50Ms": millis(h.Quantile(0.5)), "p99Ms": millis(h.Quantile(0.99)),
		})
	}
	writeJSON(w, http.StatusOK, map[string]any{"from": f.From, "to": f.To, "hours": out})
	return nil
}

// liveMinuteJSON is one minute of the live statistics.
type liveMinuteJSON struct {
	Minute    time.Time        `json:"minute"`
	Total     int64            `json:"total"`
	Pass      int64            `json:"pass"`
	Reject    int64            `json:"reject"`
	Unknown   int64            `json:"unknown"`
	ByCarrier map[string]int64 `json:"byCarrier"`
}

// liveCarrierJSON is one carrier over the live statistics' window.
type liveCarrierJSON struct {
	Carrier string  `json:"carrier"`
	Total   int64   `json:"total"`
	Pass    int64   `json:"pass"`
	Reject  int64   `json:"reject"`
	Unknown int64   `json:"unknown"`
	P50MS   float64 `json:"p50Ms"`
	P99MS   float64 `json:"p99Ms"`
}

// liveJSON is the answer of GET /admin/v1/stats/live.
type liveJSON struct {
	From     time.Time         `json:"from"`
	To       time.Time         `json:"to"`
	Minutes  []liveMinuteJSON  `json:"minutes"`
	Carriers []liveCarrierJSON `json:"carriers"`
	Total    int64             `json:"total"`
	Pass     int64             `json:"pass"`
	Reject   int64             `json:"reject"`
	Unknown  int64             `json:"unknown"`
	P50MS    float64           `json:"p50Ms"`
	P99MS    float64           `json:"p99Ms"`
}

// millis is a latency in milliseconds, to the microsecond.
func millis(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// liveStats: GET /admin/v1/stats/live?minutes= (1 to 1440, default
// 60)&account=&kind= — the per-minute rollup of the last minutes, the
// current one included, for the console's overview: per minute the
// results and the calls of each carrier; per carrier and over the whole
// window the results and p50/p99 of the carrier leg's latency, estimated
// from the histogram. Totals count every record, those of results other
// than PASS, REJECT and UNKNOWN too.
func (a *API) liveStats(w http.ResponseWriter, r *http.Request, _ *Principal) error {
	v := r.URL.Query()
	minutes := 60
	if err := intParam(v, "minutes", 1, 1440, &minutes); err != nil {
		return err
	}
	now := a.cfg.Now().UTC().Truncate(time.Minute)
	f := store.VerificationFilter{AccountID: v.Get("account"), From: now.Add(-time.Duration(minutes-1) * time.Minute),
		To: now.Add(time.Minute)}
	switch k := v.Get("kind"); k {
	case "", "verify", "login":
		f.Kind = k
	default:
		return bad("kind is verify or login")
	}
	ms, err := a.cfg.Durable.MinuteStats(r.Context(), f)
	if err != nil {
		return err
	}
	out := liveJSON{From: f.From, To: f.To, Minutes: []liveMinuteJSON{}, Carriers: []liveCarrierJSON{}}
	var all store.Counts
	byCarrier := map[string]*store.Counts{}
	for _, m := range ms {
		if len(out.Minutes) == 0 || !out.Minutes[len(out.Minutes)-1].Minute.Equal(m.Minute) {
			out.Minutes = append(out.Minutes, liveMinuteJSON{Minute: m.Minute, ByCarrier: map[string]int64{}})
		}
		o := &out.Minutes[len(out.Minutes)-1]
		o.Total += m.Total()
		o.Pass += m.Pass
		o.Reject += m.Reject
		o.Unknown += m.Unknown
		o.ByCarrier[m.Carrier] += m.Total()
		all.Merge(m.Counts)
		c := byCarrier[m.Carrier]
		if c == nil {
			c = &store.Counts{}
			byCarrier[m.Carrier] = c
		}
		c.Merge(m.Counts)
	}
	for _, name := range slices.Sorted(maps.Keys(byCarrier)) {
		c := byCarrier[name]
		out.Carriers = append(out.Carriers, liveCarrierJSON{Carrier: name, Total: c.Total(), Pass: c.Pass, Reject: c.Reject,
			Unknown: c.Unknown, P50MS: millis(c.Quantile(0.5)), P99MS: millis(c.Quantile(0.99))})
	}
	out.Total, out.Pass, out.Reject, out.Unknown = all.Total(), all.Pass, all.Reject, all.Unknown
	out.P50MS, out.P99MS = millis(all.Quantile(0.5)), millis(all.Quantile(0.99))
	writeJSON(w, http.StatusOK, out)
	return nil
}
