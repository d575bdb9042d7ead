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

// parseLoginHint reads a login_hint; "" is no hint. A tel: or ipport: hint
// that is malformed is refused (invalid_request): a client error worth
// reporting. A hint of another kind is ignored, as CAMARA recommends for
// hints a server does not support.
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
		if !isNVPhone(v) {
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
		// Another kind (CAMARA defines only these two): ignored, as the
		// guidelines recommend for hints a server does not support.
		return loginHint{}, nil
	}
}

// isNVPhone reports whether s is "+" and 5 to 15 digits, the first not 0, as
// the NV API's phoneNumber pattern says: wider than carrier.IsE164 (7 to 15
// digits, numauth's canonical form), since the API must accept what its
// OpenAPI file allows and answer false for what no line has.
func isNVPhone(s string) bool {
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
