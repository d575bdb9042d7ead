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
	if err := kindParam(v, &q.Kind); err != nil {
		return err
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
	if err := kindParam(v, &f.Kind); err != nil {
		return err
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
	out := make([]hourJSON, 0, len(hs))
	for _, h := range hs {
		out = append(out, hourJSON{Hour: h.Hour, countsJSON: countsOf(h.Counts), Billable: h.Billable})
	}
	writeJSON(w, http.StatusOK, map[string]any{"from": f.From, "to": f.To, "hours": out})
	return nil
}

// resultsJSON is how many records a group of statistics counts, and of
// which result; Total counts every record, those of other results too.
type resultsJSON struct {
	Total   int64 `json:"total"`
	Pass    int64 `json:"pass"`
	Reject  int64 `json:"reject"`
	Unknown int64 `json:"unknown"`
}

func resultsOf(c store.Counts) resultsJSON {
	return resultsJSON{Total: c.Total(), Pass: c.Pass, Reject: c.Reject, Unknown: c.Unknown}
}

// countsJSON is a group's results and the p50/p99 of its carrier leg's
// latency, estimated from its histogram.
type countsJSON struct {
	resultsJSON
	P50MS float64 `json:"p50Ms"`
	P99MS float64 `json:"p99Ms"`
}

func countsOf(c store.Counts) countsJSON {
	return countsJSON{resultsOf(c), millis(c.Quantile(0.5)), millis(c.Quantile(0.99))}
}

// hourJSON is one hour of GET /admin/v1/stats/hourly.
type hourJSON struct {
	Hour time.Time `json:"hour"`
	countsJSON
	Billable int64 `json:"billable"`
}

// liveMinuteJSON is one minute of the live statistics.
type liveMinuteJSON struct {
	Minute time.Time `json:"minute"`
	resultsJSON
	ByCarrier map[string]int64 `json:"byCarrier"`
}

// liveCarrierJSON is one carrier over the live statistics' window.
type liveCarrierJSON struct {
	Carrier string `json:"carrier"`
	countsJSON
}

// liveJSON is the answer of GET /admin/v1/stats/live.
type liveJSON struct {
	From     time.Time         `json:"from"`
	To       time.Time         `json:"to"`
	Minutes  []liveMinuteJSON  `json:"minutes"`
	Carriers []liveCarrierJSON `json:"carriers"`
	countsJSON
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
	if err := kindParam(v, &f.Kind); err != nil {
		return err
	}
	ms, err := a.cfg.Durable.MinuteStats(r.Context(), f)
	if err != nil {
		return err
	}
	out := liveJSON{From: f.From, To: f.To, Minutes: []liveMinuteJSON{}, Carriers: []liveCarrierJSON{}}
	var all, minute store.Counts
	byCarrier := map[string]*store.Counts{}
	for i, m := range ms {
		if i == 0 || !ms[i-1].Minute.Equal(m.Minute) {
			out.Minutes = append(out.Minutes, liveMinuteJSON{Minute: m.Minute, ByCarrier: map[string]int64{}})
			minute = store.Counts{}
		}
		o := &out.Minutes[len(out.Minutes)-1]
		minute.Merge(m.Counts)
		o.resultsJSON = resultsOf(minute)
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
		out.Carriers = append(out.Carriers, liveCarrierJSON{Carrier: name, countsJSON: countsOf(*byCarrier[name])})
	}
	out.countsJSON = countsOf(all)
	writeJSON(w, http.StatusOK, out)
	return nil
}
