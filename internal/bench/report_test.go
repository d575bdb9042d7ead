package bench

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
)

// sampleRun builds a run whose recorders hold known values, as after a
// flow phase of 2 s.
func sampleRun(t *testing.T) (*run, *Report) {
	t.Helper()
	r := &run{calls: NewRecorder(), flow: NewRecorder(), errs: map[errKey]*ErrorCount{}}
	for i := range r.steps {
		r.steps[i] = NewRecorder()
	}
	for i := 1; i <= 100; i++ {
		d := time.Duration(i) * time.Millisecond
		for _, st := range []int{stepGetAuthToken, stepCheck, stepVerifyToken, stepVerifyPhone} {
			r.steps[st].Record(d)
			r.calls.Record(d)
		}
		r.flow.Record(4 * d)
	}
	r.flowsOK.Store(100)
	r.flowsFailed.Store(3)
	for range 2 {
		r.countError(stepCheck, &CallError{Code: "NOT_CELLULAR", Detail: "not on a cellular data connection"})
	}
	r.countError(stepVerifyPhone, &CallError{Code: "isv.TOKEN_INVALID"})
	rep := &Report{Target: "http://127.0.0.1:1", Kind: KindVerify, Concurrency: 4, CPUs: 2, Carrier: "sandbox", Phone: "138****8000",
		Baseline: &Baseline{Path: noopPath, Calls: 800, ElapsedSeconds: 1, CallsPerSecond: 800,
			Latency: Latency{Name: "no-op", Count: 800, P50Ms: 0.5, P95Ms: 1, P99Ms: 2, MaxMs: 3, MeanMs: 0.6}}}
	r.fill(rep, 2*time.Second)
	return r, rep
}

func TestFill(t *testing.T) {
	_, rep := sampleRun(t)
	if rep.Flows != 100 || rep.FlowsFailed != 3 || rep.Calls != 400 {
		t.Fatalf("flows %d failed %d calls %d", rep.Flows, rep.FlowsFailed, rep.Calls)
	}
	if rep.FlowsPerSecond != 50 || rep.CallsPerSecond != 200 {
		t.Fatalf("flows/s %v calls/s %v, want 50 and 200", rep.FlowsPerSecond, rep.CallsPerSecond)
	}
	var names []string
	for _, s := range rep.Steps {
		names = append(names, s.Name)
	}
	if want := []string{"GetAuthToken", "check", "verify-token", "VerifyPhoneWithToken"}; !reflect.DeepEqual(names, want) {
		t.Fatalf("steps %v, want %v (only those that ran, in flow order)", names, want)
	}
	check := rep.Steps[1]
	if check.Count != 100 || check.Errors != 2 || !near(check.P50Ms, 50) || !near(check.P95Ms, 95) ||
		!near(check.P99Ms, 99) || check.MaxMs != 100 || check.MeanMs != 50.5 {
		t.Fatalf("check row %+v", check)
	}
	if !near(rep.Flow.P99Ms, 396) || rep.Flow.Errors != 3 || rep.Flow.Count != 100 {
		t.Fatalf("flow row %+v", rep.Flow)
	}
	if rep.AllCalls.Count != 400 || rep.AllCalls.Errors != 3 {
		t.Fatalf("all-calls row %+v", rep.AllCalls)
	}
	wantErrs := []ErrorCount{
		{Step: "check", Code: "NOT_CELLULAR", Count: 2, Sample: "NOT_CELLULAR: not on a cellular data connection"},
		{Step: "VerifyPhoneWithToken", Code: "isv.TOKEN_INVALID", Count: 1, Sample: "isv.TOKEN_INVALID"},
	}
	if !reflect.DeepEqual(rep.Errors, wantErrs) {
		t.Fatalf("errors %+v, want %+v", rep.Errors, wantErrs)
	}
	b := rep.Baseline
	if b.CallsRatio != 0.25 || !near(b.FlowP99Ratio, 198) || !near(b.CallP99Ratio, 49.5) {
		t.Fatalf("ratios %v %v %v, want 0.25 198 49.5", b.CallsRatio, b.FlowP99Ratio, b.CallP99Ratio)
	}
}

// near reports whether a recorded quantile got is want within the
// recorder's precision.
func near(got, want float64) bool {
	return math.Abs(got-want) <= want/(1<<subBits)+0.001
}

func TestWriteTable(t *testing.T) {
	_, rep := sampleRun(t)
	var b bytes.Buffer
	if err := rep.WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"verify flows against http://127.0.0.1:1 (carrier sandbox, subscriber 138****8000), concurrency 4, 2 CPUs",
		"100 flows ok, 3 failed in 2.00s: 50.0 flows/s, 200.0 calls/s",
		"STEP  CALLS  ERRORS", "P99", "GetAuthToken", "VerifyPhoneWithToken", "all calls", "no-op",
		"no-op baseline (GET /bench/noop): 800 calls, 0 errors in 1.00s: 800.0 calls/s",
		fmt.Sprintf("flow calls/s ÷ no-op calls/s = 0.250   flow p99 ÷ no-op p99 = %.1f   call p99 ÷ no-op p99 = %.1f",
			rep.Baseline.FlowP99Ratio, rep.Baseline.CallP99Ratio),
		"ERRORS  STEP                  CODE               FIRST MESSAGE",
		"2       check                 NOT_CELLULAR       NOT_CELLULAR: not on a cellular data connection",
		"1       VerifyPhoneWithToken  isv.TOKEN_INVALID  isv.TOKEN_INVALID",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "login-mask") {
		t.Errorf("table lists a step that did not run:\n%s", out)
	}
	// The check row, right-aligned: name, calls, errors, p50, p95, p99, max, mean.
	c := rep.Steps[1]
	if !containsFields(out, fmt.Sprintf("check 100 2 %s %s %s 100.0ms 50.5ms", fmtMs(c.P50Ms), fmtMs(c.P95Ms), fmtMs(c.P99Ms))) {
		t.Errorf("check row wrong:\n%s", out)
	}

	rep.Errors, rep.Baseline, rep.Interrupted = nil, nil, true
	b.Reset()
	rep.WriteTable(&b)
	out = b.String()
	if !strings.Contains(out, "errors: none") || !strings.Contains(out, "interrupted") || strings.Contains(out, "no-op") {
		t.Errorf("table without errors or baseline, interrupted:\n%s", out)
	}
}

// containsFields reports whether some line of s has exactly these
// whitespace-separated fields.
func containsFields(s, fields string) bool {
	want := strings.Fields(fields)
	for _, line := range strings.Split(s, "\n") {
		if reflect.DeepEqual(strings.Fields(line), want) {
			return true
		}
	}
	return false
}

func TestJSONRoundTrip(t *testing.T) {
	_, rep := sampleRun(t)
	rep.Started = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	var b bytes.Buffer
	if err := rep.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{`"flowsPerSecond": 50,`, `"callsRatio": 0.25,`, `"code": "NOT_CELLULAR",`, `"name": "VerifyPhoneWithToken",`} {
		if !strings.Contains(b.String(), key) {
			t.Errorf("JSON lacks %s:\n%s", key, b.String())
		}
	}
	back, err := ReadReport(&b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, rep) {
		t.Fatalf("round trip differs:\n got %+v\nwant %+v", back, rep)
	}
}

func TestReadReportRejects(t *testing.T) {
	list := func(key string, n int) string {
		return `{"concurrency": 1, "` + key + `": [` + strings.TrimSuffix(strings.Repeat(`{},`, n), ",") + `]}`
	}
	for _, in := range []string{``, `[]`, `{}`, `{"concurrency": 0}`, `{"concurrency": 4, "flowsPerSecond": -1}`, `{"concurrency": "4"}`, `nope`,
		list("steps", nSteps+1), list("errors", maxErrorKinds+nSteps+1),
		`{"concurrency": 1, "target": "` + strings.Repeat("x", maxReportBytes) + `"}`,
	} {
		if _, err := ReadReport(strings.NewReader(in)); err == nil {
			t.Errorf("ReadReport(%q) accepted it", in)
		}
	}
}

func FuzzReadReport(f *testing.F) {
	f.Add([]byte(`{"concurrency": 4, "flowsPerSecond": 12.5, "flow": {"p99Ms": 3}}`))
	f.Add([]byte(`{"concurrency": 1, "steps": [{"name": "check"}], "baseline": {"callsRatio": 0.3}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		rep, err := ReadReport(bytes.NewReader(data))
		if err != nil {
			return
		}
		if rep.Concurrency < 1 || rep.FlowsPerSecond < 0 || len(rep.Steps) > nSteps || len(rep.Errors) > maxErrorKinds+nSteps {
			t.Fatalf("accepted an out-of-range report: %+v", rep)
		}
		var b bytes.Buffer
		if err := rep.WriteTable(&b); err != nil {
			t.Fatal(err)
		}
	})
}

func TestFmtDuration(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{0, "-"}, {850 * time.Microsecond, "850µs"}, {1234 * time.Microsecond, "1.23ms"},
		{45670 * time.Microsecond, "45.7ms"}, {2500 * time.Millisecond, "2.50s"},
	} {
		if got := fmtDuration(tc.d); got != tc.want {
			t.Errorf("fmtDuration(%v) = %q, want %q", tc.d, got, tc.want)
		}
	}
}

func TestReadReportAcceptsItsBounds(t *testing.T) {
	in := `{"concurrency": 1, "steps": [` + strings.TrimSuffix(strings.Repeat(`{},`, nSteps), ",") +
		`], "errors": [` + strings.TrimSuffix(strings.Repeat(`{},`, maxErrorKinds+nSteps), ",") + `]}`
	if _, err := ReadReport(strings.NewReader(in)); err != nil {
		t.Fatalf("a report at the bounds: %v", err)
	}
}

// However many codes a run meets, its report stays one ReadReport reads.
func TestCountErrorKindsBounded(t *testing.T) {
	r, _ := sampleRun(t)
	var want int64 = 3 * maxErrorKinds
	for _, e := range r.errs {
		want += e.Count
	}
	for i := range 3 * maxErrorKinds {
		r.countError(i%nSteps, &CallError{Code: fmt.Sprint("CODE", i)})
	}
	rep := &Report{Concurrency: 1}
	r.fill(rep, time.Second)
	var b bytes.Buffer
	if err := rep.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	back, err := ReadReport(&b)
	if err != nil {
		t.Fatalf("the report of a run with %d codes: %v", 3*maxErrorKinds, err)
	}
	var total int64
	for _, e := range back.Errors {
		total += e.Count
	}
	if total != want || len(back.Errors) > maxErrorKinds+nSteps {
		t.Fatalf("%d kinds counting %d errors, want at most %d kinds counting %d", len(back.Errors), total, maxErrorKinds+nSteps, want)
	}
}

func TestCountErrorSampleBounded(t *testing.T) {
	r, _ := sampleRun(t)
	r.countError(stepCheck, errors.New(strings.Repeat("x", 1000)))
	if e := r.errs[errKey{"check", "TRANSPORT"}]; e == nil || len(e.Sample) != 200 {
		t.Fatalf("sample of a long error: %+v", e)
	}
}
