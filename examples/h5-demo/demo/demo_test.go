package demo

import (
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/numauth/numauth/internal/rpcclient"
	"github.com/numauth/numauth/test/harness"
)

func quietConfig(numauth, public string) Config {
	return Config{
		Numauth: numauth, PublicURL: public, AccessKeyID: harness.AccessKeyID, AccessKeySecret: harness.AccessKeySecret,
		Logger: slog.New(slog.DiscardHandler),
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	ok := quietConfig("http://127.0.0.1:8080", "http://127.0.0.1:8090/")
	for _, c := range []struct {
		name string
		edit func(*Config)
	}{
		{"numauth not a URL", func(c *Config) { c.Numauth = "127.0.0.1:8080" }},
		{"numauth ftp", func(c *Config) { c.Numauth = "ftp://127.0.0.1" }},
		{"numauth with a path", func(c *Config) { c.Numauth = "http://127.0.0.1:8080/numauth" }},
		{"numauth with a query", func(c *Config) { c.Numauth = "http://127.0.0.1:8080/?a=b" }},
		{"no key id", func(c *Config) { c.AccessKeyID = "" }},
		{"no secret", func(c *Config) { c.AccessKeySecret = "" }},
		{"public URL without host", func(c *Config) { c.PublicURL = "http:///" }},
		{"public URL with a path", func(c *Config) { c.PublicURL = "http://127.0.0.1:8090/login" }},
		{"public URL with user", func(c *Config) { c.PublicURL = "http://u@127.0.0.1:8090/" }},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := ok
			c.edit(&cfg)
			if _, err := New(cfg); err == nil {
				t.Errorf("New accepted %+v", cfg)
			}
		})
	}
	s, err := New(ok)
	if err != nil {
		t.Fatal(err)
	}
	if s.PageURL() != "http://127.0.0.1:8090/" {
		t.Errorf("PageURL = %q", s.PageURL())
	}
	if s, err := New(quietConfig("http://127.0.0.1:8080/", "http://127.0.0.1:8090")); err != nil || s.PageURL() != "http://127.0.0.1:8090/" {
		t.Errorf("New with trailing slash / no path = %v, %v", s, err)
	}
}

func TestPage(t *testing.T) {
	s, err := New(quietConfig("http://127.0.0.1:8080", "http://127.0.0.1:8090/"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		path, ctype string
		want        []string
	}{
		{"/", "text/html", []string{
			`<meta name="referrer" content="origin">`,
			`<script src="http://127.0.0.1:8080/sdk/numberauth-web-sdk.js"></script>`,
			`<script src="static/app.js" defer></script>`,
			`id="verify-form"`, `id="login-mask-form"`, `<div id="sms" class="fallback" hidden>`, `id="sms-code"`,
		}},
		{"/static/app.js", "text/javascript", []string{
			"new window.PhoneNumberServer()", "getLoginToken", `api("api/verify"`, `api("api/sms/send"`, `api("api/sms/check"`,
		}},
		{"/static/app.css", "text/css", []string{".result.pass", ".result.info"}},
	} {
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, httptest.NewRequest("GET", c.path, nil))
		if rec.Code != 200 || !strings.HasPrefix(rec.Header().Get("Content-Type"), c.ctype) {
			t.Errorf("GET %s: %d %q", c.path, rec.Code, rec.Header().Get("Content-Type"))
		}
		for _, w := range c.want {
			if !strings.Contains(rec.Body.String(), w) {
				t.Errorf("GET %s lacks %s", c.path, w)
			}
		}
	}
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	csp := rec.Header().Get("Content-Security-Policy")
	if !strings.Contains(csp, "script-src 'self' http://127.0.0.1:8080;") || !strings.Contains(csp, "connect-src 'self' http://127.0.0.1:8080;") {
		t.Errorf("CSP %q does not allow the SDK and its gateway", csp)
	}
	if rec.Header().Get("Referrer-Policy") != "origin" {
		t.Errorf("Referrer-Policy = %q", rec.Header().Get("Referrer-Policy"))
	}
}

// apiAnswer decodes an /api answer.
func apiAnswer(t *testing.T, res *http.Response) answer {
	t.Helper()
	defer res.Body.Close()
	var a answer
	if err := json.NewDecoder(res.Body).Decode(&a); err != nil {
		t.Fatalf("answer is not JSON: %v", err)
	}
	return a
}

func TestBadRequests(t *testing.T) {
	// No call reaches numauth: the address is never dialled.
	s, err := New(quietConfig("http://127.0.0.1:1", "http://127.0.0.1:8090/"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		method, path, body string
		status             int
	}{
		{"GET", "/api/tokens", "", 400},
		{"GET", "/api/tokens?biz=both", "", 400},
		{"POST", "/api/verify", "", 400},
		{"POST", "/api/verify", "[]", 400},
		{"POST", "/api/verify", `{"spToken":"x"}`, 400},
		{"POST", "/api/verify", `{"phoneNumber":"13800138000"}`, 400},
		{"POST", "/api/verify", `{"spToken":"x","phoneNumber":"13800138000","extra":1}`, 400},
		{"POST", "/api/verify", `{"spToken":"x","phoneNumber":"13800138000"} {}`, 400},
		{"POST", "/api/verify", `{"spToken":"` + strings.Repeat("a", maxSpToken+1) + `","phoneNumber":"1"}`, 400},
		{"POST", "/api/verify", `{"spToken":"x","phoneNumber":"` + strings.Repeat("1", maxPhone+1) + `"}`, 400},
		{"POST", "/api/login", `{"spToken":" "}`, 400},
		{"POST", "/api/login", `{"spToken":"x","phoneNumber":"13800138000"}`, 400},
		{"POST", "/api/login", `{"spToken":"x","verifyCode":"1234"}`, 400},
		{"POST", "/api/sms/send", `{}`, 400},
		{"POST", "/api/sms/send", `{"phoneNumber":"  "}`, 400},
		{"POST", "/api/sms/send", `{"phoneNumber":"13800138000","spToken":"x"}`, 400},
		{"POST", "/api/sms/send", `{"phoneNumber":"13800138000","verifyCode":"1234"}`, 400},
		{"POST", "/api/sms/send", `{"phoneNumber":"` + strings.Repeat("1", maxPhone+1) + `"}`, 400},
		{"POST", "/api/sms/check", `{"phoneNumber":"13800138000"}`, 400},
		{"POST", "/api/sms/check", `{"verifyCode":"1234"}`, 400},
		{"POST", "/api/sms/check", `{"phoneNumber":"13800138000","verifyCode":"` + strings.Repeat("1", maxCode+1) + `"}`, 400},
		{"GET", "/api/sms/send", "", 404},
		{"GET", "/api/nothing", "", 404},
	} {
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, httptest.NewRequest(c.method, c.path, strings.NewReader(c.body)))
		a := apiAnswer(t, rec.Result())
		if rec.Code != c.status || a.Code != codeBadRequest || a.Message == "" {
			t.Errorf("%s %s %.60q: %d %+v, want %d %s", c.method, c.path, c.body, rec.Code, a, c.status, codeBadRequest)
		}
	}
}

func FuzzDecodeRequest(f *testing.F) {
	for _, s := range []string{
		`{"spToken":"abc","phoneNumber":"13800138000"}`, `{"spToken":"abc"}`, `{}`, `[]`, `null`, `{"spToken":1}`,
		`{"spToken":"a"} x`, "{\"spToken\":\"\\u0000\"}", `{"spToken":"a","phoneNumber":"+86 138-0013-8000"}`,
		`{"phoneNumber":"13800138000","verifyCode":" 1234 "}`,
	} {
		for _, want := range []fields{spToken | phoneNumber, spToken, phoneNumber, phoneNumber | verifyCode} {
			f.Add([]byte(s), uint8(want))
		}
	}
	f.Fuzz(func(t *testing.T, body []byte, w uint8) {
		want := fields(w)
		req, err := decodeRequest(strings.NewReader(string(body)), want)
		if err != nil {
			return
		}
		for _, c := range []struct {
			v   string
			bit fields
			max int
		}{{req.SpToken, spToken, maxSpToken}, {req.PhoneNumber, phoneNumber, maxPhone}, {req.VerifyCode, verifyCode, maxCode}} {
			if len(c.v) > c.max || strings.TrimSpace(c.v) != c.v {
				t.Fatalf("accepted out-of-bounds or untrimmed field %q of %+v", c.v, req)
			}
			if (want&c.bit != 0) != (c.v != "") {
				t.Fatalf("accepted %+v for fields %03b", req, want)
			}
		}
	})
}

// masterKey is a valid master key for the test's numauth (harness.MasterKey
// is one byte short).
const masterKey = "6e756d617574682d64656d6f2d746573742d6d61737465722d6b65792d303030"

// TestAgainstNumauth runs both flows through the demo server against a real
// numauth, with a Go client standing in for the browser's gateway calls
// (test/e2e runs them in Chromium).
func TestAgainstNumauth(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a numauth process")
	}
	const phone = "13800138000"
	in := harness.Start(t, harness.Options{
		Args: []string{"--sandbox-subscriber", "127.0.0.1=" + phone},
		Env:  []string{"NUMAUTH_MASTER_KEY=" + masterKey},
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	page := "http://" + ln.Addr().String() + "/"
	origin := strings.TrimSuffix(page, "/")
	s, err := New(quietConfig(in.URL, page))
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewUnstartedServer(s)
	hs.Listener.Close()
	hs.Listener = ln
	hs.Start()
	defer hs.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	code, err := s.EnsureScheme(ctx)
	if err != nil || !strings.HasPrefix(code, "FC") {
		t.Fatalf("EnsureScheme on a fresh numauth = %q, %v; want a new scheme code", code, err)
	}
	// Another server for the same page finds the scheme and creates none.
	s2, _ := New(quietConfig(in.URL, page))
	if code, err := s2.EnsureScheme(ctx); code != "" || err != nil {
		t.Fatalf("EnsureScheme again = %q, %v; want \"\", nil", code, err)
	}

	get := func(path string) (int, answer) {
		res, err := http.Get(hs.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		return res.StatusCode, apiAnswer(t, res)
	}
	post := func(path string, body any) (int, answer) {
		b, _ := json.Marshal(body)
		res, err := http.Post(hs.URL+path, "application/json", strings.NewReader(string(b)))
		if err != nil {
			t.Fatal(err)
		}
		return res.StatusCode, apiAnswer(t, res)
	}
	gw := &rpcclient.Client{Endpoint: in.URL}
	h5 := func(op string, body map[string]string) map[string]any {
		res, err := gw.H5(ctx, origin, op, body)
		if err != nil {
			t.Fatal(err)
		}
		if res["code"] != "OK" {
			t.Fatalf("gateway %s: %v", op, res)
		}
		return res
	}
	session := func(kind string) string {
		st, tok := get("/api/tokens?biz=" + kind)
		if st != 200 || tok.Code != "OK" || tok.AccessToken == "" || tok.JwtToken == "" {
			t.Fatalf("tokens for %s: %d %+v", kind, st, tok)
		}
		return h5("check", map[string]string{"accessToken": tok.AccessToken, "jwtToken": tok.JwtToken, "kind": kind})["session"].(string)
	}

	// Verification: PASS for the line's number, REJECT for another, and a
	// used spToken is refused.
	for _, c := range []struct{ phone, want string }{{phone, "PASS"}, {"13900139000", "REJECT"}} {
		sp := h5("verify-token", map[string]string{"session": session("verify")})["spToken"].(string)
		st, v := post("/api/verify", map[string]string{"spToken": sp, "phoneNumber": c.phone})
		if st != 200 || v.Code != "OK" || v.VerifyResult != c.want || v.VerifyID == "" {
			t.Errorf("verify %s: %d %+v, want %s", c.phone, st, v, c.want)
		}
		st, v = post("/api/verify", map[string]string{"spToken": sp, "phoneNumber": c.phone})
		if st != 200 || v.Code != "isv.TOKEN_INVALID" || v.RequestID == "" {
			t.Errorf("replayed spToken: %d %+v, want isv.TOKEN_INVALID", st, v)
		}
	}

	// Login: the masked number, then the right digits, then the full number.
	sess := session("login")
	if m := h5("login-mask", map[string]string{"session": sess}); m["maskedPhone"] != "138****8000" {
		t.Errorf("mask = %v", m["maskedPhone"])
	}
	sp := h5("login-token", map[string]string{"session": sess, "mask": "0013"})["spToken"].(string)
	if st, l := post("/api/login", map[string]string{"spToken": sp}); st != 200 || l.Code != "OK" || l.Mobile != phone {
		t.Errorf("login: %d %+v, want %s", st, l, phone)
	}
	// A login token is not a verification token.
	sp = h5("login-token", map[string]string{"session": sess, "mask": "0013"})["spToken"].(string)
	if st, v := post("/api/verify", map[string]string{"spToken": sp, "phoneNumber": phone}); st != 200 || v.Code != "isv.TOKEN_UNAUTHORIZED_USED" {
		t.Errorf("login token on verify: %d %+v", st, v)
	}

	// numauth refuses a wrong secret: a gateway error, 502 with its code.
	bad := quietConfig(in.URL, page)
	bad.AccessKeySecret = "wrong"
	sb, _ := New(bad)
	rec := httptest.NewRecorder()
	sb.ServeHTTP(rec, httptest.NewRequest("GET", "/api/tokens?biz=verify", nil))
	if a := apiAnswer(t, rec.Result()); rec.Code != 502 || a.Code != "SignatureDoesNotMatch" {
		t.Errorf("wrong secret: %d %+v, want 502 SignatureDoesNotMatch", rec.Code, a)
	}

	// numauth gone: 502 NumauthUnreachable.
	in.Stop()
	if st, a := get("/api/tokens?biz=login"); st != 502 || a.Code != CodeUnreachable {
		t.Errorf("numauth stopped: %d %+v, want 502 %s", st, a, CodeUnreachable)
	}
	if _, err := s2.EnsureScheme(ctx); err == nil {
		t.Error("EnsureScheme with numauth stopped succeeded")
	}
}

// TestSMSAgainstNumauth runs the SMS fallback through the demo server
// against a real numauth whose sandbox SMS provider refuses +86137… and
// whose account may send three codes a day: the code comes only through
// the sandbox outbox, never in an answer, and the log names no number or
// code.
func TestSMSAgainstNumauth(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a numauth process")
	}
	const (
		phone    = "13800138000"
		other    = "13900139000"
		third    = "15000150000"
		refused  = "13700137000"
		perDay   = "3"
		pageAddr = "http://127.0.0.1:8090/"
	)
	in := harness.Start(t, harness.Options{
		Args: []string{"--sms-sandbox-reject", "+86137", "--sms-account-per-day", perDay},
		Env:  []string{"NUMAUTH_MASTER_KEY=" + masterKey},
	})
	logs := &strings.Builder{}
	cfg := quietConfig(in.URL, pageAddr)
	cfg.Logger = slog.New(slog.NewTextHandler(logs, nil))
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	post := func(path string, body any) (int, answer) {
		t.Helper()
		b, _ := json.Marshal(body)
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, httptest.NewRequest("POST", path, strings.NewReader(string(b))))
		if strings.Contains(rec.Body.String(), `erifyCode"`) {
			t.Errorf("%s answers with a code: %s", path, rec.Body)
		}
		return rec.Code, apiAnswer(t, rec.Result())
	}
	send := func(phone string) (int, answer) {
		t.Helper()
		return post("/api/sms/send", map[string]string{"phoneNumber": phone})
	}
	check := func(phone, code string) (int, answer) {
		t.Helper()
		return post("/api/sms/check", map[string]string{"phoneNumber": phone, "verifyCode": code})
	}

	st, a := send(phone)
	if st != 200 || a.Code != "OK" || a.BizID == "" {
		t.Fatalf("send: %d %+v, want OK with a BizId", st, a)
	}
	out := in.Outbox(t, phone)
	if len(out) != 1 {
		t.Fatalf("outbox of %s: %+v, want one text", phone, out)
	}
	if m := out[0]; m.To != "+86"+phone || m.SignName != "numauth" || m.TemplateCode != "100001" || !strings.HasPrefix(m.Text, "【numauth】验证码") {
		t.Errorf("the text is %+v, want 【numauth】 and template 100001 to +86%s", m, phone)
	}
	code := in.LastSMSCode(t, phone)

	// A second code within the Interval is refused: a result, not a
	// gateway failure.
	if st, a := send(phone); st != 200 || a.Code != "FREQUENCY_FAIL" || a.Message == "" || a.RequestID == "" {
		t.Errorf("send again at once: %d %+v, want 200 FREQUENCY_FAIL", st, a)
	}
	wrong := string('0'+(code[0]-'0'+1)%10) + code[1:]
	if st, a := check(phone, wrong); st != 200 || a.Code != "OK" || a.VerifyResult != "UNKNOWN" {
		t.Errorf("wrong code: %d %+v, want OK UNKNOWN", st, a)
	}
	if st, a := check(phone, code); st != 200 || a.Code != "OK" || a.VerifyResult != "PASS" {
		t.Errorf("right code after a wrong one: %d %+v, want OK PASS", st, a)
	}
	if st, a := check(phone, code); st != 200 || a.Code != "OK" || a.VerifyResult != "UNKNOWN" {
		t.Errorf("the spent code again: %d %+v, want OK UNKNOWN", st, a)
	}

	// What the provider refuses is not sent, and costs nothing.
	if st, a := send(refused); st != 200 || a.Code != "PROVIDER_REJECTED" {
		t.Errorf("refused number: %d %+v, want 200 PROVIDER_REJECTED", st, a)
	}
	if out := in.Outbox(t, refused); len(out) != 0 {
		t.Errorf("outbox of the refused number: %+v, want nothing", out)
	}
	if st, a := send("12345"); st != 200 || a.Code != "MOBILE_NUMBER_ILLEGAL" {
		t.Errorf("not a mobile number: %d %+v, want 200 MOBILE_NUMBER_ILLEGAL", st, a)
	}
	// The account's third code of the day goes out; the fourth does not.
	if st, a := send(other); st != 200 || a.Code != "OK" {
		t.Errorf("send to another number: %d %+v", st, a)
	}
	if st, a := send(third); st != 200 || a.Code != "OK" {
		t.Errorf("send to a third number: %d %+v", st, a)
	}
	if st, a := send("15100151000"); st != 200 || a.Code != "BUSINESS_LIMIT_CONTROL" {
		t.Errorf("send beyond the account's %s a day: %d %+v, want 200 BUSINESS_LIMIT_CONTROL", perDay, st, a)
	}

	for _, secret := range []string{phone, other, code} {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("the demo server's log holds %q:\n%s", secret, logs)
		}
	}
	if !strings.Contains(logs.String(), "138****8000") {
		t.Errorf("the log does not name the masked number:\n%s", logs)
	}

	// numauth gone: 502 NumauthUnreachable, as for every call.
	in.Stop()
	st, a = send(phone)
	if st != 502 || a.Code != CodeUnreachable {
		t.Errorf("numauth stopped: %d %+v, want 502 %s", st, a, CodeUnreachable)
	}
	// The page is not shown the signed request.
	for _, secret := range []string{phone, harness.AccessKeyID, "Signature"} {
		if strings.Contains(a.Message, secret) {
			t.Errorf("the unreachable answer's message holds %q: %q", secret, a.Message)
		}
	}
}
