package aliyun

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/numauth/numauth/internal/openapi/sign"
	"github.com/numauth/numauth/internal/sms/smstest"
)

// peer is Alibaba's SendSms as a loopback HTTP server: it checks each
// request's V1 signature with numauth's own verifier (internal/openapi/sign,
// which the openapi package's tests check against the official SDKs), and
// answers as Alibaba documents it, in Alibaba's JSON envelopes. It renders
// nothing; it records what a real SendSms would render from.
type peer struct {
	srv     *httptest.Server
	secrets map[string]string // AccessKey ID → secret

	requests atomic.Int64 // every HTTP request, answered or not
	outage   atomic.Int32 // outageOff, outage503, outageHangup
	delay    atomic.Int64 // nanoseconds to wait before answering

	mu       sync.Mutex
	received map[string][]smstest.Delivered // by PhoneNumbers, oldest first
	rejected map[string]bool                // PhoneNumbers answered isv.MOBILE_NUMBER_ILLEGAL
	forced   map[string]forcedAnswer        // PhoneNumbers answered so
	nonces   map[string]bool
	bizSeq   int64
}

const (
	outageOff int32 = iota
	outage503
	outageHangup
)

// forcedAnswer is an answer the peer gives for one number instead of
// sending. A body of "" is Alibaba's envelope with code and a message.
type forcedAnswer struct {
	status int
	code   string
	body   string
}

const (
	peerAK     = "LTAI5tPeerAccessKeyId"
	peerSecret = "peer-secret-0123456789abcdef"
	apiVersion = "2017-05-25"
)

func startPeer(t *testing.T) *peer {
	t.Helper()
	p := &peer{
		secrets:  map[string]string{peerAK: peerSecret},
		received: map[string][]smstest.Delivered{},
		rejected: map[string]bool{},
		forced:   map[string]forcedAnswer{},
		nonces:   map[string]bool{},
		bizSeq:   time.Now().UnixNano() % 1e9 * 1e8,
	}
	p.srv = httptest.NewServer(http.HandlerFunc(p.serve)) // 127.0.0.1, a free port
	t.Cleanup(p.srv.Close)
	return p
}

// endpoint is the --sms-aliyun-endpoint that reaches the peer.
func (p *peer) endpoint() string { return p.srv.URL }

func (p *peer) reject(phoneNumbers string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rejected[phoneNumbers] = true
}

func (p *peer) force(phoneNumbers string, a forcedAnswer) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.forced[phoneNumbers] = a
}

// got returns what the peer accepted for one PhoneNumbers value.
func (p *peer) got(phoneNumbers string) []smstest.Delivered {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]smstest.Delivered(nil), p.received[phoneNumbers]...)
}

func (p *peer) serve(w http.ResponseWriter, r *http.Request) {
	p.requests.Add(1)
	if d := time.Duration(p.delay.Load()); d > 0 {
		select {
		case <-time.After(d):
		case <-r.Context().Done():
			return
		}
	}
	switch p.outage.Load() {
	case outage503:
		gatewayError(w, http.StatusServiceUnavailable, "ServiceUnavailable", "The request has failed due to a temporary failure of the server.")
		return
	case outageHangup:
		if c, _, err := http.NewResponseController(w).Hijack(); err == nil {
			c.Close()
		}
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		gatewayError(w, http.StatusBadRequest, "InvalidParameter", "cannot read the body")
		return
	}
	params, ok := p.authenticate(w, r, body)
	if !ok {
		return
	}
	p.sendSms(w, params)
}

// authenticate checks the request as Alibaba's gateway does: the V1
// signature under the AccessKey's secret, the time, the nonce, the action.
// It answers the refusal itself and returns the parameters when all hold.
func (p *peer) authenticate(w http.ResponseWriter, r *http.Request, body []byte) (url.Values, bool) {
	req, err := sign.FromHTTP(r, body)
	if err != nil {
		gatewayError(w, http.StatusBadRequest, "InvalidParameter", "The query string or form body is not well-formed.")
		return nil, false
	}
	claim, err := sign.Parse(req)
	if err != nil {
		code := "IncompleteSignature"
		switch {
		case errors.Is(err, sign.ErrMethod):
			code = "InvalidSignatureMethod"
		case errors.Is(err, sign.ErrVersion):
			code = "InvalidSignatureVersion"
		case errors.Is(err, sign.ErrTimestampFormat):
			code = "InvalidTimeStamp.Format"
		case errors.Is(err, sign.ErrMalformedQuery):
			code = "InvalidParameter"
		}
		gatewayError(w, http.StatusBadRequest, code, "The request signature does not conform to Aliyun standards.")
		return nil, false
	}
	if claim.Version != sign.V1 {
		gatewayError(w, http.StatusBadRequest, "IncompleteSignature", "this peer expects the V1 signature of alibaba-cloud-sdk-go")
		return nil, false
	}
	secret, known := p.secrets[claim.AccessKeyID]
	if !known {
		gatewayError(w, http.StatusNotFound, "InvalidAccessKeyId.NotFound", "Specified access key is not found.")
		return nil, false
	}
	if claim.Verify(secret) != nil {
		// As Alibaba: the message ends with the server's string to sign, so
		// the SDK can tell a wrong secret from a different request.
		gatewayError(w, http.StatusBadRequest, "SignatureDoesNotMatch",
			"Specified signature does not match our calculation. server string to sign is:"+claim.StringToSign())
		return nil, false
	}
	if skew := time.Since(claim.Timestamp); skew > 15*time.Minute || skew < -15*time.Minute {
		gatewayError(w, http.StatusBadRequest, "InvalidTimeStamp.Expired", "Specified time stamp or date value is expired.")
		return nil, false
	}
	p.mu.Lock()
	used := p.nonces[claim.Nonce]
	p.nonces[claim.Nonce] = true
	p.mu.Unlock()
	if used {
		gatewayError(w, http.StatusBadRequest, "SignatureNonceUsed", "Specified signature nonce was used already.")
		return nil, false
	}
	if claim.Action != "SendSms" {
		gatewayError(w, http.StatusNotFound, "InvalidAction.NotFound", "Specified api is not found, please check your url and method.")
		return nil, false
	}
	if claim.APIVersion != apiVersion {
		gatewayError(w, http.StatusBadRequest, "InvalidVersion", "Specified parameter Version is not valid.")
		return nil, false
	}
	params := r.URL.Query()
	for k, vs := range req.Form {
		params[k] = append(params[k], vs...)
	}
	return params, true
}

// sendSms answers a signed SendSms as Alibaba documents it: HTTP 200 with
// Code OK and a BizId, or HTTP 200 with the business error's Code.
func (p *peer) sendSms(w http.ResponseWriter, params url.Values) {
	number := params.Get("PhoneNumbers")
	p.mu.Lock()
	forced, isForced := p.forced[number]
	refused := p.rejected[number]
	p.mu.Unlock()
	if isForced {
		if forced.body != "" {
			w.Header().Set("Content-Type", "application/json;charset=utf-8")
			w.WriteHeader(forced.status)
			io.WriteString(w, forced.body)
			return
		}
		writeJSON(w, forced.status, map[string]string{"RequestId": requestID(), "Code": forced.code, "Message": "forced by the test"})
		return
	}
	switch {
	case number == "" || strings.Contains(number, ",") || strings.Trim(number, "0123456789") != "" || len(number) < 7 || len(number) > 15 || refused:
		businessError(w, "isv.MOBILE_NUMBER_ILLEGAL", "非法手机号")
		return
	case params.Get("SignName") == "":
		businessError(w, "isv.SMS_SIGNATURE_ILLEGAL", "该账号下找不到对应签名")
		return
	case params.Get("TemplateCode") == "":
		businessError(w, "isv.SMS_TEMPLATE_ILLEGAL", "该账号下找不到对应模板")
		return
	}
	var tp map[string]string
	if raw := params.Get("TemplateParam"); raw != "" {
		if err := json.Unmarshal([]byte(raw), &tp); err != nil {
			businessError(w, "isv.INVALID_JSON_PARAM", "JSON参数不合法，只接受字符串值")
			return
		}
	}
	p.mu.Lock()
	p.bizSeq++
	biz := fmt.Sprintf("%d^0", p.bizSeq)
	p.received[number] = append(p.received[number], smstest.Delivered{
		SignName: params.Get("SignName"), TemplateCode: params.Get("TemplateCode"),
		Params: maps.Clone(tp), ID: params.Get("OutId"),
	})
	p.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]string{"RequestId": requestID(), "Code": "OK", "Message": "OK", "BizId": biz})
}

func requestID() string { return strings.ToUpper(uuid.NewString()) }

func businessError(w http.ResponseWriter, code, msg string) {
	writeJSON(w, http.StatusOK, map[string]string{"RequestId": requestID(), "Code": code, "Message": msg})
}

// gatewayError is the OpenAPI gateway's refusal, before the action runs.
func gatewayError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]string{
		"RequestId": requestID(), "HostId": publicEndpoint, "Code": code, "Message": msg,
		"Recommend": "https://api.aliyun.com/troubleshoot?q=" + code + "&product=Dysmsapi",
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json;charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
