package openapi

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/netip"
	"testing"

	"github.com/numauth/numauth/internal/carrier"
)

// Alibaba's offline and deprecated actions answer as unknown ones do.
func TestOfflineActionsNotFound(t *testing.T) {
	f := newFixture(t)
	for i, name := range offlineActions {
		if _, served := f.srv.actions[name]; served {
			t.Fatalf("%s is in the action table", name)
		}
		st, b := f.call(t, act(name, "PhoneNumber", "13800138000"), f.now, "offline-"+name)
		if st != 404 || b["Code"] != "InvalidAction.NotFound" {
			t.Fatalf("%d %s = %d %v, want 404 InvalidAction.NotFound", i, name, st, b)
		}
	}
}

func TestGetMobileAndVerifyMobile(t *testing.T) {
	f := newFixture(t)
	st, b := f.call(t, act("CreateVerifyScheme", "SchemeName", "app", "AppName", "a", "OsType", "Android",
		"PackName", "com.example.app", "PackSign", "0123456789abcdef0123456789abcdef"), f.now, "app-create")
	if st != 200 || b["Code"] != "OK" {
		t.Fatalf("CreateVerifyScheme = %d %v", st, b)
	}
	code := b["GateVerifySchemeDTO"].(map[string]any)["SchemeCode"].(string)
	mint := func(kind carrier.Kind) string {
		tok, err := f.svc.IssueAppToken(context.Background(), code, kind, carrier.FrontRequest{Source: netip.MustParseAddr("127.0.0.1")})
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	login, verify := mint(carrier.KindLogin), mint(carrier.KindVerify)
	for _, tt := range []struct {
		name   string
		params []string
		code   string
		field  string
		want   map[string]any
	}{
		{"VerifyMobile with a login token", []string{"VerifyMobile", "AccessCode", login, "PhoneNumber", "13800138000"}, "isv.TOKEN_UNAUTHORIZED_USED", "", nil},
		{"GetMobile", []string{"GetMobile", "AccessToken", login, "OutId", "o-1"}, "OK", "GetMobileResultDTO", map[string]any{"Mobile": "13800138000"}},
		{"GetMobile replayed", []string{"GetMobile", "AccessToken", login}, "isv.TOKEN_INVALID", "", nil},
		{"GetMobile forged", []string{"GetMobile", "AccessToken", "AAAA" + login[4:]}, "isv.TOKEN_INVALID", "", nil},
		{"GetMobile without token", []string{"GetMobile"}, "MissingAccessToken", "", nil},
		{"VerifyMobile illegal number", []string{"VerifyMobile", "AccessCode", verify, "PhoneNumber", "12"}, "isv.MOBILE_NUMBER_ILLEGAL", "", nil},
		{"VerifyMobile", []string{"VerifyMobile", "AccessCode", verify, "PhoneNumber", "13800138000"}, "OK", "GateVerifyResultDTO", map[string]any{"VerifyResult": "PASS"}},
		{"VerifyMobile replayed", []string{"VerifyMobile", "AccessCode", verify, "PhoneNumber", "13800138000"}, "isv.TOKEN_INVALID", "", nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			st, b := f.call(t, act(tt.params[0], tt.params[1:]...), f.now, "app-"+tt.name)
			if b["Code"] != tt.code || (tt.code == "OK" || tt.code[:4] == "isv.") && st != 200 {
				t.Fatalf("= %d %v, want %s", st, b, tt.code)
			}
			if tt.field == "" {
				return
			}
			got, _ := b[tt.field].(map[string]any)
			for k, v := range tt.want {
				if got[k] != v {
					t.Fatalf("%s.%s = %v, want %v (%v)", tt.field, k, got[k], v, b)
				}
			}
		})
	}

	// The app scheme's AppEncryptInfo names it for the app's SDK.
	_, b = f.call(t, act("DescribeVerifyScheme", "SchemeCode", code), f.now, "app-describe")
	info := b["SchemeQueryResultDTO"].(map[string]any)["AppEncryptInfo"].(string)
	raw, err := base64.StdEncoding.DecodeString(info)
	var dec map[string]any
	if err != nil || json.Unmarshal(raw, &dec) != nil || dec["schemeCode"] != code || dec["osType"] != "Android" || dec["packName"] != "com.example.app" {
		t.Fatalf("AppEncryptInfo = %q (%s)", info, raw)
	}
}

func TestQueryGateVerifyBillingPublic(t *testing.T) {
	f := newFixture(t)
	// No records: an empty bill, amounts in yuan with two decimals.
	st, b := f.call(t, act("QueryGateVerifyBillingPublic", "AuthenticationType", "2", "Month", "202606"), f.now, "bill-empty")
	data, _ := b["Data"].(map[string]any)
	if st != 200 || b["Code"] != "OK" || data["AmountSum"] != "0.00" {
		t.Fatalf("= %d %v", st, b)
	}
	if list, ok := data["SceneBillingList"].([]any); !ok || len(list) != 0 {
		t.Fatalf("SceneBillingList = %#v", data["SceneBillingList"])
	}
	for i, tt := range []struct {
		params []string
		status int
		code   string
	}{
		{[]string{"Month", "202606"}, 400, "MissingAuthenticationType"},
		{[]string{"AuthenticationType", "0"}, 400, "MissingMonth"},
		{[]string{"AuthenticationType", "x", "Month", "202606"}, 400, "InvalidParameter"},
		{[]string{"AuthenticationType", "9", "Month", "202606"}, 200, "isv.INVALID_PARAMETERS"},
		{[]string{"AuthenticationType", "-1", "Month", "202606"}, 200, "isv.INVALID_PARAMETERS"},
		{[]string{"AuthenticationType", "0", "Month", "2026-06"}, 200, "isv.INVALID_PARAMETERS"},
		{[]string{"AuthenticationType", "0", "Month", "202613"}, 200, "isv.INVALID_PARAMETERS"},
		{[]string{"AuthenticationType", "0", "Month", "99999999999999999999"}, 200, "isv.INVALID_PARAMETERS"},
	} {
		st, b := f.call(t, act("QueryGateVerifyBillingPublic", tt.params...), f.now, "bill-"+string(rune('a'+i)))
		if st != tt.status || b["Code"] != tt.code {
			t.Errorf("%v = %d %v, want %d %s", tt.params, st, b, tt.status, tt.code)
		}
	}
}
