package admin_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/numauth/numauth/internal/store"
)

func TestSmsLog(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	at := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	var ms []store.SmsSend
	for i := 0; i < 5; i++ {
		ms = append(ms, store.SmsSend{ID: fmt.Sprint("biz", i), AccountID: "default", SchemeName: "默认方案",
			PhoneHash: "secret-hash-" + fmt.Sprint(i), MaskedPhone: "138****5678", CountryCode: "86", SignName: "<b>sign</b>",
			Template: "SMS_1", Content: "your code is ******", Provider: "sandbox", ProviderID: fmt.Sprint("p", i),
			Status: 1 + 2*(i%2), ErrCode: "", Billable: true, SentAt: at.Add(time.Duration(i) * time.Minute)})
	}
	if err := e.stack.Durable.RecordSmsSends(ctx, ms); err != nil {
		t.Fatal(err)
	}
	c := e.tokenClient()
	a := c.do("GET", "/admin/v1/sms/sends?limit=2", nil)
	mustStatus(t, a, 200, "first page")
	sends := a.body["sends"].([]any)
	if a.body["total"] != 5.0 || len(sends) != 2 {
		t.Fatalf("first page = %s", a.raw)
	}
	first := sends[0].(map[string]any)
	if first["bizId"] != "biz4" || first["status"] != "pending" || first["maskedPhone"] != "138****5678" || sends[1].(map[string]any)["status"] != "delivered" {
		t.Fatalf("first page = %s", a.raw)
	}
	if strings.Contains(a.raw, "secret-hash") || strings.Contains(a.raw, "<b>") {
		t.Fatalf("the log shows a phone hash or unescaped markup: %s", a.raw)
	}
	a = c.do("GET", "/admin/v1/sms/sends?offset=4&limit=2", nil)
	mustStatus(t, a, 200, "last page")
	if s := a.body["sends"].([]any); len(s) != 1 || s[0].(map[string]any)["bizId"] != "biz0" {
		t.Fatalf("last page = %s", a.raw)
	}
	a = c.do("GET", "/admin/v1/sms/sends?bizId=biz2", nil)
	if s, _ := a.body["sends"].([]any); a.status != 200 || len(s) != 1 || a.body["total"] != 1.0 {
		t.Fatalf("by BizId = %d %s", a.status, a.raw)
	}
	a = c.do("GET", "/admin/v1/sms/sends?from=2026-12-01T08:02:00Z&to=2026-12-01T08:04:00Z", nil)
	if a.status != 200 || a.body["total"] != 2.0 {
		t.Fatalf("by time = %d %s", a.status, a.raw)
	}
	viewer := e.browser()
	mustStatus(t, viewer.signIn("reader", createUser(t, e.stack.Durable, "reader", store.RoleViewer)), 200, "viewer sign-in")
	mustStatus(t, viewer.do("GET", "/admin/v1/sms/sends", nil), 200, "a viewer reads the SMS log")
	if a := e.browser().do("GET", "/admin/v1/sms/sends", nil); a.status != 401 {
		t.Errorf("without a session: %d %s", a.status, a.raw)
	}
	for _, q := range []string{"from=yesterday", "to=1", "offset=-1", "limit=0", "limit=501", "limit=x"} {
		if a := c.do("GET", "/admin/v1/sms/sends?"+q, nil); a.status != 400 || a.code() != "InvalidParameter" {
			t.Errorf("?%s: %d %s, want 400 InvalidParameter", q, a.status, a.raw)
		}
	}
}
