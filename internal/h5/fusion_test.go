package h5_test

import (
	"context"
	"testing"

	"github.com/numauth/numauth/internal/auth"
	"github.com/numauth/numauth/internal/carrier"
	"github.com/numauth/numauth/internal/token"
)

func TestFusionOperations(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	all, err := f.svc.ListSchemes(ctx, f.caller.AccountID)
	if err != nil || len(all) != 1 {
		t.Fatalf("schemes: %v, %v", all, err)
	}
	ft, err := f.svc.MintFusionToken(ctx, f.caller, auth.FusionTokenInput{SchemeCode: all[0].Code, Platform: "H5", DurationSeconds: 900})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, from string
		body       map[string]string
		code       string
	}{
		{"no token", origin, map[string]string{}, "BAD_ARGUMENT"},
		{"forged token", origin, map[string]string{"fusionToken": "forged"}, "IDENTITY_FAILED"},
		{"another origin", "https://evil.example", map[string]string{"fusionToken": ft}, "IDENTITY_FAILED"},
	} {
		rec, out := f.post(t, "fusion-check", tc.from, tc.body)
		if out["code"] != tc.code || out["session"] != nil {
			t.Errorf("fusion-check, %s: %v, want %s", tc.name, out, tc.code)
		}
		if tc.from == "https://evil.example" && rec.Header().Get("Access-Control-Allow-Origin") != tc.from {
			t.Errorf("an error answer is readable by the page that asked")
		}
	}
	open := func() string {
		t.Helper()
		rec, out := f.post(t, "fusion-check", origin, map[string]string{"fusionToken": ft})
		if out["code"] != "OK" || out["strategy"] != "carrier" || rec.Header().Get("Access-Control-Allow-Origin") != origin {
			t.Fatalf("fusion-check: %v", out)
		}
		return out["session"].(string)
	}

	// The carrier path: the seed login legs, ending in a VerifyToken.
	sid := open()
	if _, out := f.post(t, "login-mask", origin, map[string]string{"session": sid}); out["code"] != "OK" || out["maskedPhone"] != "138****8000" {
		t.Fatalf("login-mask: %v", out)
	}
	_, out := f.post(t, "login-token", origin, map[string]string{"session": sid, "mask": "0013"})
	vt, _ := out["spToken"].(string)
	if out["code"] != "OK" || vt == "" {
		t.Fatalf("login-token: %v", out)
	}
	res, err := f.svc.VerifyFusion(ctx, f.caller, vt)
	if err != nil || res.Result != carrier.Pass || res.Phone != "+86"+phone {
		t.Fatalf("VerifyFusion = %+v, %v", res, err)
	}

	// The SMS path's refusals.
	sid = open()
	for _, tc := range []struct {
		op   string
		body map[string]string
		code string
	}{
		{"fusion-sms-send", map[string]string{"session": sid, "phoneNumber": "12345"}, "BAD_ARGUMENT"},
		{"fusion-sms-send", map[string]string{"session": "nope", "phoneNumber": "13900139000"}, "SESSION_INVALID"},
		{"fusion-sms-send", map[string]string{"session": sid, "phoneNumber": "13900139000"}, "OK"},
		{"fusion-sms-send", map[string]string{"session": sid, "phoneNumber": "13900139000"}, "SMS_FREQUENCY"},
		{"fusion-sms-check", map[string]string{"session": sid, "phoneNumber": "13900139000", "code": ""}, "BAD_ARGUMENT"},
		{"fusion-sms-check", map[string]string{"session": sid, "phoneNumber": "13900139000", "code": "123456789"}, "BAD_ARGUMENT"},
		{"fusion-sms-check", map[string]string{"session": sid, "phoneNumber": "13700137000", "code": "1234"}, "SMS_CODE_WRONG"},
	} {
		rec, out := f.post(t, tc.op, origin, tc.body)
		if out["code"] != tc.code || out["spToken"] != nil {
			t.Errorf("%s %v: %v, want %s", tc.op, tc.body, out, tc.code)
		}
		if rec.Header().Get("Access-Control-Allow-Origin") != origin {
			t.Errorf("%s: the session's page cannot read the answer", tc.op)
		}
	}
	// A seed session takes no fusion operation.
	ti := f.tokens(t, token.BizAny)
	_, out = f.post(t, "check", origin, map[string]string{"accessToken": ti.AccessToken, "jwtToken": ti.JwtToken, "kind": "login"})
	if _, out = f.post(t, "fusion-sms-send", origin, map[string]string{"session": out["session"].(string), "phoneNumber": "13900139001"}); out["code"] != "SESSION_INVALID" {
		t.Fatalf("fusion-sms-send on a seed session: %v", out)
	}
}
