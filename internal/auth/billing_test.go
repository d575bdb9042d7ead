package auth_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/numauth/numauth/internal/auth"
	"github.com/numauth/numauth/internal/carrier"
	"github.com/numauth/numauth/internal/carrier/sandbox"
	"github.com/numauth/numauth/internal/store"
)

func TestParsePrice(t *testing.T) {
	for _, tt := range []struct {
		in   string
		item string
		fen  int64
		ok   bool
	}{
		{"verify=0.04", "verify", 4, true},
		{"login=0.1", "login", 10, true},
		{"sms=0.045", "", 0, false}, // finer than a fen
		{"sms=1", "sms", 100, true},
		{"sms=1000", "sms", 100000, true},
		{"sms=1000.01", "", 0, false},
		{"face=0.1", "", 0, false},
		{"verify", "", 0, false},
		{"verify=", "", 0, false},
		{"verify=-1", "", 0, false},
		{"verify=.5", "", 0, false},
		{"verify=1e3", "", 0, false},
		{"verify=0.0", "verify", 0, true},
	} {
		item, fen, err := auth.ParsePrice(tt.in)
		if (err == nil) != tt.ok || item != tt.item || fen != tt.fen {
			t.Errorf("ParsePrice(%q) = %q, %d, %v", tt.in, item, fen, err)
		}
	}
	for fen, want := range map[int64]string{0: "0.00", 4: "0.04", 148: "1.48", 123456: "1234.56", -5: "-0.05"} {
		if got := auth.FormatFen(fen); got != want {
			t.Errorf("FormatFen(%d) = %q, want %q", fen, got, want)
		}
	}
}

// A known mix of verifications, logins and SMS sends, some on either side
// of a month boundary in UTC and in China time, gives the bill computed by
// hand.
func TestBillingMonth(t *testing.T) {
	e := newEnv(t, func(c *auth.Config) {
		c.Prices = map[string]int64{auth.ItemVerify: 4, auth.ItemLogin: 10, auth.ItemSms: 5}
	})
	ctx := context.Background()
	app := e.appScheme(t, e.caller, "app")
	cst := time.FixedZone("CST", 8*3600)
	june := time.Date(2026, 6, 1, 0, 0, 0, 0, cst) // 2026-05-31T16:00Z
	july := june.AddDate(0, 1, 0)                  // 2026-06-30T16:00Z
	at := func(ts time.Time) { e.now.Store(ts.UnixNano()) }

	verify := func(ts time.Time, number string, fail bool) {
		at(ts)
		tok := e.appToken(t, app.Code, carrier.KindVerify)
		if fail {
			e.sb.SetFault(carrier.ChinaMobile, sandbox.Fault{ErrorRate: 1})
			defer e.sb.SetFault(carrier.ChinaMobile, sandbox.Fault{})
		}
		if _, err := e.svc.AppVerify(ctx, e.caller, tok, number); err != nil {
			t.Fatal(err)
		}
	}
	login := func(ts time.Time) {
		at(ts)
		if _, err := e.svc.AppLogin(ctx, e.caller, e.appToken(t, app.Code, carrier.KindLogin)); err != nil {
			t.Fatal(err)
		}
	}
	// June in China time: 3 PASS, 2 REJECT (billed), 1 UNKNOWN (not).
	verify(june, phone, false)                             // May in UTC
	verify(june.Add(30*time.Minute), "13800138001", false) // May in UTC
	verify(june.AddDate(0, 0, 10), phone, false)
	verify(june.AddDate(0, 0, 11), "13800138001", false)
	verify(june.AddDate(0, 0, 12), phone, true) // UNKNOWN
	verify(july.Add(-time.Second), phone, false)
	// Outside June in China time, though June in UTC or the reverse.
	verify(july, phone, false)                   // June 30 in UTC
	verify(june.Add(-time.Second), phone, false) // May 31 in both
	// Logins: 2 in June (China time), 1 in July.
	login(june.AddDate(0, 0, 3))
	login(july.Add(-time.Minute))
	login(july.Add(time.Minute))
	// SMS sends: 3 accepted in June (one of them failed delivery, still
	// billed), 1 refused by the provider, 1 in July, 1 of another account.
	var sends []store.SmsSend
	for i, s := range []struct {
		at       time.Time
		account  string
		scheme   string
		billable bool
	}{
		{june, e.caller.AccountID, "默认方案", true},
		{june.AddDate(0, 0, 1), e.caller.AccountID, "默认方案", true},
		{july.Add(-time.Microsecond), e.caller.AccountID, "登录", true},
		{june.AddDate(0, 0, 2), e.caller.AccountID, "默认方案", false},
		{july, e.caller.AccountID, "默认方案", true},
		{june.AddDate(0, 0, 2), "someone-else", "默认方案", true},
	} {
		sends = append(sends, store.SmsSend{ID: fmt.Sprintf("biz-%d", i), AccountID: s.account, SchemeName: s.scheme,
			PhoneHash: "h", MaskedPhone: "138****8000", CountryCode: "86", SignName: "numauth", Template: "100001",
			Provider: "sandbox", Status: map[bool]int{true: 1, false: 2}[s.billable], Billable: s.billable, SentAt: s.at.UTC()})
	}
	sends[1].Status = 2 // accepted, then a failed receipt
	if err := e.durable.RecordSmsSends(ctx, sends); err != nil {
		t.Fatal(err)
	}

	// By hand: verify 5 × 0.04 = 0.20,
	// app login 2 × 0.10 = 0.20, SMS 2 × 0.05 + 1 × 0.05 = 0.15.
	type line struct {
		scene, item string
		n           int64
		amount      int64
	}
	for _, tt := range []struct {
		typ  int
		want []line
		sum  int64
	}{
		{0, []line{{app.Code, "本机号码校验", 5, 20}}, 20},
		{1, []line{{app.Code, "一键登录", 2, 20}}, 20},
		{4, []line{{"登录", "短信认证", 1, 5}, {"默认方案", "短信认证", 2, 10}}, 15},
		{2, []line{{app.Code, "本机号码校验", 5, 20}, {app.Code, "一键登录", 2, 20},
			{"登录", "短信认证", 1, 5}, {"默认方案", "短信认证", 2, 10}}, 55},
		{3, nil, 0},
	} {
		bill, err := e.svc.Billing(ctx, e.caller, auth.BillingInput{AuthenticationType: tt.typ, Month: "202606"})
		if err != nil {
			t.Fatal(err)
		}
		var got []line
		for _, l := range bill.Lines {
			scene := l.SceneCode
			if scene == "" {
				scene = l.SceneName
			}
			if l.AmountFen != l.Count*l.PriceFen {
				t.Fatalf("line %+v: amount is not count × price", l)
			}
			got = append(got, line{scene, l.ItemName, l.Count, l.AmountFen})
		}
		if fmt.Sprint(got) != fmt.Sprint(tt.want) || bill.AmountFen != tt.sum {
			t.Fatalf("type %d: bill %v sum %d, want %v sum %d", tt.typ, got, bill.AmountFen, tt.want, tt.sum)
		}
	}
	bill, _ := e.svc.Billing(ctx, e.caller, auth.BillingInput{AuthenticationType: 0, Month: "202606"})
	if l := bill.Lines[0]; l.SceneName != "app" || l.AppName != "App" {
		t.Fatalf("scene names: %+v", l)
	}
	// July in China time holds the records of June 30 16:00 UTC on.
	bill, _ = e.svc.Billing(ctx, e.caller, auth.BillingInput{AuthenticationType: 2, Month: "202607"})
	if bill.AmountFen != 4+10+5 {
		t.Fatalf("July = %+v, want 0.19", bill)
	}
	// Another account sees none of it.
	other, _ := e.svc.CreateAccessKey(ctx, "acct2", "", "", "test")
	bill, err := e.svc.Billing(ctx, auth.Caller{AccessKeyID: other.AccessKeyID, AccountID: other.AccountID}, auth.BillingInput{AuthenticationType: 0, Month: "202606"})
	if err != nil || len(bill.Lines) != 0 || bill.AmountFen != 0 {
		t.Fatalf("another account's bill = %+v, %v", bill, err)
	}
	for _, bad := range []auth.BillingInput{
		{AuthenticationType: 5, Month: "202606"}, {AuthenticationType: -1, Month: "202606"},
		{Month: "2026-6"}, {Month: "202613"}, {Month: "202600"}, {Month: "20260"}, {Month: "１２３４５６"}, {Month: "196912"},
	} {
		if _, err := e.svc.Billing(ctx, e.caller, bad); !errors.Is(err, auth.ErrInvalidParameters) {
			t.Errorf("Billing(%+v) = %v, want ErrInvalidParameters", bad, err)
		}
	}
}

// Statistics count the app flows, and OsType narrows them to the schemes
// of that OS.
func TestStatisticsAppFlowsAndOsType(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	app := e.appScheme(t, e.caller, "app")
	if _, err := e.svc.AppVerify(ctx, e.caller, e.appToken(t, app.Code, carrier.KindVerify), phone); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.AppVerify(ctx, e.caller, e.appToken(t, app.Code, carrier.KindVerify), "13800138001"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.VerifyNumber(ctx, e.caller, e.verifyToken(t), phone); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.AppLogin(ctx, e.caller, e.appToken(t, app.Code, carrier.KindLogin)); err != nil {
		t.Fatal(err)
	}
	day := time.Unix(0, e.now.Load()).UTC().Format("20060102")
	for _, tt := range []struct {
		typ                  int
		os                   string
		total, success, fail int64
	}{
		{2, "", 3, 2, 1},
		{2, "Android", 2, 1, 1},
		{2, "android", 2, 1, 1},
		{2, "iOS", 0, 0, 0},
		{1, "", 1, 1, 0},
		{1, "Android", 1, 1, 0},
		{1, "iOS", 0, 0, 0},
	} {
		st, err := e.svc.Statistics(ctx, e.caller, auth.StatsInput{AuthenticationType: tt.typ, StartDate: day, EndDate: day, OsType: tt.os})
		if err != nil || st.Total != tt.total || st.TotalSuccess != tt.success || st.TotalFail != tt.fail {
			t.Errorf("type %d OsType %q = %+v, %v; want total %d success %d fail %d", tt.typ, tt.os, st, err, tt.total, tt.success, tt.fail)
		}
	}
	if _, err := e.svc.Statistics(ctx, e.caller, auth.StatsInput{AuthenticationType: 2, StartDate: day, EndDate: day, OsType: "Windows"}); !errors.Is(err, auth.ErrInvalidParameters) {
		t.Errorf("OsType Windows = %v, want ErrInvalidParameters", err)
	}
}

// Fusion authentications answered PASS are billed as their own item, under
// "all" only: Alibaba's billing types have none for them.
func TestBillingFusion(t *testing.T) {
	e := newEnv(t, func(c *auth.Config) {
		c.Prices = map[string]int64{auth.ItemVerify: 4, auth.ItemFusion: 7}
	})
	ctx := context.Background()
	cst := time.FixedZone("CST", 8*3600)
	at := time.Date(2026, 6, 10, 12, 0, 0, 0, cst)
	var recs []store.Verification
	for i, r := range []struct {
		kind, result string
		billable     bool
	}{{"fusion", "PASS", true}, {"fusion", "PASS", true}, {"fusion", "UNKNOWN", false}, {"verify", "PASS", true}} {
		recs = append(recs, store.Verification{ID: fmt.Sprintf("01900000-0000-7000-8000-00000000000%d", i), AccountID: e.caller.AccountID,
			SchemeCode: "FC000000000000001", Kind: r.kind, Carrier: "CM", Result: r.result, MaskedPhone: "138****8000",
			PhoneHash: "h", Billable: r.billable, CreatedAt: at.UTC()})
	}
	if err := e.durable.RecordVerifications(ctx, recs); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		authType int
		sum      int64
		items    []string
	}{{2, 2*7 + 4, []string{"本机号码校验", "融合认证"}}, {0, 4, []string{"本机号码校验"}}, {1, 0, nil}} {
		bill, err := e.svc.Billing(ctx, e.caller, auth.BillingInput{AuthenticationType: c.authType, Month: "202606"})
		if err != nil {
			t.Fatal(err)
		}
		var items []string
		for _, l := range bill.Lines {
			items = append(items, l.ItemName)
		}
		if bill.AmountFen != c.sum || !slices.Equal(items, c.items) {
			t.Errorf("type %d: %d fen, items %v; want %d fen, %v", c.authType, bill.AmountFen, items, c.sum, c.items)
		}
	}
}
