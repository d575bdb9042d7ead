package h5_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/numauth/numauth/internal/auth"
	"github.com/numauth/numauth/internal/auth/authtest"
	"github.com/numauth/numauth/internal/carrier"
	"github.com/numauth/numauth/internal/carrier/camara"
	"github.com/numauth/numauth/internal/carrier/camara/camaratest"
	"github.com/numauth/numauth/internal/carrier/sandbox"
	"github.com/numauth/numauth/internal/h5"
	"github.com/numauth/numauth/internal/token"
)

// The line the operator recognises in the redirect tests.
const ukPhone = "+447700900123"

// redirectFixture is a gateway whose carrier is the camara adapter, on
// numauth's own CAMARA provider as the operator.
type redirectFixture struct {
	*fixture
	op       *camaratest.Operator
	gateway  *httptest.Server
	callback string
}

func newRedirectFixture(t *testing.T) *redirectFixture {
	t.Helper()
	f := &redirectFixture{}
	mux := http.NewServeMux()
	f.gateway = httptest.NewServer(mux)
	t.Cleanup(f.gateway.Close)
	f.callback = f.gateway.URL + "/h5/v1/camara/callback"
	cam := camaratest.New(t, false, nil, func(c *camara.Config) { c.RedirectURL = f.callback })
	f.op = cam.Op
	st := authtest.New(t, authtest.Options{WrapCarrier: func(carrier.Adapter) carrier.Adapter { return cam.Adapter }})
	c := auth.Caller{AccessKeyID: "k", AccountID: "acct"}
	if _, err := st.Svc.CreateScheme(context.Background(), c, auth.SchemeInput{Name: "s", OsType: "H5", Origin: origin, URL: origin + "/"}); err != nil {
		t.Fatal(err)
	}
	h5.New(st.Svc, nil, nil).Register(mux)
	f.fixture = &fixture{mux: mux, svc: st.Svc, caller: c}
	return f
}

// begin opens a session of kind and asks for its front leg: the gateway
// answers with a redirect.
func (f *redirectFixture) begin(t *testing.T, kind string) (session, authURL string) {
	t.Helper()
	ti := f.tokens(t, token.BizAny)
	_, out := f.post(t, "check", origin, map[string]string{"accessToken": ti.AccessToken, "jwtToken": ti.JwtToken, "kind": kind})
	if out["code"] != "OK" {
		t.Fatalf("check: %v", out)
	}
	session = out["session"].(string)
	op := "verify-token"
	if kind == "login" {
		op = "login-mask"
	}
	rec, out := f.post(t, op, origin, map[string]string{"session": session})
	r, _ := out["redirect"].(map[string]any)
	if out["code"] != "REDIRECT" || r == nil || r["window"] != "frame" || r["origin"] != f.gateway.URL || out["spToken"] != nil {
		t.Fatalf("%s: %v; want a REDIRECT to run in a frame", op, out)
	}
	if rec.Header().Get("Access-Control-Allow-Origin") != origin {
		t.Errorf("%s: the page cannot read the redirect", op)
	}
	return session, r["url"].(string)
}

var answerRE = regexp.MustCompile(`<script type="application/json" id="numauth-answer">([^<]*)</script>`)

// callbackPage is what the gateway's callback answers the operator's
// redirect with: the page's status, its CSP, and the answer it posts.
type callbackPage struct {
	status int
	csp    string
	Origin string `json:"origin"`
	Query  string `json:"query"`
	Error  string `json:"error"`
}

func (f *redirectFixture) callbackPage(t *testing.T, query string) callbackPage {
	t.Helper()
	res, err := http.Get(f.callback + "?" + query)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	p := callbackPage{status: res.StatusCode, csp: res.Header.Get("Content-Security-Policy")}
	m := answerRE.FindSubmatch(body)
	if m == nil {
		t.Fatalf("callback page without its answer: %s", body)
	}
	if err := json.Unmarshal(m[1], &p); err != nil {
		t.Fatal(err)
	}
	return p
}

// operatorAnswer runs the operator leg from the line's address and returns
// what the callback page hands the page.
func (f *redirectFixture) operatorAnswer(t *testing.T, authURL, phone string) callbackPage {
	t.Helper()
	src := camaratest.WiFi
	if phone != "" {
		src = f.op.Attach(t, phone)
	}
	q := camaratest.Visit(t, authURL, src, f.callback)
	return f.callbackPage(t, q.Encode())
}

func TestRedirectVerifyFlow(t *testing.T) {
	f := newRedirectFixture(t)
	session, authURL := f.begin(t, "verify")
	page := f.operatorAnswer(t, authURL, ukPhone)
	if page.status != 200 || page.Origin != origin || !strings.Contains(page.Query, "code=") {
		t.Fatalf("callback page: %+v", page)
	}
	if !strings.Contains(page.csp, "frame-ancestors "+origin) || !strings.Contains(page.csp, "script-src 'sha256-") {
		t.Errorf("callback CSP %q: want framing by the page's origin only and one hashed script", page.csp)
	}
	complete := map[string]string{"session": session, "query": page.Query}
	// Another origin cannot complete the flow, nor read its answer.
	rec, out := f.post(t, "redirect-complete", "https://evil.example.com", complete)
	if out["code"] != "IDENTITY_FAILED" || out["spToken"] != nil {
		t.Fatalf("redirect-complete from another origin: %v", out)
	}
	// Another session of the same page cannot use the answer, and does not spend it.
	other, _ := f.begin(t, "verify")
	if _, out := f.post(t, "redirect-complete", origin, map[string]string{"session": other, "query": page.Query}); out["code"] != "CARRIER_ERROR" || out["spToken"] != nil {
		t.Fatalf("redirect-complete with another session: %v", out)
	}
	rec, out = f.post(t, "redirect-complete", origin, complete)
	if out["code"] != "OK" || out["spToken"] == nil || out["carrier"] != "CAMARA" || rec.Header().Get("Access-Control-Allow-Origin") != origin {
		t.Fatalf("redirect-complete: %v", out)
	}
	res, err := f.svc.VerifyNumber(context.Background(), f.caller, out["spToken"].(string), ukPhone)
	if err != nil || res.Result != carrier.Pass {
		t.Fatalf("VerifyNumber = %+v, %v; want PASS", res, err)
	}
	// The answer is single use.
	if _, out := f.post(t, "redirect-complete", origin, complete); out["code"] != "CARRIER_ERROR" || out["spToken"] != nil {
		t.Fatalf("redirect-complete replayed: %v", out)
	}
	// A forged state: the callback page says so to whoever opened it and
	// hands over nothing.
	page = f.callbackPage(t, url.Values{"state": {"forged"}, "code": {"c"}}.Encode())
	if page.status != 400 || page.Origin != "*" || page.Query != "" || page.Error != "unknown_state" || !strings.Contains(page.csp, "frame-ancestors *") {
		t.Fatalf("callback with a forged state: %+v", page)
	}
	if _, out := f.post(t, "redirect-complete", origin, map[string]string{"session": session, "query": "state=forged&code=c"}); out["code"] != "CARRIER_ERROR" {
		t.Fatalf("redirect-complete with a forged state: %v", out)
	}
	if _, out := f.post(t, "redirect-complete", origin, map[string]string{"session": session, "query": "%zz"}); out["code"] != "BAD_ARGUMENT" {
		t.Fatalf("redirect-complete with a malformed query: %v", out)
	}
}

func TestRedirectLoginFlow(t *testing.T) {
	f := newRedirectFixture(t)
	session, authURL := f.begin(t, "login")
	page := f.operatorAnswer(t, authURL, ukPhone)
	_, out := f.post(t, "redirect-complete", origin, map[string]string{"session": session, "query": page.Query})
	if out["code"] != "OK" || out["maskedPhone"] != carrier.Mask(ukPhone) || out["spToken"] != nil {
		t.Fatalf("redirect-complete (login): %v", out)
	}
	digits, _ := carrier.MaskDigits(ukPhone)
	_, out = f.post(t, "login-token", origin, map[string]string{"session": session, "mask": digits})
	if out["code"] != "OK" || out["spToken"] == nil {
		t.Fatalf("login-token: %v", out)
	}
	got, err := f.svc.LoginNumber(context.Background(), f.caller, out["spToken"].(string))
	if err != nil || got != ukPhone {
		t.Fatalf("LoginNumber = %q, %v", carrier.Mask(got), err)
	}
}

// A line the operator does not recognise (Wi-Fi) is NOT_CELLULAR, the SDK's 600008.
func TestRedirectNotCellular(t *testing.T) {
	f := newRedirectFixture(t)
	session, authURL := f.begin(t, "verify")
	page := f.operatorAnswer(t, authURL, "")
	if !strings.Contains(page.Query, "error=access_denied") {
		t.Fatalf("operator's answer for Wi-Fi: %+v", page)
	}
	if _, out := f.post(t, "redirect-complete", origin, map[string]string{"session": session, "query": page.Query}); out["code"] != "NOT_CELLULAR" {
		t.Fatalf("redirect-complete after access_denied: %v", out)
	}
}

// A router of a sandbox and the camara adapter: a line the sandbox knows is
// answered at once; any other gets the operator's redirect, and its answer
// goes on through the router.
func TestRedirectBehindARouter(t *testing.T) {
	f := &redirectFixture{}
	mux := http.NewServeMux()
	f.gateway = httptest.NewServer(mux)
	t.Cleanup(f.gateway.Close)
	f.callback = f.gateway.URL + "/h5/v1/camara/callback"
	cam := camaratest.New(t, false, nil, func(c *camara.Config) { c.RedirectURL = f.callback })
	f.op = cam.Op
	st := authtest.New(t, authtest.Options{
		// httptest requests come from 192.0.2.1: the sandbox's line.
		Subscribers: []sandbox.Subscriber{{Prefix: netip.MustParsePrefix("192.0.2.1/32"), Phone: phone}},
		WrapCarrier: func(sb carrier.Adapter) carrier.Adapter {
			var routes []carrier.Route
			for _, s := range []string{"CM=sandbox", "*=camara"} {
				r, _ := carrier.ParseRoute(s)
				routes = append(routes, r)
			}
			r, err := carrier.NewRouter(routes, map[string]carrier.Adapter{"sandbox": sb, "camara": cam.Adapter})
			if err != nil {
				t.Fatal(err)
			}
			return r.Adapter()
		},
	})
	c := auth.Caller{AccessKeyID: "k", AccountID: "acct"}
	if _, err := st.Svc.CreateScheme(context.Background(), c, auth.SchemeInput{Name: "s", OsType: "H5", Origin: origin, URL: origin + "/"}); err != nil {
		t.Fatal(err)
	}
	h5.New(st.Svc, nil, nil).Register(mux)
	f.fixture = &fixture{mux: mux, svc: st.Svc, sb: st.Sandbox, caller: c}

	// The sandbox's line: no redirect.
	ti := f.tokens(t, token.BizAny)
	_, out := f.post(t, "check", origin, map[string]string{"accessToken": ti.AccessToken, "jwtToken": ti.JwtToken, "kind": "verify"})
	_, out = f.post(t, "verify-token", origin, map[string]string{"session": out["session"].(string)})
	if out["code"] != "OK" || out["carrier"] != "CM" {
		t.Fatalf("verify-token on the sandbox's line: %v", out)
	}
	// No line the sandbox knows: the operator's redirect.
	if !st.Sandbox.RemoveSubscriber(netip.MustParsePrefix("192.0.2.1/32")) {
		t.Fatal("the sandbox had no line to remove")
	}
	session, authURL := f.begin(t, "verify")
	page := f.operatorAnswer(t, authURL, ukPhone)
	_, out = f.post(t, "redirect-complete", origin, map[string]string{"session": session, "query": page.Query})
	if out["code"] != "OK" || out["spToken"] == nil {
		t.Fatalf("redirect-complete behind a router: %v", out)
	}
	res, err := f.svc.VerifyNumber(context.Background(), f.caller, out["spToken"].(string), ukPhone)
	if err != nil || res.Result != carrier.Pass {
		t.Fatalf("VerifyNumber = %+v, %v; want PASS", res, err)
	}
}

// One session begins a bounded number of redirects.
func TestRedirectsPerSession(t *testing.T) {
	f := newRedirectFixture(t)
	session, _ := f.begin(t, "verify")
	for i := 2; i <= 11; i++ {
		_, out := f.post(t, "verify-token", origin, map[string]string{"session": session})
		want := "REDIRECT"
		if i == 11 {
			want = "RATE_LIMITED"
		}
		if out["code"] != want {
			t.Fatalf("redirect %d of one session: %v; want %s", i, out, want)
		}
	}
}
