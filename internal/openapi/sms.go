package openapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/numauth/numauth/internal/auth"
)

// The SMS actions answer refusals with their own documented codes
// (dypnsapi metadata: SendSmsVerifyCode's error codes), without the "isv."
// prefix of the number-verification actions, with HTTP 200 and
// "Success": false. This is their table; anything else falls through to
// the protocol's one table in errors.go.
var smsCodes = []struct {
	err  error
	code string
	// msg is the answer's Message; "" gives the error's own text, which
	// for these two names the parameter and never repeats a number.
	msg string
}{
	{auth.ErrInvalidParameters, "INVALID_PARAMETERS", "A parameter is not valid"},
	{auth.ErrNumberInvalid, "MOBILE_NUMBER_ILLEGAL", "The phone number is not valid"},
	{auth.ErrSmsFrequency, "FREQUENCY_FAIL", "A code was sent to this number less than Interval seconds ago."},
	{auth.ErrSmsLimit, "BUSINESS_LIMIT_CONTROL", "The number's or the account's SMS limit for this hour or day is reached."},
	{auth.ErrSmsCountry, "FUNCTION_NOT_OPENED", "Sending SMS codes to this country code is not enabled."},
	{auth.ErrSmsRejected, "PROVIDER_REJECTED", "The SMS provider refused the message; nothing was sent."},
	{auth.ErrSmsProviderDown, "PROVIDER_UNAVAILABLE", "The SMS provider could not take the message; nothing was sent. Try again later."},
}

func smsErr(err error) error {
	for _, c := range smsCodes {
		if errors.Is(err, c.err) {
			msg := c.msg
			if c.err == auth.ErrInvalidParameters || c.err == auth.ErrNumberInvalid {
				msg = publicText(msg, err)
			}
			return &APIError{Code: c.code, Status: http.StatusOK, Message: msg, cause: err, unsuccessful: true}
		}
	}
	return err
}

// smsInt reads an optional integer of an SMS action: absent gives def; a
// value that is not an integer is INVALID_PARAMETERS, as a value out of
// range is.
func smsInt(p Params, name string, def int) (int, error) {
	s := strings.TrimSpace(p.Get(name))
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < -1<<31 || n > 1<<31-1 {
		return 0, fmt.Errorf("%w: %s must be an integer", auth.ErrInvalidParameters, name)
	}
	return n, nil
}

func smsBool(p Params, name string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(p.Get(name))) {
	case "", "false":
		return false, nil
	case "true":
		return true, nil
	}
	return false, fmt.Errorf("%w: %s must be true or false", auth.ErrInvalidParameters, name)
}

func (s *Server) sendSmsVerifyCode(ctx context.Context, c *Call) (Body, error) {
	b, err := s.sendSms(ctx, c)
	return b, smsErr(err)
}

func (s *Server) sendSms(ctx context.Context, c *Call) (Body, error) {
	in := auth.SmsSendInput{
		CountryCode: c.Params.Get("CountryCode"), SchemeName: c.Params.Get("SchemeName"), OutID: c.Params.Get("OutId"),
	}
	var err error
	for _, r := range []struct {
		name string
		to   *string
	}{{"PhoneNumber", &in.PhoneNumber}, {"SignName", &in.SignName}, {"TemplateCode", &in.TemplateCode}, {"TemplateParam", &in.TemplateArg}} {
		if *r.to, err = c.Params.Required(r.name); err != nil {
			return nil, err
		}
	}
	for _, r := range []struct {
		name string
		def  int
		to   *int
	}{
		{"CodeLength", auth.SmsDefaultCodeLength, &in.CodeLength}, {"ValidTime", auth.SmsDefaultValidTime, &in.ValidTime},
		{"Interval", auth.SmsDefaultInterval, &in.Interval}, {"DuplicatePolicy", auth.SmsDefaultDuplicate, &in.DuplicatePolicy},
		{"CodeType", auth.SmsDefaultCodeType, &in.CodeType},
	} {
		if *r.to, err = smsInt(c.Params, r.name, r.def); err != nil {
			return nil, err
		}
	}
	// AutoRetry (Alibaba's own re-sending through other channels) and
	// SmsUpExtendCode (uplink extension codes) are accepted and have no
	// effect: a provider's retries are the provider's (docs/sms.md).
	if v, err := smsInt(c.Params, "AutoRetry", 1); err != nil {
		return nil, err
	} else if v != 0 && v != 1 {
		return nil, fmt.Errorf("%w: AutoRetry must be 0 or 1", auth.ErrInvalidParameters)
	}
	if x := c.Params.Get("SmsUpExtendCode"); len(x) > 12 || strings.Trim(x, "0123456789") != "" {
		return nil, fmt.Errorf("%w: SmsUpExtendCode must be at most 12 digits", auth.ErrInvalidParameters)
	}
	if in.ReturnCode, err = smsBool(c.Params, "ReturnVerifyCode"); err != nil {
		return nil, err
	}
	res, err := s.svc.SendSmsCode(ctx, c.Caller, in)
	if err != nil {
		return nil, err
	}
	model := Body{{"BizId", res.BizID}, {"OutId", res.OutID}, {"RequestId", c.RequestID}}
	if res.Code != "" {
		model = append(model, Field{"VerifyCode", res.Code})
	}
	return Body{{"Success", true}, {"Model", model}}, nil
}

func (s *Server) checkSmsVerifyCode(ctx context.Context, c *Call) (Body, error) {
	b, err := s.checkSms(ctx, c)
	return b, smsErr(err)
}

func (s *Server) checkSms(ctx context.Context, c *Call) (Body, error) {
	in := auth.SmsCheckInput{CountryCode: c.Params.Get("CountryCode"), SchemeName: c.Params.Get("SchemeName"), OutID: c.Params.Get("OutId")}
	var err error
	if in.PhoneNumber, err = c.Params.Required("PhoneNumber"); err != nil {
		return nil, err
	}
	if in.Code, err = c.Params.Required("VerifyCode"); err != nil {
		return nil, err
	}
	switch policy, err := smsInt(c.Params, "CaseAuthPolicy", 1); {
	case err != nil:
		return nil, err
	case policy == 2:
		in.CaseSensitive = true
	case policy != 1:
		return nil, fmt.Errorf("%w: CaseAuthPolicy must be 1 or 2", auth.ErrInvalidParameters)
	}
	pass, err := s.svc.CheckSmsCode(ctx, c.Caller, in)
	if err != nil {
		return nil, err
	}
	result := "UNKNOWN"
	if pass {
		result = "PASS"
	}
	return Body{{"Success", true}, {"Model", Body{{"VerifyResult", result}, {"OutId", in.OutID}}}}, nil
}

func (s *Server) querySendDetails(ctx context.Context, c *Call) (Body, error) {
	b, err := s.querySends(ctx, c)
	return b, smsErr(err)
}

const smsTimeLayout = "2006-01-02 15:04:05"

func (s *Server) querySends(ctx context.Context, c *Call) (Body, error) {
	in := auth.SmsQueryInput{BizID: c.Params.Get("BizId"), CountryCode: c.Params.Get("CountryCode")}
	var err error
	if in.PhoneNumber, err = c.Params.Required("PhoneNumber"); err != nil {
		return nil, err
	}
	if in.SendDate, err = c.Params.Required("SendDate"); err != nil {
		return nil, err
	}
	for _, r := range []struct {
		name string
		to   *int
	}{{"PageSize", &in.PageSize}, {"CurrentPage", &in.CurrentPage}} {
		if _, err := c.Params.Required(r.name); err != nil {
			return nil, err
		}
		if *r.to, err = smsInt(c.Params, r.name, 0); err != nil {
			return nil, err
		}
	}
	list, total, err := s.svc.QuerySmsSends(ctx, c.Caller, in)
	if err != nil {
		return nil, err
	}
	model := make(List, 0, len(list))
	for _, m := range list {
		received := ""
		if !m.ReceivedAt.IsZero() {
			received = m.ReceivedAt.UTC().Format(smsTimeLayout)
		}
		model = append(model, Body{
			{"PhoneNum", m.MaskedPhone}, {"SendStatus", m.Status}, {"SendDate", m.SentAt.UTC().Format(smsTimeLayout)},
			{"ReceiveDate", received}, {"Content", m.Content}, {"OutId", m.OutID}, {"ErrCode", m.ErrCode},
			{"TemplateCode", m.Template},
		})
	}
	return Body{{"Success", true}, {"TotalCount", total}, {"Model", model}}, nil
}
