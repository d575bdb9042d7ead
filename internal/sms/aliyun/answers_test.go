package aliyun

import (
	"os"
	"regexp"
	"strings"
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

// TestDocListsEveryCode keeps the package doc's table equal to the table
// the provider uses.
func TestDocListsEveryCode(t *testing.T) {
	src, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile(`(?m)^//\t((?:isv|isp)\.[A-Z_]+|[A-Z][A-Za-z]+(?:\.[A-Za-z]+)?)\s+(ErrRejected|ErrUnavailable)\b(.*)$`)
	seen := map[string]bool{}
	for _, m := range row.FindAllStringSubmatch(string(src), -1) {
		code, class, note := m[1], m[2], m[3]
		o, ok := codes[code]
		if !ok {
			t.Errorf("doc.go lists %s, which the table does not have", code)
			continue
		}
		if want := map[error]string{sms.ErrRejected: "ErrRejected", sms.ErrUnavailable: "ErrUnavailable"}[o.class]; class != want {
			t.Errorf("doc.go says %s → %s, the table %s", code, class, want)
		}
		if (o.concern == concernConfig) != strings.Contains(note, "configuration") || (o.concern == concernAccount) != strings.Contains(note, "account") {
			t.Errorf("doc.go's note for %s (%q) does not match concern %d", code, note, o.concern)
		}
		seen[code] = true
	}
	for code := range codes {
		if !seen[code] {
			t.Errorf("doc.go does not list %s", code)
		}
	}
}
