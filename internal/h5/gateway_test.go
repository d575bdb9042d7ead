package h5_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/numauth/numauth/internal/auth"
	"github.com/numauth/numauth/internal/auth/authtest"
	"github.com/numauth/numauth/internal/carrier"
	"github.com/numauth/numauth/internal/carrier/sandbox"
	"github.com/numauth/numauth/internal/h5"
	"github.com/numauth/numauth/internal/h5/sdkasset"
	"github.com/numauth/numauth/internal/obs"
	"github.com/numauth/numauth/internal/token"
)

const (
	origin = "https://shop.example.com"
	phone  = "13800138000"
)

type fixture struct {
	mux    *http.ServeMux
	svc    *auth.Service
	sb     *sandbox.Sandbox
	caller auth.Caller
}

func newFixture(t *testing.T) *fixture { return newFixtureWith(t, nil) }

func newFixtureWith(t *testing.T, wrap func(carrier.Adapter) carrier.Adapter) *fixture {
	t.Helper()
	ctx := context.Background()
	// httptest requests come from 192.0.2.1.
	st := authtest.New(t, authtest.Options{WrapCarrier: wrap,
		Subscribers: []sandbox.Subscriber{{Prefix: netip.MustParsePrefix("192.0.2.1/32"), Phone: phone}}})
	svc, sb := st.Svc, st.Sandbox
	c := auth.Caller{AccessKeyID: "k", AccountID: "acct"}
	if _, err := svc.CreateScheme(ctx, c, auth.SchemeInput{Name: "s", OsType: "H5", Origin: origin, URL: origin + "/"}); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	h5.New(svc, nil, nil).Register(mux)
	return &fixture{mux: mux, svc: svc, sb: sb, caller: c}
}

func (f *fixture) post(t *testing.T, op, from string, body any) (*httptest.ResponseRecorder, map[string]any) {
	t.Helper()
	var raw []byte
	if s, ok := body.(string); ok {
		raw = []byte(s)
	} else {
		raw, _ = json.Marshal(body)
	}
	req := httptest.NewRequest("POST", "/h5/v1/"+op, bytes.NewReader(raw))
	req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
	if from != "" {
		req.Header.Set("Origin", from)
	}
	rec := httptest.NewRecorder()
	f.mux.ServeHTTP(rec, req)
	var out map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		t.Fatalf("%s: answer is not JSON: %s", op, rec.Body)
	}
	return rec, out
}

func (f *fixture) tokens(t *testing.T, biz token.Biz) auth.PageTokens {
	ti, err := f.svc.IssuePageTokens(context.Background(), f.caller, auth.PageTokenRequest{URL: origin + "/login", Origin: origin, Biz: biz})
	if err != nil {
		t.Fatal(err)
	}
	return ti
}

func TestVerifyFlowAndCORS(t *testing.T) {
	f := newFixture(t)
	ti := f.tokens(t, token.BizAny)
	check := map[string]string{"accessToken": ti.AccessToken, "jwtToken": ti.JwtToken, "kind": "verify"}

	rec, out := f.post(t, "check", "https://evil.example.com", check)
	if out["code"] != "IDENTITY_FAILED" || rec.Header().Get("Access-Control-Allow-Origin") != "https://evil.example.com" {
		t.Fatalf("foreign origin: %v (an error answer is readable, so the SDK can say 600025)", out)
	}
	rec, out = f.post(t, "check", origin, check)
	if out["code"] != "OK" || out["session"] == "" || rec.Header().Get("Access-Control-Allow-Origin") != origin {
		t.Fatalf("check: %v %v", out, rec.Header())
	}
	sess := out["session"].(string)
	// The session cannot be used, nor its data read, from another origin.
	rec, out = f.post(t, "verify-token", "https://evil.example.com", map[string]string{"session": sess})
	if out["code"] != "IDENTITY_FAILED" || out["spToken"] != nil {
		t.Fatalf("session from another origin: %v", out)
	}
	rec, out = f.post(t, "verify-token", origin, map[string]string{"session": sess})
	if out["code"] != "OK" || out["spToken"] == "" || out["carrier"] != "CM" || rec.Header().Get("Access-Control-Allow-Origin") != origin {
		t.Fatalf("verify-token: %v", out)
	}
	res, err := f.svc.VerifyNumber(context.Background(), f.caller, out["spToken"].(string), phone)
	if err != nil || res.Result != carrier.Pass {
		t.Fatalf("verify: %+v %v", res, err)
	}
}

// backLegOnly hides the sandbox's front leg: an adapter with neither front
// leg capability.
type backLegOnly struct{ carrier.Adapter }

// TestAdapterWithoutFrontLeg: the gateway answers a carrier error, not a
// panic or an internal error, when the adapter has no front leg it can run.
func TestAdapterWithoutFrontLeg(t *testing.T) {
	f := newFixtureWith(t, func(a carrier.Adapter) carrier.Adapter { return backLegOnly{a} })
	for _, kind := range []string{"verify", "login"} {
		ti := f.tokens(t, token.BizAny)
		_, out := f.post(t, "check", origin, map[string]string{"accessToken": ti.AccessToken, "jwtToken": ti.JwtToken, "kind": kind})
		op := map[string]string{"verify": "verify-token", "login": "login-mask"}[kind]
		if _, out = f.post(t, op, origin, map[string]any{"session": out["session"]}); out["code"] != "CARRIER_ERROR" {
			t.Errorf("%s through an adapter without a front leg = %v; want CARRIER_ERROR", op, out)
		}
	}
}

func TestGatewayCodes(t *testing.T) {
	f := newFixture(t)
	verifyOnly := f.tokens(t, token.BizVerify)
	_, out := f.post(t, "check", origin, map[string]string{"accessToken": verifyOnly.AccessToken, "jwtToken": verifyOnly.JwtToken, "kind": "verify"})
	sess := out["session"].(string)
	tests := []struct {
		name, op string
		body     any
		code     string
	}{
		{"not json", "check", "{nope", "BAD_ARGUMENT"},
		{"missing tokens", "check", map[string]string{"kind": "verify"}, "BAD_ARGUMENT"},
		{"garbage tokens", "check", map[string]string{"accessToken": "a", "jwtToken": "b", "kind": "verify"}, "IDENTITY_FAILED"},
		{"biz mismatch", "check", map[string]string{"accessToken": verifyOnly.AccessToken, "jwtToken": verifyOnly.JwtToken, "kind": "login"}, "BIZ_TYPE_MISMATCH"},
		{"unknown session", "verify-token", map[string]string{"session": "nope"}, "SESSION_INVALID"},
		{"verify session for login", "login-mask", map[string]string{"session": sess}, "SESSION_INVALID"},
		{"bad mask", "login-token", map[string]string{"session": sess, "mask": "12"}, "BAD_ARGUMENT"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, out := f.post(t, tt.op, origin, tt.body); out["code"] != tt.code {
				t.Fatalf("= %v, want %s", out, tt.code)
			}
		})
	}
	for _, tc := range []struct {
		fault sandbox.Fault
		code  string
	}{{sandbox.Fault{Maintenance: true}, "CARRIER_MAINTENANCE"}, {sandbox.Fault{QuotaExhausted: true}, "CARRIER_QUOTA"}, {sandbox.Fault{ErrorRate: 1}, "CARRIER_ERROR"}} {
		f.sb.SetFault(carrier.ChinaMobile, tc.fault)
		if _, out := f.post(t, "verify-token", origin, map[string]string{"session": sess}); out["code"] != tc.code {
			t.Errorf("fault %+v: %v, want %s", tc.fault, out, tc.code)
		}
	}
	f.sb.SetFault(carrier.ChinaMobile, sandbox.Fault{})
	f.sb.RemoveSubscriber(netip.MustParsePrefix("192.0.2.1/32"))
	if _, out := f.post(t, "verify-token", origin, map[string]string{"session": sess}); out["code"] != "NOT_CELLULAR" {
		t.Fatalf("unmapped address: %v", out)
	}
	// Oversized body.
	rec, out := f.post(t, "check", origin, `{"accessToken":"`+strings.Repeat("a", 9000)+`"}`)
	if rec.Code != http.StatusRequestEntityTooLarge || out["code"] != "BAD_ARGUMENT" {
		t.Fatalf("oversized: %d %v", rec.Code, out)
	}
}

func TestLoginMaskTries(t *testing.T) {
	f := newFixture(t)
	ti := f.tokens(t, token.BizLogin)
	_, out := f.post(t, "check", origin, map[string]string{"accessToken": ti.AccessToken, "jwtToken": ti.JwtToken, "kind": "login"})
	sess := out["session"].(string)
	if _, out := f.post(t, "login-token", origin, map[string]string{"session": sess, "mask": "0013"}); out["code"] != "MASK_NOT_REQUESTED" {
		t.Fatalf("token before mask: %v", out)
	}
	if _, out := f.post(t, "login-mask", origin, map[string]string{"session": sess}); out["code"] != "OK" || out["maskedPhone"] != "138****8000" {
		t.Fatalf("mask: %v", out)
	}
	if _, out := f.post(t, "login-token", origin, map[string]string{"session": sess, "mask": "1111"}); out["code"] != "MASK_WRONG" || out["triesLeft"] != 2.0 {
		t.Fatalf("wrong mask: %v", out)
	}
	_, out = f.post(t, "login-token", origin, map[string]string{"session": sess, "mask": "0013"})
	if out["code"] != "OK" || out["spToken"] == "" {
		t.Fatalf("right mask: %v", out)
	}
	n, err := f.svc.LoginNumber(context.Background(), f.caller, out["spToken"].(string))
	if err != nil || n != "+86"+phone {
		t.Fatalf("GetPhoneWithToken = %q %v", n, err)
	}
}

func TestServesSDK(t *testing.T) {
	f := newFixture(t)
	rec := httptest.NewRecorder()
	f.mux.ServeHTTP(rec, httptest.NewRequest("GET", "/sdk/numberauth-web-sdk.js", nil))
	body, _ := io.ReadAll(rec.Body)
	if rec.Code != 200 || !bytes.Equal(body, sdkasset.JS) || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/javascript") {
		t.Fatalf("SDK: %d %s", rec.Code, rec.Header())
	}
	req := httptest.NewRequest("GET", "/sdk/numberauth-web-sdk.js", nil)
	req.Header.Set("If-None-Match", rec.Header().Get("ETag"))
	rec = httptest.NewRecorder()
	f.mux.ServeHTTP(rec, req)
	if rec.Code != http.StatusNotModified {
		t.Fatalf("revalidation = %d", rec.Code)
	}
}

// A page that gives up (its SDK timeout aborts the fetch) is counted as
// CANCELED, not as an internal failure.
func TestAbandonedCallIsNotInternal(t *testing.T) {
	f := newFixture(t)
	ti := f.tokens(t, token.BizAny)
	_, out := f.post(t, "check", origin, map[string]string{"accessToken": ti.AccessToken, "jwtToken": ti.JwtToken, "kind": "verify"})
	f.sb.SetFault(carrier.ChinaMobile, sandbox.Fault{Latency: 2 * time.Second})
	raw, _ := json.Marshal(map[string]string{"session": out["session"].(string)})
	ctx, cancel := context.WithCancel(context.Background()) // as net/http does when the client goes away
	defer cancel()
	time.AfterFunc(50*time.Millisecond, cancel)
	req := httptest.NewRequest("POST", "/h5/v1/verify-token", bytes.NewReader(raw)).WithContext(ctx)
	req.Header.Set("Origin", origin)
	rec := httptest.NewRecorder()
	f.mux.ServeHTTP(rec, req)
	var got map[string]any
	json.Unmarshal(rec.Body.Bytes(), &got)
	if got["code"] != "CANCELED" {
		t.Fatalf("abandoned call = %v, want CANCELED", got)
	}
}

// foreignOrigins are origins that are not the tokens' (origin): another
// site, a sandboxed or file page, the same host over another scheme or port,
// a look-alike host, and no Origin at all.
var foreignOrigins = []string{
	"https://evil.example.com", "null", "http://shop.example.com", "https://shop.example.com:8443",
	"https://shop.example.com.evil.example", "",
}

// dataFields are the reply fields that carry something worth stealing.
var dataFields = []string{"session", "spToken", "maskedPhone", "carrier", "expiresIn"}

// TestCORSSuccessReadableOnlyByTokensOrigin sends every operation, with a
// body that succeeds from the tokens' origin, from each foreign origin: no
// answer is a success, none readable by that origin carries data, none is
// readable by any other origin ("*" or the tokens' own), and every answer
// varies by Origin so a cache cannot hand one origin's answer to another.
func TestCORSSuccessReadableOnlyByTokensOrigin(t *testing.T) {
	f := newFixture(t)
	ti := f.tokens(t, token.BizAny)
	checkBody := func(kind string) map[string]string {
		return map[string]string{"accessToken": ti.AccessToken, "jwtToken": ti.JwtToken, "kind": kind}
	}
	mustOK := func(t *testing.T, op string, body map[string]string) map[string]any {
		t.Helper()
		_, out := f.post(t, op, origin, body)
		if out["code"] != "OK" {
			t.Fatalf("%s from the tokens' origin: %v", op, out)
		}
		return out
	}
	session := func(t *testing.T, kind string) string {
		return mustOK(t, "check", checkBody(kind))["session"].(string)
	}
	ops := []struct {
		op   string
		body func(t *testing.T) map[string]string // a body that succeeds from origin
	}{
		{"check", func(*testing.T) map[string]string { return checkBody("verify") }},
		{"verify-token", func(t *testing.T) map[string]string { return map[string]string{"session": session(t, "verify")} }},
		{"login-mask", func(t *testing.T) map[string]string { return map[string]string{"session": session(t, "login")} }},
		{"login-token", func(t *testing.T) map[string]string {
			s := session(t, "login")
			mustOK(t, "login-mask", map[string]string{"session": s})
			return map[string]string{"session": s, "mask": "0013"}
		}},
	}
	for _, o := range ops {
		for _, from := range foreignOrigins {
			t.Run(o.op+" from "+from, func(t *testing.T) {
				rec, out := f.post(t, o.op, from, o.body(t))
				acao, readable := rec.Header()["Access-Control-Allow-Origin"]
				if out["code"] == "OK" {
					t.Errorf("a request from %q succeeded: %v", from, out)
				}
				if readable && (from == "" || len(acao) != 1 || acao[0] != from) {
					t.Errorf("a request from %q answered Access-Control-Allow-Origin %q", from, acao)
				}
				for _, k := range dataFields {
					if _, ok := out[k]; ok && readable {
						t.Errorf("%q can read %s: %v", from, k, out)
					}
				}
				if !slices.Contains(rec.Header().Values("Vary"), "Origin") {
					t.Errorf("answer does not vary by Origin: %v", rec.Header())
				}
			})
		}
		// The control: the same kind of body from the tokens' origin succeeds
		// and is readable by it, so the refusals above are for the origin.
		rec, out := f.post(t, o.op, origin, o.body(t))
		if out["code"] != "OK" || rec.Header().Get("Access-Control-Allow-Origin") != origin {
			t.Errorf("%s from the tokens' origin: %v %v", o.op, out, rec.Header())
		}
	}
}

// TestPreflightGrantsNoMoreThanACall: a preflight may let a foreign origin
// send what a real call accepts (a POST with a Content-Type), and nothing
// more: no credentials, no other method or header, no exposed headers, and
// an allowed origin that is only ever the asking one.
func TestPreflightGrantsNoMoreThanACall(t *testing.T) {
	f := newFixture(t)
	for _, op := range []string{"check", "verify-token", "login-mask", "login-token"} {
		for _, from := range append(slices.Clone(foreignOrigins), origin) {
			for _, method := range []string{"POST", "PUT", "DELETE"} {
				t.Run(op+" "+method+" from "+from, func(t *testing.T) {
					req := httptest.NewRequest("OPTIONS", "/h5/v1/"+op, nil)
					if from != "" {
						req.Header.Set("Origin", from)
					}
					req.Header.Set("Access-Control-Request-Method", method)
					req.Header.Set("Access-Control-Request-Headers", "content-type,authorization,x-requested-with")
					rec := httptest.NewRecorder()
					f.mux.ServeHTTP(rec, req)
					h := rec.Header()
					if rec.Code/100 != 2 || rec.Body.Len() != 0 {
						t.Fatalf("preflight = %d %q", rec.Code, rec.Body)
					}
					if acao, ok := h["Access-Control-Allow-Origin"]; ok && (from == "" || len(acao) != 1 || acao[0] != from) {
						t.Errorf("Access-Control-Allow-Origin %q for %q", acao, from)
					}
					for _, k := range []string{"Access-Control-Allow-Credentials", "Access-Control-Expose-Headers"} {
						if v, ok := h[k]; ok {
							t.Errorf("%s: %q", k, v)
						}
					}
					for k, allowed := range map[string][]string{"Access-Control-Allow-Methods": {"post"}, "Access-Control-Allow-Headers": {"content-type"}} {
						for _, v := range h.Values(k) {
							for _, item := range strings.Split(v, ",") {
								if item = strings.ToLower(strings.TrimSpace(item)); !slices.Contains(allowed, item) {
									t.Errorf("%s grants %q", k, item)
								}
							}
						}
					}
				})
			}
		}
	}
}

// Every gateway answer carries a request id, and the call's log lines carry
// the same one (README: each log line of a call has its request_id).
func TestGatewayRequestID(t *testing.T) {
	f := newFixture(t)
	var logs bytes.Buffer
	mux := http.NewServeMux()
	h5.New(f.svc, slog.New(obs.WithRequestIDs(slog.NewJSONHandler(&logs, nil))), nil).Register(mux)
	f.mux = mux
	ti := f.tokens(t, token.BizAny)
	seen := map[string]bool{}
	for _, body := range []any{
		map[string]string{"accessToken": ti.AccessToken, "jwtToken": ti.JwtToken, "kind": "verify"}, // OK
		"{nope", // BAD_ARGUMENT
	} {
		logs.Reset()
		rec, out := f.post(t, "check", origin, body)
		id := rec.Header().Get("X-Request-Id")
		if len(id) != 36 || strings.ToUpper(id) != id || seen[id] {
			t.Fatalf("%v: X-Request-Id %q: want a new upper-case UUID", out["code"], id)
		}
		seen[id] = true
		h5Lines := 0
		for _, raw := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
			var line map[string]any
			if err := json.Unmarshal([]byte(raw), &line); err != nil || line["request_id"] != id {
				t.Errorf("%v: log line %q (%v) without request_id %s", out["code"], raw, err, id)
			}
			if line["msg"] == "h5" {
				h5Lines++
			}
		}
		if h5Lines != 1 {
			t.Errorf("%v: %d h5 lines in %q, want 1", out["code"], h5Lines, logs.String())
		}
	}
}
