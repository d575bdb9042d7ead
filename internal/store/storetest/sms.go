package storetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/numauth/numauth/internal/sms"
	"github.com/numauth/numauth/internal/store"
)

// smsTests are the suite's tests of SMS send records and the outbox.
var smsTests = []durableTest{
	{"SmsRoundTrip", testSmsRoundTrip},
	{"SmsBatchAtomic", testSmsBatchAtomic},
	{"SmsFilters", testSmsFilters},
	{"SmsPaging", testSmsPaging},
	{"SmsStatus", testSmsStatus},
	{"SmsDailyStats", testSmsDailyStats},
	{"SmsConcurrentRecord", testSmsConcurrentRecord},
	{"Outbox", testOutbox},
	{"WriteBatch", testWriteBatch},
}

func smsSend(id, account, hash string, at time.Time) store.SmsSend {
	return store.SmsSend{
		ID: id, AccountID: account, SchemeName: "默认方案", PhoneHash: hash, MaskedPhone: "138****8000",
		CountryCode: "86", SignName: "numauth", Template: "100001", Content: "【numauth】验证码****，5分钟内有效。",
		OutID: "out-" + id, Provider: "smpp", ProviderID: "p-" + id, Status: 1, Billable: true, SentAt: at,
	}
}

func testSmsRoundTrip(t *testing.T, s store.Durable) {
	ctx := ctxFor(t)
	a := smsSend("s1", "acct1", "h1", base)
	b := smsSend("s2", "acct1", "h1", base.Add(time.Second))
	b.Status, b.ErrCode, b.ReceivedAt, b.Billable, b.ProviderID = 3, "DELIVERED", base.Add(3*time.Second), true, "p-s2"
	c := smsSend("s3", "acct1", "h1", base.Add(2*time.Second))
	c.Status, c.ErrCode, c.Billable, c.ProviderID = 2, "PROVIDER_REJECTED", false, ""
	must(t, s.RecordSmsSends(ctx, []store.SmsSend{a, b, c}), "RecordSmsSends")
	got, total, err := s.ListSmsSends(ctx, store.SmsFilter{AccountID: "acct1", Limit: 10})
	must(t, err, "ListSmsSends")
	if total != 3 || len(got) != 3 {
		t.Fatalf("got %d records, total %d; want 3", len(got), total)
	}
	for i, want := range []store.SmsSend{c, b, a} { // newest first
		if d := diff(got[i], want); d != "" {
			t.Errorf("record %s:%s", want.ID, d)
		}
	}
	mustIs(t, s.RecordSmsSends(ctx, []store.SmsSend{a}), store.ErrConflict, "recording an id again")
	must(t, s.RecordSmsSends(ctx, nil), "an empty batch")
}

func testSmsBatchAtomic(t *testing.T, s store.Durable) {
	ctx := ctxFor(t)
	must(t, s.RecordSmsSends(ctx, []store.SmsSend{smsSend("dup", "a", "h", base)}), "first")
	err := s.RecordSmsSends(ctx, []store.SmsSend{smsSend("new1", "a", "h", base), smsSend("dup", "a", "h", base), smsSend("new2", "a", "h", base)})
	mustIs(t, err, store.ErrConflict, "a batch with a duplicate")
	_, total, err := s.ListSmsSends(ctx, store.SmsFilter{AccountID: "a"})
	must(t, err, "ListSmsSends")
	if total != 1 {
		t.Fatalf("a failed batch stored %d records besides the first", total-1)
	}
}

func testSmsFilters(t *testing.T, s store.Durable) {
	ctx := ctxFor(t)
	day := time.Date(2026, 3, 14, 0, 0, 0, 0, time.UTC)
	recs := []store.SmsSend{
		smsSend("a1", "acct1", "h1", day.Add(-time.Microsecond)), // the day before
		smsSend("a2", "acct1", "h1", day),                        // first instant of the day
		smsSend("a3", "acct1", "h2", day.Add(time.Hour)),
		smsSend("a4", "acct2", "h1", day.Add(2*time.Hour)),
		smsSend("a5", "acct1", "h1", day.Add(24*time.Hour)), // the next day: outside [From, To)
	}
	must(t, s.RecordSmsSends(ctx, recs), "RecordSmsSends")
	cases := []struct {
		name string
		f    store.SmsFilter
		want []string
	}{
		{"account and number and day", store.SmsFilter{AccountID: "acct1", PhoneHash: "h1", From: day, To: day.Add(24 * time.Hour)}, []string{"a2"}},
		{"account", store.SmsFilter{AccountID: "acct1"}, []string{"a5", "a3", "a2", "a1"}},
		{"another account sees only its own", store.SmsFilter{AccountID: "acct2"}, []string{"a4"}},
		{"number across accounts", store.SmsFilter{PhoneHash: "h1"}, []string{"a5", "a4", "a2", "a1"}},
		{"BizId", store.SmsFilter{AccountID: "acct1", ID: "a3"}, []string{"a3"}},
		{"BizId of another account", store.SmsFilter{AccountID: "acct2", ID: "a3"}, nil},
		{"open start", store.SmsFilter{AccountID: "acct1", To: day}, []string{"a1"}},
		{"open end", store.SmsFilter{AccountID: "acct1", From: day.Add(time.Hour)}, []string{"a5", "a3"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.f.Limit = 100
			got, total, err := s.ListSmsSends(ctx, tc.f)
			must(t, err, "ListSmsSends")
			var ids []string
			for _, g := range got {
				ids = append(ids, g.ID)
			}
			if fmt.Sprint(ids) != fmt.Sprint(tc.want) || total != int64(len(tc.want)) {
				t.Fatalf("got %v (total %d), want %v", ids, total, tc.want)
			}
		})
	}
}

func testSmsPaging(t *testing.T, s store.Durable) {
	ctx := ctxFor(t)
	var recs []store.SmsSend
	for i := 0; i < 5; i++ {
		recs = append(recs, smsSend(fmt.Sprintf("p%d", i), "acct", "h", base)) // one instant: ties broken by id
	}
	must(t, s.RecordSmsSends(ctx, recs), "RecordSmsSends")
	cases := []struct {
		offset, limit int
		want          string
	}{
		{0, 2, "[p4 p3]"}, {2, 2, "[p2 p1]"}, {4, 2, "[p0]"}, {5, 2, "[]"}, {0, 0, "[]"},
	}
	for _, tc := range cases {
		got, total, err := s.ListSmsSends(ctx, store.SmsFilter{AccountID: "acct", Offset: tc.offset, Limit: tc.limit})
		must(t, err, "ListSmsSends")
		ids := []string{}
		for _, g := range got {
			ids = append(ids, g.ID)
		}
		if fmt.Sprint(ids) != tc.want || total != 5 {
			t.Errorf("offset %d limit %d: %v total %d, want %s total 5", tc.offset, tc.limit, ids, total, tc.want)
		}
	}
}

func testSmsStatus(t *testing.T, s store.Durable) {
	ctx := ctxFor(t)
	r := smsSend("st1", "acct", "h", base)
	other := smsSend("st2", "acct", "h", base)
	other.Provider = "webhook" // same provider id under another provider
	other.ProviderID = r.ProviderID
	must(t, s.RecordSmsSends(ctx, []store.SmsSend{r, other}), "RecordSmsSends")
	at := base.Add(5 * time.Second)
	must(t, s.SetSmsStatus(ctx, "smpp", r.ProviderID, 3, "DELIVERED", at), "SetSmsStatus")
	// A second receipt changes nothing and is not an error.
	must(t, s.SetSmsStatus(ctx, "smpp", r.ProviderID, 2, "UNDELIV", at.Add(time.Second)), "a second receipt")
	mustIs(t, s.SetSmsStatus(ctx, "smpp", "unknown", 3, "DELIVERED", at), store.ErrNotFound, "unknown provider id")
	mustIs(t, s.SetSmsStatus(ctx, "aliyun", r.ProviderID, 3, "DELIVERED", at), store.ErrNotFound, "another provider")
	mustIs(t, s.SetSmsStatus(ctx, "smpp", "", 3, "DELIVERED", at), store.ErrNotFound, "an empty provider id")
	if err := s.SetSmsStatus(ctx, "webhook", other.ProviderID, 1, "", at); err == nil {
		t.Error("a receipt that sets a send back to pending was accepted")
	}
	got, _, err := s.ListSmsSends(ctx, store.SmsFilter{AccountID: "acct", Limit: 10})
	must(t, err, "ListSmsSends")
	for _, g := range got {
		switch g.ID {
		case "st1":
			if g.Status != 3 || g.ErrCode != "DELIVERED" || !sameTime(g.ReceivedAt, at) {
				t.Errorf("after the receipt: %+v", g)
			}
		case "st2":
			if g.Status != 1 || !g.ReceivedAt.IsZero() {
				t.Errorf("another provider's record changed: %+v", g)
			}
		}
	}
}

func testSmsDailyStats(t *testing.T, s store.Durable) {
	ctx := ctxFor(t)
	cst := time.FixedZone("CST", 8*3600)
	// 07:30 on the 15th in +08:00 is 23:30 on the 14th in UTC.
	late := time.Date(2026, 3, 15, 7, 30, 0, 0, cst)
	mk := func(id string, at time.Time, status int) store.SmsSend {
		r := smsSend(id, "acct", "h", at)
		r.Status = status
		return r
	}
	must(t, s.RecordSmsSends(ctx, []store.SmsSend{
		mk("d1", late, 3), mk("d2", late, 2), mk("d3", late, 1),
		mk("d4", late.Add(time.Hour), 3), // 00:30 UTC on the 15th
		func() store.SmsSend { r := mk("d5", late, 3); r.AccountID = "other"; return r }(),
	}), "RecordSmsSends")
	got, err := s.SmsDailyStats(ctx, store.SmsFilter{AccountID: "acct"})
	must(t, err, "SmsDailyStats")
	want := []store.DayStat{{Day: "2026-03-14", Pass: 1, Reject: 1, Unknown: 1}, {Day: "2026-03-15", Pass: 1}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	got, err = s.SmsDailyStats(ctx, store.SmsFilter{AccountID: "acct", From: time.Date(2026, 3, 15, 0, 0, 0, 0, time.UTC)})
	must(t, err, "SmsDailyStats from a day")
	if fmt.Sprint(got) != fmt.Sprint(want[1:]) {
		t.Fatalf("from the 15th: got %v, want %v", got, want[1:])
	}
}

func testSmsConcurrentRecord(t *testing.T, s store.Durable) {
	ctx := ctxFor(t)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := 0; g < 8; g++ {
		wg.Go(func() {
			var batch []store.SmsSend
			for i := 0; i < 10; i++ {
				batch = append(batch, smsSend(fmt.Sprintf("c%d-%d", g, i), "acct", "h", base.Add(time.Duration(i)*time.Millisecond)))
			}
			errs <- s.RecordSmsSends(ctx, batch)
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		must(t, err, "concurrent RecordSmsSends")
	}
	if _, total, err := s.ListSmsSends(ctx, store.SmsFilter{AccountID: "acct"}); err != nil || total != 80 {
		t.Fatalf("total %d, %v; want 80", total, err)
	}
}

func testOutbox(t *testing.T, s store.Durable) {
	ctx := ctxFor(t)
	e := func(id, to string, at time.Time) sms.OutboxEntry {
		return sms.OutboxEntry{ID: id, ProviderID: "sandbox-" + id, To: to, SignName: "numauth", TemplateCode: "100001",
			Text: "【numauth】验证码1234，" + id, CreatedAt: at}
	}
	a, b, c := e("o1", "+8613800138000", base), e("o2", "+8613900139000", base.Add(time.Second)), e("o3", "+8613800138000", base.Add(time.Second))
	must(t, s.PutOutbox(ctx, a), "PutOutbox")
	must(t, s.PutOutbox(ctx, b, c), "PutOutbox of two")
	dup := a
	dup.Text = "changed"
	d := e("o4", "+8613800138000", base.Add(2*time.Second))
	must(t, s.PutOutbox(ctx, dup, d), "PutOutbox of a stored id and a new one")
	must(t, s.PutOutbox(ctx), "PutOutbox of none")
	all, err := s.ListOutbox(ctx, "", 10)
	must(t, err, "ListOutbox")
	if len(all) != 4 || all[0].ID != "o4" || all[1].ID != "o3" || all[2].ID != "o2" || all[3].ID != "o1" {
		t.Fatalf("outbox %+v: want o4, o3, o2, o1", all)
	}
	if d := diff(all[3], a); d != "" {
		t.Errorf("entry o1 (a duplicate must not overwrite it):%s", d)
	}
	mine, err := s.ListOutbox(ctx, "+8613800138000", 2)
	must(t, err, "ListOutbox for one number")
	if len(mine) != 2 || mine[0].ID != "o4" || mine[1].ID != "o3" {
		t.Fatalf("one number, limit 1: %+v", mine)
	}
	none, err := s.ListOutbox(ctx, "+447700900123", 10)
	must(t, err, "ListOutbox for a number without messages")
	if len(none) != 0 {
		t.Fatalf("%+v", none)
	}
}

// testWriteBatch: records of every kind in one transaction, all or none.
func testWriteBatch(t *testing.T, s store.Durable) {
	ctx := ctxFor(t)
	ob := sms.OutboxEntry{ID: "wb-o1", ProviderID: "sandbox-wb-o1", To: "+8613800138000", Text: "t", CreatedAt: base}
	must(t, s.WriteBatch(ctx, store.Batch{
		Verifications: []store.Verification{verification("wb-v1", base)},
		SmsSends:      []store.SmsSend{smsSend("wb-s1", "acct", "h", base)},
		Outbox:        []sms.OutboxEntry{ob},
	}), "WriteBatch of every kind")
	must(t, s.WriteBatch(ctx, store.Batch{}), "an empty batch")
	if _, err := s.GetVerification(ctx, "wb-v1"); err != nil {
		t.Fatalf("the batch's verification: %v", err)
	}
	// A batch with a stored verification id stores none of its records.
	err := s.WriteBatch(ctx, store.Batch{
		Verifications: []store.Verification{verification("wb-v1", base)},
		SmsSends:      []store.SmsSend{smsSend("wb-s2", "acct", "h", base)},
		Outbox:        []sms.OutboxEntry{{ID: "wb-o2", To: "+8613800138000", CreatedAt: base}},
	})
	mustIs(t, err, store.ErrConflict, "a batch with a stored verification id")
	if _, total, _ := s.ListSmsSends(ctx, store.SmsFilter{AccountID: "acct"}); total != 1 {
		t.Errorf("the failed batch stored its SMS send (total %d)", total)
	}
	if es, _ := s.ListOutbox(ctx, "", 10); len(es) != 1 {
		t.Errorf("the failed batch stored its outbox entry (%d entries)", len(es))
	}
	// A stored outbox id is skipped, the rest is stored.
	must(t, s.WriteBatch(ctx, store.Batch{SmsSends: []store.SmsSend{smsSend("wb-s3", "acct", "h", base)}, Outbox: []sms.OutboxEntry{ob}}),
		"a batch with a stored outbox id")
	if _, total, _ := s.ListSmsSends(ctx, store.SmsFilter{AccountID: "acct"}); total != 2 {
		t.Errorf("SMS sends after the batch with a stored outbox id: %d, want 2", total)
	}
}
