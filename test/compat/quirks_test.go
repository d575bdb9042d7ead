package compat

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	sdkerrors "github.com/aliyun/alibaba-cloud-sdk-go/sdk/errors"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/dypnsapi"

	"github.com/numauth/numauth/test/harness"
)

// Behaviours particular to one SDK.

// TestV3ReadsXMLErrors asks for XML (Format=XML) through the V3 SDK: it
// recognises an XML error answer only by the exact Content-Type
// "text/xml;charset=utf-8" and then reads the code from <Error>.
func TestV3ReadsXMLErrors(t *testing.T) {
	in := start(t)
	xmlQuery := map[string]string{"Format": "XML", "Url": "https://x.example.com/", "Origin": "https://x.example.com"}
	newV3(t, in.Addr, harness.AccessKeyID, harness.AccessKeySecret).Call(t, "NoSuchAction", xmlQuery).
		want(t, "unknown action, XML", http.StatusNotFound, "InvalidAction.NotFound")
	newV3(t, in.Addr, harness.AccessKeyID, "wrong-secret-0123456789").Call(t, "GetAuthToken", xmlQuery).
		want(t, "wrong secret, XML", http.StatusBadRequest, "SignatureDoesNotMatch")
	newV3(t, in.Addr, harness.AccessKeyID, harness.AccessKeySecret).Call(t, "GetAuthToken", map[string]string{"Format": "XML"}).
		want(t, "missing Url, XML", http.StatusBadRequest, "MissingUrl")
}

// TestThrottling runs numauth with a per-key limit of 2 calls a second: a
// burst gets Throttling.User (HTTP 400), which the V3 SDK surfaces as its
// ThrottlingError, and the V1 SDK as a ServerError.
func TestThrottling(t *testing.T) {
	in := harness.Start(t, harness.Options{Args: []string{"--throttle", "2"}})
	for _, s := range allSDKs(t, in) {
		throttled := 0
		for range 8 {
			o := probe(t, s)
			switch {
			case o.Status == http.StatusBadRequest && o.Code == "Throttling.User":
				throttled++
			case o.Status != http.StatusOK:
				t.Fatalf("%s: %v, want a business answer or Throttling.User", s.Name(), o)
			}
		}
		if throttled == 0 {
			t.Errorf("%s: 8 calls in a burst, none throttled at 2/s", s.Name())
		}
	}
}

// TestV1SignatureMismatchRecommendation: when Alibaba refuses a V1
// signature its message ends with "server string to sign is:" and its
// StringToSign. The V1 SDK compares that with its own StringToSign and,
// when they are equal, tells the user the secret is wrong
// (sdk/errors/signature_does_not_match_wrapper.go: Recommend =
// "InvalidAccessKeySecret: Please check you AccessKeySecret").
func TestV1SignatureMismatchRecommendation(t *testing.T) {
	in := start(t)
	s := newV1(t, in.Addr, harness.AccessKeyID, "wrong-secret-0123456789")
	req := dypnsapi.CreateGetAuthTokenRequest()
	req.Url, req.Origin = "https://x.example.com/", "https://x.example.com"
	_, err := s.c.GetAuthToken(req)
	var se *sdkerrors.ServerError
	if !errors.As(err, &se) || se.ErrorCode() != "SignatureDoesNotMatch" {
		t.Fatalf("wrong secret: %v, want SignatureDoesNotMatch", err)
	}
	if !strings.Contains(se.Message(), "server string to sign is:") {
		t.Errorf("Message %q does not carry the server's StringToSign", se.Message())
	}
	if want := "InvalidAccessKeySecret: Please check you AccessKeySecret"; se.Recommend() != want {
		t.Errorf("Recommend = %q, want %q", se.Recommend(), want)
	}
}
