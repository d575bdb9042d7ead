package sign

import (
	"bytes"
	"encoding/hex"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

const (
	testAK     = "LTAI5tRoundTripKey"
	testSecret = "roundTripSecret0123456789abcdef"
	testNonce  = "0b5f5c7e-6c1d-4c9b-9f55-0b7a1e2c3d4f"
)

var testNow = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

// v1Request signs params and sends them all in the query of a GET.
func v1Request(params url.Values) *Request {
	signed := SignV1("GET", params, testAK, testSecret, testNow, testNonce)
	return &Request{Method: "GET", Host: "numauth.test", Path: "/", RawQuery: signed.Encode()}
}

func baseV1() url.Values {
	return url.Values{"Action": {"GetAuthToken"}, "Version": {"2017-05-25"}, "Format": {"JSON"},
		"Url": {"https://h5.example.com/a b"}, "Origin": {"https://h5.example.com"}}
}

// v3Request signs a POST with query parameters and a form body and returns the server's view.
func v3Request(t testing.TB, body string) *Request {
	t.Helper()
	req, err := http.NewRequest("POST", "http://numauth.test/?Url=https%3A%2F%2Fh5.example.com%2Fa+b&Origin=x", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("x-acs-action", "GetAuthToken")
	req.Header.Set("x-acs-version", "2017-05-25")
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if err := SignV3(req, []byte(body), testAK, testSecret, testNow, testNonce); err != nil {
		t.Fatal(err)
	}
	r, err := FromHTTP(req, []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestRoundTripV1(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	alphabet := []rune("aZ09-_.~ !\"#$%&'()*+,/:;<=>?@[\\]^`{|}\t\n中文é\x00\x7f")
	randString := func() string {
		n := rng.IntN(12)
		var b strings.Builder
		for range n {
			b.WriteRune(alphabet[rng.IntN(len(alphabet))])
		}
		return b.String()
	}
	for i := range 200 {
		params := baseV1()
		for range rng.IntN(8) {
			params.Add(randString(), randString())
		}
		signed := SignV1("POST", params, testAK, testSecret, testNow, testNonce)

		// Split the signed parameters at random between query and form body.
		query, form := url.Values{}, url.Values{}
		for k, vs := range signed {
			for _, v := range vs {
				if rng.IntN(2) == 0 {
					query.Add(k, v)
				} else {
					form.Add(k, v)
				}
			}
		}
		r := &Request{Method: "POST", Host: "h", Path: "/", RawQuery: query.Encode(), Form: form}
		c, err := Parse(r)
		if err != nil {
			t.Fatalf("#%d Parse: %v (%v)", i, err, signed)
		}
		if c.AccessKeyID != testAK || c.Nonce != testNonce || !c.Timestamp.Equal(testNow) || c.Version != V1 {
			t.Fatalf("#%d claim %+v", i, c)
		}
		if err := c.Verify(testSecret); err != nil {
			t.Fatalf("#%d Verify: %v (%v)", i, err, signed)
		}
		if err := c.Verify(testSecret[1:]); !errors.Is(err, ErrMismatch) {
			t.Fatalf("#%d Verify(wrong) = %v", i, err)
		}
	}
}

func TestRoundTripV3(t *testing.T) {
	for _, tc := range []struct {
		name, method, target, contentType, body string
	}{
		{"GET no body", "GET", "/?Url=https%3A%2F%2Fx%2F%E4%B8%AD+%2A~&Origin=o", "", ""},
		{"POST form", "POST", "/?SpToken=a%2Bb", "application/x-www-form-urlencoded", "PhoneNumber=13800138000&OutId=x+y"},
		{"POST json", "POST", "/", "application/json; charset=utf-8", `{"PhoneNumber":"13800138000"}`},
		{"empty values and duplicates", "POST", "/?a=&a=2&b&%E4%B8%AD=1", "", ""},
		{"path", "POST", "/some/path+with*stars%7E", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(tc.method, "http://numauth.test:8080"+tc.target, strings.NewReader(tc.body))
			req.Header.Set("x-acs-action", "VerifyPhoneWithToken")
			req.Header.Set("x-acs-version", "2017-05-25")
			req.Header.Set("x-acs-extra", " spaced  ")
			if tc.contentType != "" {
				req.Header.Set("Content-Type", tc.contentType)
			}
			if err := SignV3(req, []byte(tc.body), testAK, testSecret, testNow, testNonce); err != nil {
				t.Fatal(err)
			}
			r, err := FromHTTP(req, []byte(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			c, err := Parse(r)
			if err != nil {
				t.Fatal(err)
			}
			if c.AccessKeyID != testAK || c.Nonce != testNonce || !c.Timestamp.Equal(testNow) ||
				c.Version != V3 || c.Action != "VerifyPhoneWithToken" || c.APIVersion != "2017-05-25" {
				t.Fatalf("claim %+v", c)
			}
			if err := c.Verify(testSecret); err != nil {
				t.Fatalf("Verify: %v\n%s", err, r.Header.Get("Authorization"))
			}
			if err := c.Verify("x"); !errors.Is(err, ErrMismatch) {
				t.Fatalf("Verify(wrong) = %v", err)
			}
		})
	}
}

// TestOverNetHTTP sends SignV1 and SignV3 requests to a real net/http server on loopback and
// verifies them there, the way the protocol layer will.
func TestOverNetHTTP(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, hr *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(hr.Body, 1<<20))
		r, err := FromHTTP(hr, body)
		if err == nil {
			var c *Claim
			if c, err = Parse(r); err == nil {
				err = c.Verify(testSecret)
			}
		}
		if err != nil {
			http.Error(w, err.Error(), 400)
		}
	}))
	defer srv.Close()
	do := func(req *http.Request) {
		t.Helper()
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		msg, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d %s", req.Method, resp.StatusCode, msg)
		}
	}

	// V1, split between query and form body.
	signed := SignV1("POST", baseV1(), testAK, testSecret, time.Now(), testNonce)
	q, f := url.Values{}, url.Values{}
	for k, vs := range signed {
		if k == "Url" || k == "Signature" {
			f[k] = vs
		} else {
			q[k] = vs
		}
	}
	req, _ := http.NewRequest("POST", srv.URL+"/?"+q.Encode(), strings.NewReader(f.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	do(req)

	// V3 with a form body.
	body := "PhoneNumber=13800138000&SpToken=a%2Bb"
	req, _ = http.NewRequest("POST", srv.URL+"/?Origin=https%3A%2F%2Fh5.example.com", strings.NewReader(body))
	req.Header.Set("x-acs-action", "VerifyPhoneWithToken")
	req.Header.Set("x-acs-version", "2017-05-25")
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if err := SignV3(req, []byte(body), testAK, testSecret, time.Now(), testNonce); err != nil {
		t.Fatal(err)
	}
	do(req)
}

func TestParseV1Malformed(t *testing.T) {
	set := func(k, v string) func(url.Values) { return func(p url.Values) { p.Set(k, v) } }
	del := func(k string) func(url.Values) { return func(p url.Values) { p.Del(k) } }
	add := func(k, v string) func(url.Values) { return func(p url.Values) { p.Add(k, v) } }
	for _, tc := range []struct {
		name   string
		mutate func(url.Values)
		want   error
	}{
		{"no Signature", del("Signature"), ErrIncomplete},
		{"no AccessKeyId", del("AccessKeyId"), ErrIncomplete},
		{"no SignatureNonce", del("SignatureNonce"), ErrIncomplete},
		{"no Timestamp", del("Timestamp"), ErrIncomplete},
		{"no SignatureMethod", del("SignatureMethod"), ErrIncomplete},
		{"no SignatureVersion", del("SignatureVersion"), ErrIncomplete},
		{"empty Signature", set("Signature", ""), ErrIncomplete},
		{"empty AccessKeyId", set("AccessKeyId", ""), ErrIncomplete},
		{"empty SignatureNonce", set("SignatureNonce", ""), ErrIncomplete},
		{"empty Timestamp", set("Timestamp", ""), ErrIncomplete},
		{"two Signatures", add("Signature", "x"), ErrIncomplete},
		{"two AccessKeyIds", add("AccessKeyId", testAK), ErrIncomplete},
		{"two SignatureNonces", add("SignatureNonce", "n"), ErrIncomplete},
		{"two Timestamps", add("Timestamp", "2025-01-02T03:04:05Z"), ErrIncomplete},
		{"HMAC-SHA256", set("SignatureMethod", "HMAC-SHA256"), ErrMethod},
		{"lower-case method", set("SignatureMethod", "hmac-sha1"), ErrMethod},
		{"empty method", set("SignatureMethod", ""), ErrMethod},
		{"version 2.0", set("SignatureVersion", "2.0"), ErrVersion},
		{"version 1", set("SignatureVersion", "1"), ErrVersion},
		{"ts space", set("Timestamp", "2025-01-02 03:04:05"), ErrTimestampFormat},
		{"ts offset", set("Timestamp", "2025-01-02T11:04:05+08:00"), ErrTimestampFormat},
		{"ts unix", set("Timestamp", "1735787045"), ErrTimestampFormat},
		{"ts month 13", set("Timestamp", "2025-13-02T03:04:05Z"), ErrTimestampFormat},
		{"ts Feb 30", set("Timestamp", "2025-02-30T03:04:05Z"), ErrTimestampFormat},
		{"ts hour 24", set("Timestamp", "2025-01-02T24:00:00Z"), ErrTimestampFormat},
		{"ts lower z", set("Timestamp", "2025-01-02T03:04:05z"), ErrTimestampFormat},
		{"ts no seconds", set("Timestamp", "2025-01-02T03:04Z"), ErrTimestampFormat},
		{"ts RFC 1123", set("Timestamp", "Thu, 02 Jan 2025 03:04:05 GMT"), ErrTimestampFormat},
	} {
		t.Run(tc.name, func(t *testing.T) {
			signed := SignV1("GET", baseV1(), testAK, testSecret, testNow, testNonce)
			tc.mutate(signed)
			_, err := Parse(&Request{Method: "GET", Path: "/", RawQuery: signed.Encode()})
			if !errors.Is(err, tc.want) {
				t.Fatalf("Parse = %v, want %v", err, tc.want)
			}
		})
	}

	for _, tc := range []struct {
		name, rawQuery string
		form           url.Values
		want           error
	}{
		{"nothing", "", nil, ErrIncomplete},
		{"bad escape", v1Request(baseV1()).RawQuery + "&x=%zz", nil, ErrMalformedQuery},
		{"bad escape in name", "%g0=1&" + v1Request(baseV1()).RawQuery, nil, ErrMalformedQuery},
		{"semicolon", v1Request(baseV1()).RawQuery + ";x=1", nil, ErrMalformedQuery},
		{"too many", strings.Repeat("a=1&", maxParams) + "b=2", nil, ErrMalformedQuery},
		{"AccessKeyId in query and form", v1Request(baseV1()).RawQuery, url.Values{"AccessKeyId": {testAK}}, ErrIncomplete},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(&Request{Method: "GET", Path: "/", RawQuery: tc.rawQuery, Form: tc.form})
			if !errors.Is(err, tc.want) {
				t.Fatalf("Parse = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestParseV1Accepts(t *testing.T) {
	// Fractional seconds parse (the signature then covers that exact string).
	signed := SignV1("GET", baseV1(), testAK, testSecret, testNow, testNonce)
	signed.Set("Timestamp", "2025-01-02T03:04:05.123Z")
	c, err := Parse(&Request{Method: "GET", RawQuery: signed.Encode()})
	if err != nil {
		t.Fatal(err)
	}
	if want := testNow.Add(123 * time.Millisecond); !c.Timestamp.Equal(want) {
		t.Fatalf("Timestamp = %v, want %v", c.Timestamp, want)
	}

	// An unrelated Authorization header does not make a V1 request V3.
	r := v1Request(baseV1())
	r.Header = http.Header{"Authorization": {"Basic dXNlcjpwYXNz"}}
	if err := verify(r, testSecret); err != nil {
		t.Fatalf("V1 with Basic Authorization: %v", err)
	}

	// Action or Version given twice is signed but ambiguous: the claim leaves it empty.
	p := baseV1()
	p.Add("Action", "DeleteVerifyScheme")
	c, err = Parse(v1Request(p))
	if err != nil || c.Action != "" || c.APIVersion != "2017-05-25" {
		t.Fatalf("duplicate Action: %v %+v", err, c)
	}
	if err := c.Verify(testSecret); err != nil {
		t.Fatal(err)
	}

	// A signature that is not 28 characters of base64 parses but never verifies.
	for _, bad := range []string{"!!!!", "AAAA", strings.Repeat("A", 27) + "=", strings.Repeat("A", 40)} {
		signed := SignV1("GET", baseV1(), testAK, testSecret, testNow, testNonce)
		signed.Set("Signature", bad)
		c, err := Parse(&Request{Method: "GET", RawQuery: signed.Encode()})
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Verify(testSecret); !errors.Is(err, ErrMismatch) {
			t.Fatalf("signature %q: %v", bad, err)
		}
	}
}

func TestParseV3Malformed(t *testing.T) {
	const body = "PhoneNumber=13800138000"
	withAuth := func(f func(a string) string) func(*Request) {
		return func(r *Request) { r.Header.Set("Authorization", f(r.Header.Get("Authorization"))) }
	}
	replace := func(old, new string) func(*Request) {
		return withAuth(func(a string) string { return strings.Replace(a, old, new, 1) })
	}
	setHeader := func(k, v string) func(*Request) { return func(r *Request) { r.Header.Set(k, v) } }
	delHeader := func(k string) func(*Request) { return func(r *Request) { r.Header.Del(k) } }
	addHeader := func(k, v string) func(*Request) { return func(r *Request) { r.Header.Add(k, v) } }
	for _, tc := range []struct {
		name   string
		mutate func(*Request)
		want   error
	}{
		{"SM3", replace("ACS3-HMAC-SHA256", "ACS3-HMAC-SM3"), ErrMethod},
		{"RSA", replace("ACS3-HMAC-SHA256", "ACS3-RSA-SHA256"), ErrMethod},
		{"lower-case algorithm tail", replace("ACS3-HMAC-SHA256", "ACS3-hmac-sha256"), ErrMethod},
		{"algorithm only", withAuth(func(string) string { return "ACS3-HMAC-SHA256" }), ErrIncomplete},
		{"algorithm and space", withAuth(func(string) string { return "ACS3-HMAC-SHA256 " }), ErrIncomplete},
		{"no Credential", replace("Credential="+testAK+",", ""), ErrIncomplete},
		{"empty Credential", replace("Credential="+testAK, "Credential="), ErrIncomplete},
		{"no SignedHeaders", withAuth(func(a string) string {
			i := strings.Index(a, ",SignedHeaders=")
			j := strings.Index(a, ",Signature=")
			return a[:i] + a[j:]
		}), ErrIncomplete},
		{"no Signature", withAuth(func(a string) string { return a[:strings.Index(a, ",Signature=")] }), ErrIncomplete},
		{"empty Signature", withAuth(func(a string) string { return a[:strings.Index(a, ",Signature=")] + ",Signature=" }), ErrIncomplete},
		{"duplicate Credential", withAuth(func(a string) string { return a + ",Credential=x" }), ErrIncomplete},
		{"unknown field", withAuth(func(a string) string { return a + ",Region=cn" }), ErrIncomplete},
		{"field without =", withAuth(func(a string) string { return a + ",junk" }), ErrIncomplete},
		{"trailing comma", withAuth(func(a string) string { return a + "," }), ErrIncomplete},
		{"upper-case signed header", replace("x-acs-date", "X-Acs-Date"), ErrIncomplete},
		{"unsorted signed headers", replace("host;x-acs-action", "x-acs-action;host"), ErrIncomplete},
		{"duplicate signed header", replace("host;", "host;host;"), ErrIncomplete},
		{"empty signed header", replace("host;", "host;;"), ErrIncomplete},
		{"trailing semicolon", replace(";x-acs-version", ";x-acs-version;"), ErrIncomplete},
		{"x-acs-date not signed", replace(";x-acs-date", ""), ErrIncomplete},
		{"nonce not signed", replace(";x-acs-signature-nonce", ""), ErrIncomplete},
		{"content hash not signed", replace(";x-acs-content-sha256", ""), ErrIncomplete},
		{"action not signed", replace(";x-acs-action", ""), ErrIncomplete},
		{"version not signed", replace(";x-acs-version", ""), ErrIncomplete},
		{"host not signed", replace("host;", ""), ErrIncomplete},
		{"content-type not signed", replace("content-type;", ""), ErrIncomplete},
		{"unsigned x-acs header", setHeader("X-Acs-Security-Token", "t"), ErrIncomplete},
		{"two Authorization", addHeader("Authorization", "ACS3-HMAC-SHA256 x"), ErrIncomplete},
		{"no x-acs-date", delHeader("X-Acs-Date"), ErrIncomplete},
		{"two x-acs-date", addHeader("X-Acs-Date", "2025-01-02T03:04:05Z"), ErrIncomplete},
		{"no nonce", delHeader("X-Acs-Signature-Nonce"), ErrIncomplete},
		{"empty nonce", setHeader("X-Acs-Signature-Nonce", " "), ErrIncomplete},
		{"two nonces", addHeader("X-Acs-Signature-Nonce", "n"), ErrIncomplete},
		{"no content hash", delHeader("X-Acs-Content-Sha256"), ErrIncomplete},
		{"no action", delHeader("X-Acs-Action"), ErrIncomplete},
		{"no version", delHeader("X-Acs-Version"), ErrIncomplete},
		{"date RFC 1123", setHeader("X-Acs-Date", "Thu, 02 Jan 2025 03:04:05 GMT"), ErrTimestampFormat},
		{"date offset", setHeader("X-Acs-Date", "2025-01-02T11:04:05+08:00"), ErrTimestampFormat},
		{"date garbage", setHeader("X-Acs-Date", "yesterday"), ErrTimestampFormat},
		{"bad query", func(r *Request) { r.RawQuery += "&%zz" }, ErrMalformedQuery},
		{"semicolon query", func(r *Request) { r.RawQuery += ";a=b" }, ErrMalformedQuery},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := v3Request(t, body)
			r.Header = r.Header.Clone()
			tc.mutate(r)
			_, err := Parse(r)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Parse = %v, want %v\n%s", err, tc.want, r.Header.Get("Authorization"))
			}
		})
	}
}

func TestParseV3AcceptsAndVerifyErrors(t *testing.T) {
	const body = "PhoneNumber=13800138000"
	mustParse := func(r *Request) *Claim {
		t.Helper()
		c, err := Parse(r)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}

	// Spaces after the commas, and an upper-case hex signature, are accepted.
	r := v3Request(t, body)
	a := r.Header.Get("Authorization")
	i := strings.Index(a, "Signature=") + len("Signature=")
	r.Header.Set("Authorization", strings.ReplaceAll(a[:i], ",", ", ")+strings.ToUpper(a[i:]))
	if err := mustParse(r).Verify(testSecret); err != nil {
		t.Fatalf("lenient Authorization: %v", err)
	}

	// A signature that is not 64 hex digits parses but never verifies.
	for _, bad := range []string{"zz", strings.Repeat("g", 64), strings.Repeat("a", 63)} {
		r := v3Request(t, body)
		a := r.Header.Get("Authorization")
		r.Header.Set("Authorization", a[:strings.Index(a, "Signature=")]+"Signature="+bad)
		if err := mustParse(r).Verify(testSecret); !errors.Is(err, ErrMismatch) {
			t.Fatalf("signature %q: %v", bad, err)
		}
	}

	// Signed correctly, but the body is not the one hashed: ErrContentHash.
	r = v3Request(t, body)
	r.Body = []byte(body + "0")
	if err := mustParse(r).Verify(testSecret); !errors.Is(err, ErrContentHash) {
		t.Fatalf("altered body: %v", err)
	}
	// ... and with a wrong secret as well, ErrMismatch comes first.
	if err := mustParse(r).Verify("wrong"); !errors.Is(err, ErrMismatch) {
		t.Fatalf("altered body, wrong secret: %v", err)
	}

	// A client that signs a payload hash that is not a SHA-256 hex (UNSIGNED-PAYLOAD, say):
	// its signature is right, the hash is not: ErrContentHash.
	r = v3Request(t, body)
	r.Header.Set("X-Acs-Content-Sha256", "UNSIGNED-PAYLOAD")
	c := mustParse(r)
	mac := macV3(r, c.params, c.names, c.signedHeaders, c.payloadHash, testSecret)
	a = r.Header.Get("Authorization")
	r.Header.Set("Authorization", a[:strings.Index(a, "Signature=")]+"Signature="+hex.EncodeToString(mac[:]))
	if err := mustParse(r).Verify(testSecret); !errors.Is(err, ErrContentHash) {
		t.Fatalf("UNSIGNED-PAYLOAD: %v", err)
	}

	// The empty body's hash is SHA-256 of nothing.
	r = v3Request(t, "")
	if got, want := r.Header.Get("X-Acs-Content-Sha256"), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"; got != want {
		t.Fatalf("empty body hash %s", got)
	}
	if err := mustParse(r).Verify(testSecret); err != nil {
		t.Fatal(err)
	}
}

func TestSignV3Errors(t *testing.T) {
	req := httptest.NewRequest("POST", "http://numauth.test/", nil)
	if err := SignV3(req, nil, testAK, testSecret, testNow, testNonce); !errors.Is(err, ErrIncomplete) {
		t.Fatalf("without x-acs-action: %v", err)
	}
	req.Header.Set("x-acs-action", "A")
	req.Header.Set("x-acs-version", "V")
	req.URL.RawQuery = "a=%zz"
	if err := SignV3(req, nil, testAK, testSecret, testNow, testNonce); !errors.Is(err, ErrMalformedQuery) {
		t.Fatalf("bad query: %v", err)
	}
	// Non-canonical header keys set directly in the map are signed under their canonical name.
	req = httptest.NewRequest("POST", "http://numauth.test/", nil)
	req.Header["x-acs-action"] = []string{"A"}
	req.Header["x-acs-version"] = []string{"V"}
	req.Header["x-acs-custom"] = []string{"c"}
	if err := SignV3(req, nil, testAK, testSecret, testNow, testNonce); err != nil {
		t.Fatal(err)
	}
	if req.Header.Get("X-Acs-Custom") != "c" || !strings.Contains(req.Header.Get("Authorization"), "x-acs-custom;") {
		t.Fatalf("headers %v", req.Header)
	}
	r, _ := FromHTTP(req, nil)
	if err := verify(r, testSecret); err != nil {
		t.Fatal(err)
	}
}

func TestFromHTTP(t *testing.T) {
	for _, tc := range []struct {
		ct       string
		body     string
		wantForm bool
		wantErr  error
	}{
		{"application/x-www-form-urlencoded", "a=1", true, nil},
		{"Application/X-WWW-Form-Urlencoded; charset=UTF-8", "a=1", true, nil},
		{"application/json", `{"a":1}`, false, nil},
		{"", "a=1", false, nil},
		{"application/x-www-form-urlencoded", "a=%zz", false, ErrMalformedQuery},
	} {
		req := httptest.NewRequest("POST", "http://h.test/p%20q?x=1", strings.NewReader(tc.body))
		if tc.ct != "" {
			req.Header.Set("Content-Type", tc.ct)
		}
		r, err := FromHTTP(req, []byte(tc.body))
		if !errors.Is(err, tc.wantErr) {
			t.Fatalf("%q: err %v", tc.ct, err)
		}
		if err != nil {
			continue
		}
		if (r.Form != nil) != tc.wantForm || r.Host != "h.test" || r.Path != "/p%20q" || r.RawQuery != "x=1" ||
			!bytes.Equal(r.Body, []byte(tc.body)) {
			t.Fatalf("%q: %+v", tc.ct, r)
		}
	}
}

func TestPercentEncode(t *testing.T) {
	// percentEncode must equal the SDKs' url.QueryEscape + "+"→"%20", "*"→"%2A", "%7E"→"~".
	var all strings.Builder
	for c := range 256 {
		all.WriteByte(byte(c))
	}
	s := all.String() + "中文 ~*+"
	sdk := strings.NewReplacer("+", "%20", "*", "%2A", "%7E", "~").Replace(url.QueryEscape(s))
	if got := string(appendEncode(nil, s)); got != sdk {
		t.Fatalf("appendEncode\n got %s\nwant %s", got, sdk)
	}
	if got, want := string(appendEncode2(nil, s)), url.QueryEscape(sdk); got != want {
		t.Fatalf("appendEncode2\n got %s\nwant %s", got, want)
	}
}

func TestVersionString(t *testing.T) {
	if V1.String() != "V1" || V3.String() != "V3" || Version(2).String() != "unknown" {
		t.Fatal("Version.String")
	}
	if err := (&Claim{}).Verify("x"); !errors.Is(err, ErrMismatch) {
		t.Fatal("zero Claim verified")
	}
}

func TestStringToSign(t *testing.T) {
	v := SignV1("GET", url.Values{"Action": {"GetAuthToken"}, "Version": {"2017-05-25"}}, "LTAIkey", "secret", time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), "nonce-1")
	c, err := Parse(&Request{Method: "GET", RawQuery: v.Encode()})
	if err != nil {
		t.Fatal(err)
	}
	want := "GET&%2F&AccessKeyId%3DLTAIkey%26Action%3DGetAuthToken%26SignatureMethod%3DHMAC-SHA1%26SignatureNonce%3Dnonce-1%26SignatureVersion%3D1.0%26Timestamp%3D2026-01-02T03%253A04%253A05Z%26Version%3D2017-05-25"
	if got := c.StringToSign(); got != want {
		t.Fatalf("StringToSign = %s\nwant            %s", got, want)
	}
}
