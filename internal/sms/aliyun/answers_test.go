package aliyun

import (
	"testing"

	"github.com/numauth/numauth/internal/sms"
)

// TestClassify checks the rules around the table and every row of it.
func TestClassify(t *testing.T) {
	cases := []struct {
		status  int
		code    string
		want    error
		concern concern
	}{
		{200, "isv.MOBILE_NUMBER_ILLEGAL", sms.ErrRejected, concernNone},
		{200, "isv.AMOUNT_NOT_ENOUGH", sms.ErrRejected, concernAccount},
		{200, "isv.BUSINESS_LIMIT_CONTROL", sms.ErrUnavailable, concernNone},
		{400, "SignatureDoesNotMatch", sms.ErrUnavailable, concernConfig},
		{404, "InvalidAccessKeyId.NotFound", sms.ErrUnavailable, concernConfig},
		{200, "isp.RAM_PERMISSION_DENY", sms.ErrUnavailable, concernConfig},
		{500, "isv.MOBILE_NUMBER_ILLEGAL", sms.ErrUnavailable, concernNone},
		{503, "", sms.ErrUnavailable, concernNone},
		{200, "isv.NEVER_SEEN", sms.ErrRejected, concernNone},
		{200, "isp.NEVER_SEEN", sms.ErrUnavailable, concernNone},
		{400, "NeverSeen", sms.ErrUnavailable, concernNone},
		{200, "", sms.ErrUnavailable, concernNone},
		{200, "ISV.MOBILE_NUMBER_ILLEGAL", sms.ErrUnavailable, concernNone}, // codes are case-sensitive
	}
	for _, tc := range cases {
		if o := classify(tc.status, tc.code); o.class != tc.want || o.concern != tc.concern || o.meaning == "" {
			t.Errorf("classify(%d, %q) = %+v, want %v with concern %d", tc.status, tc.code, o, tc.want, tc.concern)
		}
	}
	for code, row := range codes {
		if o := classify(200, code); o != row {
			t.Errorf("classify(200, %q) = %+v, want the table's %+v", code, o, row)
		}
		if row.class != sms.ErrRejected && row.class != sms.ErrUnavailable {
			t.Errorf("%s: class %v", code, row.class)
		}
		if row.concern == concernConfig && row.class != sms.ErrUnavailable {
			t.Errorf("%s: a configuration problem is numauth's, not the number's: want ErrUnavailable", code)
		}
	}
}
