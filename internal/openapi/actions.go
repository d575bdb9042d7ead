package openapi

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/numauth/numauth/internal/auth"
	"github.com/numauth/numauth/internal/carrier"
	"github.com/numauth/numauth/internal/store"
	"github.com/numauth/numauth/internal/token"
)

// actionTable maps action names to their handlers. Each handler reads its
// parameters, calls the service and shapes the answer with the wire names
// the official SDKs decode.
func (s *Server) actionTable() map[string]action {
	return map[string]action{
		"GetAuthToken":                   s.getAuthToken,
		"VerifyPhoneWithToken":           s.verifyPhoneWithToken,
		"GetPhoneWithToken":              s.getPhoneWithToken,
		"CreateVerifyScheme":             s.createVerifyScheme,
		"CreateSchemeConfig":             s.createSchemeConfig,
		"DescribeVerifyScheme":           s.describeVerifyScheme,
		"DeleteVerifyScheme":             s.deleteVerifyScheme,
		"QueryGateVerifyStatisticPublic": s.queryStatistics,
		"SendSmsVerifyCode":              s.sendSmsVerifyCode,
		"CheckSmsVerifyCode":             s.checkSmsVerifyCode,
		"QuerySendDetails":               s.querySendDetails,
		"GetMobile":                      s.getMobile,
		"VerifyMobile":                   s.verifyMobile,
		"QueryGateVerifyBillingPublic":   s.queryBilling,
		"GetFusionAuthToken":             s.getFusionAuthToken,
		"VerifyWithFusionAuthToken":      s.verifyWithFusionAuthToken,
	}
}

func (s *Server) getAuthToken(ctx context.Context, c *Call) (Body, error) {
	u, err := c.Params.Required("Url")
	if err != nil {
		return nil, err
	}
	origin, err := c.Params.Required("Origin")
	if err != nil {
		return nil, err
	}
	// Absent, BizType means both flows (token.BizAny, which is -1); given, it
	// is 0 or 1, so -1 on the wire is refused like any other value.
	biz, err := c.Params.Int("BizType", int(token.BizAny))
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(c.Params.Get("BizType")) != "" && biz != int(token.BizVerify) && biz != int(token.BizLogin) {
		return nil, fmt.Errorf("%w: BizType must be 0 (verification) or 1 (login)", auth.ErrInvalidParameters)
	}
	for _, name := range []string{"CmApiCode", "CuApiCode", "CtApiCode"} {
		if _, err := c.Params.Int(name, 0); err != nil {
			return nil, err
		}
	}
	ti, err := s.svc.IssuePageTokens(ctx, c.Caller, auth.PageTokenRequest{
		URL: u, Origin: origin, SceneCode: c.Params.Get("SceneCode"), Biz: token.Biz(biz),
	})
	if err != nil {
		return nil, err
	}
	return Body{{"TokenInfo", Body{{"AccessToken", ti.AccessToken}, {"JwtToken", ti.JwtToken}}}}, nil
}

// phoneParam reads the required PhoneNumber of a verification: the 11-digit
// mainland form (and its +86 variants) as Alibaba takes it, or E.164;
// numbers are E.164 from here on.
func phoneParam(c *Call) (string, error) {
	phone, err := c.Params.Required("PhoneNumber")
	if err != nil {
		return "", err
	}
	e164, err := carrier.ParseE164(phone)
	if err != nil {
		return "", fmt.Errorf("%w: %w", auth.ErrNumberInvalid, err)
	}
	return e164, nil
}

func (s *Server) verifyPhoneWithToken(ctx context.Context, c *Call) (Body, error) {
	sp, err := c.Params.Required("SpToken")
	if err != nil {
		return nil, err
	}
	e164, err := phoneParam(c)
	if err != nil {
		return nil, err
	}
	res, err := s.svc.VerifyNumber(ctx, c.Caller, sp, e164)
	if err != nil {
		return nil, err
	}
	gv := Body{{"VerifyId", res.VerifyID}, {"VerifyResult", string(res.Result)}}
	// GateVerify is the SDK's wire name; GateVerifyResultDTO is the seed's.
	return Body{{"GateVerify", gv}, {"GateVerifyResultDTO", gv}}, nil
}

func (s *Server) getPhoneWithToken(ctx context.Context, c *Call) (Body, error) {
	sp, err := c.Params.Required("SpToken")
	if err != nil {
		return nil, err
	}
	phone, err := s.svc.LoginNumber(ctx, c.Caller, sp)
	if err != nil {
		return nil, err
	}
	// A mainland number in its 11 digits, as Alibaba answers; another in E.164.
	return Body{{"Data", Body{{"Mobile", carrier.AlibabaForm(phone)}}}}, nil
}

func (s *Server) createVerifyScheme(ctx context.Context, c *Call) (Body, error) {
	in := auth.SchemeInput{
		Origin: c.Params.Get("Origin"), URL: c.Params.Get("Url"), PackName: c.Params.Get("PackName"),
		PackSign: c.Params.Get("PackSign"), BundleID: c.Params.Get("BundleId"), SmsSignName: c.Params.Get("SmsSignName"),
		IPWhiteList: c.Params.Get("IpWhiteList"), Email: c.Params.Get("Email"),
	}
	var err error
	if in.Name, err = c.Params.Required("SchemeName"); err != nil {
		return nil, err
	}
	if in.AppName, err = c.Params.Required("AppName"); err != nil {
		return nil, err
	}
	if in.OsType, err = c.Params.Required("OsType"); err != nil {
		return nil, err
	}
	sc, err := s.svc.CreateScheme(ctx, c.Caller, in)
	if err != nil {
		return nil, err
	}
	return Body{{"Success", true}, {"HttpStatusCode", http.StatusOK},
		{"GateVerifySchemeDTO", Body{{"SchemeCode", sc.Code}}}}, nil
}

func (s *Server) createSchemeConfig(ctx context.Context, c *Call) (Body, error) {
	name, err := c.Params.Required("SchemeName")
	if err != nil {
		return nil, err
	}
	platform := c.Params.Get("Platform")
	if platform == "" {
		switch {
		case c.Params.Get("H5Origin") != "" || c.Params.Get("H5Url") != "":
			platform = auth.OsH5
		case c.Params.Get("IosBundleId") != "":
			platform = auth.OsIOS
		default:
			platform = auth.OsAndroid
		}
	}
	sc, err := s.svc.CreateScheme(ctx, c.Caller, auth.SchemeInput{
		Name: name, AppName: c.Params.Get("AppName"), OsType: platform,
		Origin: c.Params.Get("H5Origin"), URL: c.Params.Get("H5Url"),
		PackName: c.Params.Get("AndroidPackageName"), PackSign: c.Params.Get("AndroidPackageSign"),
		BundleID: c.Params.Get("IosBundleId"), FusionStrategy: c.Params.Get("FusionStrategy"),
	})
	if err != nil {
		return nil, err
	}
	return Body{{"Success", true}, {"Model", Body{{"SchemeCode", sc.Code}}}}, nil
}

func (s *Server) describeVerifyScheme(ctx context.Context, c *Call) (Body, error) {
	code, err := c.Params.Required("SchemeCode")
	if err != nil {
		return nil, err
	}
	sc, err := s.svc.DescribeScheme(ctx, c.Caller, code)
	if err != nil {
		return nil, err
	}
	return Body{{"SchemeQueryResultDTO", schemeBody(sc)}}, nil
}

// schemeBody describes a scheme. AppEncryptInfo is the field the official
// SDK decodes (Alibaba puts the app-side key there; see appEncryptInfo).
func schemeBody(sc store.Scheme) Body {
	return Body{
		{"AppEncryptInfo", appEncryptInfo(sc)}, {"SchemeCode", sc.Code}, {"SchemeName", sc.Name}, {"AppName", sc.AppName},
		{"OsType", sc.OsType}, {"Origin", sc.Origin}, {"Url", sc.URL}, {"PackName", sc.PackName},
		{"PackSign", sc.PackSign}, {"BundleId", sc.BundleID}, {"SmsSignName", sc.SmsSignName},
		{"GmtCreate", sc.CreatedAt.UTC().Format("2006-01-02T15:04:05Z")},
	}
}

func (s *Server) deleteVerifyScheme(ctx context.Context, c *Call) (Body, error) {
	code, err := c.Params.Required("SchemeCode")
	if err != nil {
		return nil, err
	}
	if err := s.svc.DeleteScheme(ctx, c.Caller, code); err != nil {
		return nil, err
	}
	return Body{{"Result", true}}, nil
}

func (s *Server) queryStatistics(ctx context.Context, c *Call) (Body, error) {
	if _, err := c.Params.Required("AuthenticationType"); err != nil {
		return nil, err
	}
	typ, err := c.Params.Int("AuthenticationType", 0)
	if err != nil {
		return nil, err
	}
	start, err := c.Params.Required("StartDate")
	if err != nil {
		return nil, err
	}
	end, err := c.Params.Required("EndDate")
	if err != nil {
		return nil, err
	}
	st, err := s.svc.Statistics(ctx, c.Caller, auth.StatsInput{
		AuthenticationType: typ, StartDate: start, EndDate: end, SceneCode: c.Params.Get("SceneCode"),
		OsType: c.Params.Get("OsType"),
	})
	if err != nil {
		return nil, err
	}
	days := make(List, 0, len(st.Days))
	for _, d := range st.Days {
		days = append(days, Body{{"StatisticDateStr", strings.ReplaceAll(d.Day, "-", "")}, {"TotalSuccess", d.Pass}, {"TotalFail", d.Reject}, {"TotalUnknown", d.Unknown}})
	}
	return Body{{"Data", Body{{"Total", st.Total}, {"TotalSuccess", st.TotalSuccess}, {"TotalFail", st.TotalFail},
		{"TotalUnknown", st.TotalUnknown}, {"DayStatistic", days}}}}, nil
}
