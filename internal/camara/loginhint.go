package camara

import (
	"fmt"
	"net/netip"
	"strings"
)

// loginHint is a parsed login_hint (CAMARA-Security-Interoperability,
// "Format of login_hint"): "tel:" with an E.164 number without visual
// separators, or "ipport:" with an IPv4 or IPv6 address and an optional
// port.
type loginHint struct {
	phone string     // E.164, for tel:
	ip    netip.Addr // for ipport:
}

// maxLoginHint bounds what parseLoginHint reads.
const maxLoginHint = 64

// parseLoginHint reads a login_hint; "" is no hint. A hint of either kind
// that is malformed is refused (invalid_request), as is any other kind:
// CAMARA allows an authorization server to ignore a hint it does not
// support, but a malformed one is a client error worth reporting.
//
// How the hint is used: the line is always the one the mobile network
// identifies, never the one the hint names. An ipport hint naming another
// address than the request's means the request did not come over that
// device's connection (access_denied); a tel hint is checked for form
// only, since whether the number is the line's is what /verify answers.
func parseLoginHint(s string) (loginHint, error) {
	if s == "" {
		return loginHint{}, nil
	}
	if len(s) > maxLoginHint {
		return loginHint{}, fmt.Errorf("login_hint is longer than %d characters", maxLoginHint)
	}
	kind, v, ok := strings.Cut(s, ":")
	switch {
	case ok && kind == "tel":
		if !IsE164(v) {
			return loginHint{}, fmt.Errorf("login_hint tel: must be an E.164 number such as tel:+34666666666")
		}
		return loginHint{phone: v}, nil
	case ok && kind == "ipport":
		if ap, err := netip.ParseAddrPort(v); err == nil {
			return loginHint{ip: ap.Addr()}, nil
		}
		if a, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(v, "["), "]")); err == nil && a.Zone() == "" {
			return loginHint{ip: a}, nil
		}
		return loginHint{}, fmt.Errorf("login_hint ipport: must be an address with an optional port, e.g. ipport:80.90.34.2:16790")
	default:
		return loginHint{}, fmt.Errorf("login_hint must start with tel: or ipport:")
	}
}

// IsE164 reports whether s is "+" and 5 to 15 digits, the first not 0, as
// the NV API's phoneNumber pattern says.
func IsE164(s string) bool {
	d, ok := strings.CutPrefix(s, "+")
	if !ok || len(d) < 5 || len(d) > 15 || d[0] == '0' {
		return false
	}
	for i := 0; i < len(d); i++ {
		if d[i] < '0' || d[i] > '9' {
			return false
		}
	}
	return true
}
