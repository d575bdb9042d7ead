package camara

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"golang.org/x/oauth2"

	"github.com/numauth/numauth/internal/carrier"
)

// The adapter's one error table: what each operator answer means to
// numauth. The H5 gateway and the server API map the carrier errors on to
// their codes (600008 not cellular, 600013 maintenance, 600014 quota, and a
// carrier error for the rest).

// authorizeErrors maps the OAuth error a callback carries (RFC 6749 §4.1.2.1,
// OIDC §3.1.2.6).
var authorizeErrors = map[string]error{
	// The operator could not recognise the line: not on its cellular
	// network (Wi-Fi, another operator's SIM).
	"access_denied":  carrier.ErrNotCellular,
	"login_required": carrier.ErrNotCellular,
	// The operator is down for now.
	"temporarily_unavailable": carrier.ErrMaintenance,
}

func authorizeError(code string) error {
	if err, ok := authorizeErrors[code]; ok {
		return fmt.Errorf("camara: authorization answered %s: %w", safeCode(code), err)
	}
	return fmt.Errorf("%w: authorization answered %s", carrier.ErrFailed, safeCode(code))
}

// statusErrors maps an HTTP status of the token endpoint or the NV API.
var statusErrors = map[int]error{
	http.StatusTooManyRequests:    carrier.ErrQuota,
	http.StatusServiceUnavailable: carrier.ErrMaintenance,
}

// nvErrors maps the NV API's ErrorInfo code (with its status), first.
var nvErrors = map[string]error{
	// 403: the token was not obtained by network-based authentication.
	"NUMBER_VERIFICATION.USER_NOT_AUTHENTICATED_BY_MOBILE_NETWORK": carrier.ErrNotCellular,
	// 401: the token is expired, revoked or spent (single-use operators).
	"UNAUTHENTICATED":   carrier.ErrTicketInvalid,
	"QUOTA_EXCEEDED":    carrier.ErrQuota,
	"TOO_MANY_REQUESTS": carrier.ErrQuota,
	"UNAVAILABLE":       carrier.ErrMaintenance,
}

func statusError(status int) error {
	if err, ok := statusErrors[status]; ok {
		return err
	}
	return carrier.ErrFailed
}

// tokenError maps a failed code exchange.
func tokenError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	var re *oauth2.RetrieveError
	if errors.As(err, &re) && re.Response != nil {
		// invalid_client (the operator refused the client assertion or
		// secret), invalid_grant (a code spent, expired or for another
		// client) and the rest are the operator's refusal: a carrier error.
		return fmt.Errorf("camara: token endpoint answered %d %s: %w", re.Response.StatusCode, safeCode(re.ErrorCode), statusError(re.Response.StatusCode))
	}
	return fmt.Errorf("%w: token endpoint: %w", carrier.ErrFailed, err)
}

// safeCode keeps an operator's error code printable and short for logs.
func safeCode(s string) string {
	if len(s) > 64 {
		s = s[:64]
	}
	b := []byte(s)
	for i, c := range b {
		if c < 0x20 || c > 0x7e {
			b[i] = '?'
		}
	}
	return string(b)
}
