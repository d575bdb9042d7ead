package compat

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	openapi "github.com/alibabacloud-go/darabonba-openapi/v2/client"
	"github.com/alibabacloud-go/tea/dara"
	"github.com/alibabacloud-go/tea/tea"
	sdkerrors "github.com/aliyun/alibaba-cloud-sdk-go/sdk/errors"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/dypnsapi"

	"github.com/numauth/numauth/internal/openapi/sign"
)

// apiVersion is Dypnsapi's API version, the only one numauth serves.
const apiVersion = "2017-05-25"

// outcome is an SDK call's result as the SDK surfaced it: the HTTP status
// and the Code, whether it came back as an answer (success or a business
// code, HTTP 200) or as the SDK's error type (gateway codes, HTTP 4xx/5xx).
type outcome struct {
	Status    int
	Code      string
	RequestID string
}

func (o outcome) String() string { return fmt.Sprintf("HTTP %d %q", o.Status, o.Code) }

// ok fails the test unless the call succeeded with a well-formed RequestId.
func (o outcome) ok(t testing.TB, what string) {
	t.Helper()
	o.want(t, what, http.StatusOK, "OK")
}

// want fails the test unless the outcome is code with HTTP status and
// carries a RequestId shaped as numauth makes them (an upper-case UUID).
func (o outcome) want(t testing.TB, what string, status int, code string) {
	t.Helper()
	if o.Status != status || o.Code != code {
		t.Fatalf("%s: %v, want HTTP %d %q", what, o, status, code)
	}
	if !requestIDShape(o.RequestID) {
		t.Errorf("%s: RequestId %q is not an upper-case UUID", what, o.RequestID)
	}
}

func requestIDShape(s string) bool {
	return len(s) == 36 && strings.ToUpper(s) == s && strings.Count(s, "-") == 4
}

// sdk is one official SDK pointed at a numauth instance, reduced to the
// calls the tests make. Every method fails the test on a transport or
// decoding error and returns the outcome of anything numauth answered.
// Answers are decoded into the V1 SDK's structs (for V3, from the generic
// map CallApi returns), so both SDKs are held to the same wire names.
type sdk interface {
	Name() string
	CreateH5Scheme(t testing.TB, name, origin, pageURL string) (schemeCode string, o outcome)
	// CreateSchemeConfig registers an H5 scheme with the newer action.
	CreateSchemeConfig(t testing.TB, name, origin, pageURL string) (schemeCode string, o outcome)
	DescribeScheme(t testing.TB, code string) (dypnsapi.SchemeQueryResultDTO, outcome)
	DeleteScheme(t testing.TB, code string) (result bool, o outcome)
	// GetAuthToken sends sceneCode and bizType only when they are not empty.
	GetAuthToken(t testing.TB, pageURL, origin, sceneCode, bizType string) (dypnsapi.TokenInfo, outcome)
	VerifyPhoneWithToken(t testing.TB, spToken, phone string) (dypnsapi.GateVerify, outcome)
	GetPhoneWithToken(t testing.TB, spToken string) (mobile string, o outcome)
	// Statistics sends sceneCode only when it is not empty.
	Statistics(t testing.TB, authType int, start, end, sceneCode string) (dypnsapi.Data, outcome)
	// The SMS actions (sms_sdk_test.go). Each fails the test unless an
	// HTTP 200 answer's Success is true exactly when its Code is OK.
	SendSmsVerifyCode(t testing.TB, p smsSend) (dypnsapi.Model, outcome)
	CheckSmsVerifyCode(t testing.TB, p smsCheck) (dypnsapi.Model, outcome)
	QuerySendDetails(t testing.TB, p smsQuery) (list []dypnsapi.ModelItem, total int64, o outcome)
	// Call invokes any action with string parameters through the SDK's
	// generic path (CommonRequest for V1, CallApi for V3).
	Call(t testing.TB, action string, params map[string]string) outcome
	// Skewed returns the same SDK, same key, whose requests are correctly
	// signed but dated skew away from now.
	Skewed(skew time.Duration) sdk
	// Tap gives access to the raw requests the SDK sent.
	Tap() *tap
}

// tap is an http.RoundTripper (the V1 SDK's transport) and a dara.HttpClient
// (the V3 SDK's HttpClient) that records the last request the SDK sent, byte
// for byte, optionally rewriting it first, and forwards it to numauth.
type tap struct {
	rewrite func(r *http.Request, body []byte) ([]byte, error)

	mu   sync.Mutex
	last *http.Request
	body []byte
}

// RoundTrip records and forwards one request.
func (tp *tap) RoundTrip(r *http.Request) (*http.Response, error) {
	var body []byte
	if r.Body != nil {
		b, err := io.ReadAll(r.Body)
		r.Body.Close()
		if err != nil {
			return nil, err
		}
		body = b
	}
	out := r.Clone(r.Context())
	if tp.rewrite != nil {
		b, err := tp.rewrite(out, body)
		if err != nil {
			return nil, err
		}
		body = b
	}
	tp.mu.Lock()
	tp.last, tp.body = out.Clone(context.Background()), body // the SDK cancels its context after the call
	tp.mu.Unlock()
	out.Body, out.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
	return http.DefaultTransport.RoundTrip(out)
}

// Call makes tap a dara.HttpClient.
func (tp *tap) Call(r *http.Request, _ *http.Transport) (*http.Response, error) {
	return tp.RoundTrip(r)
}

// Replay sends the last recorded request again, unchanged, and returns
// numauth's raw answer.
func (tp *tap) Replay(t testing.TB) rawAnswer {
	t.Helper()
	tp.mu.Lock()
	r, body := tp.last, tp.body
	tp.mu.Unlock()
	if r == nil {
		t.Fatal("replay: the SDK sent nothing yet")
	}
	again := r.Clone(context.Background())
	again.Body, again.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
	res, err := http.DefaultTransport.RoundTrip(again)
	if err != nil {
		t.Fatalf("replay: %v", err)
	}
	return readAnswer(t, res)
}

// rawAnswer is an answer read without an SDK.
type rawAnswer struct {
	Status      int
	ContentType string
	Body        []byte
	Envelope    map[string]any // the decoded JSON object, nil if the body is not one
}

// Code is the envelope's Code, from JSON or XML ("" if none).
func (a rawAnswer) Code() string {
	if strings.HasPrefix(a.ContentType, "text/xml") {
		var env xmlEnvelope
		if xml.Unmarshal(a.Body, &env) != nil {
			return ""
		}
		return env.Code
	}
	s, _ := a.Envelope["Code"].(string)
	return s
}

func readAnswer(t testing.TB, res *http.Response) rawAnswer {
	t.Helper()
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		t.Fatalf("read answer: %v", err)
	}
	a := rawAnswer{Status: res.StatusCode, ContentType: res.Header.Get("Content-Type"), Body: b}
	if json.Unmarshal(b, &a.Envelope) != nil {
		a.Envelope = nil
	}
	return a
}

// xmlEnvelope is the part of an XML answer every action has.
type xmlEnvelope struct {
	XMLName   xml.Name
	RequestID string `xml:"RequestId"`
	Code      string `xml:"Code"`
	Message   string `xml:"Message"`
	HostID    string `xml:"HostId"`
	Recommend string `xml:"Recommend"`
	Success   *bool  `xml:"Success"` // the actions whose answers carry it
}

// --- V1: github.com/aliyun/alibaba-cloud-sdk-go ---

// v1SDK is the V1 SDK as an integrator configures it for a self-hosted
// endpoint: a fixed Domain on the client (no endpoint resolution) and plain
// HTTP. With xml set every request asks for Format=XML (AcceptFormat), and
// the SDK decodes the XML answers into the same structs.
type v1SDK struct {
	addr, id, secret string
	xml              bool
	method           string // "" is the SDK's default for the action (POST)
	c                *dypnsapi.Client
	tp               *tap
}

func newV1(t testing.TB, addr, id, secret string) *v1SDK {
	t.Helper()
	s, err := buildV1(addr, id, secret, &tap{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func buildV1(addr, id, secret string, tp *tap) (*v1SDK, error) {
	c, err := dypnsapi.NewClientWithAccessKey("cn-hangzhou", id, secret)
	if err != nil {
		return nil, err
	}
	c.Domain = addr                    // 127.0.0.1:PORT instead of the region's endpoint
	c.GetConfig().WithScheme("HTTP")   // plain HTTP (the default, said out loud)
	c.GetConfig().WithAutoRetry(false) // a retry would hide what numauth answered
	c.SetTransport(tp)
	return &v1SDK{addr: addr, id: id, secret: secret, c: c, tp: tp}, nil
}

// withXML returns the same SDK, on its own client (a V1 client is not safe
// for concurrent use: it keeps per-call timeouts in the client), asking for
// XML answers.
func (s *v1SDK) withXML() *v1SDK {
	cp := s.clone(&tap{})
	cp.xml = true
	return cp
}

// withGET returns the same SDK, on its own client, sending every request
// as GET (all parameters in the query).
func (s *v1SDK) withGET() *v1SDK {
	cp := s.clone(&tap{})
	cp.method = requests.GET
	return cp
}

// clone returns the same SDK on a new client with transport tp.
func (s *v1SDK) clone(tp *tap) *v1SDK {
	cp, err := buildV1(s.addr, s.id, s.secret, tp)
	if err != nil {
		panic(err) // NewClientWithAccessKey worked for s already
	}
	cp.xml, cp.method = s.xml, s.method
	return cp
}

func (s *v1SDK) Name() string {
	name := "V1"
	if s.method != "" {
		name += "-" + s.method
	}
	if s.xml {
		name += "-XML"
	}
	return name
}

func (s *v1SDK) Tap() *tap { return s.tp }

// Skewed re-signs each request, as the SDK built it, with sign.SignV1 at a
// skewed time (the V1 SDK always stamps the current time itself).
func (s *v1SDK) Skewed(skew time.Duration) sdk {
	return s.clone(&tap{rewrite: resignV1(s.secret, skew)})
}

// resignV1 returns a tap rewrite that signs the SDK's request again at
// now+skew, keeping every parameter and the nonce.
func resignV1(secret string, skew time.Duration) func(*http.Request, []byte) ([]byte, error) {
	return func(r *http.Request, body []byte) ([]byte, error) {
		if len(body) > 0 {
			return nil, errors.New("resignV1: only requests without a form body are re-signed")
		}
		q := r.URL.Query()
		q.Del("Signature")
		signed := sign.SignV1(r.Method, q, q.Get("AccessKeyId"), secret, time.Now().Add(skew), q.Get("SignatureNonce"))
		r.URL.RawQuery = signed.Encode()
		return body, nil
	}
}

func (s *v1SDK) format() string {
	if s.xml {
		return "XML"
	}
	return "JSON"
}

// prep applies the flavour (answer format, HTTP method) to a request.
func (s *v1SDK) prep(r *requests.RpcRequest) {
	r.AcceptFormat = s.format()
	if s.method != "" {
		r.Method = s.method
	}
}

// outcome turns the SDK's return into an outcome. A gateway error is the
// SDK's *errors.ServerError; in XML mode the SDK cannot read its code (it
// parses error bodies as JSON only) and hands over the raw body, which must
// then be numauth's XML error envelope.
func (s *v1SDK) outcome(t testing.TB, err error, status int, code, requestID string) outcome {
	t.Helper()
	if err == nil {
		return outcome{Status: status, Code: code, RequestID: requestID}
	}
	var se *sdkerrors.ServerError
	if !errors.As(err, &se) {
		t.Fatalf("%s SDK: %v", s.Name(), err)
	}
	o := outcome{Status: se.HttpStatus(), Code: se.ErrorCode(), RequestID: se.RequestId()}
	if s.xml {
		var env xmlEnvelope
		if xerr := xml.Unmarshal([]byte(se.Message()), &env); xerr != nil || env.XMLName.Local != "Error" {
			t.Fatalf("XML error answer is not an <Error> envelope (%v): %.300s", xerr, se.Message())
		}
		o.Code, o.RequestID = env.Code, env.RequestID
	}
	return o
}

func (s *v1SDK) CreateH5Scheme(t testing.TB, name, origin, pageURL string) (string, outcome) {
	t.Helper()
	req := dypnsapi.CreateCreateVerifySchemeRequest()
	s.prep(req.RpcRequest)
	req.SchemeName, req.AppName, req.OsType, req.Origin, req.Url = name, "numauth compat", "H5", origin, pageURL
	resp, err := s.c.CreateVerifyScheme(req)
	o := s.outcome(t, err, resp.GetHttpStatus(), resp.Code, resp.RequestId)
	if o.Code == "OK" && (!resp.Success || resp.HttpStatusCode != http.StatusOK) {
		t.Errorf("CreateVerifyScheme: Success=%v HttpStatusCode=%d, want true and 200", resp.Success, resp.HttpStatusCode)
	}
	return resp.GateVerifySchemeDTO.SchemeCode, o
}

func (s *v1SDK) CreateSchemeConfig(t testing.TB, name, origin, pageURL string) (string, outcome) {
	t.Helper()
	req := dypnsapi.CreateCreateSchemeConfigRequest()
	s.prep(req.RpcRequest)
	req.SchemeName, req.AppName, req.Platform, req.H5Origin, req.H5Url = name, "numauth compat", "H5", origin, pageURL
	resp, err := s.c.CreateSchemeConfig(req)
	o := s.outcome(t, err, resp.GetHttpStatus(), resp.Code, resp.RequestId)
	if o.Code == "OK" && !resp.Success {
		t.Errorf("CreateSchemeConfig: Success = false on OK")
	}
	return resp.Model.SchemeCode, o
}

func (s *v1SDK) DescribeScheme(t testing.TB, code string) (dypnsapi.SchemeQueryResultDTO, outcome) {
	t.Helper()
	req := dypnsapi.CreateDescribeVerifySchemeRequest()
	s.prep(req.RpcRequest)
	req.SchemeCode = code
	resp, err := s.c.DescribeVerifyScheme(req)
	return resp.SchemeQueryResultDTO, s.outcome(t, err, resp.GetHttpStatus(), resp.Code, resp.RequestId)
}

func (s *v1SDK) DeleteScheme(t testing.TB, code string) (bool, outcome) {
	t.Helper()
	req := dypnsapi.CreateDeleteVerifySchemeRequest()
	s.prep(req.RpcRequest)
	req.SchemeCode = code
	resp, err := s.c.DeleteVerifyScheme(req)
	return resp.Result, s.outcome(t, err, resp.GetHttpStatus(), resp.Code, resp.RequestId)
}

func (s *v1SDK) GetAuthToken(t testing.TB, pageURL, origin, sceneCode, bizType string) (dypnsapi.TokenInfo, outcome) {
	t.Helper()
	req := dypnsapi.CreateGetAuthTokenRequest()
	s.prep(req.RpcRequest)
	req.Url, req.Origin, req.SceneCode, req.BizType = pageURL, origin, sceneCode, requests.Integer(bizType)
	resp, err := s.c.GetAuthToken(req)
	return resp.TokenInfo, s.outcome(t, err, resp.GetHttpStatus(), resp.Code, resp.RequestId)
}

func (s *v1SDK) VerifyPhoneWithToken(t testing.TB, spToken, phone string) (dypnsapi.GateVerify, outcome) {
	t.Helper()
	req := dypnsapi.CreateVerifyPhoneWithTokenRequest()
	s.prep(req.RpcRequest)
	req.SpToken, req.PhoneNumber = spToken, phone
	resp, err := s.c.VerifyPhoneWithToken(req)
	return resp.GateVerify, s.outcome(t, err, resp.GetHttpStatus(), resp.Code, resp.RequestId)
}

func (s *v1SDK) GetPhoneWithToken(t testing.TB, spToken string) (string, outcome) {
	t.Helper()
	req := dypnsapi.CreateGetPhoneWithTokenRequest()
	s.prep(req.RpcRequest)
	req.SpToken = spToken
	resp, err := s.c.GetPhoneWithToken(req)
	return resp.Data.Mobile, s.outcome(t, err, resp.GetHttpStatus(), resp.Code, resp.RequestId)
}

func (s *v1SDK) Statistics(t testing.TB, authType int, start, end, sceneCode string) (dypnsapi.Data, outcome) {
	t.Helper()
	req := dypnsapi.CreateQueryGateVerifyStatisticPublicRequest()
	s.prep(req.RpcRequest)
	req.AuthenticationType = requests.NewInteger(authType)
	req.StartDate, req.EndDate, req.SceneCode = start, end, sceneCode
	resp, err := s.c.QueryGateVerifyStatisticPublic(req)
	return resp.Data, s.outcome(t, err, resp.GetHttpStatus(), resp.Code, resp.RequestId)
}

func (s *v1SDK) Call(t testing.TB, action string, params map[string]string) outcome {
	t.Helper()
	req := requests.NewCommonRequest()
	req.Method = requests.POST
	if s.method != "" {
		req.Method = s.method
	}
	req.Product = "Dypnsapi"
	req.Version = apiVersion
	req.ApiName = action
	req.AcceptFormat = s.format()
	// POST puts the action's parameters in a form body, which the SDK signs
	// with the query; GET can only use the query.
	where := req.FormParams
	if req.Method == requests.GET {
		where = req.QueryParams
	}
	for k, v := range params {
		where[k] = v
	}
	resp, err := s.c.ProcessCommonRequest(req)
	if err != nil {
		return s.outcome(t, err, 0, "", "")
	}
	env := s.envelope(t, action, resp.GetHttpContentBytes())
	return outcome{Status: resp.GetHttpStatus(), Code: env.Code, RequestID: env.RequestID}
}

// --- V3: github.com/alibabacloud-go/darabonba-openapi/v2 ---

// v3SDK is the generic darabonba-openapi client (CallApi, RPC style), as
// the generated Dypnsapi V3 SDK drives it: ACS3-HMAC-SHA256 by default, or
// with v1sig its V1 mode (Config.SignatureAlgorithm "v2", DoRPCRequest).
// The time and the nonce are set only by Skewed and withNonce, through the
// SDK's own request (headers for V3, the Timestamp and SignatureNonce
// parameters for V1), so the SDK signs them.
type v3SDK struct {
	addr, id, secret string
	v1sig            bool
	skew             time.Duration
	nonce            string
	c                *openapi.Client
	tp               *tap
}

func newV3(t testing.TB, addr, id, secret string) *v3SDK {
	t.Helper()
	return buildV3(t, addr, id, secret, false)
}

// newOpenAPIV1 is the darabonba-openapi client signing with V1.
func newOpenAPIV1(t testing.TB, addr, id, secret string) *v3SDK {
	t.Helper()
	return buildV3(t, addr, id, secret, true)
}

func buildV3(t testing.TB, addr, id, secret string, v1sig bool) *v3SDK {
	t.Helper()
	tp := &tap{}
	cfg := &openapi.Config{
		AccessKeyId:     dara.String(id),
		AccessKeySecret: dara.String(secret),
		Endpoint:        dara.String(addr), // 127.0.0.1:PORT
		Protocol:        dara.String("HTTP"),
		HttpClient:      tp,
	}
	if v1sig {
		cfg.SignatureAlgorithm = dara.String("v2") // darabonba's name for the V1 RPC signature
	}
	c, err := openapi.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &v3SDK{addr: addr, id: id, secret: secret, v1sig: v1sig, c: c, tp: tp}
}

func (s *v3SDK) Name() string {
	if s.v1sig {
		return "OpenAPI-V1"
	}
	return "V3"
}
func (s *v3SDK) Tap() *tap { return s.tp }

func (s *v3SDK) Skewed(skew time.Duration) sdk {
	cp := *s
	cp.skew = skew
	return &cp
}

// withNonce returns the same SDK sending a fixed x-acs-signature-nonce.
func (s *v3SDK) withNonce(nonce string) *v3SDK {
	cp := *s
	cp.nonce = nonce
	return &cp
}

// rpcParams are the CallApi parameters of a Dypnsapi action.
func rpcParams(action string) *openapi.Params {
	return &openapi.Params{
		Action: dara.String(action), Version: dara.String(apiVersion),
		Protocol: dara.String("HTTP"), Method: dara.String("POST"), AuthType: dara.String("AK"),
		Style: dara.String("RPC"), Pathname: dara.String("/"),
		ReqBodyType: dara.String("formData"), BodyType: dara.String("json"),
	}
}

// call runs one action with query parameters and, if form is not nil, a
// form body, and returns the decoded body (nil for an error answer).
func (s *v3SDK) call(t testing.TB, action string, query map[string]string, form map[string]any) (map[string]any, outcome) {
	t.Helper()
	req := &openapi.OpenApiRequest{Query: map[string]*string{}, Headers: map[string]*string{}}
	for k, v := range query {
		req.Query[k] = dara.String(v)
	}
	if form != nil {
		req.Body = form
	}
	date, nonce := "x-acs-date", "x-acs-signature-nonce"
	where := req.Headers
	if s.v1sig {
		date, nonce, where = "Timestamp", "SignatureNonce", req.Query
	}
	if s.skew != 0 {
		where[date] = dara.String(time.Now().Add(s.skew).UTC().Format("2006-01-02T15:04:05Z"))
	}
	if s.nonce != "" {
		where[nonce] = dara.String(s.nonce)
	}
	res, err := s.c.CallApi(rpcParams(action), req, &dara.RuntimeOptions{})
	if err != nil {
		var se *tea.SDKError
		if !errors.As(err, &se) {
			t.Fatalf("V3 SDK %s: %v", action, err)
		}
		o := outcome{Status: dara.IntValue(se.StatusCode), Code: dara.StringValue(se.Code)}
		var data map[string]any
		if json.Unmarshal([]byte(dara.StringValue(se.Data)), &data) == nil {
			o.RequestID, _ = data["RequestId"].(string)
		}
		return nil, o
	}
	body, ok := res["body"].(map[string]any)
	if !ok {
		t.Fatalf("V3 SDK %s: body is %T, want a JSON object", action, res["body"])
	}
	o := outcome{Status: toInt(t, res["statusCode"])}
	o.Code, _ = body["Code"].(string)
	o.RequestID, _ = body["RequestId"].(string)
	return body, o
}

func toInt(t testing.TB, v any) int {
	t.Helper()
	n, err := strconv.Atoi(fmt.Sprint(v))
	if err != nil {
		t.Fatalf("%v (%T) is not an integer", v, v)
	}
	return n
}

// decodeField decodes body[name] into dst through JSON, so that a field of
// the wrong type fails as it would in a typed SDK. An absent field leaves
// dst as it is.
func decodeField(t testing.TB, body map[string]any, name string, dst any) {
	t.Helper()
	v, ok := body[name]
	if !ok || body == nil {
		return
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, dst); err != nil {
		t.Fatalf("answer field %s does not decode into %T: %v (%s)", name, dst, err, b)
	}
}

func (s *v3SDK) CreateH5Scheme(t testing.TB, name, origin, pageURL string) (string, outcome) {
	t.Helper()
	body, o := s.call(t, "CreateVerifyScheme", map[string]string{
		"SchemeName": name, "AppName": "numauth compat", "OsType": "H5", "Origin": origin, "Url": pageURL,
	}, nil)
	var dto dypnsapi.GateVerifySchemeDTO
	decodeField(t, body, "GateVerifySchemeDTO", &dto)
	if o.Code == "OK" && (body["Success"] != true || fmt.Sprint(body["HttpStatusCode"]) != "200") {
		t.Errorf("CreateVerifyScheme: Success=%v HttpStatusCode=%v, want true and 200", body["Success"], body["HttpStatusCode"])
	}
	return dto.SchemeCode, o
}

func (s *v3SDK) CreateSchemeConfig(t testing.TB, name, origin, pageURL string) (string, outcome) {
	t.Helper()
	body, o := s.call(t, "CreateSchemeConfig", map[string]string{
		"SchemeName": name, "AppName": "numauth compat", "Platform": "H5", "H5Origin": origin, "H5Url": pageURL,
	}, nil)
	var m dypnsapi.Model
	decodeField(t, body, "Model", &m)
	if o.Code == "OK" && body["Success"] != true {
		t.Errorf("CreateSchemeConfig: Success = %v on OK", body["Success"])
	}
	return m.SchemeCode, o
}

func (s *v3SDK) DescribeScheme(t testing.TB, code string) (dypnsapi.SchemeQueryResultDTO, outcome) {
	t.Helper()
	body, o := s.call(t, "DescribeVerifyScheme", map[string]string{"SchemeCode": code}, nil)
	var dto dypnsapi.SchemeQueryResultDTO
	decodeField(t, body, "SchemeQueryResultDTO", &dto)
	return dto, o
}

func (s *v3SDK) DeleteScheme(t testing.TB, code string) (bool, outcome) {
	t.Helper()
	body, o := s.call(t, "DeleteVerifyScheme", map[string]string{"SchemeCode": code}, nil)
	var result bool
	decodeField(t, body, "Result", &result)
	return result, o
}

func (s *v3SDK) GetAuthToken(t testing.TB, pageURL, origin, sceneCode, bizType string) (dypnsapi.TokenInfo, outcome) {
	t.Helper()
	q := map[string]string{"Url": pageURL, "Origin": origin}
	if sceneCode != "" {
		q["SceneCode"] = sceneCode
	}
	if bizType != "" {
		q["BizType"] = bizType
	}
	body, o := s.call(t, "GetAuthToken", q, nil)
	var ti dypnsapi.TokenInfo
	decodeField(t, body, "TokenInfo", &ti)
	return ti, o
}

// VerifyPhoneWithToken sends PhoneNumber in a form body (the SDK signs its
// hash) and SpToken in the query, to cover both places.
func (s *v3SDK) VerifyPhoneWithToken(t testing.TB, spToken, phone string) (dypnsapi.GateVerify, outcome) {
	t.Helper()
	body, o := s.call(t, "VerifyPhoneWithToken", map[string]string{"SpToken": spToken}, map[string]any{"PhoneNumber": phone})
	var gv dypnsapi.GateVerify
	decodeField(t, body, "GateVerify", &gv)
	return gv, o
}

func (s *v3SDK) GetPhoneWithToken(t testing.TB, spToken string) (string, outcome) {
	t.Helper()
	body, o := s.call(t, "GetPhoneWithToken", map[string]string{"SpToken": spToken}, nil)
	var d dypnsapi.Data
	decodeField(t, body, "Data", &d)
	return d.Mobile, o
}

func (s *v3SDK) Statistics(t testing.TB, authType int, start, end, sceneCode string) (dypnsapi.Data, outcome) {
	t.Helper()
	q := map[string]string{"AuthenticationType": strconv.Itoa(authType), "StartDate": start, "EndDate": end}
	if sceneCode != "" {
		q["SceneCode"] = sceneCode
	}
	body, o := s.call(t, "QueryGateVerifyStatisticPublic", q, nil)
	var d dypnsapi.Data
	decodeField(t, body, "Data", &d)
	return d, o
}

func (s *v3SDK) Call(t testing.TB, action string, params map[string]string) outcome {
	t.Helper()
	_, o := s.call(t, action, params, nil)
	return o
}
