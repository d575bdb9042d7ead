package sign

import (
	"crypto/hmac"
	"crypto/sha1"
	"net/url"
	"testing"
)

// The benchmarks verify requests shaped like the official SDKs' (see sdk_test.go): a V1
// GetAuthToken with every parameter in the query as alibaba-cloud-sdk-go sends it, and a V3
// VerifyPhoneWithToken with a query parameter and a form body as darabonba-openapi sends it.
// "Verify" is Parse + Claim.Verify, the whole per-request cost; the sub-benchmarks split it.
// Numbers measured are recorded in docs/signatures.md.

func benchV1Request() *Request {
	p := url.Values{
		"Action": {"GetAuthToken"}, "Version": {"2017-05-25"}, "Format": {"JSON"},
		"RegionId": {"cn-hangzhou"}, "SignatureType": {""},
		"Url":    {"https://h5.example.com/login?from=app"},
		"Origin": {"https://h5.example.com"},
	}
	signed := SignV1("POST", p, testAK, testSecret, testNow, "54555fcbde7a35139b12b015e40d940a")
	return &Request{Method: "POST", Host: "127.0.0.1:8080", Path: "/", RawQuery: signed.Encode()}
}

func benchV3Request(b *testing.B) *Request {
	return v3Request(b, "OutId=out+id&PhoneNumber=13800138000")
}

func benchVerify(b *testing.B, r *Request) {
	b.Run("Verify", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			c, err := Parse(r)
			if err != nil {
				b.Fatal(err)
			}
			if err := c.Verify(testSecret); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("ParseOnly", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := Parse(r); err != nil {
				b.Fatal(err)
			}
		}
	})
	c, err := Parse(r)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("VerifyOnly", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := c.Verify(testSecret); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkV1(b *testing.B) { benchVerify(b, benchV1Request()) }

func BenchmarkV3(b *testing.B) { benchVerify(b, benchV3Request(b)) }

// BenchmarkMAC compares the pooled single-buffer HMAC used by Verify with crypto/hmac over the
// same V1 string to sign, to keep the choice honest.
func BenchmarkMAC(b *testing.B) {
	c, err := Parse(benchV1Request())
	if err != nil {
		b.Fatal(err)
	}
	msg := appendStringToSignV1(nil, "POST", c.params)
	b.Run("pooled", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			macV1("POST", c.params, testSecret)
		}
	})
	b.Run("crypto-hmac", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			m := hmac.New(sha1.New, []byte(testSecret+"&"))
			m.Write(appendStringToSignV1(msg[:0], "POST", c.params))
			m.Sum(nil)
		}
	})
}
