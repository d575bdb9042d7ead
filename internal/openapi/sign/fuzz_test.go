package sign

import (
	"errors"
	"net/http"
	"net/textproto"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// isSentinel reports whether err is one of the errors Parse and Verify may return.
func isSentinel(err error) bool {
	for _, s := range []error{ErrIncomplete, ErrMethod, ErrVersion, ErrTimestampFormat, ErrMismatch, ErrContentHash, ErrMalformedQuery} {
		if err == s {
			return true
		}
	}
	return false
}

func FuzzParseAuthorization(f *testing.F) {
	f.Add(v3WantAuthorization)
	f.Add("ACS3-HMAC-SHA256 Credential=a, SignedHeaders=host;x-acs-date ,Signature=00")
	f.Add("ACS3-HMAC-SM3 Credential=a,SignedHeaders=host,Signature=00")
	f.Add("ACS3-HMAC-SHA256 Credential=a,,Signature=00")
	f.Add("ACS3-HMAC-SHA256  Credential==,SignedHeaders=;,Signature=")
	f.Add("acs AK:sig")
	f.Fuzz(func(t *testing.T, s string) {
		a, err := parseAuthorization(s)
		if err != nil {
			if err != ErrIncomplete && err != ErrMethod {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		if a.algorithm != v3Algorithm || a.credential == "" || a.signedHeaders == "" || a.signature == "" {
			t.Fatalf("accepted incomplete %q: %+v", s, a)
		}
		// Re-serialised canonically, it parses to the same fields.
		again, err := parseAuthorization(v3Algorithm + " Credential=" + a.credential + ",SignedHeaders=" + a.signedHeaders + ",Signature=" + a.signature)
		if err != nil || again != a {
			t.Fatalf("round trip of %q: %+v %v", s, again, err)
		}
		names, ok := checkSignedHeaders(nil, a.signedHeaders)
		if ok {
			if strings.Join(names, ";") != a.signedHeaders || !slices.IsSorted(names) || len(slices.Compact(slices.Clone(names))) != len(names) {
				t.Fatalf("bad SignedHeaders accepted: %q", a.signedHeaders)
			}
			for _, n := range names {
				if n == "" || n != strings.ToLower(n) {
					t.Fatalf("bad name %q", n)
				}
			}
		}
		// The whole V3 path does not panic on it either.
		r := &Request{Method: "GET", Host: "h", Header: http.Header{
			"Authorization":         {s},
			"X-Acs-Date":            {"2025-01-02T03:04:05Z"},
			"X-Acs-Signature-Nonce": {"n"},
			"X-Acs-Content-Sha256":  {"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
			"X-Acs-Action":          {"A"},
			"X-Acs-Version":         {"V"},
		}}
		if c, err := Parse(r); err == nil {
			if err := c.Verify("secret"); err != nil && !isSentinel(err) {
				t.Fatal(err)
			}
		} else if !isSentinel(err) {
			t.Fatal(err)
		}
	})
}

func FuzzParseV1(f *testing.F) {
	f.Add(v1Request(baseV1()).RawQuery, "")
	signed := SignV1("POST", baseV1(), testAK, testSecret, testNow, testNonce)
	f.Add("Signature="+url.QueryEscape(signed.Get("Signature")), signed.Encode())
	f.Add("a=%zz&b", "c=1;d=2")
	f.Add("=&&a==b&%E4%B8%AD=+", "x")
	f.Fuzz(func(t *testing.T, query, body string) {
		// appendQuery accepts exactly what url.ParseQuery accepts, with the same pairs.
		ps, err := appendQuery(nil, query)
		want, wantErr := url.ParseQuery(query)
		if (err != nil) != (wantErr != nil) {
			t.Fatalf("appendQuery(%q) err=%v, ParseQuery err=%v", query, err, wantErr)
		}
		if err == nil {
			got := url.Values{}
			for _, p := range ps {
				got.Add(p.k, p.v)
			}
			if got.Encode() != want.Encode() {
				t.Fatalf("appendQuery(%q) = %v, ParseQuery = %v", query, got, want)
			}
		}

		form, ferr := url.ParseQuery(body)
		if ferr != nil {
			form = nil
		}
		for _, method := range []string{"GET", "POST"} {
			c, err := Parse(&Request{Method: method, Host: "h", Path: "/", RawQuery: query, Form: form})
			if err != nil {
				if !isSentinel(err) {
					t.Fatalf("Parse error %v", err)
				}
				continue
			}
			if c.Version != V1 || c.AccessKeyID == "" || c.Nonce == "" {
				t.Fatalf("incomplete claim accepted: %+v", c)
			}
			if err := c.Verify(testSecret); err != nil && err != ErrMismatch {
				t.Fatalf("Verify error %v", err)
			}
		}
	})
}

// FuzzParse drives Parse and Verify with arbitrary method, host, path, query, headers and body.
// Headers come as "Name: value" lines; keys are canonicalized as net/http would.
func FuzzParse(f *testing.F) {
	v3 := v3Request(f, "PhoneNumber=1")
	var hdr strings.Builder
	for k, vs := range v3.Header {
		for _, v := range vs {
			hdr.WriteString(k + ": " + v + "\n")
		}
	}
	f.Add("POST", v3.Host, v3.Path, v3.RawQuery, hdr.String(), []byte("PhoneNumber=1"))
	f.Add("GET", "h", "/", v1Request(baseV1()).RawQuery, "Authorization: Basic x\n", []byte(nil))
	f.Add("GET", "h", "", "", "Authorization: ACS3-HMAC-SHA256 Credential=a,SignedHeaders=host,Signature=00\n", []byte("x"))
	f.Add("PUT", "", "%7E*+", "a=1", "X-Acs-Date: 2025-01-02T03:04:05Z\nContent-Type: application/x-www-form-urlencoded\n", []byte("a=%zz"))
	f.Fuzz(func(t *testing.T, method, host, path, query, headers string, body []byte) {
		h := http.Header{}
		for line := range strings.SplitSeq(headers, "\n") {
			k, v, ok := strings.Cut(line, ":")
			if !ok {
				continue
			}
			h.Add(textproto.CanonicalMIMEHeaderKey(strings.TrimSpace(k)), strings.TrimSpace(v))
		}
		r := &Request{Method: method, Host: host, Path: path, RawQuery: query, Header: h, Body: body}
		if isForm(h.Get("Content-Type")) {
			if form, err := url.ParseQuery(string(body)); err == nil {
				r.Form = form
			}
		}
		c, err := Parse(r)
		if err != nil {
			if !isSentinel(err) {
				t.Fatalf("Parse error %v", err)
			}
			return
		}
		if c.AccessKeyID == "" || c.Nonce == "" || c.Timestamp.IsZero() {
			t.Fatalf("incomplete claim accepted: %+v", c)
		}
		for _, secret := range []string{"", "s", strings.Repeat("k", 100)} {
			if err := c.Verify(secret); err != nil && !errors.Is(err, ErrMismatch) && !errors.Is(err, ErrContentHash) {
				t.Fatalf("Verify error %v", err)
			}
		}
	})
}
