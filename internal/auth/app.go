package auth

import (
	"context"
	"errors"
	"fmt"

	"github.com/numauth/numauth/internal/carrier"
	"github.com/numauth/numauth/internal/store"
)

// App one-click login and verification (GetMobile / VerifyMobile). A
// native app's carrier SDK gets a token over cellular data; the app's
// server hands it to GetMobile (a login token) or VerifyMobile (a
// verification token). numauth's sandbox carrier plays the carrier's side
// (IssueAppToken, served at POST /sandbox/v1/app-token).
//
// An app token is an spToken in content (token.SP: account, scheme, kind,
// operator, adapter, the carrier's ticket, a short lifetime) sealed as a
// type of its own (token.Sealer.SealApp), so it never passes for an H5
// spToken nor the reverse. Its outcome is exactly-once by the spToken
// machine (sptoken.go), and its answers are recorded as the H5 flows'
// are: one record per token, billed by the same rules.

// ErrNotAppScheme: the scheme named for an app token is not an app
// (Android or iOS) scheme of any account, or was deleted.
var ErrNotAppScheme = errors.New("not an app scheme")

// IssueAppToken runs the carrier's network-identified front leg for a
// native app's request and returns an app token of the given kind for the
// scheme, owned by the scheme's account.
func (s *Service) IssueAppToken(ctx context.Context, schemeCode string, kind carrier.Kind, front carrier.FrontRequest) (string, error) {
	if kind != carrier.KindLogin && kind != carrier.KindVerify {
		return "", hint(ErrInvalidParameters, "kind must be login or verify")
	}
	if schemeCode == "" || len(schemeCode) > 64 {
		return "", hint(ErrNotAppScheme, "schemeCode is missing or too long")
	}
	sc, err := s.durable.GetScheme(ctx, schemeCode)
	if errors.Is(err, store.ErrNotFound) {
		return "", hint(ErrNotAppScheme, "no such scheme")
	}
	if err != nil {
		return "", storeErr("get scheme", err)
	}
	if sc.OsType != OsAndroid && sc.OsType != OsIOS {
		return "", hint(ErrNotAppScheme, "the scheme is a %s scheme", sc.OsType)
	}
	ni, ok := s.cfg.Carrier.(carrier.NetworkIdentified)
	if !ok {
		return "", carrierErr(ctx, "carrier front leg", fmt.Errorf("%w: %s has no network-identified front leg", carrier.ErrUnsupported, s.cfg.Carrier.Name()))
	}
	front.Kind = kind
	line, err := ni.Identify(ctx, front)
	if err != nil {
		return "", carrierErr(ctx, "carrier front leg", err)
	}
	res, err := s.mintToken(ctx, s.sealer.SealApp, session{AccountID: sc.AccountID, Scheme: sc.Code, Kind: kind},
		kind, line.Operator, line.Ticket, line.Masked, line.Expires)
	if err != nil {
		return "", err
	}
	return res.SPToken, nil
}

// AppLogin is GetMobile: the number (E.164) of the line a login app token
// came from, once per token (a failed call may be retried with the same
// token, as GetPhoneWithToken's).
func (s *Service) AppLogin(ctx context.Context, c Caller, accessToken string) (string, error) {
	return s.loginNumber(ctx, c, s.sealer.OpenApp, accessToken)
}

// AppVerify is VerifyMobile: whether phone is the number of the line a
// verification app token came from, answered once per token.
func (s *Service) AppVerify(ctx context.Context, c Caller, accessCode, phone string) (VerifyResult, error) {
	return s.verifyNumber(ctx, c, s.sealer.OpenApp, accessCode, phone)
}
