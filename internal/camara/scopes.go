package camara

import (
	"fmt"
	"slices"
	"strings"
)

// The NV API's scopes (SPEC §7; CAMARA-Security-Interoperability "Purpose").
const (
	ScopeOpenID = "openid"
	// Technical scopes, as the OpenAPI file's security requirements name them.
	ScopeVerify = "number-verification:verify"
	ScopeShare  = "number-verification:device-phone-number:read"
	// Purpose scopes: the declared purpose with the operation it allows.
	PurposeVerify = "dpv:FraudPreventionAndDetection#number-verification-verify-read"
	PurposeShare  = "dpv:FraudPreventionAndDetection#number-verification-share-read"
)

// operation is what an access token may do.
type operation string

const (
	opVerify operation = "verify"
	opShare  operation = "share"
)

// AllScopes are the scopes a client may be allowed.
var AllScopes = []string{ScopeOpenID, ScopeVerify, ScopeShare, PurposeVerify, PurposeShare}

// grantedOps reads a requested scope list: openid is required; every other
// scope must be one of the NV scopes and allowed to the client (an empty
// allowed list allows all); at most one purpose (dpv:…) may be asked for,
// as CAMARA requires exactly one purpose when a purpose is declared. It
// returns the operations the scopes grant, or an error whose text is fit
// for the client (invalid_scope).
func grantedOps(scopes, allowed []string) ([]operation, error) {
	if !slices.Contains(scopes, ScopeOpenID) {
		return nil, fmt.Errorf("the scope openid is required")
	}
	var ops []operation
	purposes := 0
	add := func(o operation) {
		if !slices.Contains(ops, o) {
			ops = append(ops, o)
		}
	}
	for _, s := range scopes {
		if s != ScopeOpenID && len(allowed) > 0 && !slices.Contains(allowed, s) {
			return nil, fmt.Errorf("the scope %q is not allowed to this client", truncate(s, 80))
		}
		switch s {
		case ScopeOpenID:
		case ScopeVerify:
			add(opVerify)
		case ScopeShare:
			add(opShare)
		case PurposeVerify:
			purposes++
			add(opVerify)
		case PurposeShare:
			purposes++
			add(opShare)
		default:
			if strings.HasPrefix(s, "dpv:") {
				return nil, fmt.Errorf("the purpose %q is not offered", truncate(s, 80))
			}
			return nil, fmt.Errorf("the scope %q is unknown", truncate(s, 80))
		}
	}
	if purposes > 1 {
		return nil, fmt.Errorf("exactly one purpose (dpv:…) may be declared")
	}
	if len(ops) == 0 {
		return nil, fmt.Errorf("no number-verification scope was asked for")
	}
	return ops, nil
}

// truncate bounds echoed input in error texts.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
