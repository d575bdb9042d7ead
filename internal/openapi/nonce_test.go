package openapi

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/numauth/numauth/internal/openapi/sign"
)

// TestBadSignatureBurnsNoNonce: a request whose signature fails does not
// consume its nonce, so nobody can burn another client's nonces by sending
// them first with a wrong signature; the nonce is spent by the first
// request that authenticates, and only then.
func TestBadSignatureBurnsNoNonce(t *testing.T) {
	f := newFixture(t)
	params := act("DescribeVerifyScheme", "SchemeCode", "FC1")
	for _, tc := range []struct {
		name, key, secret, want string
	}{
		{"wrong secret", keyID, "wrong-secret-wrong-secret-0000", "SignatureDoesNotMatch"},
		{"unknown key", "LTAIunknown0000", keySec, "InvalidAccessKeyId.NotFound"},
		{"right signature", keyID, keySec, "isv.VERIFY_SCHEME_NOT_EXIST"},
		{"replay", keyID, keySec, "SignatureNonceUsed"},
	} {
		signed := sign.SignV1("POST", params, tc.key, tc.secret, f.now, "shared-nonce")
		req := httptest.NewRequest("POST", "/", strings.NewReader(signed.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		rec := httptest.NewRecorder()
		f.srv.ServeHTTP(rec, req)
		var b map[string]any
		json.Unmarshal(rec.Body.Bytes(), &b)
		if b["Code"] != tc.want {
			t.Fatalf("%s: Code = %v, want %s", tc.name, b["Code"], tc.want)
		}
	}
}
