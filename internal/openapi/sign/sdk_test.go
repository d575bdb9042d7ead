package sign

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	openapi "github.com/alibabacloud-go/darabonba-openapi/v2/client"
	"github.com/alibabacloud-go/tea/dara"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/dypnsapi"
)

// Interop with the real official SDKs, without a server: each SDK client gets a transport that
// captures the outgoing request, answers a canned Alibaba-shaped 200, and the captured request
// is fed through its HTTP/1.1 wire form into FromHTTP, Parse and Verify.

const (
	sdkAK     = "LTAI5tInteropAccessKey"
	sdkSecret = "interopSecret+/=0123456789abcdef"
	sdkHost   = "127.0.0.1:8080"
	// A Url that exercises every encoding rule on its way through both SDKs.
	sdkURL = "https://h5.example.com/登录 page?a=1&b=*~+/%20"

	cannedBody = `{"RequestId":"8906582E-6722-4A1B-9E31-0E8D1A1F2B3C","Code":"OK","Message":"OK",` +
		`"TokenInfo":{"AccessToken":"canned-access-token","JwtToken":"canned-jwt"},` +
		`"GateVerify":{"VerifyId":"v1","VerifyResult":"PASS"}}`
)

// capture records the wire bytes of every request and answers cannedBody.
type capture struct {
	mu   sync.Mutex
	wire [][]byte
}

func (c *capture) RoundTrip(req *http.Request) (*http.Response, error) {
	var buf bytes.Buffer
	if err := req.Write(&buf); err != nil { // the bytes a server would read
		return nil, err
	}
	c.mu.Lock()
	c.wire = append(c.wire, buf.Bytes())
	c.mu.Unlock()
	return &http.Response{
		StatusCode: 200, Status: "200 OK", Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header:        http.Header{"Content-Type": {"application/json;charset=utf-8"}},
		Body:          io.NopCloser(strings.NewReader(cannedBody)),
		ContentLength: int64(len(cannedBody)),
		Request:       req,
	}, nil
}

// Call makes capture a dara.HttpClient (darabonba-openapi's Config.HttpClient).
func (c *capture) Call(req *http.Request, _ *http.Transport) (*http.Response, error) {
	return c.RoundTrip(req)
}

func (c *capture) only(t *testing.T) []byte {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.wire) != 1 {
		t.Fatalf("captured %d requests, want 1", len(c.wire))
	}
	w := c.wire[0]
	c.wire = nil
	t.Logf("captured:\n%s", w)
	return w
}

// serverRequest reads wire bytes as net/http's server does and builds the verifier's Request.
func serverRequest(t *testing.T, wire []byte) *Request {
	t.Helper()
	hr, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(wire)))
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(hr.Body)
	if err != nil {
		t.Fatal(err)
	}
	r, err := FromHTTP(hr, body)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func verify(r *Request, secret string) error {
	c, err := Parse(r)
	if err != nil {
		return err
	}
	return c.Verify(secret)
}

// --- alibaba-cloud-sdk-go (V1) ---

func newDypnsClient(t *testing.T, secret string) (*dypnsapi.Client, *capture) {
	t.Helper()
	client, err := dypnsapi.NewClientWithAccessKey("cn-hangzhou", sdkAK, secret)
	if err != nil {
		t.Fatal(err)
	}
	cp := &capture{}
	client.SetTransport(cp) // sdk.Client.SetTransport: any http.RoundTripper
	return client, cp
}

func TestInteropAlibabaCloudSDKGoV1(t *testing.T) {
	client, cp := newDypnsClient(t, sdkSecret)

	t.Run("GetAuthToken query", func(t *testing.T) {
		req := dypnsapi.CreateGetAuthTokenRequest()
		req.Scheme = "http"  // the SDK's default is HTTPS per request
		req.Domain = sdkHost // fixed endpoint: no endpoint resolution
		req.Url = sdkURL
		req.Origin = "https://h5.example.com"
		req.SceneCode = "FC100000"
		resp, err := client.GetAuthToken(req)
		if err != nil {
			t.Fatal(err)
		}
		if resp.TokenInfo.AccessToken != "canned-access-token" {
			t.Fatalf("SDK did not decode the canned answer: %+v", resp)
		}
		r := serverRequest(t, cp.only(t))
		if r.Method != "POST" || r.Form != nil && len(r.Form) > 0 {
			t.Fatalf("unexpected shape: %s form=%v", r.Method, r.Form)
		}
		c := checkV1(t, r, "GetAuthToken")
		if c.Nonce == "" || time.Since(c.Timestamp) > time.Minute {
			t.Errorf("claim nonce/time: %q %v", c.Nonce, c.Timestamp)
		}
		tamperV1(t, r)
	})

	t.Run("VerifyPhoneWithToken query+form", func(t *testing.T) {
		req := dypnsapi.CreateVerifyPhoneWithTokenRequest()
		req.Scheme = "http"
		req.Domain = sdkHost
		req.SpToken = "sp+token/=="
		// Body-position parameters: the SDK sends them form-encoded and signs them with the query.
		req.GetFormParams()["PhoneNumber"] = "13800138000"
		req.GetFormParams()["OutId"] = "out id *~"
		if _, err := client.VerifyPhoneWithToken(req); err != nil {
			t.Fatal(err)
		}
		r := serverRequest(t, cp.only(t))
		if r.Form.Get("PhoneNumber") != "13800138000" {
			t.Fatalf("form body not parsed: %v", r.Form)
		}
		checkV1(t, r, "VerifyPhoneWithToken")
		tamperV1(t, r)
	})

	t.Run("GET", func(t *testing.T) {
		req := dypnsapi.CreateGetAuthTokenRequest()
		req.Method = "GET"
		req.Scheme = "http"
		req.Domain = sdkHost
		req.Url = sdkURL
		req.Origin = "https://h5.example.com"
		if _, err := client.GetAuthToken(req); err != nil {
			t.Fatal(err)
		}
		r := serverRequest(t, cp.only(t))
		checkV1(t, r, "GetAuthToken")
		tamperV1(t, r)
	})
}

func checkV1(t *testing.T, r *Request, action string) *Claim {
	t.Helper()
	c, err := Parse(r)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if c.Version != V1 || c.AccessKeyID != sdkAK || c.Action != action || c.APIVersion != "2017-05-25" {
		t.Errorf("claim = %+v", c)
	}
	if err := c.Verify(sdkSecret); err != nil {
		t.Fatalf("Verify(right secret) = %v", err)
	}
	if err := c.Verify(sdkSecret + "x"); !errors.Is(err, ErrMismatch) {
		t.Fatalf("Verify(wrong secret) = %v, want ErrMismatch", err)
	}
	return c
}

// pairs decodes a query or form string keeping order and duplicates.
func pairs(s string) []param {
	ps, err := appendQuery(nil, s)
	if err != nil {
		panic(err)
	}
	return ps
}

func encodePairs(ps []param) string {
	var b strings.Builder
	for i, p := range ps {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(url.QueryEscape(p.k) + "=" + url.QueryEscape(p.v))
	}
	return b.String()
}

func formOf(ps []param) url.Values {
	f := url.Values{}
	for _, p := range ps {
		f.Add(p.k, p.v)
	}
	return f
}

// tamperedValue changes a value in a way the parser still accepts.
func tamperedValue(k, v string) string {
	if k == "Timestamp" || k == "X-Acs-Date" {
		ts, _ := time.Parse(time.RFC3339, v)
		return ts.Add(time.Second).Format(timestampLayout)
	}
	return v + "x"
}

// wantV1Tamper is the error a changed or removed V1 parameter must give.
func wantV1Tamper(k string, removed bool) error {
	switch k {
	case "SignatureMethod":
		if !removed {
			return ErrMethod
		}
	case "SignatureVersion":
		if !removed {
			return ErrVersion
		}
	}
	if removed {
		switch k {
		case "Signature", "AccessKeyId", "SignatureNonce", "Timestamp", "SignatureMethod", "SignatureVersion":
			return ErrIncomplete
		}
	}
	return ErrMismatch
}

// tamperV1 changes, removes and adds every query and form parameter of a verified V1 request and
// checks each change is caught; it also changes the method.
func tamperV1(t *testing.T, orig *Request) {
	t.Helper()
	q := pairs(orig.RawQuery)
	f := pairs(url.Values(orig.Form).Encode())
	try := func(desc string, mutate func(r *Request), want error) {
		t.Helper()
		r := *orig
		mutate(&r)
		if err := verify(&r, sdkSecret); !errors.Is(err, want) {
			t.Errorf("%s: got %v, want %v", desc, err, want)
		}
	}
	for _, src := range []struct {
		name string
		ps   []param
		set  func(r *Request, ps []param)
	}{
		{"query", q, func(r *Request, ps []param) { r.RawQuery = encodePairs(ps) }},
		{"form", f, func(r *Request, ps []param) { r.Form = formOf(ps) }},
	} {
		for i, p := range src.ps {
			if p.k == "Signature" {
				for _, bad := range badSignatures(t, p.v, base64.StdEncoding.EncodeToString, base64.StdEncoding.DecodeString) {
					changed := slices.Clone(src.ps)
					changed[i].v = bad.sig
					try(src.name+" Signature "+bad.name, func(r *Request) { src.set(r, changed) }, ErrMismatch)
				}
			} else {
				changed := slices.Clone(src.ps)
				changed[i].v = tamperedValue(p.k, p.v)
				try(src.name+" change "+p.k, func(r *Request) { src.set(r, changed) }, wantV1Tamper(p.k, false))
			}
			removed := slices.Delete(slices.Clone(src.ps), i, i+1)
			try(src.name+" remove "+p.k, func(r *Request) { src.set(r, removed) }, wantV1Tamper(p.k, true))
		}
		added := append(slices.Clone(src.ps), param{"Extra", "1"})
		try(src.name+" add Extra", func(r *Request) { src.set(r, added) }, ErrMismatch)
	}
	// Moving a parameter between query and form keeps the signature (the union is signed).
	if len(q) > 0 {
		r := *orig
		var moved param
		rest := q[:0:0]
		for _, p := range q {
			if p.k == "Action" {
				moved = p
				continue
			}
			rest = append(rest, p)
		}
		r.RawQuery = encodePairs(rest)
		r.Form = formOf(append(slices.Clone(f), moved))
		if err := verify(&r, sdkSecret); err != nil {
			t.Errorf("moving Action into the form body: %v", err)
		}
	}
	other := "GET"
	if orig.Method == "GET" {
		other = "POST"
	}
	try("method", func(r *Request) { r.Method = other }, ErrMismatch)
}

// --- darabonba-openapi/v2 (V3, and its V1 mode) ---

func newOpenAPIClient(t *testing.T, signatureAlgorithm string) (*openapi.Client, *capture) {
	t.Helper()
	cp := &capture{}
	cfg := &openapi.Config{
		AccessKeyId:     dara.String(sdkAK),
		AccessKeySecret: dara.String(sdkSecret),
		Endpoint:        dara.String(sdkHost),
		Protocol:        dara.String("HTTP"),
		HttpClient:      cp, // dara.HttpClient: Call(*http.Request, *http.Transport)
	}
	if signatureAlgorithm != "" {
		cfg.SignatureAlgorithm = dara.String(signatureAlgorithm) // "v2" selects the V1 RPC signer
	}
	client, err := openapi.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return client, cp
}

func rpcParams(action, method string) *openapi.Params {
	return &openapi.Params{
		Action: dara.String(action), Version: dara.String("2017-05-25"),
		Protocol: dara.String("HTTP"), Pathname: dara.String("/"), Method: dara.String(method),
		AuthType: dara.String("AK"), Style: dara.String("RPC"),
		ReqBodyType: dara.String("formData"), BodyType: dara.String("json"),
	}
}

func callAPI(t *testing.T, client *openapi.Client, p *openapi.Params, req *openapi.OpenApiRequest) {
	t.Helper()
	res, err := client.CallApi(p, req, &dara.RuntimeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := res["body"].(map[string]interface{})
	if body["Code"] != "OK" {
		t.Fatalf("SDK did not decode the canned answer: %v", res)
	}
}

func TestInteropDarabonbaOpenAPIV3(t *testing.T) {
	client, cp := newOpenAPIClient(t, "")

	t.Run("GetAuthToken query", func(t *testing.T) {
		callAPI(t, client, rpcParams("GetAuthToken", "POST"), &openapi.OpenApiRequest{
			Query: map[string]*string{"Url": dara.String(sdkURL), "Origin": dara.String("https://h5.example.com")},
		})
		r := serverRequest(t, cp.only(t))
		c := checkV3(t, r, "GetAuthToken")
		if len(r.Body) != 0 {
			t.Errorf("unexpected body %q", r.Body)
		}
		if !slices.Contains(c.names, "x-acs-content-sha256") || slices.Contains(c.names, "content-type") {
			t.Errorf("signed headers %v", c.names)
		}
		tamperV3(t, r)
	})

	t.Run("VerifyPhoneWithToken form body", func(t *testing.T) {
		callAPI(t, client, rpcParams("VerifyPhoneWithToken", "POST"), &openapi.OpenApiRequest{
			Query: map[string]*string{"SpToken": dara.String("sp+token/==")},
			Body:  map[string]interface{}{"PhoneNumber": "13800138000", "OutId": "out id *~"},
		})
		r := serverRequest(t, cp.only(t))
		if r.Form.Get("OutId") != "out id *~" {
			t.Fatalf("form body not parsed: %q", r.Body)
		}
		c := checkV3(t, r, "VerifyPhoneWithToken")
		if !slices.Contains(c.names, "content-type") {
			t.Errorf("content-type not signed: %v", c.names)
		}
		tamperV3(t, r)
	})

	t.Run("GET", func(t *testing.T) {
		callAPI(t, client, rpcParams("GetAuthToken", "GET"), &openapi.OpenApiRequest{
			Query: map[string]*string{"Url": dara.String(sdkURL), "Origin": dara.String("https://h5.example.com")},
		})
		r := serverRequest(t, cp.only(t))
		checkV3(t, r, "GetAuthToken")
		tamperV3(t, r)
	})
}

func TestInteropDarabonbaOpenAPIV1Mode(t *testing.T) {
	client, cp := newOpenAPIClient(t, "v2")
	callAPI(t, client, rpcParams("VerifyPhoneWithToken", "POST"), &openapi.OpenApiRequest{
		Query: map[string]*string{"SpToken": dara.String("sp+token/==")},
		Body:  map[string]interface{}{"PhoneNumber": "13800138000", "OutId": "out id *~"},
	})
	r := serverRequest(t, cp.only(t))
	if r.Form.Get("PhoneNumber") == "" {
		t.Fatalf("form body not parsed: %q", r.Body)
	}
	checkV1(t, r, "VerifyPhoneWithToken")
	tamperV1(t, r)
}

func checkV3(t *testing.T, r *Request, action string) *Claim {
	t.Helper()
	c, err := Parse(r)
	if err != nil {
		t.Fatalf("Parse: %v\n%v", err, r.Header)
	}
	if c.Version != V3 || c.AccessKeyID != sdkAK || c.Action != action || c.APIVersion != "2017-05-25" {
		t.Errorf("claim = %+v", c)
	}
	if c.Nonce == "" || time.Since(c.Timestamp) > time.Minute {
		t.Errorf("claim nonce/time: %q %v", c.Nonce, c.Timestamp)
	}
	if err := c.Verify(sdkSecret); err != nil {
		t.Fatalf("Verify(right secret) = %v", err)
	}
	if err := c.Verify("wrong"); !errors.Is(err, ErrMismatch) {
		t.Fatalf("Verify(wrong secret) = %v, want ErrMismatch", err)
	}
	return c
}

// badSignature is a claimed signature that must not verify.
type badSignature struct{ name, sig string }

// badSignatures returns the encoded MAC sig with each byte changed in turn,
// one byte short, one byte long, and not decodable. A verifier that compares
// only part of the MAC (its first bytes, its last, or as many bytes as the
// claim has) accepts one of them.
func badSignatures(t *testing.T, sig string, enc func([]byte) string, dec func(string) ([]byte, error)) []badSignature {
	t.Helper()
	mac, err := dec(sig)
	if err != nil || len(mac) < 16 {
		t.Fatalf("signature %q is not an encoded MAC: %v", sig, err)
	}
	var bad []badSignature
	for i := range mac {
		b := slices.Clone(mac)
		b[i] ^= 0x80
		bad = append(bad, badSignature{fmt.Sprintf("byte %d of %d changed", i, len(mac)), enc(b)})
	}
	bad = append(bad,
		badSignature{"one byte short", enc(mac[:len(mac)-1])},
		badSignature{"one byte long", enc(append(slices.Clone(mac), 0))},
		badSignature{"not decodable", strings.Repeat("!", len(sig))},
	)
	for _, b := range bad {
		if b.sig == sig {
			t.Fatalf("%s: the signature is unchanged", b.name)
		}
	}
	return bad
}

// tamperV3 changes every signed header, every query parameter, the body, path, host and method
// of a verified V3 request, adds an unsigned x-acs-* header, and checks each change is caught.
// Headers outside SignedHeaders (user-agent, accept) may change freely.
func tamperV3(t *testing.T, orig *Request) {
	t.Helper()
	c, err := Parse(orig)
	if err != nil {
		t.Fatal(err)
	}
	try := func(desc string, mutate func(r *Request), want error) {
		t.Helper()
		r := *orig
		r.Header = orig.Header.Clone()
		mutate(&r)
		if err := verify(&r, sdkSecret); !errors.Is(err, want) {
			t.Errorf("%s: got %v, want %v", desc, err, want)
		}
	}
	for _, name := range c.names {
		if name == "host" {
			try("host", func(r *Request) { r.Host = "127.0.0.2:8080" }, ErrMismatch)
			continue
		}
		key := http.CanonicalHeaderKey(name)
		try("change "+name, func(r *Request) { r.Header.Set(key, tamperedValue(key, r.Header.Get(key))) }, ErrMismatch)
		want := ErrMismatch // now signed as empty
		if slices.Contains(requiredSigned[:], name) {
			want = ErrIncomplete
		}
		try("remove "+name, func(r *Request) { r.Header.Del(key) }, want)
	}
	q := pairs(orig.RawQuery)
	for i, p := range q {
		changed := slices.Clone(q)
		changed[i].v += "x"
		try("query change "+p.k, func(r *Request) { r.RawQuery = encodePairs(changed) }, ErrMismatch)
		removed := slices.Delete(slices.Clone(q), i, i+1)
		try("query remove "+p.k, func(r *Request) { r.RawQuery = encodePairs(removed) }, ErrMismatch)
	}
	try("query add", func(r *Request) { r.RawQuery = encodePairs(append(slices.Clone(q), param{"Extra", "1"})) }, ErrMismatch)
	try("body", func(r *Request) { r.Body = append(slices.Clone(r.Body), '&', 'x', '=', '1') }, ErrContentHash)
	try("path", func(r *Request) { r.Path = "/x" }, ErrMismatch)
	try("method", func(r *Request) { r.Method = "PUT" }, ErrMismatch)
	try("unsigned x-acs header", func(r *Request) { r.Header.Set("X-Acs-Injected", "1") }, ErrIncomplete)
	try("unsigned content-type", func(r *Request) {
		if r.Header.Get("Content-Type") == "" {
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		} else {
			r.Header.Set("Content-Type", "application/json")
		}
	}, map[bool]error{true: ErrMismatch, false: ErrIncomplete}[slices.Contains(c.names, "content-type")])
	a := orig.Header.Get("Authorization")
	at := strings.LastIndex(a, "Signature=") + len("Signature=")
	for _, bad := range badSignatures(t, a[at:], hex.EncodeToString, hex.DecodeString) {
		try("signature "+bad.name, func(r *Request) { r.Header.Set("Authorization", a[:at]+bad.sig) }, ErrMismatch)
	}
	try("signed-headers list", func(r *Request) {
		a := r.Header.Get("Authorization")
		r.Header.Set("Authorization", strings.Replace(a, "host;", "", 1))
	}, ErrIncomplete)
	// Unsigned headers are not covered.
	try("user-agent (unsigned)", func(r *Request) { r.Header.Set("User-Agent", "other") }, nil)
	try("accept (unsigned)", func(r *Request) { r.Header.Set("Accept", "text/xml") }, nil)
}
