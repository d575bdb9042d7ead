package sandbox

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/numauth/numauth/internal/carrier"
)

// adminServer mounts the handler under a prefix, as numauth does.
func adminServer(t *testing.T, s *Sandbox) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle("/admin/sandbox/", http.StripPrefix("/admin/sandbox", s.AdminHandler()))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

type answer struct {
	status int
	header http.Header
	body   string
}

func call(t *testing.T, srv *httptest.Server, method, path, body string) answer {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+"/admin/sandbox"+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	a := answer{resp.StatusCode, resp.Header, string(b)}
	if ct := resp.Header.Get("Content-Type"); a.status != http.StatusNoContent && method != http.MethodHead && !strings.HasPrefix(ct, "application/json") {
		t.Errorf("%s %s: Content-Type %q, body %s", method, path, ct, b)
	}
	if a.status != http.StatusNoContent && method != http.MethodHead && !json.Valid(b) {
		t.Errorf("%s %s: body is not JSON: %s", method, path, b)
	}
	return a
}

func TestAdminSubscribers(t *testing.T) {
	s := mustNew(t, Config{Subscribers: []Subscriber{{Prefix: pfx("10.0.0.0/24"), Phone: "13800138000"}}})
	srv := adminServer(t, s)

	a := call(t, srv, "GET", "/subscribers", "")
	if a.status != 200 || a.body != `{"subscribers":[{"prefix":"10.0.0.0/24","phone":"13800138000","operator":"CM"}]}`+"\n" {
		t.Fatalf("GET /subscribers = %d %s", a.status, a.body)
	}
	a = call(t, srv, "POST", "/subscribers", `{"prefix":"2001:db8::7","phone":"+86 189-0000-1111"}`)
	if a.status != 200 || a.body != `{"prefix":"2001:db8::7/128","phone":"18900001111","operator":"CT"}`+"\n" {
		t.Fatalf("POST /subscribers = %d %s", a.status, a.body)
	}
	if n, err := numberOf(t, s, "2001:db8::7", nil); err != nil || n != "18900001111" {
		t.Fatalf("after POST: %s, %v", n, err)
	}
	// What GET returns can be posted back (operator is ignored on input).
	if a = call(t, srv, "POST", "/subscribers", `{"prefix":"10.0.0.0/24","phone":"13900139000","operator":"CM"}`); a.status != 200 {
		t.Fatalf("POST back = %d %s", a.status, a.body)
	}
	if n, _ := numberOf(t, s, "10.0.0.1", nil); n != "13900139000" {
		t.Fatalf("renumbered over HTTP: %s", n)
	}

	a = call(t, srv, "DELETE", "/subscribers?prefix=2001:db8::7", "")
	if a.status != http.StatusNoContent {
		t.Fatalf("DELETE = %d %s", a.status, a.body)
	}
	a = call(t, srv, "DELETE", "/subscribers?prefix=2001:db8::7", "")
	if a.status != http.StatusNotFound || !strings.Contains(a.body, `"code":"NotFound"`) {
		t.Fatalf("DELETE again = %d %s", a.status, a.body)
	}
	a = call(t, srv, "DELETE", "/subscribers?prefix=10.0.0.0%2F24", "")
	if a.status != http.StatusNoContent || len(s.Subscribers()) != 0 {
		t.Fatalf("DELETE CIDR = %d %s, left %v", a.status, a.body, s.Subscribers())
	}
	if a = call(t, srv, "GET", "/subscribers", ""); a.body != `{"subscribers":[]}`+"\n" {
		t.Fatalf("GET empty = %s", a.body)
	}
}

func TestAdminFaults(t *testing.T) {
	s := mustNew(t, Config{})
	srv := adminServer(t, s)
	zero := `{"latency":"0s","errorRate":0,"maintenance":false,"quotaExhausted":false}`
	a := call(t, srv, "GET", "/faults", "")
	if want := `{"CM":` + zero + `,"CT":` + zero + `,"CU":` + zero + "}\n"; a.status != 200 || a.body != want {
		t.Fatalf("GET /faults = %d %s", a.status, a.body)
	}
	a = call(t, srv, "PUT", "/faults/CU", `{"latency":"1.5s","errorRate":0.25,"quotaExhausted":true}`)
	if a.status != 200 || a.body != `{"latency":"1.5s","errorRate":0.25,"maintenance":false,"quotaExhausted":true}`+"\n" {
		t.Fatalf("PUT /faults/CU = %d %s", a.status, a.body)
	}
	if got := s.Faults()[carrier.ChinaUnicom]; got != (Fault{Latency: 1500 * time.Millisecond, ErrorRate: 0.25, QuotaExhausted: true}) {
		t.Fatalf("after PUT: %+v", got)
	}
	if a = call(t, srv, "PUT", "/faults/CU", `{}`); a.status != 200 || len(s.Faults()) != 0 {
		t.Fatalf("PUT {} = %d %s, faults %v", a.status, a.body, s.Faults())
	}
}

func TestAdminBadInput(t *testing.T) {
	var logs bytes.Buffer
	s := mustNew(t, Config{Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	srv := adminServer(t, s)
	for _, c := range []struct {
		method, path, body string
		status             int
		want               string
	}{
		{"POST", "/subscribers", ``, 400, "empty"},
		{"POST", "/subscribers", `{`, 400, "request body"},
		{"POST", "/subscribers", `[]`, 400, "cannot unmarshal"},
		{"POST", "/subscribers", `{"prefix":"10.0.0.1","phone":"13800138000"} x`, 400, "after the JSON value"},
		{"POST", "/subscribers", `{"prefix":"10.0.0.1","phone":"13800138000","phon":"1"}`, 400, "unknown field"},
		{"POST", "/subscribers", `{"prefix":"10.0.0.1"}`, 400, "phone"},
		{"POST", "/subscribers", `{"phone":"13800138000"}`, 400, "prefix"},
		{"POST", "/subscribers", `{"prefix":"10.0.0.300","phone":"13800138000"}`, 400, "prefix"},
		{"POST", "/subscribers", `{"prefix":"10.0.0.1","phone":"1380013800"}`, 400, "phone"},
		{"POST", "/subscribers", `{"prefix":"10.0.0.1","phone":"14000138000"}`, 400, "no operator"},
		{"POST", "/subscribers", `{"prefix":"10.0.0.1","phone":138}`, 400, "cannot unmarshal"},
		{"POST", "/subscribers", `{"prefix":"10.0.0.1","phone":"` + strings.Repeat("1", maxAdminBody) + `"}`, 413, "larger than"},
		{"DELETE", "/subscribers", ``, 400, "missing query parameter prefix"},
		{"DELETE", "/subscribers?prefix=", ``, 400, "prefix"},
		{"DELETE", "/subscribers?prefix=bogus", ``, 400, "prefix"},
		{"PUT", "/faults/X", `{}`, 400, "unknown operator"},
		{"PUT", "/faults/cm", `{}`, 400, "unknown operator"},
		{"PUT", "/faults/CM", ``, 400, "empty"},
		{"PUT", "/faults/CM", `{"latency":"soon"}`, 400, "latency"},
		{"PUT", "/faults/CM", `{"latency":200}`, 400, "cannot unmarshal"},
		{"PUT", "/faults/CM", `{"latency":"-1s"}`, 400, "negative"},
		{"PUT", "/faults/CM", `{"errorRate":1.01}`, 400, "errorRate"},
		{"PUT", "/faults/CM", `{"errorRate":-1}`, 400, "errorRate"},
		{"PUT", "/faults/CM", `{"maintenance":"yes"}`, 400, "cannot unmarshal"},
		{"PUT", "/faults/CM", `{"quota":true}`, 400, "unknown field"},
		{"PATCH", "/subscribers", `{}`, 405, "not allowed"},
		{"POST", "/faults", `{}`, 405, "not allowed"},
		{"GET", "/faults/CM", ``, 405, "not allowed"},
		{"GET", "/nope", ``, 404, "no such"},
		{"GET", "/", ``, 404, "no such"},
		{"GET", "/faults/CM/x", ``, 404, "no such"},
	} {
		a := call(t, srv, c.method, c.path, c.body)
		var e struct{ Code, Message string }
		if a.status != c.status || json.Unmarshal([]byte(a.body), &e) != nil || e.Code == "" || !strings.Contains(e.Message, c.want) {
			t.Errorf("%s %s %.60s = %d %s; want %d and an error containing %q", c.method, c.path, c.body, a.status, a.body, c.status, c.want)
		}
		if regexp.MustCompile(`1[3-9]\d{9}`).MatchString(a.body) {
			t.Errorf("%s %s: error repeats a number: %s", c.method, c.path, a.body)
		}
	}
	if a := call(t, srv, "PATCH", "/subscribers", ""); a.header.Get("Allow") == "" {
		t.Error("405 without Allow")
	}
	if len(s.Subscribers()) != 0 || len(s.Faults()) != 0 {
		t.Errorf("bad input changed the sandbox: %v %v", s.Subscribers(), s.Faults())
	}
	if m := regexp.MustCompile(`1[3-9]\d{9}`).FindString(logs.String()); m != "" {
		t.Errorf("the log shows a full number %s:\n%s", m, logs.String())
	}
}

func TestAdminLogsMasked(t *testing.T) {
	var logs bytes.Buffer
	s := mustNew(t, Config{Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	srv := adminServer(t, s)
	call(t, srv, "POST", "/subscribers", `{"prefix":"10.0.0.1","phone":"13800138000"}`)
	call(t, srv, "PUT", "/faults/CM", `{"maintenance":true}`)
	call(t, srv, "DELETE", "/subscribers?prefix=10.0.0.1", "")
	if !strings.Contains(logs.String(), "138****8000") {
		t.Errorf("the log does not name the masked number:\n%s", logs.String())
	}
	if strings.Contains(logs.String(), "13800138000") {
		t.Errorf("the log shows the full number:\n%s", logs.String())
	}
}
