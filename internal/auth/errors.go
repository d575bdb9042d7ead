package auth

import (
	"errors"
	"fmt"
)

// Errors of the service. The protocol packages map each one to a wire code
// and a fixed public text in one table each (internal/openapi/errors.go,
// the codes of internal/h5/gateway.go, internal/camara/nv.go). Detail
// meant for the client travels as a PublicError's Hint; any other detail
// (wrapped with %w) is for logs only and never reaches a client.
var (
	// ErrInvalidParameters: a parameter is well-formed but not acceptable.
	ErrInvalidParameters = errors.New("invalid parameters")
	// ErrNoMatchingScheme: no scheme of the caller matches.
	ErrNoMatchingScheme = errors.New("no matching scheme")
	// ErrSchemeNotExist: the named scheme does not exist for the caller.
	ErrSchemeNotExist = errors.New("scheme does not exist")
	// ErrSchemeConflict: a scheme with that name exists.
	ErrSchemeConflict = errors.New("scheme already exists")
	// ErrTokenInvalid: expired, used, unknown or foreign token.
	ErrTokenInvalid = errors.New("token invalid")
	// ErrTokenUnauthorized: a verification token on a login action or the
	// reverse.
	ErrTokenUnauthorized = errors.New("token not valid for this action")
	// ErrNumberInvalid: not a mainland mobile number.
	ErrNumberInvalid = errors.New("illegal mobile number")
	// ErrOperatorMismatch: the number's carrier is not the line's carrier.
	ErrOperatorMismatch = errors.New("number belongs to another carrier than the line")
	// ErrSourceNotAllowed: the call came from an address outside the
	// scheme's IpWhiteList (Forbidden).
	ErrSourceNotAllowed = errors.New("source address not allowed by the scheme's IpWhiteList")
	// ErrUnavailable: a backing store is down (ServiceUnavailable).
	ErrUnavailable = errors.New("service unavailable")
	// ErrNonceUsed: a signed request's nonce was seen before (a replay).
	ErrNonceUsed = errors.New("nonce already used")
	// ErrSignedBeforeEpoch: the request was signed before the ephemeral
	// store's current epoch, so whether its nonce was seen is unknown.
	ErrSignedBeforeEpoch = errors.New("request signed before the nonce store's epoch")
	// ErrThrottled: the caller's calls per second are spent.
	ErrThrottled = errors.New("too many calls")
	// ErrAccountNotFound: the account named has no AccessKey (accounts
	// exist through their keys) and is not DefaultAccount. It wraps
	// ErrInvalidParameters.
	ErrAccountNotFound = hint(ErrInvalidParameters, "no such account")

	// OAuth client errors (the CAMARA northbound API's relying parties);
	// the camara protocol maps them to OAuth's invalid_client.

	// ErrOAuthClientNotFound: no OAuth client has that client_id.
	ErrOAuthClientNotFound = errors.New("OAuth client not found")
	// ErrOAuthClientInactive: the OAuth client is disabled.
	ErrOAuthClientInactive = errors.New("OAuth client is disabled")
	// ErrOAuthClientSecret: the client_secret is wrong, or the client
	// does not authenticate with a secret.
	ErrOAuthClientSecret = errors.New("OAuth client authentication failed")

	// SMS code errors (docs/sms.md). The protocol maps them, and
	// ErrInvalidParameters and ErrNumberInvalid on the SMS actions, to the
	// SMS actions' own codes.

	// ErrSmsFrequency: a code was sent to this number less than Interval
	// ago.
	ErrSmsFrequency = errors.New("a code was sent to this number too recently")
	// ErrSmsLimit: the number's hourly or daily sends, or the account's
	// daily sends, are spent.
	ErrSmsLimit = errors.New("SMS send limit reached")
	// ErrSmsCountry: sending to the number's country is not enabled.
	ErrSmsCountry = errors.New("SMS to this country is not enabled")
	// ErrSmsRejected: the SMS provider refused the message; nothing was sent.
	ErrSmsRejected = errors.New("the SMS provider refused the message")
	// ErrSmsProviderDown: the SMS provider could not be reached or did not
	// accept the message in time; nothing was sent.
	ErrSmsProviderDown = errors.New("the SMS provider is unavailable")

	// H5 gateway errors (see docs/h5-protocol.md).

	// ErrBadArgument: a missing or malformed field from the page.
	ErrBadArgument = errors.New("bad argument")
	// ErrIdentity: the page's tokens are invalid, expired, mismatched or
	// used from an origin they were not minted for.
	ErrIdentity = errors.New("identity check failed")
	// ErrSchemeGone: the tokens' scheme was deleted.
	ErrSchemeGone = errors.New("scheme not found")
	// ErrBizMismatch: tokens minted for the other flow.
	ErrBizMismatch = errors.New("tokens were minted for the other flow")
	// ErrSessionInvalid: unknown, expired or dead gateway session.
	ErrSessionInvalid = errors.New("session invalid")
	// ErrTooManySessions: the token pair, or the address the call came
	// from, has opened as many sessions as it may.
	ErrTooManySessions = errors.New("too many sessions")
	// ErrSmsCodeWrong: a fusion flow's SMS code is wrong, expired or spent.
	ErrSmsCodeWrong = errors.New("SMS code wrong")
	// ErrMaskNotRequested: login token asked before the masked number.
	ErrMaskNotRequested = errors.New("masked number not requested")
	// ErrMaskWrong: wrong middle four digits; more tries are left.
	ErrMaskWrong = errors.New("wrong mask")
	// ErrMaskLocked: the number's wrong-mask budget is spent; it is locked
	// for login until the budget's window ends.
	ErrMaskLocked = errors.New("too many wrong masks; number locked for login")
)

// MaskWrongError carries the tries left after a wrong mask. It unwraps to
// ErrMaskWrong.
type MaskWrongError struct{ TriesLeft int }

func (e *MaskWrongError) Error() string { return ErrMaskWrong.Error() }

// Unwrap makes errors.Is(err, ErrMaskWrong) hold.
func (e *MaskWrongError) Unwrap() error { return ErrMaskWrong }

// PublicError is a service error with a hint fit for the client, such as
// which parameter is wrong and why. It never holds a phone number, a
// secret or another system's error text.
type PublicError struct {
	Err  error // the sentinel
	Hint string
}

func (e *PublicError) Error() string { return e.Err.Error() + ": " + e.Hint }
func (e *PublicError) Unwrap() error { return e.Err }

// hint returns err with a public hint.
func hint(err error, format string, args ...any) error {
	return &PublicError{Err: err, Hint: fmt.Sprintf(format, args...)}
}

// Hint returns the public hint in err's chain, or "".
func Hint(err error) string {
	var pe *PublicError
	if errors.As(err, &pe) {
		return pe.Hint
	}
	return ""
}
