package auth

import (
	"context"

	"github.com/numauth/numauth/internal/ipset"
	"github.com/numauth/numauth/internal/store"
)

// A scheme's IpWhiteList names the integrator servers that may use the
// scheme: the calls that mint its tokens (GetAuthToken) and redeem them
// (VerifyPhoneWithToken, GetPhoneWithToken) must come from an address in
// it. An empty list allows every address. Managing the scheme
// (DescribeVerifyScheme, DeleteVerifyScheme) is not restricted: the
// AccessKey alone authorises that. The page's gateway calls come from the
// visitor's phone and are never checked against it.

// sourceAllowed checks c's address against sc's IpWhiteList.
func sourceAllowed(c Caller, sc *store.Scheme) error {
	if sc.IPWhiteList == "" {
		return nil
	}
	set, err := ipset.Parse(sc.IPWhiteList)
	if err != nil {
		// Stored before lists were checked at creation: a list that cannot
		// be read allows nobody rather than everybody.
		return hint(ErrSourceNotAllowed, "the list of scheme %s is not a list of addresses, so it allows none; create the scheme again", sc.Code)
	}
	if !set.Contains(c.SourceIP) {
		return hint(ErrSourceNotAllowed, "%s is not in the list of scheme %s", c.SourceIP, sc.Code)
	}
	return nil
}

// checkSource checks c's address against the IpWhiteList of c's scheme
// code. A scheme that no longer exists restricts nothing here; the token
// checks decide about it.
func (s *Service) checkSource(ctx context.Context, c Caller, code string) error {
	all, err := s.schemes(ctx, c.AccountID, false)
	if err != nil {
		return err
	}
	for i := range all {
		if all[i].Code == code {
			return sourceAllowed(c, &all[i])
		}
	}
	return nil
}
