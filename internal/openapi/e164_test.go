package openapi

import (
	"context"
	"net/netip"
	"testing"

	"github.com/numauth/numauth/internal/auth"
	"github.com/numauth/numauth/internal/carrier"
	"github.com/numauth/numauth/internal/carrier/sandbox"
	"github.com/numauth/numauth/internal/token"
)

// TestNumbersAtTheAlibabaEdge: GetPhoneWithToken answers a mainland number
// in its 11 digits and another in E.164 (numbers are E.164 inside numauth),
// and VerifyPhoneWithToken takes both forms.
func TestNumbersAtTheAlibabaEdge(t *testing.T) {
	ctx := context.Background()
	const origin = "https://shop.example.com"
	f := newFixture(t, sandbox.Subscriber{Prefix: netip.MustParsePrefix("192.0.2.2/32"), Phone: "+447700900123"})
	svc := f.svc
	c := auth.Caller{AccessKeyID: keyID, AccountID: auth.DefaultAccount}
	if _, err := svc.CreateScheme(ctx, c, auth.SchemeInput{Name: "s", OsType: "H5", Origin: origin, URL: origin + "/"}); err != nil {
		t.Fatal(err)
	}
	spToken := func(src string, kind carrier.Kind) string {
		t.Helper()
		ti, err := svc.IssuePageTokens(ctx, c, auth.PageTokenRequest{URL: origin + "/login", Origin: origin, Biz: token.BizAny})
		if err != nil {
			t.Fatal(err)
		}
		sess, err := svc.OpenSession(ctx, auth.SessionRequest{AccessToken: ti.AccessToken, JwtToken: ti.JwtToken, Origin: origin, Kind: kind})
		if err != nil {
			t.Fatal(err)
		}
		front := carrier.FrontRequest{Source: netip.MustParseAddr(src)}
		if kind == carrier.KindVerify {
			res, err := svc.MintVerifyToken(ctx, sess.ID, origin, front)
			if err != nil {
				t.Fatal(err)
			}
			return res.SPToken
		}
		m, err := svc.LoginMask(ctx, sess.ID, origin, front)
		if err != nil {
			t.Fatal(err)
		}
		phone := map[string]string{"127.0.0.1": "13800138000", "192.0.2.2": "+447700900123"}[src]
		if m.Masked != carrier.Mask(phone) {
			t.Errorf("masked %q, want %q", m.Masked, carrier.Mask(phone))
		}
		digits, _ := carrier.MaskDigits(phone)
		res, err := svc.MintLoginToken(ctx, sess.ID, origin, digits)
		if err != nil {
			t.Fatal(err)
		}
		return res.SPToken
	}
	for src, want := range map[string]string{"127.0.0.1": "13800138000", "192.0.2.2": "+447700900123"} {
		_, body := f.call(t, act("GetPhoneWithToken", "SpToken", spToken(src, carrier.KindLogin)), f.now, "n-login-"+src)
		data, _ := body["Data"].(map[string]any)
		if got := data["Mobile"]; got != want {
			t.Errorf("GetPhoneWithToken from %s: %v, want Mobile %s", src, body, want)
		}
	}
	for i, c := range []struct{ src, phone, want string }{
		{"127.0.0.1", "13800138000", "PASS"}, {"127.0.0.1", "+86 138 0013 8000", "PASS"},
		{"192.0.2.2", "+447700900123", "PASS"}, {"192.0.2.2", "+447700900124", "REJECT"},
	} {
		_, body := f.call(t, act("VerifyPhoneWithToken", "SpToken", spToken(c.src, carrier.KindVerify), "PhoneNumber", c.phone), f.now, "n-verify-"+string(rune('a'+i)))
		gv, _ := body["GateVerify"].(map[string]any)
		if gv == nil || gv["VerifyResult"] != c.want {
			t.Errorf("VerifyPhoneWithToken(%s) = %v, want %s", carrier.Mask(c.phone), body, c.want)
		}
	}
	_, body := f.call(t, act("VerifyPhoneWithToken", "SpToken", spToken("192.0.2.2", carrier.KindVerify), "PhoneNumber", "+44 77"), f.now, "n-bad")
	if body["Code"] != "isv.MOBILE_NUMBER_ILLEGAL" {
		t.Errorf("VerifyPhoneWithToken(bad number) = %v", body)
	}
}
