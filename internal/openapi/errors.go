package openapi

import (
	"context"
	"errors"
	"net/http"

	"github.com/numauth/numauth/internal/auth"
	"github.com/numauth/numauth/internal/openapi/sign"
)

// Gateway error codes (docs/api.md lists every code with its HTTP status).
const (
	codeOK                  = "OK"
	codeInvalidParameter    = "InvalidParameter"
	codeKeyNotFound         = "InvalidAccessKeyId.NotFound"
	codeKeyInactive         = "InvalidAccessKeyId.Inactive"
	codeIncompleteSignature = "IncompleteSignature"
	codeSignatureMethod     = "InvalidSignatureMethod"
	codeSignatureVersion    = "InvalidSignatureVersion"
	codeSignatureMismatch   = "SignatureDoesNotMatch"
	codeNonceUsed           = "SignatureNonceUsed"
	codeTimeFormat          = "InvalidTimeStamp.Format"
	codeTimeExpired         = "InvalidTimeStamp.Expired"
	codeActionNotFound      = "InvalidAction.NotFound"
	codeVersion             = "InvalidVersion"
	codeThrottlingUser      = "Throttling.User"
	codeForbidden           = "Forbidden"
	codeUnavailable         = "ServiceUnavailable"
	codeInternal            = "InternalError"
)

// APIError is an error answer in Alibaba's envelope.
type APIError struct {
	Code    string
	Status  int // HTTP status
	Message string
	cause   error
	// unsuccessful: the action's answers carry "Success", so its refusals
	// carry "Success": false (the SMS actions).
	unsuccessful bool
}

func (e *APIError) Error() string { return e.Code + ": " + e.Message }
func (e *APIError) Unwrap() error { return e.cause }

func apiErr(code, msg string) *APIError {
	return &APIError{Code: code, Status: statusOf(code), Message: msg}
}

func statusOf(code string) int {
	switch code {
	case codeKeyNotFound, codeActionNotFound:
		return http.StatusNotFound
	case codeForbidden:
		return http.StatusForbidden
	case codeUnavailable:
		return http.StatusServiceUnavailable
	case codeInternal:
		return http.StatusInternalServerError
	}
	return http.StatusBadRequest
}

// mismatchError carries the server's V1 StringToSign with a signature
// mismatch, so the answer can end as Alibaba's does and the V1 SDK can tell
// a wrong secret from a canonicalization bug.
type mismatchError struct {
	err          error
	stringToSign string
}

func (e *mismatchError) Error() string { return e.err.Error() }
func (e *mismatchError) Unwrap() error { return e.err }

// business codes: HTTP 200 with a non-OK Code, as Alibaba answers them.
// Each answers its fixed text, then the service's public hint if it gave
// one (auth.Hint); the error's other detail goes to the log only.
var businessCodes = []struct {
	err  error
	code string
	text string
}{
	{auth.ErrInvalidParameters, "isv.INVALID_PARAMETERS", "A parameter is not valid"},
	{auth.ErrNoMatchingScheme, "isv.SCENE_QUERY_FAIL", "No scheme of yours matches the request"},
	{auth.ErrSchemeNotExist, "isv.VERIFY_SCHEME_NOT_EXIST", "The scheme does not exist"},
	{auth.ErrSchemeConflict, "isv.VERIFY_SCHEME_CONFLICT", "A scheme of that name exists"},
	{auth.ErrTokenInvalid, "isv.TOKEN_INVALID", "The token is invalid, expired, used, or not yours"},
	{auth.ErrTokenUnauthorized, "isv.TOKEN_UNAUTHORIZED_USED", "The token was issued for the other flow"},
	{auth.ErrNumberInvalid, "isv.MOBILE_NUMBER_ILLEGAL", "The phone number is not valid"},
	{auth.ErrOperatorMismatch, "isv.PARAMETERS_MISMATCH", "The phone number does not belong to the line's operator"},
}

// publicText is a fixed text with the error's public hint, if any.
func publicText(text string, err error) string {
	if h := auth.Hint(err); h != "" {
		return text + ": " + h
	}
	return text + "."
}

// toAPIError maps any error from the protocol layer or the service to the
// answer the client gets. It is the one place where error codes are chosen.
func toAPIError(err error) *APIError {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae
	}
	for _, b := range businessCodes {
		if errors.Is(err, b.err) {
			return &APIError{Code: b.code, Status: http.StatusOK, Message: publicText(b.text, err), cause: err}
		}
	}
	var code, msg string
	switch {
	case errors.Is(err, sign.ErrIncomplete):
		code, msg = codeIncompleteSignature, "The request signature does not conform to Aliyun standards."
	case errors.Is(err, sign.ErrMethod):
		code, msg = codeSignatureMethod, "Specified signature method is not supported."
	case errors.Is(err, sign.ErrVersion):
		code, msg = codeSignatureVersion, "Specified signature version is not supported."
	case errors.Is(err, sign.ErrTimestampFormat):
		code, msg = codeTimeFormat, "Specified time stamp or date value is not well formatted."
	case errors.Is(err, sign.ErrMismatch), errors.Is(err, sign.ErrContentHash):
		code, msg = codeSignatureMismatch, "Specified signature does not match our calculation."
		var me *mismatchError
		if errors.As(err, &me) && me.stringToSign != "" {
			msg += " server string to sign is:" + me.stringToSign
		}
	case errors.Is(err, sign.ErrMalformedQuery):
		code, msg = codeInvalidParameter, "The query string or form body is not well-formed."
	case errors.Is(err, auth.ErrKeyNotFound):
		code, msg = codeKeyNotFound, "Specified access key is not found."
	case errors.Is(err, auth.ErrKeyInactive):
		code, msg = codeKeyInactive, "Specified access key is disabled."
	case errors.Is(err, auth.ErrSourceNotAllowed):
		// The hint names the caller's own address and the scheme.
		code, msg = codeForbidden, publicText("The scheme's IpWhiteList does not allow this address", err)
	case errors.Is(err, auth.ErrUnavailable), errors.Is(err, context.DeadlineExceeded):
		code, msg = codeUnavailable, "The request has failed due to a temporary failure of the server."
	default:
		code, msg = codeInternal, "The request processing has failed due to some unknown error."
	}
	return &APIError{Code: code, Status: statusOf(code), Message: msg, cause: err}
}
