package openapi

import (
	"context"

	"github.com/numauth/numauth/internal/auth"
	"github.com/numauth/numauth/internal/carrier"
)

// Fusion authentication (SPEC §1.4): GetFusionAuthToken and
// VerifyWithFusionAuthToken; the rules are internal/auth's fusion.go.

func (s *Server) getFusionAuthToken(ctx context.Context, c *Call) (Body, error) {
	code, err := c.Params.Required("SchemeCode")
	if err != nil {
		return nil, err
	}
	platform, err := c.Params.Required("Platform")
	if err != nil {
		return nil, err
	}
	if _, err := c.Params.Required("DurationSeconds"); err != nil {
		return nil, err
	}
	d, err := c.Params.Int("DurationSeconds", 0)
	if err != nil {
		return nil, err
	}
	tok, err := s.svc.MintFusionToken(ctx, c.Caller, auth.FusionTokenInput{
		SchemeCode: code, Platform: platform, DurationSeconds: d,
		PackageName: c.Params.Get("PackageName"), PackageSign: c.Params.Get("PackageSign"), BundleID: c.Params.Get("BundleId"),
	})
	if err != nil {
		return nil, err
	}
	return Body{{"Success", true}, {"Model", tok}}, nil
}

func (s *Server) verifyWithFusionAuthToken(ctx context.Context, c *Call) (Body, error) {
	vt, err := c.Params.Required("VerifyToken")
	if err != nil {
		return nil, err
	}
	res, err := s.svc.VerifyFusion(ctx, c.Caller, vt)
	if err != nil {
		return nil, err
	}
	m := Body{{"VerifyResult", string(res.Result)}}
	if res.Result == carrier.Pass {
		// A mainland number in its 11 digits, as Alibaba answers.
		m = Body{{"PhoneNumber", carrier.AlibabaForm(res.Phone)}, {"VerifyResult", string(res.Result)}, {"PhoneScore", res.PhoneScore}}
	}
	return Body{{"Success", true}, {"Model", m}}, nil
}
