package openapi

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strconv"

	"github.com/numauth/numauth/internal/auth"
	"github.com/numauth/numauth/internal/carrier"
	"github.com/numauth/numauth/internal/store"
)

// offlineActions are the Dypnsapi actions Alibaba has taken offline
// (GetSmsAuthTokens, VerifySmsCode, GetAuthorizationUrl) or deprecated
// (the two Jy* actions of the official SDKs). They are in no action table,
// so they answer InvalidAction.NotFound, as Alibaba answers them.
var offlineActions = []string{
	"GetSmsAuthTokens", "VerifySmsCode", "GetAuthorizationUrl",
	"JyCreateVerifyScheme", "JyQueryAppInfoBySceneCode",
}

// getMobile is app one-click login: the number of the line a native app's
// login token came from.
func (s *Server) getMobile(ctx context.Context, c *Call) (Body, error) {
	tok, err := c.Params.Required("AccessToken")
	if err != nil {
		return nil, err
	}
	phone, err := s.svc.AppLogin(ctx, c.Caller, tok)
	if err != nil {
		return nil, err
	}
	// OutId is the integrator's own reference; Alibaba does not echo it.
	return Body{{"GetMobileResultDTO", Body{{"Mobile", carrier.AlibabaForm(phone)}}}}, nil
}

// verifyMobile is app local-number verification.
func (s *Server) verifyMobile(ctx context.Context, c *Call) (Body, error) {
	code, err := c.Params.Required("AccessCode")
	if err != nil {
		return nil, err
	}
	e164, err := phoneParam(c)
	if err != nil {
		return nil, err
	}
	res, err := s.svc.AppVerify(ctx, c.Caller, code, e164)
	if err != nil {
		return nil, err
	}
	return Body{{"GateVerifyResultDTO", Body{{"VerifyId", res.VerifyID}, {"VerifyResult", string(res.Result)}}}}, nil
}

// appEncryptInfo is DescribeVerifyScheme's AppEncryptInfo. Alibaba puts
// there the key its app SDK is initialised with (setAuthSDKInfo). numauth's
// app side needs no secret: the carrier leg identifies the line and the
// token is bound to the scheme, so the value is what the app's SDK needs to
// ask for a token, in the same opaque form (base64 of a JSON object):
// {"v":1,"schemeCode":…,"osType":…,"packName"|"bundleId":…}. It is empty
// for an H5 scheme, whose pages get their tokens from GetAuthToken.
func appEncryptInfo(sc store.Scheme) string {
	if sc.OsType != auth.OsAndroid && sc.OsType != auth.OsIOS {
		return ""
	}
	info := struct {
		V          int    `json:"v"`
		SchemeCode string `json:"schemeCode"`
		OsType     string `json:"osType"`
		PackName   string `json:"packName,omitempty"`
		BundleID   string `json:"bundleId,omitempty"`
	}{V: 1, SchemeCode: sc.Code, OsType: sc.OsType, PackName: sc.PackName, BundleID: sc.BundleID}
	b, _ := json.Marshal(info) // strings only: cannot fail
	return base64.StdEncoding.EncodeToString(b)
}

// queryBilling is QueryGateVerifyBillingPublic: the caller's bill of a
// month (China time), per scheme and billable item, exact to the fen.
func (s *Server) queryBilling(ctx context.Context, c *Call) (Body, error) {
	if _, err := c.Params.Required("AuthenticationType"); err != nil {
		return nil, err
	}
	typ, err := c.Params.Int("AuthenticationType", 0)
	if err != nil {
		return nil, err
	}
	month, err := c.Params.Required("Month")
	if err != nil {
		return nil, err
	}
	bill, err := s.svc.Billing(ctx, c.Caller, auth.BillingInput{AuthenticationType: typ, Month: month})
	if err != nil {
		return nil, err
	}
	lines := make(List, 0, len(bill.Lines))
	for _, l := range bill.Lines {
		lines = append(lines, Body{{"SceneCode", l.SceneCode}, {"SceneName", l.SceneName}, {"AppName", l.AppName},
			{"ItemName", l.ItemName}, {"Add", strconv.FormatInt(l.Count, 10)}, {"SinglePrice", auth.FormatFen(l.PriceFen)},
			{"Amount", auth.FormatFen(l.AmountFen)}})
	}
	return Body{{"Data", Body{{"AmountSum", auth.FormatFen(bill.AmountFen)}, {"SceneBillingList", lines}}}}, nil
}
