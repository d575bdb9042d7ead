package aliyun

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/numauth/numauth/internal/sms"
)

// concern says who must act on a refusal, beyond the integrator who sees
// the error: it decides how loudly the provider logs it.
type concern int

const (
	// concernNone: about this message or this number; logged at Info.
	concernNone concern = iota
	// concernAccount: the Alibaba account's balance, quota or state; the
	// operator must act in Alibaba's console. Logged at Warn.
	concernAccount
	// concernConfig: numauth's own configuration (its AccessKey, its RAM
	// permissions, where it runs). Logged at Error, naming the flags.
	concernConfig
)

// outcome is what one answer code means to numauth.
type outcome struct {
	class   error // sms.ErrRejected or sms.ErrUnavailable
	concern concern
	meaning string // for logs and errors; holds nothing of the request
}

func rejected(c concern, meaning string) outcome {
	return outcome{class: sms.ErrRejected, concern: c, meaning: meaning}
}

func unavailable(c concern, meaning string) outcome {
	return outcome{class: sms.ErrUnavailable, concern: c, meaning: meaning}
}

// codes is the one table of Alibaba's answers to SendSms, from Alibaba's
// documented SendSms and OpenAPI gateway error codes. The rule behind it:
// ErrRejected when Alibaba knew who was asking and refused this message or
// this account's sending as it stands (number, sign, template, parameters,
// content, balance, quotas), so sending it again will not help;
// ErrUnavailable when numauth could not be served at all (its credentials,
// its permissions, where it calls from) or was told to come back later
// (flow control, platform errors). doc.go lists the same table for
// operators; TestDocListsEveryCode keeps the two equal.
var codes = map[string]outcome{
	// The message or the number.
	"isv.MOBILE_NUMBER_ILLEGAL":         rejected(concernNone, "the number is not one Alibaba sends to"),
	"isv.MOBILE_COUNT_OVER_LIMIT":       rejected(concernNone, "too many numbers in one request"),
	"isv.DOMESTIC_NUMBER_NOT_SUPPORTED": rejected(concernNone, "the template is for numbers outside the mainland"),
	"isv.SMS_SIGNATURE_ILLEGAL":         rejected(concernNone, "the sign is not an approved sign of this account"),
	"isv.SMS_SIGN_ILLEGAL":              rejected(concernNone, "the sign may not be used"),
	"isv.SIGN_STATE_ILLEGAL":            rejected(concernNone, "the sign is not in a usable state"),
	"isv.SMS_SIGNATURE_SCENE_ILLEGAL":   rejected(concernNone, "the sign's scene does not fit the template's type"),
	"isv.SMS_TEMPLATE_ILLEGAL":          rejected(concernNone, "the template is not an approved template of this account"),
	"isv.TEMPLATE_MISSING_PARAMETERS":   rejected(concernNone, "the template has variables the parameters do not fill"),
	"isv.TEMPLATE_PARAMS_ILLEGAL":       rejected(concernNone, "a template parameter is not allowed"),
	"isv.INVALID_PARAMETERS":            rejected(concernNone, "a parameter is invalid"),
	"isv.INVALID_JSON_PARAM":            rejected(concernNone, "TemplateParam is not a JSON object of strings"),
	"isv.PARAM_LENGTH_LIMIT":            rejected(concernNone, "a template parameter is too long"),
	"isv.PARAM_NOT_SUPPORT_URL":         rejected(concernNone, "a template parameter holds a URL"),
	"isv.BLACK_KEY_CONTROL_LIMIT":       rejected(concernNone, "a template parameter holds a blocked keyword"),
	"isv.SMS_CONTENT_ILLEGAL":           rejected(concernNone, "the content is not allowed"),
	"isv.EXTEND_CODE_ERROR":             rejected(concernNone, "the extension code is used by another sign"),
	// The account: the operator must act in Alibaba's console.
	"isv.AMOUNT_NOT_ENOUGH":   rejected(concernAccount, "the Alibaba account's balance is too low"),
	"isv.OUT_OF_SERVICE":      rejected(concernAccount, "the Alibaba account is suspended (balance)"),
	"isv.DAY_LIMIT_CONTROL":   rejected(concernAccount, "the account's daily sending quota set in Alibaba's console is spent"),
	"isv.MONTH_LIMIT_CONTROL": rejected(concernAccount, "the account's monthly sending quota set in Alibaba's console is spent"),
	"isv.ACCOUNT_ABNORMAL":    rejected(concernAccount, "Alibaba reports the account as abnormal"),
	// Come back later.
	"isv.BUSINESS_LIMIT_CONTROL": unavailable(concernNone, "Alibaba's flow control for this number or sign"),
	"isp.SYSTEM_ERROR":           unavailable(concernNone, "Alibaba's system error"),
	"isp.GATEWAY_ERROR":          unavailable(concernNone, "Alibaba's gateway error"),
	"Throttling":                 unavailable(concernNone, "Alibaba's API flow control"),
	"Throttling.User":            unavailable(concernNone, "Alibaba's API flow control for this AccessKey"),
	"Throttling.Api":             unavailable(concernNone, "Alibaba's API flow control for SendSms"),
	"ServiceUnavailable":         unavailable(concernNone, "Alibaba's service is unavailable"),
	"InternalError":              unavailable(concernNone, "Alibaba's internal error"),
	// numauth's own configuration: its AccessKey, its permissions, its place.
	"InvalidAccessKeyId.NotFound": unavailable(concernConfig, "Alibaba does not know the AccessKey ID"),
	"InvalidAccessKeyId.Inactive": unavailable(concernConfig, "the AccessKey is disabled"),
	"InvalidAccessKeyId":          unavailable(concernConfig, "the AccessKey ID is invalid"),
	"SignatureDoesNotMatch":       unavailable(concernConfig, "Alibaba refused the request's signature: check the AccessKey secret"),
	"IncompleteSignature":         unavailable(concernConfig, "Alibaba refused the request's signature as incomplete"),
	"InvalidTimeStamp.Expired":    unavailable(concernConfig, "Alibaba refused the request's time: this machine's clock is off"),
	"SignatureNonceUsed":          unavailable(concernConfig, "Alibaba saw the request's nonce before"),
	"Forbidden.RAM":               unavailable(concernConfig, "the AccessKey's RAM user may not call SendSms"),
	"isp.RAM_PERMISSION_DENY":     unavailable(concernConfig, "the AccessKey's RAM user may not call SendSms"),
	"Forbidden.AccessKeyDisabled": unavailable(concernConfig, "the AccessKey is disabled"),
	"isv.ACCOUNT_NOT_EXISTS":      unavailable(concernConfig, "the AccessKey belongs to no SMS account"),
	"isv.PRODUCT_UN_SUBSCRIPT":    unavailable(concernConfig, "the AccessKey's account has not activated Alibaba's messaging services"),
	"isv.PRODUCT_UNSUBSCRIBE":     unavailable(concernConfig, "the AccessKey's account has not activated SMS"),
	"isv.DENY_IP_RANGE":           unavailable(concernConfig, "Alibaba refuses mainland SMS from the region numauth calls from"),
}

// classify maps one answer, an HTTP status and Alibaba's Code, to what it
// means. A 5xx status is an outage whatever the body says; a code in the
// table means what the table says; any other "isv." code (Alibaba's prefix
// for refusals of the caller's request) is a refusal; anything else
// (unknown gateway codes, answers without a Code) is numauth's or Alibaba's
// trouble, not the number's, and is reported unavailable.
func classify(status int, code string) outcome {
	if status >= http.StatusInternalServerError {
		return unavailable(concernNone, fmt.Sprintf("Alibaba answered HTTP %d", status))
	}
	if o, ok := codes[code]; ok {
		return o
	}
	if strings.HasPrefix(code, "isv.") {
		return rejected(concernNone, "Alibaba refused the request with a code numauth does not know")
	}
	if code == "" {
		return unavailable(concernNone, "Alibaba's answer has no Code")
	}
	return unavailable(concernNone, "Alibaba answered with a code numauth does not know")
}

// Error is Alibaba's answer to a SendSms that did not send: it wraps
// sms.ErrRejected or sms.ErrUnavailable. Its fields hold only what was safe
// to keep: a Code or Message that repeated the number or a template
// parameter is withheld.
type Error struct {
	Code       string // Alibaba's Code, e.g. "isv.MOBILE_NUMBER_ILLEGAL"
	HTTPStatus int
	RequestID  string
	Message    string // Alibaba's Message, "" when withheld
	Meaning    string // what numauth makes of the code

	class error
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%v: aliyun SendSms: %s (Code %q, HTTP %d", e.class, e.Meaning, e.Code, e.HTTPStatus)
	if e.RequestID != "" {
		fmt.Fprintf(&b, ", RequestId %s", e.RequestID)
	}
	b.WriteString(")")
	if e.Message != "" {
		fmt.Fprintf(&b, ": %s", e.Message)
	}
	return b.String()
}

// Unwrap returns sms.ErrRejected or sms.ErrUnavailable.
func (e *Error) Unwrap() error { return e.class }

// maxAnswerField bounds what of Alibaba's Code, Message and RequestId an
// Error keeps.
const maxAnswerField = 200

// scrub returns s for an error or a log when it is short, printable and
// repeats none of secrets (the number in both forms, the template
// parameters' values); otherwise withheld. Alibaba's messages sometimes
// quote the request (SignatureDoesNotMatch quotes the whole string to sign,
// the code included), and a peer that is not Alibaba could quote anything.
func scrub(s, withheld string, secrets []string) string {
	if len(s) > maxAnswerField {
		return withheld
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f || r == '\uFFFD' {
			return withheld
		}
	}
	for _, x := range secrets {
		if strings.Contains(s, x) {
			return withheld
		}
	}
	return s
}

// secretsOf lists what of a message must not reach a log or an error: the
// recipient in both forms and every template parameter value long enough to
// be a code (codes have at least 4 characters). Shorter values ("5"
// minutes) would withhold nearly every message and reveal nothing.
func secretsOf(m sms.Message, number string) []string {
	var out []string
	for _, v := range []string{strings.TrimPrefix(m.To, "+"), number, m.Text} {
		if len(v) >= 4 {
			out = append(out, v)
		}
	}
	for _, v := range m.Params {
		if len(v) >= 4 {
			out = append(out, v)
		}
	}
	return out
}
