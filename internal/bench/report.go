package bench

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// Report is the result of a run; its JSON form is what --json writes and
// what scripts/plot-bench reads. Latencies are in milliseconds.
type Report struct {
	Target               string    `json:"target"`
	Kind                 Kind      `json:"kind"`
	Concurrency          int       `json:"concurrency"`
	FlowLimit            int64     `json:"flowLimit"`            // 0: none
	DurationLimitSeconds float64   `json:"durationLimitSeconds"` // 0: none
	CPUs                 int       `json:"cpus"`                 // of the machine the bench ran on
	Carrier              string    `json:"carrier"`              // the target's carrier, as /bench/noop names it
	Phone                string    `json:"phone"`                // the subscriber, masked
	Started              time.Time `json:"started"`
	ElapsedSeconds       float64   `json:"elapsedSeconds"` // of the flow phase
	Interrupted          bool      `json:"interrupted"`    // stopped by the user; the numbers cover what was done

	Flows          int64   `json:"flows"`          // flows that succeeded
	FlowsFailed    int64   `json:"flowsFailed"`    // flows that failed at some step
	Calls          int64   `json:"calls"`          // answered calls (and timeouts) of the flow phase
	FlowsPerSecond float64 `json:"flowsPerSecond"` // Flows ÷ ElapsedSeconds
	CallsPerSecond float64 `json:"callsPerSecond"` // Calls ÷ ElapsedSeconds

	Steps    []Latency    `json:"steps"`    // the steps that ran, in flow order
	Flow     Latency      `json:"flow"`     // whole successful flows; Errors = failed flows
	AllCalls Latency      `json:"allCalls"` // every call of every step
	Errors   []ErrorCount `json:"errors"`   // by step and code, most frequent first

	Baseline *Baseline `json:"baseline,omitempty"`
}

// Latency summarizes the latencies of a step (or of whole flows).
type Latency struct {
	Name   string  `json:"name"`
	Count  int64   `json:"count"`  // calls answered (flows: flows succeeded)
	Errors int64   `json:"errors"` // of those, failed (flows: flows failed)
	P50Ms  float64 `json:"p50Ms"`
	P95Ms  float64 `json:"p95Ms"`
	P99Ms  float64 `json:"p99Ms"`
	MaxMs  float64 `json:"maxMs"`
	MeanMs float64 `json:"meanMs"`
}

// ErrorCount is how often one step failed with one code.
type ErrorCount struct {
	Step   string `json:"step"`
	Code   string `json:"code"` // gateway code, API code, or the bench's own (see CallError)
	Count  int64  `json:"count"`
	Sample string `json:"sample"` // the first such error's message
}

// Baseline is the no-op endpoint's result and the flow phase's ratios to it.
type Baseline struct {
	Path           string  `json:"path"`
	Calls          int64   `json:"calls"`
	Errors         int64   `json:"errors"`
	ElapsedSeconds float64 `json:"elapsedSeconds"`
	CallsPerSecond float64 `json:"callsPerSecond"`
	Latency        Latency `json:"latency"`
	// CallsRatio is the flow phase's calls/s ÷ the no-op's calls/s: the
	// share of the HTTP ceiling that real calls reach.
	CallsRatio float64 `json:"callsRatio"`
	// FlowP99Ratio is the p99 of a whole flow ÷ the no-op's p99.
	FlowP99Ratio float64 `json:"flowP99Ratio"`
	// CallP99Ratio is the p99 of one call (any step) ÷ the no-op's p99.
	CallP99Ratio float64 `json:"callP99Ratio"`
}

func ms(d time.Duration) float64 { return math.Round(float64(d)/1e3) / 1e3 }

func latencyOf(name string, s *Snapshot, errs int64) Latency {
	return Latency{
		Name: name, Count: int64(s.Count()), Errors: errs,
		P50Ms: ms(s.Quantile(0.50)), P95Ms: ms(s.Quantile(0.95)), P99Ms: ms(s.Quantile(0.99)),
		MaxMs: ms(s.Max()), MeanMs: ms(s.Mean()),
	}
}

// ratio returns a ÷ b rounded to 3 decimals, 0 when b is 0.
func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return math.Round(a/b*1000) / 1000
}

// fill completes rep from the run's counters after a flow phase of elapsed.
func (r *run) fill(rep *Report, elapsed time.Duration) {
	rep.ElapsedSeconds = elapsed.Seconds()
	rep.Flows, rep.FlowsFailed = r.flowsOK.Load(), r.flowsFailed.Load()
	for i, rec := range r.steps {
		if s := rec.Snapshot(); s.Count() > 0 {
			rep.Steps = append(rep.Steps, latencyOf(StepNames[i], s, r.stepErrs[i].Load()))
		}
	}
	all := r.calls.Snapshot()
	rep.Calls = int64(all.Count())
	var allErrs int64
	for i := range r.stepErrs {
		allErrs += r.stepErrs[i].Load()
	}
	rep.AllCalls = latencyOf("all calls", all, allErrs)
	rep.Flow = latencyOf("flow", r.flow.Snapshot(), rep.FlowsFailed)
	if elapsed > 0 {
		rep.FlowsPerSecond = float64(rep.Flows) / elapsed.Seconds()
		rep.CallsPerSecond = float64(rep.Calls) / elapsed.Seconds()
	}
	r.errMu.Lock()
	for _, e := range r.errs {
		rep.Errors = append(rep.Errors, *e)
	}
	r.errMu.Unlock()
	sortErrors(rep.Errors)
	if b := rep.Baseline; b != nil {
		b.CallsRatio = ratio(rep.CallsPerSecond, b.CallsPerSecond)
		b.FlowP99Ratio = ratio(rep.Flow.P99Ms, b.Latency.P99Ms)
		b.CallP99Ratio = ratio(rep.AllCalls.P99Ms, b.Latency.P99Ms)
	}
}

func sortErrors(es []ErrorCount) {
	slices.SortFunc(es, func(a, b ErrorCount) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.Step, b.Step), cmp.Compare(a.Code, b.Code))
	})
}

// fmtDuration shows a latency with three significant digits or so.
func fmtDuration(d time.Duration) string {
	switch {
	case d <= 0:
		return "-"
	case d < time.Millisecond:
		return fmt.Sprintf("%.0fµs", float64(d)/1e3)
	case d < 10*time.Millisecond:
		return fmt.Sprintf("%.2fms", float64(d)/1e6)
	case d < time.Second:
		return fmt.Sprintf("%.1fms", float64(d)/1e6)
	}
	return fmt.Sprintf("%.2fs", d.Seconds())
}

func fmtMs(v float64) string { return fmtDuration(time.Duration(v * 1e6)) }

// WriteTable writes the report as the human-readable table.
func (rep *Report) WriteTable(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "numauth bench: %s flows against %s (carrier %s, subscriber %s), concurrency %d, %d CPUs\n",
		rep.Kind, rep.Target, rep.Carrier, rep.Phone, rep.Concurrency, rep.CPUs)
	if rep.Interrupted {
		b.WriteString("interrupted: the numbers cover the flows done before the interrupt\n")
	}
	fmt.Fprintf(&b, "%d flows ok, %d failed in %.2fs: %.1f flows/s, %.1f calls/s\n\n",
		rep.Flows, rep.FlowsFailed, rep.ElapsedSeconds, rep.FlowsPerSecond, rep.CallsPerSecond)

	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "STEP\tCALLS\tERRORS\tP50\tP95\tP99\tMAX\tMEAN\t")
	row := func(l Latency) {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\t%s\t%s\t%s\t\n", l.Name, l.Count, l.Errors,
			fmtMs(l.P50Ms), fmtMs(l.P95Ms), fmtMs(l.P99Ms), fmtMs(l.MaxMs), fmtMs(l.MeanMs))
	}
	for _, l := range rep.Steps {
		row(l)
	}
	row(rep.AllCalls)
	row(rep.Flow)
	if bl := rep.Baseline; bl != nil {
		row(bl.Latency)
	}
	tw.Flush()

	if bl := rep.Baseline; bl != nil {
		fmt.Fprintf(&b, "\nno-op baseline (GET %s): %d calls, %d errors in %.2fs: %.1f calls/s\n",
			bl.Path, bl.Calls, bl.Errors, bl.ElapsedSeconds, bl.CallsPerSecond)
		fmt.Fprintf(&b, "flow calls/s ÷ no-op calls/s = %.3f   flow p99 ÷ no-op p99 = %.1f   call p99 ÷ no-op p99 = %.1f\n",
			bl.CallsRatio, bl.FlowP99Ratio, bl.CallP99Ratio)
	}

	b.WriteString("\n")
	if len(rep.Errors) == 0 {
		b.WriteString("errors: none\n")
	} else {
		tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ERRORS\tSTEP\tCODE\tFIRST MESSAGE")
		for _, e := range rep.Errors {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\n", e.Count, e.Step, e.Code, e.Sample)
		}
		tw.Flush()
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteJSON writes the report as indented JSON.
func (rep *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}

// Bounds of a report: a run has at most one latency row per step, and lists
// at most maxErrorKinds error kinds (step and code) plus one "OTHER" per
// step, each sample cut to 200 bytes; its JSON is a few KiB and at most a
// few hundred. ReadReport holds untrusted input to them, so that reading and
// printing any input costs time and memory bounded by them, not by the
// input: with no bound on the lists, each 3-byte "{}," cost a table row,
// 3 MiB of them 3.5 s and 1.1 GB, and the 16 MiB that could be read more than
// the fuzzing engine's 10 s for one input (FuzzReadReport in CI).
const (
	maxErrorKinds  = 1000
	maxReportBytes = 1 << 20
)

// otherCode is the code under which a step's errors are counted once the
// report lists maxErrorKinds kinds.
const otherCode = "OTHER"

// ReadReport decodes a report written by WriteJSON (untrusted input: a file
// given on a command line). It rejects one that is not a bench report.
func ReadReport(r io.Reader) (*Report, error) {
	var rep Report
	dec := json.NewDecoder(io.LimitReader(r, maxReportBytes))
	if err := dec.Decode(&rep); err != nil {
		return nil, fmt.Errorf("bench report: %w", err)
	}
	if rep.Concurrency < 1 || rep.ElapsedSeconds < 0 || rep.FlowsPerSecond < 0 || rep.Flow.P99Ms < 0 {
		return nil, errors.New("bench report: not a report of a bench run (concurrency, elapsed, flows/s or p99 out of range)")
	}
	if len(rep.Steps) > nSteps || len(rep.Errors) > maxErrorKinds+nSteps {
		return nil, fmt.Errorf("bench report: more than %d steps or %d error kinds", nSteps, maxErrorKinds+nSteps)
	}
	return &rep, nil
}
