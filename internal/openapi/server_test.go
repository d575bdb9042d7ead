package openapi

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/numauth/numauth/internal/auth"
	"github.com/numauth/numauth/internal/auth/authtest"
	"github.com/numauth/numauth/internal/carrier/sandbox"
	"github.com/numauth/numauth/internal/openapi/sign"
	"github.com/numauth/numauth/internal/store"
)

const (
	keyID  = "LTAI5tOpenapiTest01"
	keySec = "openapi-test-secret-0123456789"
)

type fixture struct {
	srv *Server
	svc *auth.Service
	now time.Time
}

// newFixture starts a server whose sandbox has 127.0.0.1 on 13800138000,
// and more subscribers if given.
func newFixture(t testing.TB, more ...sandbox.Subscriber) *fixture {
	t.Helper()
	ctx := context.Background()
	start := time.Now().UTC()
	st := authtest.New(t, authtest.Options{
		Subscribers: append([]sandbox.Subscriber{{Prefix: netip.MustParsePrefix("127.0.0.1/32"), Phone: "13800138000"}}, more...),
		// The nonce store has remembered for 10 minutes (its epoch marker).
		Prepare: func(ctx context.Context, eph store.Ephemeral) error {
			return eph.Put(ctx, "epoch", []byte(strconv.FormatInt(start.Add(-10*time.Minute).UnixMilli(), 10)), time.Hour)
		},
	})
	svc := st.Svc
	if err := svc.EnsureAccessKey(ctx, keyID, keySec); err != nil {
		t.Fatal(err)
	}
	f := &fixture{svc: svc, now: start}
	f.srv = New(Config{ThrottlePerKey: 1000, Now: func() time.Time { return f.now }}, svc)
	return f
}

// call signs params with V1 at the fixture's time and serves them.
func (f *fixture) call(t testing.TB, params url.Values, at time.Time, nonce string) (int, map[string]any) {
	t.Helper()
	signed := sign.SignV1("POST", params, keyID, keySec, at, nonce)
	req := httptest.NewRequest("POST", "/", strings.NewReader(signed.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec := httptest.NewRecorder()
	f.srv.ServeHTTP(rec, req)
	var body map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("answer is not JSON: %s", rec.Body)
	}
	if body["RequestId"] == "" || rec.Header().Get("x-acs-request-id") == "" {
		t.Fatalf("answer without RequestId: %s", rec.Body)
	}
	return rec.Code, body
}

func act(name string, kv ...string) url.Values {
	v := url.Values{"Action": {name}, "Version": {APIVersion}}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return v
}

func TestProtocolErrors(t *testing.T) {
	f := newFixture(t)
	scheme := act("CreateVerifyScheme", "SchemeName", "s", "AppName", "a", "OsType", "H5", "Origin", "https://a.example", "Url", "https://a.example/")
	if st, b := f.call(t, scheme, f.now, "n-create"); st != 200 || b["Code"] != "OK" {
		t.Fatalf("CreateVerifyScheme = %d %v", st, b)
	}
	tests := []struct {
		name   string
		params url.Values
		at     time.Time
		nonce  string
		status int
		code   string
	}{
		{"ok", act("GetAuthToken", "Url", "https://a.example/x", "Origin", "https://a.example"), f.now, "n1", 200, "OK"},
		{"nonce reused", act("GetAuthToken", "Url", "https://a.example/x", "Origin", "https://a.example"), f.now, "n1", 400, "SignatureNonceUsed"},
		{"stale", act("GetAuthToken", "Url", "https://a.example/x", "Origin", "https://a.example"), f.now.Add(-16 * time.Minute), "n2", 400, "InvalidTimeStamp.Expired"},
		{"future", act("GetAuthToken", "Url", "https://a.example/x", "Origin", "https://a.example"), f.now.Add(16 * time.Minute), "n3", 400, "InvalidTimeStamp.Expired"},
		{"signed before the nonce store's epoch", act("GetAuthToken", "Url", "https://a.example/x", "Origin", "https://a.example"), f.now.Add(-12 * time.Minute), "n13", 400, "InvalidTimeStamp.Expired"},
		{"within skew", act("GetAuthToken", "Url", "https://a.example/x", "Origin", "https://a.example"), f.now.Add(-9 * time.Minute), "n4", 200, "OK"},
		{"missing param", act("GetAuthToken", "Origin", "https://a.example"), f.now, "n5", 400, "MissingUrl"},
		{"unknown action", act("GetFreeMoney"), f.now, "n6", 404, "InvalidAction.NotFound"},
		{"wrong version", url.Values{"Action": {"GetAuthToken"}, "Version": {"2020-01-01"}}, f.now, "n7", 400, "InvalidVersion"},
		{"bad integer", act("GetAuthToken", "Url", "https://a.example/x", "Origin", "https://a.example", "BizType", "x"), f.now, "n8", 400, "InvalidParameter"},
		{"business error", act("GetAuthToken", "Url", "https://b.example/x", "Origin", "https://b.example"), f.now, "n9", 200, "isv.SCENE_QUERY_FAIL"},
		{"bad token", act("VerifyPhoneWithToken", "SpToken", "nope", "PhoneNumber", "13800138000"), f.now, "n10", 200, "isv.TOKEN_INVALID"},
		{"bad number", act("VerifyPhoneWithToken", "SpToken", "nope", "PhoneNumber", "110"), f.now, "n11", 200, "isv.MOBILE_NUMBER_ILLEGAL"},
		{"no scheme", act("DescribeVerifyScheme", "SchemeCode", "FC1"), f.now, "n12", 200, "isv.VERIFY_SCHEME_NOT_EXIST"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, b := f.call(t, tt.params, tt.at, tt.nonce)
			if st != tt.status || b["Code"] != tt.code {
				t.Fatalf("= %d %v, want %d %s", st, b, tt.status, tt.code)
			}
			if tt.code != "OK" && b["Message"] == "" {
				t.Fatalf("error without message: %v", b)
			}
		})
	}
}

func TestSignatureFailures(t *testing.T) {
	f := newFixture(t)
	send := func(v url.Values) (int, string) {
		req := httptest.NewRequest("GET", "/?"+v.Encode(), nil)
		rec := httptest.NewRecorder()
		f.srv.ServeHTTP(rec, req)
		var b map[string]any
		json.Unmarshal(rec.Body.Bytes(), &b)
		code, _ := b["Code"].(string)
		return rec.Code, code
	}
	good := sign.SignV1("GET", act("GetAuthToken", "Url", "https://a.example/", "Origin", "https://a.example"), keyID, keySec, f.now, "s1")
	tamper := func(k, v string) url.Values {
		c := url.Values{}
		for kk, vv := range good {
			c[kk] = append([]string(nil), vv...)
		}
		if v == "" {
			c.Del(k)
		} else {
			c.Set(k, v)
		}
		return c
	}
	tests := []struct {
		name   string
		v      url.Values
		status int
		code   string
	}{
		{"changed param", tamper("Origin", "https://b.example"), 400, "SignatureDoesNotMatch"},
		{"wrong secret", sign.SignV1("GET", act("GetAuthToken"), keyID, "wrong-secret-wrong-secret", f.now, "s2"), 400, "SignatureDoesNotMatch"},
		{"unknown key", sign.SignV1("GET", act("GetAuthToken"), "LTAIunknown0000", keySec, f.now, "s3"), 404, "InvalidAccessKeyId.NotFound"},
		{"no signature", tamper("Signature", ""), 400, "IncompleteSignature"},
		{"bad method", tamper("SignatureMethod", "MD5"), 400, "InvalidSignatureMethod"},
		{"bad timestamp", tamper("Timestamp", "yesterday"), 400, "InvalidTimeStamp.Format"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if st, code := send(tt.v); st != tt.status || code != tt.code {
				t.Fatalf("= %d %s, want %d %s", st, code, tt.status, tt.code)
			}
		})
	}
	if err := f.svc.SetAccessKeyActive(context.Background(), keyID, false); err != nil {
		t.Fatal(err)
	}
	if st, code := send(sign.SignV1("GET", act("GetAuthToken"), keyID, keySec, f.now, "s9")); st != 400 || code != "InvalidAccessKeyId.Inactive" {
		t.Fatalf("disabled key = %d %s", st, code)
	}
}

// TestSchemeNameConflict: the losers of concurrent CreateVerifyScheme calls
// with one name get the documented business code.
func TestSchemeNameConflict(t *testing.T) {
	f := newFixture(t)
	const n = 20
	codes := make([]string, n)
	var wg sync.WaitGroup
	for i := range codes {
		wg.Go(func() {
			_, b := f.call(t, act("CreateVerifyScheme", "SchemeName", "same", "AppName", "a", "OsType", "Android"), f.now, "c"+strconv.Itoa(i))
			codes[i], _ = b["Code"].(string)
		})
	}
	wg.Wait()
	count := map[string]int{}
	for _, c := range codes {
		count[c]++
	}
	if count["OK"] != 1 || count["isv.VERIFY_SCHEME_CONFLICT"] != n-1 {
		t.Fatalf("codes of %d concurrent creations of one name = %v, want 1 OK and the rest isv.VERIFY_SCHEME_CONFLICT", n, count)
	}
}

// TestIPWhiteList: a scheme's IpWhiteList is checked against the TCP peer
// (httptest's requests come from 192.0.2.1), never a forwarded header; a
// refused call is Forbidden (HTTP 403), a malformed list at creation is
// isv.INVALID_PARAMETERS.
func TestIPWhiteList(t *testing.T) {
	f := newFixture(t)
	for i, tc := range []struct{ origin, list, code string }{
		{"https://open.example", "", "OK"},
		{"https://mine.example", "192.0.2.0/24\n10.0.0.1", "OK"},
		{"https://other.example", "198.51.100.0/24", "OK"},
		{"https://bad.example", "198.51.100.*", "isv.INVALID_PARAMETERS"},
	} {
		_, b := f.call(t, act("CreateVerifyScheme", "SchemeName", tc.origin, "AppName", "a", "OsType", "H5",
			"Origin", tc.origin, "Url", tc.origin+"/", "IpWhiteList", tc.list), f.now, "w"+strconv.Itoa(i))
		if b["Code"] != tc.code {
			t.Fatalf("CreateVerifyScheme with IpWhiteList %q = %v, want %s", tc.list, b, tc.code)
		}
	}
	send := func(origin, nonce string) (int, map[string]any) {
		signed := sign.SignV1("POST", act("GetAuthToken", "Url", origin+"/x", "Origin", origin), keyID, keySec, f.now, nonce)
		req := httptest.NewRequest("POST", "/", strings.NewReader(signed.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Forwarded-For", "198.51.100.7")
		req.Header.Set("X-Real-IP", "198.51.100.7")
		rec := httptest.NewRecorder()
		f.srv.ServeHTTP(rec, req)
		var body map[string]any
		json.Unmarshal(rec.Body.Bytes(), &body)
		return rec.Code, body
	}
	for i, tc := range []struct {
		origin string
		status int
		code   string
	}{
		{"https://open.example", 200, "OK"},
		{"https://mine.example", 200, "OK"},
		{"https://other.example", 403, "Forbidden"},
	} {
		st, b := send(tc.origin, "g"+strconv.Itoa(i))
		if st != tc.status || b["Code"] != tc.code {
			t.Fatalf("GetAuthToken for %s from 192.0.2.1 = %d %v, want %d %s", tc.origin, st, b, tc.status, tc.code)
		}
		if msg, _ := b["Message"].(string); tc.code == "Forbidden" && !strings.Contains(msg, "192.0.2.1") {
			t.Fatalf("Forbidden message %q does not name the caller's address", msg)
		}
	}
}

func TestThrottling(t *testing.T) {
	f := newFixture(t)
	f.srv.cfg.ThrottlePerKey = 3
	codes := map[string]int{}
	for i := range 5 {
		_, b := f.call(t, act("DescribeVerifyScheme", "SchemeCode", "FC1"), f.now, "t"+string(rune('a'+i)))
		codes[b["Code"].(string)]++
	}
	if codes["Throttling.User"] != 2 || codes["isv.VERIFY_SCHEME_NOT_EXIST"] != 3 {
		t.Fatalf("codes = %v", codes)
	}
}

func TestXMLFormat(t *testing.T) {
	f := newFixture(t)
	signed := sign.SignV1("GET", act("CreateVerifyScheme", "SchemeName", "x<&>", "AppName", "a", "OsType", "Android", "Format", "XML"), keyID, keySec, f.now, "x1")
	rec := httptest.NewRecorder()
	f.srv.ServeHTTP(rec, httptest.NewRequest("GET", "/?"+signed.Encode(), nil))
	var doc struct {
		XMLName   xml.Name
		Code      string
		RequestId string
		DTO       struct{ SchemeCode string } `xml:"GateVerifySchemeDTO"`
	}
	if err := xml.Unmarshal(rec.Body.Bytes(), &doc); err != nil || doc.XMLName.Local != "CreateVerifySchemeResponse" ||
		doc.Code != "OK" || doc.DTO.SchemeCode == "" || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/xml") {
		t.Fatalf("XML answer %s: %+v, %v", rec.Body, doc, err)
	}
}

func TestBodyRendering(t *testing.T) {
	b := Body{{"A", "x\"<y>"}, {"B", true}, {"C", int64(7)}, {"D", Body{{"E", 1}}}, {"L", List{{{"V", "1"}}, {{"V", "2"}}}}}
	var j bytes.Buffer
	render(&j, b, false, "R")
	var m map[string]any
	if err := json.Unmarshal(j.Bytes(), &m); err != nil || m["A"] != "x\"<y>" || m["B"] != true || len(m["L"].([]any)) != 2 {
		t.Fatalf("JSON %s: %v", j.String(), err)
	}
	var x bytes.Buffer
	render(&x, b, true, "R")
	want := `<R><A>x&#34;&lt;y&gt;</A><B>true</B><C>7</C><D><E>1</E></D><L><V>1</V></L><L><V>2</V></L></R>`
	if !strings.HasSuffix(x.String(), want) {
		t.Fatalf("XML = %s", x.String())
	}
}

// FuzzServe feeds arbitrary methods, queries, bodies and headers to the
// whole RPC handler: every answer is a well-formed envelope, never a 5xx.
func FuzzServe(f *testing.F) {
	fx := newFixture(f)
	f.Add("GET", "Action=GetAuthToken&Version=2017-05-25", "", "", "")
	f.Add("POST", "", "Action=GetAuthToken&Version=2017-05-25&AccessKeyId=x&Signature=y", "application/x-www-form-urlencoded", "")
	f.Add("POST", "Action=GetAuthToken", "", "", "ACS3-HMAC-SHA256 Credential=a,SignedHeaders=host,Signature=00")
	f.Add("GET", "a=%zz", "", "", "")
	f.Add("PUT", "x=1&x=2", "\xff\xfe", "application/x-www-form-urlencoded", "garbage")
	f.Fuzz(func(t *testing.T, method, query, body, ctype, authz string) {
		if method != "GET" && method != "POST" && method != "PUT" {
			method = "POST"
		}
		req, err := http.NewRequest(method, "http://numauth/", strings.NewReader(body))
		if err != nil {
			return
		}
		req.URL.RawQuery = query
		req.Header.Set("Content-Type", ctype)
		if authz != "" {
			req.Header.Set("Authorization", authz)
			req.Header.Set("x-acs-action", "GetAuthToken")
			req.Header.Set("x-acs-version", APIVersion)
		}
		rec := httptest.NewRecorder()
		fx.srv.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%d for %q %q %q: %s", rec.Code, method, query, body, rec.Body)
		}
		var m map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil && !strings.Contains(rec.Header().Get("Content-Type"), "xml") {
			t.Fatalf("not JSON: %s", rec.Body)
		}
	})
}

// An unsigned x-acs-action header never chooses the action of a V1 request.
func TestUnsignedActionHeaderIgnored(t *testing.T) {
	f := newFixture(t)
	v := sign.SignV1("GET", url.Values{"Version": {APIVersion}, "SchemeCode": {"FC1"}}, keyID, keySec, f.now, "h1")
	req := httptest.NewRequest("GET", "/?"+v.Encode(), nil)
	req.Header.Set("x-acs-action", "DeleteVerifyScheme")
	req.Header.Set("x-acs-version", APIVersion)
	rec := httptest.NewRecorder()
	f.srv.ServeHTTP(rec, req)
	var b map[string]any
	json.Unmarshal(rec.Body.Bytes(), &b)
	if b["Code"] != "MissingAction" {
		t.Fatalf("= %d %v, want MissingAction", rec.Code, b)
	}
}
