package sign

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"testing"
	"time"

	openapiutil "github.com/alibabacloud-go/darabonba-openapi/v2/utils"
	"github.com/alibabacloud-go/tea/dara"
)

// Fixed test vectors. Each expected value was computed once by this package, checked against
// the official SDK's own signing function (darabonba-openapi's GetRPCSignature and
// GetAuthorization, called below) and, for vector V1-doc, against Alibaba's published example.
// They are also listed in docs/signatures.md. A change here is a wire-compatibility break.

type v1Vector struct {
	name, method, ak, secret, nonce, ts string
	params                              url.Values
	wantStringToSign, wantSignature     string
}

var v1Vectors = []v1Vector{
	{
		// Alibaba Cloud's documented example for signature V1 (ECS DescribeRegions).
		name: "V1-doc", method: "GET", ak: "testid", secret: "testsecret",
		nonce: "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf", ts: "2016-02-23T12:46:24Z",
		params:           url.Values{"Action": {"DescribeRegions"}, "Format": {"XML"}, "Version": {"2014-05-26"}},
		wantStringToSign: "GET&%2F&AccessKeyId%3Dtestid%26Action%3DDescribeRegions%26Format%3DXML%26SignatureMethod%3DHMAC-SHA1%26SignatureNonce%3D3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf%26SignatureVersion%3D1.0%26Timestamp%3D2016-02-23T12%253A46%253A24Z%26Version%3D2014-05-26",
		wantSignature:    "OLeaidS1JvxuMvnyHOwuJ+uX5qY=",
	},
	{
		// A GetAuthToken as alibaba-cloud-sdk-go sends it (empty SignatureType, RegionId, JSON
		// format), with a Url that needs every encoding rule: space, '*', '~', '+', '/', '?',
		// '&', '=', '%' and non-ASCII.
		name: "V1-dypns", method: "POST", ak: "LTAI5tNumauthTestKey01", secret: "numauthTestSecret0123456789abcd",
		nonce: "6a0d5f0c4ad1e1a4c1c0f6b1b6a3a0e2", ts: "2025-01-02T03:04:05Z",
		params: url.Values{
			"Action": {"GetAuthToken"}, "Version": {"2017-05-25"}, "Format": {"JSON"},
			"RegionId": {"cn-hangzhou"}, "SignatureType": {""},
			"Url":    {"https://h5.example.com/登录 page?a=1&b=*~+/%20"},
			"Origin": {"https://h5.example.com"},
		},
		wantStringToSign: "POST&%2F&AccessKeyId%3DLTAI5tNumauthTestKey01%26Action%3DGetAuthToken%26Format%3DJSON%26Origin%3Dhttps%253A%252F%252Fh5.example.com%26RegionId%3Dcn-hangzhou%26SignatureMethod%3DHMAC-SHA1%26SignatureNonce%3D6a0d5f0c4ad1e1a4c1c0f6b1b6a3a0e2%26SignatureType%3D%26SignatureVersion%3D1.0%26Timestamp%3D2025-01-02T03%253A04%253A05Z%26Url%3Dhttps%253A%252F%252Fh5.example.com%252F%25E7%2599%25BB%25E5%25BD%2595%2520page%253Fa%253D1%2526b%253D%252A~%252B%252F%252520%26Version%3D2017-05-25",
		wantSignature:    "V3G2wuzGbBY1nGotL/8wnBAdgY4=",
	},
}

func mustTime(t testing.TB, s string) time.Time {
	t.Helper()
	ts, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return ts
}

func TestV1Vectors(t *testing.T) {
	for _, v := range v1Vectors {
		t.Run(v.name, func(t *testing.T) {
			signed := SignV1(v.method, v.params, v.ak, v.secret, mustTime(t, v.ts), v.nonce)
			if got := signed.Get("Signature"); got != v.wantSignature {
				t.Errorf("SignV1 Signature = %q, want %q", got, v.wantSignature)
			}

			// The string to sign, as Parse sees the signed request.
			r := &Request{Method: v.method, Host: "h", Path: "/", RawQuery: signed.Encode()}
			c, err := Parse(r)
			if err != nil {
				t.Fatal(err)
			}
			if got := string(appendStringToSignV1(nil, r.Method, c.params)); got != v.wantStringToSign {
				t.Errorf("string to sign\n got %s\nwant %s", got, v.wantStringToSign)
			}
			if err := c.Verify(v.secret); err != nil {
				t.Errorf("Verify: %v", err)
			}

			// Cross-check with the official SDK's RPC signer (same algorithm as alibaba-cloud-sdk-go).
			sp := map[string]*string{}
			for k := range signed {
				if k != "Signature" {
					sp[k] = dara.String(signed.Get(k))
				}
			}
			if got := dara.StringValue(openapiutil.GetRPCSignature(sp, dara.String(v.method), dara.String(v.secret))); got != v.wantSignature {
				t.Errorf("SDK GetRPCSignature = %q, want %q", got, v.wantSignature)
			}
		})
	}
}

// V3 vector: an RPC-style POST as darabonba-openapi sends it, with query parameters and a form
// body.
const (
	v3AK            = "LTAI5tNumauthTestKey01"
	v3Secret        = "numauthTestSecret0123456789abcd"
	v3Body          = "PhoneNumber=13800138000&SpToken=sp%2Btoken%3D%3D"
	v3Query         = "Origin=https%3A%2F%2Fh5.example.com&Url=https%3A%2F%2Fh5.example.com%2F%E7%99%BB%E5%BD%95+page%3Fa%3D1%26b%3D%2A~%2B%2F%2520&SceneCode=FC100000"
	v3WantCanonical = "POST\n/\n" +
		"Origin=https%3A%2F%2Fh5.example.com&SceneCode=FC100000&Url=https%3A%2F%2Fh5.example.com%2F%E7%99%BB%E5%BD%95%20page%3Fa%3D1%26b%3D%2A~%2B%2F%2520\n" +
		"content-type:application/x-www-form-urlencoded\n" +
		"host:dypnsapi.aliyuncs.com\n" +
		"x-acs-action:GetAuthToken\n" +
		"x-acs-content-sha256:" + v3BodyHash + "\n" +
		"x-acs-date:2025-01-02T03:04:05Z\n" +
		"x-acs-signature-nonce:6a0d5f0c4ad1e1a4c1c0f6b1b6a3a0e2\n" +
		"x-acs-version:2017-05-25\n" +
		"\n" +
		"content-type;host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version\n" +
		v3BodyHash
	v3BodyHash          = "f7d9b916975565021199c151e45f4f663eac10840d6d6b0f5fd24dc4f00378ff"
	v3WantAuthorization = "ACS3-HMAC-SHA256 Credential=LTAI5tNumauthTestKey01,SignedHeaders=content-type;host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version,Signature=" + v3WantSignature
	v3WantSignature     = "1ce192577c2768f634261a5dec2b564ce93d03f46fd568130bf791a730e3e794"
)

func v3VectorRequest(t testing.TB) *http.Request {
	t.Helper()
	req, err := http.NewRequest("POST", "http://dypnsapi.aliyuncs.com/?"+v3Query, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("x-acs-action", "GetAuthToken")
	req.Header.Set("x-acs-version", "2017-05-25")
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("User-Agent", "not signed")
	return req
}

func TestV3Vector(t *testing.T) {
	if sum := sha256.Sum256([]byte(v3Body)); hex.EncodeToString(sum[:]) != v3BodyHash {
		t.Fatalf("body hash = %x", sum)
	}
	req := v3VectorRequest(t)
	if err := SignV3(req, []byte(v3Body), v3AK, v3Secret, mustTime(t, "2025-01-02T03:04:05Z"), "6a0d5f0c4ad1e1a4c1c0f6b1b6a3a0e2"); err != nil {
		t.Fatal(err)
	}
	if got := req.Header.Get("Authorization"); got != v3WantAuthorization {
		t.Errorf("Authorization\n got %s\nwant %s", got, v3WantAuthorization)
	}

	r, err := FromHTTP(req, []byte(v3Body))
	if err != nil {
		t.Fatal(err)
	}
	c, err := Parse(r)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(appendCanonicalRequestV3(nil, r, c.params, c.names, c.signedHeaders, c.payloadHash)); got != v3WantCanonical {
		t.Errorf("canonical request\n got %q\nwant %q", got, v3WantCanonical)
	}
	if err := c.Verify(v3Secret); err != nil {
		t.Errorf("Verify: %v", err)
	}

	// Cross-check with the official SDK's V3 signer over the same request.
	q, _ := url.ParseQuery(v3Query)
	dq := map[string]*string{}
	for k := range q {
		dq[k] = dara.String(q.Get(k))
	}
	dh := map[string]*string{"user-agent": dara.String("not signed"), "accept": dara.String("application/json")}
	for _, n := range c.names {
		if n == "host" {
			dh[n] = dara.String(r.Host)
		} else {
			dh[n] = dara.String(r.Header.Get(n))
		}
	}
	dreq := &dara.Request{Method: dara.String("POST"), Pathname: dara.String("/"), Query: dq, Headers: dh}
	got := dara.StringValue(openapiutil.GetAuthorization(dreq, dara.String(v3Algorithm), dara.String(v3BodyHash), dara.String(v3AK), dara.String(v3Secret)))
	if got != v3WantAuthorization {
		t.Errorf("SDK GetAuthorization\n got %s\nwant %s", got, v3WantAuthorization)
	}
}
