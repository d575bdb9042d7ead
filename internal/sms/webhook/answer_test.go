package webhook

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/numauth/numauth/internal/sms"
)

func TestParseAnswer(t *testing.T) {
	cases := []struct {
		in   string
		want string // "" not ok
	}{
		{`{"id":"abc-123"}`, "abc-123"},
		{`  {"id":"x","status":"queued"}` + "\n", "x"},
		{`{"id":12345}`, "12345"},
		{`{"id":-1.5e3}`, "-1.5e3"},
		{`{"id":""}`, ""},
		{`{"id":"a b"}`, ""},
		{`{"id":"验证"}`, ""},
		{`{"id":"` + strings.Repeat("a", maxProviderID+1) + `"}`, ""},
		{`{"id":null}`, ""},
		{`{"id":true}`, ""},
		{`{"id":{"x":1}}`, ""},
		{`{"ID2":"x"}`, ""},
		{`["x"]`, ""},
		{`ok`, ""},
		{``, ""},
		{`{"id":"x"`, ""},
	}
	for _, tc := range cases {
		got, ok := parseAnswer([]byte(tc.in))
		if ok != (tc.want != "") || got != tc.want {
			t.Errorf("parseAnswer(%q) = %q, %v; want %q", tc.in, got, ok, tc.want)
		}
	}
}

func FuzzParseAnswer(f *testing.F) {
	for _, s := range []string{`{"id":"abc"}`, `{"id":12}`, `{"id":"\u0000"}`, `{"id":"a","id":"b"}`, `{`, `{"id":1e400}`, " {\"id\":\"x\"} "} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		id, ok := parseAnswer(b)
		if !ok {
			if id != "" {
				t.Fatalf("not ok with id %q", id)
			}
			return
		}
		if !validID(id) || len(id) > maxProviderID {
			t.Fatalf("parseAnswer(%q) = %q, not a usable id", b, id)
		}
		// An id it accepts comes back the same from a plain answer.
		q, _ := json.Marshal(map[string]string{"id": id})
		if again, ok := parseAnswer(q); !ok || again != id {
			t.Fatalf("round trip of %q: %q, %v", id, again, ok)
		}
	})
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	cases := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"0", 0, true},
		{"1", time.Second, true},
		{" 120 ", 2 * time.Minute, true},
		{"86400", 24 * time.Hour, true},
		{"99999999999999999999999", 24 * time.Hour, true},
		{now.Add(30 * time.Second).Format(http.TimeFormat), 30 * time.Second, true},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0, false},
		{now.Add(1000 * time.Hour).Format(http.TimeFormat), 24 * time.Hour, true},
		{"", 0, false},
		{"-1", 0, false},
		{"1.5", 0, false},
		{"soon", 0, false},
	}
	for _, tc := range cases {
		got, ok := parseRetryAfter(tc.in, now)
		if got != tc.want || ok != tc.ok {
			t.Errorf("parseRetryAfter(%q) = %v, %v; want %v, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func FuzzParseRetryAfter(f *testing.F) {
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, s := range []string{"0", "5", "18446744073709551616", "Thu, 02 Jan 2025 03:05:00 GMT", "Monday, 02-Jan-25 03:05:00 GMT", "Thu Jan  2 03:05:00 2025", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, ok := parseRetryAfter(s, now)
		if d < 0 || d > 24*time.Hour || (!ok && d != 0) {
			t.Fatalf("parseRetryAfter(%q) = %v, %v", s, d, ok)
		}
	})
}

// TestSignMatchesTheSpecLibrary: this package's signature is the one the
// Standard Webhooks library makes, for ids, times and bodies of all kinds.
func TestSignMatchesTheSpecLibrary(t *testing.T) {
	secret := "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	key, err := parseSecret(secret)
	if err != nil {
		t.Fatal(err)
	}
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		t.Fatal(err)
	}
	m := sms.Message{ID: "msg_p5jXN8AQM9LWM0D4loKWxJek", To: "+8613800138000", Text: "【numauth】验证码<4821>&"}
	for _, ts := range []int64{0, 1614265330, time.Now().Unix()} {
		body, err := encode(m, time.Unix(ts, 0))
		if err != nil {
			t.Fatal(err)
		}
		want, err := wh.Sign(m.ID, time.Unix(ts, 0), body)
		if err != nil {
			t.Fatal(err)
		}
		if got := sign(key, m.ID, ts, body); got != want {
			t.Fatalf("sign at %d = %s, the library signs %s", ts, got, want)
		}
		h := http.Header{}
		h.Set("webhook-id", m.ID)
		h.Set("webhook-timestamp", strconv.FormatInt(ts, 10))
		h.Set("webhook-signature", sign(key, m.ID, ts, body))
		if err := wh.VerifyIgnoringTimestamp(body, h); err != nil {
			t.Fatalf("the library does not verify: %v", err)
		}
	}
}

// TestEncode: the body is the documented schema, its text unescaped.
func TestEncode(t *testing.T) {
	at := time.Date(2025, 1, 2, 3, 4, 5, 0, time.FixedZone("CST", 8*3600))
	m := sms.Message{ID: "1^0", To: "+8613800138000", SignName: "numauth", TemplateCode: "100001", Text: "a<b>&c"}
	got, err := encode(m, at)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"type":"sms.message","timestamp":"2025-01-01T19:04:05Z","data":{"id":"1^0","to":"+8613800138000","sign_name":"numauth","template_code":"100001","params":{},"text":"a<b>&c"}}`
	if string(got) != want {
		t.Fatalf("encode:\n got %s\nwant %s", got, want)
	}
}

func TestLoopbackOnly(t *testing.T) {
	for addr, ok := range map[string]bool{
		"127.0.0.1:80": true, "127.8.9.10:8080": true, "[::1]:443": true,
		"10.0.0.1:80": false, "[::ffff:8.8.8.8]:80": false, "192.168.1.1:80": false, "junk": false,
	} {
		if err := loopbackOnly("tcp", addr, nil); (err == nil) != ok {
			t.Errorf("loopbackOnly(%s) = %v, want allowed %v", addr, err, ok)
		}
	}
}

func TestClassify(t *testing.T) {
	now := time.Now()
	for status, want := range map[int]string{
		200: "accepted", 201: "accepted", 204: "accepted", 299: "accepted", 409: "accepted",
		408: "retry", 425: "retry", 429: "retry", 500: "retry", 503: "retry", 599: "retry",
		400: "rejected", 401: "rejected", 404: "rejected", 422: "rejected", 499: "rejected",
		101: "unavailable", 301: "unavailable", 304: "unavailable", 600: "unavailable",
	} {
		o := classify(status, "", now)
		got := "unavailable"
		switch {
		case o.accepted:
			got = "accepted"
		case o.retry:
			got = "retry"
		case o.err == sms.ErrRejected:
			got = "rejected"
		}
		if got != want {
			t.Errorf("classify(%d) = %s, want %s", status, got, want)
		}
	}
}
