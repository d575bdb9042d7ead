package openapi

import (
	"testing"
)

// BizType absent serves both flows; given, only 0 and 1 are values, so -1
// (the service's own "both") is refused like 2 (docs/api.md).
func TestGetAuthTokenBizType(t *testing.T) {
	f := newFixture(t)
	scheme := act("CreateVerifyScheme", "SchemeName", "s", "AppName", "a", "OsType", "H5", "Origin", "https://a.example", "Url", "https://a.example/")
	if st, b := f.call(t, scheme, f.now, "biz-create"); st != 200 || b["Code"] != "OK" {
		t.Fatalf("CreateVerifyScheme = %d %v", st, b)
	}
	for _, tt := range []struct {
		bizType string // "" = absent
		status  int
		code    string
	}{
		{"", 200, "OK"},
		{"0", 200, "OK"},
		{"1", 200, "OK"},
		{" 1 ", 200, "OK"},
		{"-1", 200, "isv.INVALID_PARAMETERS"},
		{"2", 200, "isv.INVALID_PARAMETERS"},
		{"-2", 200, "isv.INVALID_PARAMETERS"},
		{"1.0", 400, "InvalidParameter"},
	} {
		t.Run("BizType="+tt.bizType, func(t *testing.T) {
			p := act("GetAuthToken", "Url", "https://a.example/x", "Origin", "https://a.example")
			if tt.bizType != "" {
				p.Set("BizType", tt.bizType)
			}
			st, b := f.call(t, p, f.now, "biz-"+tt.bizType)
			if st != tt.status || b["Code"] != tt.code {
				t.Fatalf("= %d %v, want %d %s", st, b, tt.status, tt.code)
			}
			if _, minted := b["TokenInfo"]; minted != (tt.code == "OK") {
				t.Fatalf("TokenInfo in the answer: %v, want %v: %v", minted, tt.code == "OK", b)
			}
		})
	}
}
