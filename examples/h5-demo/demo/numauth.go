package demo

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/auth/credentials"
	sdkerrors "github.com/aliyun/alibaba-cloud-sdk-go/sdk/errors"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/responses"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/dypnsapi"
)

// APIError is a numauth answer that is not OK, or a failure to reach it.
// Code is numauth's code (for example "isv.TOKEN_INVALID",
// "FREQUENCY_FAIL" or "SignatureDoesNotMatch"), or "NumauthUnreachable"
// when no answer came.
type APIError struct {
	Code      string
	Message   string
	RequestID string
	// Business is set for an answer of the action itself (HTTP 200 with a
	// Code that is not OK: a used token, an SMS sent too soon), a result to
	// show; it is unset when numauth refused the call (signature,
	// throttling: HTTP 4xx/5xx) or could not be reached.
	Business bool
}

func (e *APIError) Error() string { return e.Code + ": " + e.Message }

// CodeUnreachable is the code of an APIError for a call that got no answer.
const CodeUnreachable = "NumauthUnreachable"

// api calls numauth's server API with the official Alibaba Cloud Go SDK
// (github.com/aliyun/alibaba-cloud-sdk-go/services/dypnsapi), pointed at
// numauth instead of Alibaba Cloud: the client's Domain is numauth's
// host:port, and the scheme follows numauth's URL (plain HTTP on a laptop).
type api struct {
	scheme  string // "HTTP" or "HTTPS"
	host    string // host:port
	keyID   string
	secret  string
	timeout time.Duration
	// transport is shared by every SDK client, so that connections are
	// reused. It is wrapped in a type that is not *http.Transport: the SDK
	// rewrites an *http.Transport's dialer on every call, which would race.
	transport http.RoundTripper
}

func newAPI(endpoint, keyID, secret string, timeout time.Duration) (*api, error) {
	u, err := url.Parse(endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("numauth endpoint %q: want http(s)://host[:port]", endpoint)
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
		return nil, fmt.Errorf("numauth endpoint %q: the SDK calls the root of a host; give no path, query or user", endpoint)
	}
	if keyID == "" || secret == "" {
		return nil, errors.New("an AccessKey id and secret are required")
	}
	return &api{
		scheme: strings.ToUpper(u.Scheme), host: u.Host, keyID: keyID, secret: secret, timeout: timeout,
		transport: roundTripper{http.DefaultTransport.(*http.Transport).Clone()},
	}, nil
}

type roundTripper struct{ t *http.Transport }

func (r roundTripper) RoundTrip(req *http.Request) (*http.Response, error) { return r.t.RoundTrip(req) }

// client returns a fresh SDK client. The SDK's Client sets its own HTTP
// client's timeout on every call, so one Client must not serve concurrent
// calls; a client per call is cheap and shares the connection pool.
func (a *api) client() (*dypnsapi.Client, error) {
	cfg := sdk.NewConfig().WithScheme(a.scheme).WithTimeout(a.timeout).WithAutoRetry(false)
	cfg.Transport = a.transport
	c, err := dypnsapi.NewClientWithOptions("cn-hangzhou", cfg, credentials.NewAccessKeyCredential(a.keyID, a.secret))
	if err != nil {
		return nil, &APIError{Code: CodeUnreachable, Message: err.Error()}
	}
	c.Domain = a.host
	return c, nil
}

// check turns an SDK call's outcome into nil or an *APIError. Business
// errors come back as HTTP 200 with a non-OK Code (err is nil then); gateway
// errors (signature, throttling) as an SDK server error.
func check(err error, code, msg, requestID string) error {
	if err != nil {
		var se *sdkerrors.ServerError
		if errors.As(err, &se) {
			return &APIError{Code: se.ErrorCode(), Message: se.Message(), RequestID: se.RequestId()}
		}
		return unreachable(err)
	}
	if code != "OK" {
		return &APIError{Code: code, Message: msg, RequestID: requestID, Business: true}
	}
	return nil
}

// unreachable is the APIError of a call that got no answer. Its message,
// which the page shows, leaves out the request's URL: that carries the
// AccessKeyId, the signature and the call's parameters (a phone number).
func unreachable(err error) *APIError {
	msg := err.Error()
	var ce *sdkerrors.ClientError
	var ue *url.Error
	switch {
	case errors.As(err, &ce):
		msg = ce.Message()
	case errors.As(err, &ue):
		msg = ue.Err.Error()
	}
	return &APIError{Code: CodeUnreachable, Message: "no answer from numauth: " + msg}
}

// getAuthToken mints the AccessToken/JwtToken pair for the page. biz is
// "" (both flows), "verify" or "login".
func (a *api) getAuthToken(pageURL, origin, sceneCode, biz string) (dypnsapi.TokenInfo, error) {
	c, err := a.client()
	if err != nil {
		return dypnsapi.TokenInfo{}, err
	}
	req := dypnsapi.CreateGetAuthTokenRequest()
	req.Url, req.Origin, req.SceneCode = pageURL, origin, sceneCode
	switch biz {
	case "verify":
		req.BizType = requests.NewInteger(0)
	case "login":
		req.BizType = requests.NewInteger(1)
	}
	res, err := c.GetAuthToken(req)
	if err := check(err, res.Code, res.Message, res.RequestId); err != nil {
		return dypnsapi.TokenInfo{}, err
	}
	return res.TokenInfo, nil
}

// createScheme registers an H5 scheme for the page and returns its code.
func (a *api) createScheme(name, pageURL, origin string) (string, error) {
	c, err := a.client()
	if err != nil {
		return "", err
	}
	req := dypnsapi.CreateCreateVerifySchemeRequest()
	req.SchemeName, req.AppName, req.OsType = name, "numauth H5 demo", "H5"
	req.Origin, req.Url = origin, pageURL
	res, err := c.CreateVerifyScheme(req)
	if err := check(err, res.Code, res.Message, res.RequestId); err != nil {
		return "", err
	}
	return res.GateVerifySchemeDTO.SchemeCode, nil
}

// verifyPhone asks whether phone is the number of the line spToken came from.
func (a *api) verifyPhone(spToken, phone string) (dypnsapi.GateVerify, error) {
	c, err := a.client()
	if err != nil {
		return dypnsapi.GateVerify{}, err
	}
	req := dypnsapi.CreateVerifyPhoneWithTokenRequest()
	req.SpToken, req.PhoneNumber = spToken, phone
	res, err := c.VerifyPhoneWithToken(req)
	if err := check(err, res.Code, res.Message, res.RequestId); err != nil {
		return dypnsapi.GateVerify{}, err
	}
	return res.GateVerify, nil
}

// phoneOf returns the number of the line a login spToken came from.
func (a *api) phoneOf(spToken string) (string, error) {
	c, err := a.client()
	if err != nil {
		return "", err
	}
	req := dypnsapi.CreateGetPhoneWithTokenRequest()
	req.SpToken = spToken
	res, err := c.GetPhoneWithToken(req)
	if err := check(err, res.Code, res.Message, res.RequestId); err != nil {
		return "", err
	}
	return res.Data.Mobile, nil
}

// requestID reads the RequestId of numauth's answer, which the SDK's
// response types of the SMS actions do not declare ("" without an answer).
func requestID(res *responses.BaseResponse) string {
	var envelope struct{ RequestId string }
	if res != nil {
		_ = json.Unmarshal(res.GetHttpContentBytes(), &envelope) // no answer: no id
	}
	return envelope.RequestId
}

// What the demo's SMS codes are sent with: numauth's default sign and
// template (验证码${code}，${min}分钟内有效，请勿泄露。), and a code that
// numauth makes (##code##) and so can check.
const (
	smsSign          = "numauth"
	smsTemplate      = "100001"
	smsTemplateParam = `{"code":"##code##"}`
)

// sendSmsCode has numauth text a code to phone. The code reaches the user
// by SMS only: ReturnVerifyCode stays false, so numauth's answer does not
// carry it and this server never knows it. It returns the send's BizId.
func (a *api) sendSmsCode(phone string) (string, error) {
	c, err := a.client()
	if err != nil {
		return "", err
	}
	req := dypnsapi.CreateSendSmsVerifyCodeRequest()
	req.PhoneNumber, req.SignName, req.TemplateCode, req.TemplateParam = phone, smsSign, smsTemplate, smsTemplateParam
	res, err := c.SendSmsVerifyCode(req)
	if err := check(err, res.Code, res.Message, requestID(res.BaseResponse)); err != nil {
		return "", err
	}
	return res.Model.BizId, nil
}

// checkSmsCode asks whether code is the live code numauth texted to phone:
// PASS (which spends it) or UNKNOWN (wrong, expired, spent or out of tries).
func (a *api) checkSmsCode(phone, code string) (string, error) {
	c, err := a.client()
	if err != nil {
		return "", err
	}
	req := dypnsapi.CreateCheckSmsVerifyCodeRequest()
	req.PhoneNumber, req.VerifyCode = phone, code
	res, err := c.CheckSmsVerifyCode(req)
	if err := check(err, res.Code, res.Message, requestID(res.BaseResponse)); err != nil {
		return "", err
	}
	return res.Model.VerifyResult, nil
}

// fusionToken mints a fusion authentication token for the page's H5 scheme.
func (a *api) fusionToken(schemeCode string) (string, error) {
	c, err := a.client()
	if err != nil {
		return "", err
	}
	req := dypnsapi.CreateGetFusionAuthTokenRequest()
	req.SchemeCode, req.Platform, req.DurationSeconds = schemeCode, "H5", requests.NewInteger(900)
	res, err := c.GetFusionAuthToken(req)
	if err := check(err, res.Code, res.Message, res.RequestId); err != nil {
		return "", err
	}
	return res.Model, nil
}

// fusionVerdict is VerifyWithFusionAuthToken's Model.
type fusionVerdict struct {
	result, phone string
	score         int64
}

// verifyFusion answers the VerifyToken a fusion flow ended with.
func (a *api) verifyFusion(verifyToken string) (fusionVerdict, error) {
	c, err := a.client()
	if err != nil {
		return fusionVerdict{}, err
	}
	req := dypnsapi.CreateVerifyWithFusionAuthTokenRequest()
	req.VerifyToken = verifyToken
	res, err := c.VerifyWithFusionAuthToken(req)
	if err := check(err, res.Code, res.Message, res.RequestId); err != nil {
		return fusionVerdict{}, err
	}
	return fusionVerdict{res.Model.VerifyResult, res.Model.PhoneNumber, res.Model.PhoneScore}, nil
}
