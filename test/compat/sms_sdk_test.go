package compat

import (
	"encoding/json"
	"encoding/xml"
	"net/http"
	"reflect"
	"testing"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/responses"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/dypnsapi"
)

// The SMS actions' parameters. Every field is a string named as the
// parameter on the wire, so that a test can send malformed values
// ("abc" for an integer, "maybe" for a boolean); an empty field is not
// sent, as the SDKs leave out empty parameters.

// smsSend is SendSmsVerifyCode's parameters.
type smsSend struct {
	PhoneNumber, CountryCode, SignName, TemplateCode, TemplateParam string
	SchemeName, OutId                                               string
	CodeLength, CodeType, ValidTime, Interval, DuplicatePolicy      string
	ReturnVerifyCode                                                string
}

// smsCheck is CheckSmsVerifyCode's parameters.
type smsCheck struct {
	PhoneNumber, CountryCode, VerifyCode, SchemeName, OutId, CaseAuthPolicy string
}

// smsQuery is QuerySendDetails' parameters.
type smsQuery struct {
	PhoneNumber, SendDate, PageSize, CurrentPage, BizId string
}

// wireParams returns a parameter struct's non-empty fields by name.
func wireParams(p any) map[string]string {
	v := reflect.ValueOf(p)
	out := map[string]string{}
	for i := range v.NumField() {
		if s := v.Field(i).String(); s != "" {
			out[v.Type().Field(i).Name] = s
		}
	}
	return out
}

// checkSuccess fails the test unless an HTTP 200 answer carries Success
// (nil: absent), true exactly when its Code is OK: the SMS actions'
// business codes come with "Success": false.
func checkSuccess(t testing.TB, action string, o outcome, success *bool) {
	t.Helper()
	switch {
	case o.Status != http.StatusOK:
	case success == nil:
		t.Errorf("%s: %v without Success", action, o)
	case *success != (o.Code == "OK"):
		t.Errorf("%s: Success = %v with %v", action, *success, o)
	}
}

// --- V1 ---

// envelope decodes the envelope of an answer the SDK took as a success
// (HTTP 2xx), in the flavour's format.
func (s *v1SDK) envelope(t testing.TB, action string, body []byte) xmlEnvelope {
	t.Helper()
	var env xmlEnvelope
	var err error
	if s.xml {
		err = xml.Unmarshal(body, &env)
	} else {
		err = json.Unmarshal(body, &env)
	}
	if err != nil {
		t.Fatalf("%s %s: undecodable answer (%v): %.300s", s.Name(), action, err, body)
	}
	return env
}

// smsOutcome is outcome for the SMS actions, whose response structs have
// no RequestId field: it is read from the answer's envelope.
func (s *v1SDK) smsOutcome(t testing.TB, action string, err error, resp *responses.BaseResponse, code string, success bool) outcome {
	t.Helper()
	if err != nil {
		return s.outcome(t, err, 0, "", "")
	}
	env := s.envelope(t, action, resp.GetHttpContentBytes())
	o := s.outcome(t, nil, resp.GetHttpStatus(), code, env.RequestID)
	if env.Success != nil {
		env.Success = &success // as the SDK decoded it
	}
	checkSuccess(t, action, o, env.Success)
	return o
}

func (s *v1SDK) SendSmsVerifyCode(t testing.TB, p smsSend) (dypnsapi.Model, outcome) {
	t.Helper()
	req := dypnsapi.CreateSendSmsVerifyCodeRequest()
	s.prep(req.RpcRequest)
	req.PhoneNumber, req.CountryCode, req.SignName, req.TemplateCode = p.PhoneNumber, p.CountryCode, p.SignName, p.TemplateCode
	req.TemplateParam, req.SchemeName, req.OutId = p.TemplateParam, p.SchemeName, p.OutId
	req.CodeLength, req.CodeType, req.ValidTime = requests.Integer(p.CodeLength), requests.Integer(p.CodeType), requests.Integer(p.ValidTime)
	req.Interval, req.DuplicatePolicy = requests.Integer(p.Interval), requests.Integer(p.DuplicatePolicy)
	req.ReturnVerifyCode = requests.Boolean(p.ReturnVerifyCode)
	resp, err := s.c.SendSmsVerifyCode(req)
	return resp.Model, s.smsOutcome(t, "SendSmsVerifyCode", err, resp.BaseResponse, resp.Code, resp.Success)
}

func (s *v1SDK) CheckSmsVerifyCode(t testing.TB, p smsCheck) (dypnsapi.Model, outcome) {
	t.Helper()
	req := dypnsapi.CreateCheckSmsVerifyCodeRequest()
	s.prep(req.RpcRequest)
	req.PhoneNumber, req.CountryCode, req.VerifyCode = p.PhoneNumber, p.CountryCode, p.VerifyCode
	req.SchemeName, req.OutId, req.CaseAuthPolicy = p.SchemeName, p.OutId, requests.Integer(p.CaseAuthPolicy)
	resp, err := s.c.CheckSmsVerifyCode(req)
	return resp.Model, s.smsOutcome(t, "CheckSmsVerifyCode", err, resp.BaseResponse, resp.Code, resp.Success)
}

func (s *v1SDK) QuerySendDetails(t testing.TB, p smsQuery) ([]dypnsapi.ModelItem, int64, outcome) {
	t.Helper()
	req := dypnsapi.CreateQuerySendDetailsRequest()
	s.prep(req.RpcRequest)
	req.PhoneNumber, req.SendDate, req.BizId = p.PhoneNumber, p.SendDate, p.BizId
	req.PageSize, req.CurrentPage = requests.Integer(p.PageSize), requests.Integer(p.CurrentPage)
	resp, err := s.c.QuerySendDetails(req)
	return resp.Model, resp.TotalCount, s.smsOutcome(t, "QuerySendDetails", err, resp.BaseResponse, resp.Code, resp.Success)
}

// --- V3 ---

// smsCall runs one SMS action with its parameters in the query, as the
// generated V3 SDK sends them, and checks Success.
func (s *v3SDK) smsCall(t testing.TB, action string, p any) (map[string]any, outcome) {
	t.Helper()
	body, o := s.call(t, action, wireParams(p), nil)
	if body != nil {
		var success *bool
		decodeField(t, body, "Success", &success)
		checkSuccess(t, action, o, success)
	}
	return body, o
}

func (s *v3SDK) SendSmsVerifyCode(t testing.TB, p smsSend) (dypnsapi.Model, outcome) {
	t.Helper()
	return s.smsModel(t, "SendSmsVerifyCode", p)
}

func (s *v3SDK) CheckSmsVerifyCode(t testing.TB, p smsCheck) (dypnsapi.Model, outcome) {
	t.Helper()
	return s.smsModel(t, "CheckSmsVerifyCode", p)
}

// smsModel runs an SMS action whose answer is one Model object.
func (s *v3SDK) smsModel(t testing.TB, action string, p any) (dypnsapi.Model, outcome) {
	t.Helper()
	body, o := s.smsCall(t, action, p)
	var m dypnsapi.Model
	decodeField(t, body, "Model", &m)
	return m, o
}

func (s *v3SDK) QuerySendDetails(t testing.TB, p smsQuery) ([]dypnsapi.ModelItem, int64, outcome) {
	t.Helper()
	body, o := s.smsCall(t, "QuerySendDetails", p)
	var list []dypnsapi.ModelItem
	var total int64
	decodeField(t, body, "Model", &list)
	decodeField(t, body, "TotalCount", &total)
	return list, total, o
}
