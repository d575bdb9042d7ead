package openapi

import (
	"context"
	"fmt"
	"net/netip"
	"testing"

	"github.com/numauth/numauth/internal/carrier"
)

func TestFusionActions(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	const origin = "https://a.example"
	st, b := f.call(t, act("CreateSchemeConfig", "SchemeName", "fusion", "Platform", "H5", "H5Origin", origin, "H5Url", origin+"/"), f.now, "fu-create")
	if st != 200 || b["Code"] != "OK" {
		t.Fatalf("CreateSchemeConfig = %d %v", st, b)
	}
	code := b["Model"].(map[string]any)["SchemeCode"].(string)

	for i, tt := range []struct {
		kv     []string
		status int
		code   string
	}{
		{[]string{"SchemeCode", code, "Platform", "H5", "DurationSeconds", "900"}, 200, "OK"},
		{[]string{"SchemeCode", code, "Platform", "H5", "DurationSeconds", "43200"}, 200, "OK"},
		{[]string{"SchemeCode", code, "Platform", "H5", "DurationSeconds", "899"}, 200, "isv.INVALID_PARAMETERS"},
		{[]string{"SchemeCode", code, "Platform", "H5", "DurationSeconds", "43201"}, 200, "isv.INVALID_PARAMETERS"},
		{[]string{"SchemeCode", code, "Platform", "H5", "DurationSeconds", "9e3"}, 400, "InvalidParameter"},
		{[]string{"SchemeCode", code, "Platform", "H5"}, 400, "MissingDurationSeconds"},
		{[]string{"SchemeCode", code, "DurationSeconds", "900"}, 400, "MissingPlatform"},
		{[]string{"Platform", "H5", "DurationSeconds", "900"}, 400, "MissingSchemeCode"},
		{[]string{"SchemeCode", code, "Platform", "Android", "DurationSeconds", "900", "PackageName", "a", "PackageSign", "b"}, 200, "isv.INVALID_PARAMETERS"},
		{[]string{"SchemeCode", code, "Platform", "WinPhone", "DurationSeconds", "900"}, 200, "isv.INVALID_PARAMETERS"},
		{[]string{"SchemeCode", "FC000", "Platform", "H5", "DurationSeconds", "900"}, 200, "isv.VERIFY_SCHEME_NOT_EXIST"},
	} {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			st, b := f.call(t, act("GetFusionAuthToken", tt.kv...), f.now, fmt.Sprint("fu-get-", i))
			if st != tt.status || b["Code"] != tt.code {
				t.Fatalf("%v = %d %v, want %d %s", tt.kv, st, b, tt.status, tt.code)
			}
			if m, ok := b["Model"].(string); (tt.code == "OK") != (ok && m != "") {
				t.Fatalf("Model %v in %v", b["Model"], b)
			}
		})
	}

	_, b = f.call(t, act("GetFusionAuthToken", "SchemeCode", code, "Platform", "H5", "DurationSeconds", "900"), f.now, "fu-mint")
	ft := b["Model"].(string)
	sess, err := f.svc.OpenFusionSession(ctx, ft, origin, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.LoginMask(ctx, sess.ID, origin, carrier.FrontRequest{Source: netip.MustParseAddr("127.0.0.1")}); err != nil {
		t.Fatal(err)
	}
	res, err := f.svc.MintLoginToken(ctx, sess.ID, origin, "0013")
	if err != nil {
		t.Fatal(err)
	}
	st, b = f.call(t, act("VerifyWithFusionAuthToken", "VerifyToken", res.SPToken), f.now, "fu-verify")
	m, _ := b["Model"].(map[string]any)
	if st != 200 || b["Code"] != "OK" || b["Success"] != true || m["PhoneNumber"] != "13800138000" || m["VerifyResult"] != "PASS" || m["PhoneScore"] != 0.0 {
		t.Fatalf("VerifyWithFusionAuthToken = %d %v", st, b)
	}
	for i, vt := range []string{res.SPToken, ft, "forged"} {
		st, b = f.call(t, act("VerifyWithFusionAuthToken", "VerifyToken", vt), f.now, fmt.Sprint("fu-again-", i))
		if st != 200 || b["Code"] != "isv.TOKEN_INVALID" || b["Model"] != nil {
			t.Fatalf("VerifyToken %d again = %d %v, want isv.TOKEN_INVALID", i, st, b)
		}
	}
	st, b = f.call(t, act("VerifyWithFusionAuthToken"), f.now, "fu-missing")
	if st != 400 || b["Code"] != "MissingVerifyToken" {
		t.Fatalf("no VerifyToken = %d %v", st, b)
	}
}
