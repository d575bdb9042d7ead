package aliyun

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/numauth/numauth/internal/sms"
)

// answerTransport answers every request with one status and body, in
// memory: the fuzzer's Alibaba.
type answerTransport struct {
	status int
	body   string
}

func (a answerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	return &http.Response{
		StatusCode: a.status, Status: http.StatusText(a.status), Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header:  http.Header{"Content-Type": {"application/json;charset=utf-8"}},
		Body:    io.NopCloser(strings.NewReader(a.body)),
		Request: r,
	}, nil
}

// FuzzAnswer feeds any answer through the official SDK's parsing and the
// provider's mapping: no answer panics numauth, every failure is exactly one
// of ErrRejected and ErrUnavailable, success needs Code OK and a BizId, and
// neither the error nor the log ever holds the number or the code, however
// the answer quotes them.
func FuzzAnswer(f *testing.F) {
	const code = "73915"
	for _, seed := range []struct {
		status int
		body   string
	}{
		{200, `{"RequestId":"A1","Code":"OK","Message":"OK","BizId":"900619746936498440^0"}`},
		{200, `{"RequestId":"A2","Code":"isv.MOBILE_NUMBER_ILLEGAL","Message":"非法手机号"}`},
		{200, `{"RequestId":"A3","Code":"isv.BUSINESS_LIMIT_CONTROL","Message":"触发号码天级流控Permits:10"}`},
		{400, `{"RequestId":"A4","HostId":"dysmsapi.aliyuncs.com","Code":"SignatureDoesNotMatch","Message":"Specified signature does not match our calculation. server string to sign is:POST&%2F&PhoneNumbers%3D13800138000%26TemplateParam%3D%257B%2522code%2522%253A%252273915%2522%257D","Recommend":"x"}`},
		{404, `{"Code":"InvalidAccessKeyId.NotFound","Message":"Specified access key is not found."}`},
		{503, `{"Code":503,"RequestId":["x"]}`},
		{502, `<html>502</html>`},
		{200, `{"Code":"OK"}`},
		{200, `{"Code":"73915","Message":"13800138000","RequestId":"8613800138000"}`},
		{200, `{"Code":"isv.X","Message":"\u0000\n"}`},
		{200, ``},
		{307, ``},
		{200, `{"Code":"OK","BizId":123}`},
	} {
		f.Add(seed.status, seed.body)
	}
	f.Fuzz(func(t *testing.T, status int, body string) {
		if status < 100 || status > 999 {
			return // net/http's client refuses these before the SDK sees them
		}
		logger, logs := testLogger()
		p, err := New(Config{
			AccessKeyID: peerAK, AccessKeySecret: peerSecret, Timeout: time.Second,
			Logger: logger, Transport: answerTransport{status, body},
		})
		if err != nil {
			t.Fatal(err)
		}
		a, err := p.Send(context.Background(), message("+8613800138000", "fuzz", code))
		if err == nil {
			if a.ProviderID == "" || a.Status != sms.StatusPending {
				t.Fatalf("accepted %+v", a)
			}
			if status < 200 || status > 299 || !strings.Contains(body, "OK") {
				t.Fatalf("HTTP %d %q accepted as %+v", status, body, a)
			}
			return
		}
		if errors.Is(err, sms.ErrRejected) == errors.Is(err, sms.ErrUnavailable) {
			t.Fatalf("HTTP %d %q: %v wraps both or neither of ErrRejected and ErrUnavailable", status, body, err)
		}
		if status >= 500 && errors.Is(err, sms.ErrRejected) {
			t.Fatalf("HTTP %d is an outage, not a refusal: %v", status, err)
		}
		for _, s := range []string{err.Error(), logs.String()} {
			if strings.Contains(s, code) || strings.Contains(s, "13800138000") {
				t.Fatalf("HTTP %d %q: the error or log holds the code or the number:\n%s", status, body, s)
			}
		}
	})
}
