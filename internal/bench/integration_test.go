package bench_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/numauth/numauth/internal/bench"
	"github.com/numauth/numauth/test/harness"
)

const phone = "13800138000"

// TestBenchAgainstNumauth runs short benches of every kind against a real
// numauth process whose sandbox maps this machine's loopback address.
func TestBenchAgainstNumauth(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a numauth process")
	}
	in := harness.Start(t, harness.Options{Args: []string{"--sandbox-subscriber", "127.0.0.1=" + phone, "--sessions-per-source", "-1"}})
	tok, err := os.ReadFile(filepath.Join(in.DataDir, "admin.token"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		kind     bench.Kind
		phone    string // "" = found through the admin API
		baseline bool
		steps    int
	}{
		{bench.KindVerify, "", false, 4},
		{bench.KindLogin, phone, false, 5},
		{bench.KindMixed, phone, true, 7},
		{bench.KindFusion, phone, true, 8},
		{bench.KindFusionCarrier, phone, false, 5},
	} {
		t.Run(string(tc.kind), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			rep, err := bench.Run(ctx, bench.Config{
				Target: in.URL, AccessKeyID: harness.AccessKeyID, AccessKeySecret: harness.AccessKeySecret,
				Kind: tc.kind, Flows: 200, Concurrency: 8, Phone: tc.phone, AdminToken: strings.TrimSpace(string(tok)),
				Baseline: tc.baseline,
			})
			if err != nil {
				t.Fatal(err)
			}
			var table strings.Builder
			rep.WriteTable(&table)
			t.Logf("\n%s", table.String())
			if rep.Flows != 200 || rep.FlowsFailed != 0 || len(rep.Errors) != 0 || rep.Interrupted {
				t.Fatalf("flows %d, failed %d, errors %+v", rep.Flows, rep.FlowsFailed, rep.Errors)
			}
			if rep.Carrier != bench.SandboxCarrier || rep.Phone != "138****8000" || len(rep.Steps) != tc.steps {
				t.Fatalf("carrier %q, phone %q, %d steps", rep.Carrier, rep.Phone, len(rep.Steps))
			}
			if rep.FlowsPerSecond <= 0 || rep.CallsPerSecond <= rep.FlowsPerSecond || rep.ElapsedSeconds <= 0 {
				t.Fatalf("flows/s %v calls/s %v elapsed %v", rep.FlowsPerSecond, rep.CallsPerSecond, rep.ElapsedSeconds)
			}
			for _, l := range append(rep.Steps, rep.Flow, rep.AllCalls) {
				if l.Count == 0 || l.Errors != 0 || !(0 < l.P50Ms && l.P50Ms <= l.P95Ms && l.P95Ms <= l.P99Ms && l.P99Ms <= l.MaxMs) {
					t.Fatalf("row %+v: want calls, no errors, 0 < p50 ≤ p95 ≤ p99 ≤ max", l)
				}
			}
			// A flow takes at least as long as its slowest step's median.
			if rep.Flow.P50Ms < rep.AllCalls.P50Ms {
				t.Fatalf("flow p50 %v below call p50 %v", rep.Flow.P50Ms, rep.AllCalls.P50Ms)
			}
			if tc.baseline {
				b := rep.Baseline
				if b == nil || b.Calls != rep.Calls || b.Errors != 0 || b.CallsPerSecond <= 0 || b.Latency.P99Ms <= 0 {
					t.Fatalf("baseline %+v", b)
				}
				if b.CallsRatio <= 0 || b.FlowP99Ratio <= 1 || b.CallP99Ratio <= 0 {
					t.Fatalf("ratios %v %v %v", b.CallsRatio, b.FlowP99Ratio, b.CallP99Ratio)
				}
			}
		})
	}
}
