// Package obs holds numauth's observability plumbing: request ids carried in
// contexts and logs, a log handler that adds them, and the Prometheus metrics.
package obs

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

type ctxKey struct{}

// WithRequestID returns a context carrying the request id.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, ctxKey{}, id)
}

// RequestID returns the context's request id, or "".
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(ctxKey{}).(string)
	return id
}

// requestIDHandler adds the context's request id to every record.
type requestIDHandler struct{ slog.Handler }

func (h requestIDHandler) Handle(ctx context.Context, r slog.Record) error {
	if id := RequestID(ctx); id != "" {
		r.AddAttrs(slog.String("request_id", id))
	}
	return h.Handler.Handle(ctx, r)
}

func (h requestIDHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return requestIDHandler{h.Handler.WithAttrs(as)}
}

func (h requestIDHandler) WithGroup(name string) slog.Handler {
	return requestIDHandler{h.Handler.WithGroup(name)}
}

// WithRequestIDs wraps a handler so records logged with a context carrying
// a request id include it as "request_id".
func WithRequestIDs(h slog.Handler) slog.Handler { return requestIDHandler{h} }

// Metrics are numauth's Prometheus metrics. A nil *Metrics records nothing.
type Metrics struct {
	reg     *prometheus.Registry
	rpc     *prometheus.CounterVec
	rpcTime *prometheus.HistogramVec
	h5      *prometheus.CounterVec
	h5Time  *prometheus.HistogramVec
}

// NewMetrics registers the metrics (and the Go runtime's) in a new registry.
func NewMetrics() *Metrics {
	buckets := []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5}
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		rpc: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "numauth_rpc_requests_total", Help: "Server API calls by action and answer code.",
		}, []string{"action", "code"}),
		rpcTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "numauth_rpc_request_duration_seconds", Help: "Server API call latency by action.", Buckets: buckets,
		}, []string{"action"}),
		h5: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "numauth_h5_requests_total", Help: "Web SDK gateway calls by operation and gateway code.",
		}, []string{"op", "code"}),
		h5Time: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "numauth_h5_request_duration_seconds", Help: "Web SDK gateway call latency by operation.", Buckets: buckets,
		}, []string{"op"}),
	}
	m.reg.MustRegister(m.rpc, m.rpcTime, m.h5, m.h5Time,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// ObserveRPC records one server API call.
func (m *Metrics) ObserveRPC(action, code string, d time.Duration) {
	if m == nil {
		return
	}
	m.rpc.WithLabelValues(action, code).Inc()
	m.rpcTime.WithLabelValues(action).Observe(d.Seconds())
}

// ObserveH5 records one gateway call.
func (m *Metrics) ObserveH5(op, code string, d time.Duration) {
	if m == nil {
		return
	}
	m.h5.WithLabelValues(op, code).Inc()
	m.h5Time.WithLabelValues(op).Observe(d.Seconds())
}

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// EphemeralUsage exports the size of a bounded in-process ephemeral store:
// usage reports its entries, the bytes they take and its bound.
func (m *Metrics) EphemeralUsage(usage func() (entries, bytes, max int64)) {
	if m == nil {
		return
	}
	gauge := func(name, help string, pick func(e, b, x int64) int64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, func() float64 {
			e, b, x := usage()
			return float64(pick(e, b, x))
		})
	}
	m.reg.MustRegister(
		gauge("numauth_ephemeral_entries", "Entries held by the in-process ephemeral store (expired ones until swept).",
			func(e, _, _ int64) int64 { return e }),
		gauge("numauth_ephemeral_bytes", "Bytes the in-process ephemeral store's entries take against its bound.",
			func(_, b, _ int64) int64 { return b }),
		gauge("numauth_ephemeral_max_bytes", "The in-process ephemeral store's bound (--memory-limit); new entries past it are refused.",
			func(_, _, x int64) int64 { return x }),
	)
}
