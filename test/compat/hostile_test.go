package compat

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/numauth/numauth/internal/openapi/sign"
	"github.com/numauth/numauth/test/harness"
)

// rawRequest is one hand-made request to the RPC front end.
type rawRequest struct {
	method   string // default POST
	query    string // raw, sent as is
	body     string
	formBody bool // Content-Type application/x-www-form-urlencoded
	header   map[string]string
}

func (rr rawRequest) send(t testing.TB, in *harness.Instance) rawAnswer {
	t.Helper()
	method := rr.method
	if method == "" {
		method = http.MethodPost
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, in.URL+"/", strings.NewReader(rr.body))
	if err != nil {
		t.Fatal(err)
	}
	req.URL.RawQuery = rr.query
	if rr.formBody {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range rr.header {
		req.Header[k] = []string{v}
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s ?%.80s: %v", method, rr.query, err)
	}
	return readAnswer(t, res)
}

// signedV1 returns a correctly V1-signed query for the bootstrap key.
func signedV1(method string, params url.Values, at time.Time, nonce string) string {
	return sign.SignV1(method, params, harness.AccessKeyID, harness.AccessKeySecret, at, nonce).Encode()
}

// checkEnvelope fails the test unless a is an error in Alibaba's JSON
// envelope with the given status and code.
func checkEnvelope(t testing.TB, what string, a rawAnswer, status int, code string) {
	t.Helper()
	if a.Status != status || a.Code() != code {
		t.Errorf("%s: HTTP %d %q, want %d %q: %.300s", what, a.Status, a.Code(), status, code, a.Body)
		return
	}
	if a.ContentType != "application/json;charset=utf-8" {
		t.Errorf("%s: Content-Type %q", what, a.ContentType)
	}
	for _, k := range []string{"RequestId", "HostId", "Code", "Message", "Recommend"} {
		if s, _ := a.Envelope[k].(string); s == "" {
			t.Errorf("%s: envelope field %s is missing or empty: %s", what, k, a.Body)
		}
	}
	if id, _ := a.Envelope["RequestId"].(string); !requestIDShape(id) {
		t.Errorf("%s: RequestId %q", what, id)
	}
}

// TestHostileInput sends what no SDK sends. Every answer must be a 4xx in
// Alibaba's envelope with the documented code, never a 500, and numauth must
// keep serving.
func TestHostileInput(t *testing.T) {
	in := start(t)
	base := "Action=GetAuthToken&Version=" + apiVersion
	many := make([]string, 200)
	for i := range many {
		many[i] = fmt.Sprintf("P%d=%d", i, i)
	}
	v3 := func(authz string, extra map[string]string) map[string]string {
		h := map[string]string{
			"Authorization": authz, "x-acs-action": "GetAuthToken", "x-acs-version": apiVersion,
			"x-acs-date": time.Now().UTC().Format("2006-01-02T15:04:05Z"), "x-acs-signature-nonce": uuid.NewString(),
			"x-acs-content-sha256": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
		}
		for k, v := range extra {
			h[k] = v
		}
		return h
	}
	const v3ok = "ACS3-HMAC-SHA256 Credential=" + harness.AccessKeyID +
		",SignedHeaders=host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version,Signature=00"
	v1 := func(mutate func(url.Values)) string {
		p := url.Values{"Action": {"GetAuthToken"}, "Version": {apiVersion}, "Url": {"https://x.example.com/"}, "Origin": {"https://x.example.com"}}
		q, _ := url.ParseQuery(signedV1("POST", p, time.Now(), uuid.NewString()))
		mutate(q)
		return q.Encode()
	}

	for _, c := range []struct {
		name   string
		req    rawRequest
		status int
		code   string
	}{
		{"body over 64 KiB", rawRequest{query: base, body: "Url=" + strings.Repeat("a", 70<<10), formBody: true}, 400, "InvalidParameter"},
		{"200 parameters", rawRequest{query: base + "&" + strings.Join(many, "&")}, 400, "InvalidParameter"},
		{"200 parameters in the form", rawRequest{query: base, body: strings.Join(many, "&"), formBody: true}, 400, "InvalidParameter"},
		{"a value over 8 KiB", rawRequest{query: base + "&Url=" + strings.Repeat("u", 9<<10)}, 400, "InvalidParameter"},
		{"invalid UTF-8 value", rawRequest{query: base + "&Url=%FF%FE%FD"}, 400, "InvalidParameter"},
		{"invalid UTF-8 name", rawRequest{query: base + "&%C0%AF=1"}, 400, "InvalidParameter"},
		{"bad percent escape in the query", rawRequest{query: base + "&Url=%zz"}, 400, "InvalidParameter"},
		{"truncated percent escape", rawRequest{query: base + "&Url=%4"}, 400, "InvalidParameter"},
		{"bad percent escape in the form", rawRequest{query: base, body: "Url=%G1", formBody: true}, 400, "InvalidParameter"},
		{"semicolon separator", rawRequest{query: base + ";Url=x"}, 400, "InvalidParameter"},
		{"duplicate parameter", rawRequest{query: base + "&Url=a&Url=b"}, 400, "InvalidParameter"},
		{"duplicate Action", rawRequest{query: base + "&Action=DeleteVerifyScheme"}, 400, "InvalidParameter"},
		{"Action removed after signing", rawRequest{query: v1(func(q url.Values) { q.Del("Action") })}, 400, "MissingAction"},
		{"signed, no Action", rawRequest{query: signedV1("POST", url.Values{"Version": {apiVersion}}, time.Now(), uuid.NewString())}, 400, "MissingAction"},
		{"signed, no Action, unsigned x-acs-action", rawRequest{query: signedV1("POST", url.Values{"Version": {apiVersion}}, time.Now(), uuid.NewString()),
			header: map[string]string{"x-acs-action": "GetAuthToken"}}, 400, "MissingAction"},
		{"unknown Action", rawRequest{query: signedV1("POST", url.Values{"Action": {"../../etc/passwd"}, "Version": {apiVersion}}, time.Now(), uuid.NewString())}, 404, "InvalidAction.NotFound"},
		{"unknown x-acs-action, invalid UTF-8", rawRequest{header: v3(v3ok, map[string]string{"x-acs-action": "\xff\xfe<script>"})}, 404, "InvalidAction.NotFound"},
		{"wrong Version", rawRequest{query: signedV1("POST", url.Values{"Action": {"GetAuthToken"}, "Version": {"2099-01-01"}}, time.Now(), uuid.NewString())}, 400, "InvalidVersion"},
		{"PUT", rawRequest{method: http.MethodPut, query: base}, 400, "InvalidParameter"},
		{"no signature at all", rawRequest{query: base}, 400, "IncompleteSignature"},
		{"huge Authorization header", rawRequest{query: base, header: map[string]string{"Authorization": "ACS3-HMAC-SHA256 Credential=" + strings.Repeat("A", 48<<10)}}, 400, "IncompleteSignature"},
		{"garbage V3 Authorization", rawRequest{query: base, header: map[string]string{"Authorization": "ACS3-HMAC-SHA256 garbage"}}, 400, "IncompleteSignature"},
		{"V3 Authorization, a field thrice", rawRequest{query: base, header: map[string]string{"Authorization": "ACS3-HMAC-SHA256 a=b,a=b,a=b"}}, 400, "IncompleteSignature"},
		{"V3 SM3", rawRequest{header: v3("ACS3-HMAC-SM3 Credential=x,SignedHeaders=host,Signature=00", nil)}, 400, "InvalidSignatureMethod"},
		{"V3 unsigned x-acs-date", rawRequest{header: v3(strings.Replace(v3ok, "x-acs-date;", "", 1), nil)}, 400, "IncompleteSignature"},
		{"V3 bad x-acs-date", rawRequest{header: v3(v3ok, map[string]string{"x-acs-date": "yesterday"})}, 400, "InvalidTimeStamp.Format"},
		{"V3 bad signature", rawRequest{header: v3(v3ok, nil)}, 400, "SignatureDoesNotMatch"},
		{"V3 unknown key", rawRequest{header: v3(strings.Replace(v3ok, harness.AccessKeyID, "LTAI5tNobody00000000", 1), nil)}, 404, "InvalidAccessKeyId.NotFound"},
		{"V1 HMAC-SHA256", rawRequest{query: v1(func(q url.Values) { q.Set("SignatureMethod", "HMAC-SHA256") })}, 400, "InvalidSignatureMethod"},
		{"V1 SignatureVersion 2.0", rawRequest{query: v1(func(q url.Values) { q.Set("SignatureVersion", "2.0") })}, 400, "InvalidSignatureVersion"},
		{"V1 bad Timestamp", rawRequest{query: v1(func(q url.Values) { q.Set("Timestamp", "2024-13-45 25:61") })}, 400, "InvalidTimeStamp.Format"},
		{"V1 no Signature", rawRequest{query: v1(func(q url.Values) { q.Del("Signature") })}, 400, "IncompleteSignature"},
		{"V1 garbage Signature", rawRequest{query: v1(func(q url.Values) { q.Set("Signature", "!!!not base64!!!") })}, 400, "SignatureDoesNotMatch"},
		{"V1 tampered parameter", rawRequest{query: v1(func(q url.Values) { q.Set("Origin", "https://evil.example.com") })}, 400, "SignatureDoesNotMatch"},
		{"V1 nonce over 128 characters", rawRequest{query: signedV1("POST", url.Values{"Action": {"GetAuthToken"}, "Version": {apiVersion}},
			time.Now(), strings.Repeat("n", 129))}, 400, "InvalidParameter"},
	} {
		a := c.req.send(t, in)
		checkEnvelope(t, c.name, a, c.status, c.code)
	}

	// Correctly signed but odd values reach the rules and get business codes.
	for _, c := range []struct {
		name   string
		params url.Values
		code   string
	}{
		{"NUL and newlines in Url", url.Values{"Action": {"GetAuthToken"}, "Version": {apiVersion}, "Url": {"https://x.example.com/\x00\r\n"}, "Origin": {"https://x.example.com"}}, "isv.INVALID_PARAMETERS"},
		{"huge BizType", url.Values{"Action": {"GetAuthToken"}, "Version": {apiVersion}, "Url": {"https://x.example.com/"}, "Origin": {"https://x.example.com"}, "BizType": {"99999999999999999999"}}, "InvalidParameter"},
		{"SchemeName with control characters", url.Values{"Action": {"CreateVerifyScheme"}, "Version": {apiVersion}, "SchemeName": {"a\x00b"}, "AppName": {"a"}, "OsType": {"iOS"}}, "isv.INVALID_PARAMETERS"},
		{"Unicode SchemeName", url.Values{"Action": {"CreateVerifyScheme"}, "Version": {apiVersion}, "SchemeName": {"登录 🔐"}, "AppName": {"应用"}, "OsType": {"Android"}}, "OK"},
		{"a garbage spToken", url.Values{"Action": {"VerifyPhoneWithToken"}, "Version": {apiVersion}, "SpToken": {strings.Repeat("\u00ff", 2000)}, "PhoneNumber": {localPhone}}, "isv.TOKEN_INVALID"},
	} {
		a := rawRequest{body: signedV1("POST", c.params, time.Now(), uuid.NewString()), formBody: true}.send(t, in)
		if a.Status >= 500 || a.Code() != c.code {
			t.Errorf("signed, %s: HTTP %d %q, want %q: %.300s", c.name, a.Status, a.Code(), c.code, a.Body)
		}
	}

	// Headers past the server's 64 KiB limit never reach the handler: net/http
	// answers 431 itself (docs/api.md says so), and the server lives on.
	big := rawRequest{query: base, header: map[string]string{"Authorization": "ACS3-HMAC-SHA256 " + strings.Repeat("A", 100<<10)}}.send(t, in)
	if big.Status != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("100 KiB Authorization: HTTP %d, want 431", big.Status)
	}

	// Still serving, and nothing was logged as a failure.
	res, err := http.Get(in.URL + "/healthz")
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("healthz after hostile input: %v %v", res, err)
	}
	res.Body.Close()
	probe(t, newV1(t, in.Addr, harness.AccessKeyID, harness.AccessKeySecret)).
		want(t, "an SDK call after hostile input", http.StatusOK, "isv.SCENE_QUERY_FAIL")
	if logs := in.Logs(); strings.Contains(logs, "panic") || strings.Contains(logs, `"level":"ERROR"`) {
		t.Errorf("numauth logged a failure:\n%s", logs)
	}
}

// FuzzRPCFrontEnd throws arbitrary queries, bodies, content types and
// Authorization headers at a running numauth. Whatever comes in, the answer
// is a 4xx in Alibaba's envelope (or net/http's own 431 for oversized
// headers), never a 5xx.
func FuzzRPCFrontEnd(f *testing.F) {
	in := start(f)
	for _, seed := range []struct{ query, body, contentType, authz string }{
		{"Action=GetAuthToken&Version=" + apiVersion, "", "", ""},
		{"Action=GetAuthToken&Version=" + apiVersion + "&Url=%zz", "", "", ""},
		{"Action=GetAuthToken", "Url=%FF&Url=2", "application/x-www-form-urlencoded", ""},
		{"", "Action=GetAuthToken&Version=" + apiVersion, "application/x-www-form-urlencoded; charset=utf-8", "ACS3-HMAC-SHA256 garbage"},
		{signedV1("POST", url.Values{"Action": {"GetAuthToken"}, "Version": {apiVersion}}, time.Now(), "seed-nonce"), "", "", ""},
		{"Action=VerifyPhoneWithToken&Version=" + apiVersion, "{}", "application/json", "ACS3-HMAC-SHA256 Credential=a,SignedHeaders=host,Signature=zz"},
		{"Action=%E4%B8%AD&Version=;", "\x00\xff", "multipart/form-data; boundary=x", "Bearer x"},
	} {
		f.Add(seed.query, seed.body, seed.contentType, seed.authz)
	}
	f.Fuzz(func(t *testing.T, query, body, contentType, authz string) {
		req := rawRequest{query: requestTarget(query), body: body, header: map[string]string{}}
		if ct := headerValue(contentType); ct != "" {
			req.header["Content-Type"] = ct
		}
		if a := headerValue(authz); a != "" {
			req.header["Authorization"] = a
		}
		a := req.send(t, in)
		if a.Status == http.StatusRequestHeaderFieldsTooLarge {
			return
		}
		if a.Status < 400 || a.Status >= 500 || a.Code() == "" || !requestIDShape(fmt.Sprint(a.Envelope["RequestId"])) {
			t.Fatalf("?%.200q body %.200q: HTTP %d %.300s", query, body, a.Status, a.Body)
		}
	})
}

// requestTarget makes s sendable as a raw query: bytes a request line cannot
// carry are percent-encoded, everything else (bad escapes included) is kept.
func requestTarget(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c >= 0x7f || c == '#' {
			fmt.Fprintf(&b, "%%%02X", c)
		} else {
			b.WriteByte(c)
		}
	}
	return b.String()
}

// headerValue drops the bytes net/http refuses to send in a header value.
func headerValue(s string) string {
	return strings.Map(func(r rune) rune {
		if (r < ' ' && r != '\t') || r == 0x7f {
			return -1
		}
		return r
	}, strings.TrimSpace(s))
}
