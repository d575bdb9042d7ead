package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// fake is a stand-in numauth for the engine's own paths: it answers every
// call as the real one does on success, except where a field says otherwise.
// It checks nothing about signatures; the integration test runs the real one.
type fake struct {
	carrier   string        // X-Numauth-Carrier of /bench/noop ("" = no header)
	checkCode string        // the code check answers (default OK)
	masked    string        // what login-mask answers (default 138****8000)
	verdict   string        // VerifyResult (default PASS)
	block     bool          // verify-token waits until the request is cancelled
	blocked   chan struct{} // if set, gets a value as each blocked verify-token starts waiting
	header    string        // if set, page calls must carry this header with the phone

	mu      sync.Mutex
	calls   map[string]int
	deleted bool
}

const fakePhone = "13800138000"

func (f *fake) count(name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.calls == nil {
		f.calls = map[string]int{}
	}
	f.calls[name]++
}

func (f *fake) n(name string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[name]
}

func or(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

func (f *fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	switch {
	case r.URL.Path == "/bench/noop":
		f.count("noop")
		if f.carrier != "" {
			w.Header().Set(CarrierHeader, f.carrier)
			w.Header().Set(SMSProviderHeader, f.carrier)
		}
		io.WriteString(w, `{"Code":"OK"}`)
	case r.URL.Path == "/admin/v1/sandbox/subscribers":
		if r.Header.Get("Authorization") != "Bearer admintok" {
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, `{"error":"admin token required"}`)
			return
		}
		io.WriteString(w, `{"subscribers":[{"prefix":"127.0.0.1/32","phone":"`+fakePhone+`","operator":"CM"}]}`)
	case strings.HasPrefix(r.URL.Path, "/h5/v1/"):
		op := strings.TrimPrefix(r.URL.Path, "/h5/v1/")
		f.count(op)
		var body map[string]string
		json.NewDecoder(r.Body).Decode(&body)
		if r.Header.Get("Origin") != DefaultOrigin || (f.header != "" && r.Header.Get(f.header) != fakePhone) {
			io.WriteString(w, `{"code":"IDENTITY_FAILED","msg":"wrong origin or header"}`)
			return
		}
		switch op {
		case "check":
			code := or(f.checkCode, "OK")
			json.NewEncoder(w).Encode(map[string]string{"code": code, "msg": "m", "session": "sess"})
		case "verify-token":
			if f.block {
				if f.blocked != nil {
					f.blocked <- struct{}{}
				}
				<-r.Context().Done()
				return
			}
			io.WriteString(w, `{"code":"OK","msg":"ok","spToken":"spv","carrier":"CM"}`)
		case "login-mask":
			json.NewEncoder(w).Encode(map[string]string{"code": "OK", "msg": "ok", "maskedPhone": or(f.masked, "138****8000")})
		case "login-token":
			if body["mask"] != "0013" {
				io.WriteString(w, `{"code":"MASK_WRONG","msg":"the digits do not match"}`)
				return
			}
			io.WriteString(w, `{"code":"OK","msg":"ok","spToken":"spl","carrier":"CM"}`)
		}
	default:
		r.ParseForm()
		action := r.Form.Get("Action")
		f.count(action)
		switch action {
		case "CreateVerifyScheme":
			io.WriteString(w, `{"Code":"OK","GateVerifySchemeDTO":{"SchemeCode":"FC100000000000001"}}`)
		case "DeleteVerifyScheme":
			f.mu.Lock()
			f.deleted = r.Form.Get("SchemeCode") == "FC100000000000001"
			f.mu.Unlock()
			io.WriteString(w, `{"Code":"OK","Result":true}`)
		case "GetAuthToken":
			io.WriteString(w, `{"Code":"OK","TokenInfo":{"AccessToken":"at","JwtToken":"jt"}}`)
		case "VerifyPhoneWithToken":
			io.WriteString(w, `{"Code":"OK","GateVerify":{"VerifyResult":"`+or(f.verdict, "PASS")+`"}}`)
		case "GetPhoneWithToken":
			io.WriteString(w, `{"Code":"OK","Data":{"Mobile":"`+fakePhone+`"}}`)
		case "SendSmsVerifyCode":
			if !strings.HasPrefix(r.Form.Get("PhoneNumber"), "170") || r.Form.Get("ReturnVerifyCode") != "true" {
				io.WriteString(w, `{"Code":"INVALID_PARAMETERS","Success":false}`)
				return
			}
			io.WriteString(w, `{"Code":"OK","Success":true,"Model":{"BizId":"b","VerifyCode":"4821"}}`)
		case "CheckSmsVerifyCode":
			result := "UNKNOWN"
			if r.Form.Get("VerifyCode") == "4821" {
				result = "PASS"
			}
			io.WriteString(w, `{"Code":"OK","Success":true,"Model":{"VerifyResult":"`+result+`"}}`)
		default:
			w.WriteHeader(http.StatusNotFound)
			io.WriteString(w, `{"Code":"InvalidAction.NotFound"}`)
		}
	}
}

func startFake(t *testing.T, f *fake) string {
	t.Helper()
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return srv.URL
}

func fakeConfig(target string) Config {
	return Config{Target: target, AccessKeyID: "id", AccessKeySecret: "secret", Phone: fakePhone, Flows: 20, Concurrency: 3}
}

func TestConfigErrors(t *testing.T) {
	base := fakeConfig("http://127.0.0.1:1")
	for _, tc := range []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"unbounded", func(c *Config) { c.Flows, c.Duration = 0, 0 }, "bounded"},
		{"bad kind", func(c *Config) { c.Kind = "fax" }, `kind "fax"`},
		{"negative", func(c *Config) { c.Concurrency = -1 }, "negative"},
		{"bad target", func(c *Config) { c.Target = "127.0.0.1:8080" }, "base URL"},
		{"no key", func(c *Config) { c.AccessKeySecret = "" }, "AccessKey"},
		{"header without phone", func(c *Config) { c.SourceHeader, c.Phone = "X-MSISDN", "" }, "phone number"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := base
			tc.edit(&c)
			_, err := Run(context.Background(), c)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Run = %v, want an error about %q", err, tc.want)
			}
		})
	}
}

func TestRefusesUnlessSandbox(t *testing.T) {
	for _, tc := range []struct {
		carrier string
		allow   bool
		refuse  bool
	}{
		{"", false, true},       // no header: unknown
		{"camara", false, true}, // a real carrier
		{"camara", true, false},
		{"sandbox", false, false},
	} {
		f := &fake{carrier: tc.carrier}
		cfg := fakeConfig(startFake(t, f))
		cfg.AllowRealCarriers = tc.allow
		rep, err := Run(context.Background(), cfg)
		if tc.refuse {
			if !errors.Is(err, ErrNotSandbox) || f.n("GetAuthToken") != 0 || f.n("CreateVerifyScheme") != 0 {
				t.Errorf("carrier %q: Run = %v after %d calls; want ErrNotSandbox before any flow", tc.carrier, err, f.n("GetAuthToken"))
			}
			continue
		}
		if err != nil || rep.Flows != 20 || rep.Carrier != tc.carrier {
			t.Errorf("carrier %q allow %v: Run = %+v, %v", tc.carrier, tc.allow, rep, err)
		}
	}
}

func TestRunCountsFlowsAndCalls(t *testing.T) {
	for _, tc := range []struct {
		kind  Kind
		steps []string
	}{
		{KindVerify, []string{"GetAuthToken", "check", "verify-token", "VerifyPhoneWithToken"}},
		{KindLogin, []string{"GetAuthToken", "check", "login-mask", "login-token", "GetPhoneWithToken"}},
		{KindMixed, StepNames[:stepSendSms]},
		{KindSMS, []string{"SendSmsVerifyCode", "CheckSmsVerifyCode"}},
	} {
		t.Run(string(tc.kind), func(t *testing.T) {
			f := &fake{carrier: SandboxCarrier}
			cfg := fakeConfig(startFake(t, f))
			cfg.Kind, cfg.Baseline = tc.kind, true
			rep, err := Run(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Flows != 20 || rep.FlowsFailed != 0 || len(rep.Errors) != 0 || rep.Flow.Count != 20 {
				t.Fatalf("flows %d failed %d errors %v", rep.Flows, rep.FlowsFailed, rep.Errors)
			}
			var names []string
			var calls int64
			for _, s := range rep.Steps {
				names = append(names, s.Name)
				calls += s.Count
			}
			if strings.Join(names, ",") != strings.Join(tc.steps, ",") {
				t.Fatalf("steps %v, want %v", names, tc.steps)
			}
			if want := int64(20 * callsPerFlow(tc.kind)); calls != want || rep.Calls != want || rep.AllCalls.Count != want {
				t.Fatalf("calls %d (report %d), want %d", calls, rep.Calls, want)
			}
			// The baseline makes as many calls as the flows did, and one probe precedes it.
			if rep.Baseline == nil || rep.Baseline.Calls != rep.Calls || f.n("noop") != int(rep.Calls)+1 {
				t.Fatalf("baseline %+v, %d no-op calls", rep.Baseline, f.n("noop"))
			}
			if rep.Baseline.CallsRatio <= 0 || rep.Baseline.FlowP99Ratio <= 0 {
				t.Fatalf("ratios not computed: %+v", rep.Baseline)
			}
			if tc.kind != KindSMS && !f.deleted {
				t.Fatal("the bench's scheme was not deleted at the end")
			}
			if tc.kind == KindSMS && f.n("CreateVerifyScheme") != 0 {
				t.Fatal("an SMS run registered a scheme")
			}
		})
	}
}

func TestRunCountsErrorsByStepAndCode(t *testing.T) {
	for _, tc := range []struct {
		name string
		f    *fake
		kind Kind
		want ErrorCount
	}{
		{"gateway code", &fake{checkCode: "NOT_CELLULAR"}, KindVerify, ErrorCount{Step: "check", Code: "NOT_CELLULAR", Count: 20}},
		{"verdict", &fake{verdict: "REJECT"}, KindVerify, ErrorCount{Step: "VerifyPhoneWithToken", Code: "VerifyResult:REJECT", Count: 20}},
		{"foreign mask", &fake{masked: "139****0000"}, KindLogin, ErrorCount{Step: "login-mask", Code: "MASK_MISMATCH", Count: 20}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.f.carrier = SandboxCarrier
			cfg := fakeConfig(startFake(t, tc.f))
			cfg.Kind = tc.kind
			rep, err := Run(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Flows != 0 || rep.FlowsFailed != 20 || rep.Flow.Errors != 20 || len(rep.Errors) != 1 {
				t.Fatalf("flows %d failed %d errors %+v", rep.Flows, rep.FlowsFailed, rep.Errors)
			}
			got := rep.Errors[0]
			got.Sample = ""
			if got != tc.want {
				t.Fatalf("error %+v, want %+v", got, tc.want)
			}
			// A mask that is not the subscriber's is never answered: wrong
			// masks lock the number for login.
			if n := tc.f.n("login-token"); n != 0 {
				t.Fatalf("%d login-token calls after a foreign mask", n)
			}
		})
	}
}

// TestRunStopsOnInterrupt interrupts the run once every worker is inside a
// flow that would never end by itself: Run returns only if the interrupt
// cuts them short (a broken interrupt hangs the test, and go test's
// -timeout fails it), so no wall-time bound is needed.
func TestRunStopsOnInterrupt(t *testing.T) {
	f := &fake{carrier: SandboxCarrier, block: true, blocked: make(chan struct{}, 1000)}
	cfg := fakeConfig(startFake(t, f))
	cfg.Flows = 1000
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		for range cfg.Concurrency {
			<-f.blocked
		}
		cancel()
	}()
	rep, err := Run(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Interrupted || rep.FlowsFailed != 0 || len(rep.Errors) != 0 {
		t.Fatalf("interrupted %v, failed %d, errors %v: cut-short flows are not errors", rep.Interrupted, rep.FlowsFailed, rep.Errors)
	}
	if rep.Steps[0].Name != "GetAuthToken" || rep.Steps[0].Count != int64(cfg.Concurrency) {
		t.Fatalf("steps %+v: want the %d GetAuthToken calls made before the interrupt", rep.Steps, cfg.Concurrency)
	}
	if !f.deleted {
		t.Fatal("the scheme was not deleted after the interrupt")
	}
}

// TestRunDurationBound runs without a flow limit and a context that never
// ends: only the duration bound can end the run (a broken bound hangs the
// test and go test's -timeout fails it). The bound stops new flows and lets
// the ones under way finish, so every flow started is a whole flow in the
// report.
func TestRunDurationBound(t *testing.T) {
	f := &fake{carrier: SandboxCarrier}
	cfg := fakeConfig(startFake(t, f))
	cfg.Flows, cfg.Duration = 0, 300*time.Millisecond
	rep, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Interrupted || rep.Flows == 0 || rep.FlowsFailed != 0 || rep.DurationLimitSeconds != 0.3 || rep.ElapsedSeconds <= 0 {
		t.Fatalf("flows %d (failed %d) in %.2fs, limit %vs, interrupted %v: want a run that its bound stopped",
			rep.Flows, rep.FlowsFailed, rep.ElapsedSeconds, rep.DurationLimitSeconds, rep.Interrupted)
	}
	if started, ended := f.n("GetAuthToken"), f.n("VerifyPhoneWithToken"); int64(started) != rep.Flows || int64(ended) != rep.Flows {
		t.Fatalf("%d flows started and %d ended, report says %d: the bound cut flows short", started, ended, rep.Flows)
	}
}

func TestRunFindsPhoneAndSendsSourceHeader(t *testing.T) {
	f := &fake{carrier: SandboxCarrier}
	cfg := fakeConfig(startFake(t, f))
	cfg.Phone, cfg.AdminToken = "", "admintok"
	rep, err := Run(context.Background(), cfg)
	if err != nil || rep.Flows != 20 || rep.Phone != "138****8000" {
		t.Fatalf("phone from the admin API: %+v, %v", rep, err)
	}

	cfg.AdminToken = "wrong"
	if _, err := Run(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("wrong admin token: %v", err)
	}
	cfg.AdminToken = ""
	if _, err := Run(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), "--phone") {
		t.Fatalf("neither phone nor token: %v", err)
	}

	f = &fake{carrier: SandboxCarrier, header: "X-Msisdn"}
	cfg = fakeConfig(startFake(t, f))
	cfg.SourceHeader = "X-MSISDN"
	if rep, err := Run(context.Background(), cfg); err != nil || rep.Flows != 20 {
		t.Fatalf("with a source header: %+v, %v", rep, err)
	}
}

func TestProgressLine(t *testing.T) {
	f := &fake{carrier: SandboxCarrier}
	cfg := fakeConfig(startFake(t, f))
	// Only the progress goroutine writes, and Run waits for it.
	var out bytes.Buffer
	cfg.Progress = &out
	cfg.Flows, cfg.Duration = 0, 700*time.Millisecond
	if _, err := Run(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	s := out.String()
	if strings.Count(s, "flows/s") < 1 || !strings.HasPrefix(s, "\r") || !strings.HasSuffix(s, "\r\x1b[K") || strings.Contains(s, "\n") {
		t.Fatalf("progress output %q: want lines rewritten with \\r, cleared at the end, no newline", s)
	}
}
