package storetest

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/numauth/numauth/internal/store"
)

// billingTests are RunDurable's subtests of the billing counts.
var billingTests = []durableTest{
	{"BillableCounts", testBillableCounts},
	{"SmsBillableCounts", testSmsBillableCounts},
}

func bc(scheme, kind string, n int64) store.BillCount {
	return store.BillCount{Scheme: scheme, Kind: kind, Count: n}
}

func testBillableCounts(t *testing.T, s store.Durable) {
	ctx := ctxFor(t)
	// A month in China time (UTC+8) begins at 16:00 UTC the day before.
	cst := time.FixedZone("CST", 8*3600)
	from := time.Date(2026, 6, 1, 0, 0, 0, 0, cst)
	to := from.AddDate(0, 1, 0)
	n := 0
	rec := func(at time.Time, account, kind, scheme string, billable bool) store.Verification {
		n++
		v := verification(fmt.Sprintf("b-%03d", n), at)
		v.AccountID, v.Kind, v.SchemeCode, v.Billable = account, kind, scheme, billable
		if !billable {
			v.Result = "UNKNOWN"
		}
		return v
	}
	must(t, s.RecordVerifications(ctx, []store.Verification{
		rec(from, "A", "verify", "S2", true),
		rec(from.Add(time.Hour), "A", "verify", "S2", true),
		rec(from.Add(2*time.Hour), "A", "verify", "S2", false), // UNKNOWN: not billable
		rec(from.Add(3*time.Hour), "A", "login", "S2", true),
		rec(from.Add(4*time.Hour), "A", "verify", "S1", true),
		rec(from.Add(-time.Microsecond), "A", "verify", "S1", true), // May in China time
		rec(to.Add(-time.Microsecond), "A", "login", "S1", true),
		rec(to, "A", "login", "S1", true),                   // July in China time
		rec(from.Add(time.Hour), "B", "verify", "S2", true), // another account
	}), "RecordVerifications")
	for _, tc := range []struct {
		name string
		f    store.VerificationFilter
		want []store.BillCount
	}{
		{"month", store.VerificationFilter{AccountID: "A", From: from, To: to}, []store.BillCount{
			bc("S1", "login", 1), bc("S1", "verify", 1), bc("S2", "login", 1), bc("S2", "verify", 2),
		}},
		{"kind", store.VerificationFilter{AccountID: "A", Kind: "login", From: from, To: to}, []store.BillCount{
			bc("S1", "login", 1), bc("S2", "login", 1),
		}},
		{"all time", store.VerificationFilter{AccountID: "A", SchemeCode: "S1"}, []store.BillCount{
			bc("S1", "login", 2), bc("S1", "verify", 2),
		}},
		{"nothing", store.VerificationFilter{AccountID: "C"}, nil},
	} {
		got, err := s.BillableCounts(ctx, tc.f)
		must(t, err, "BillableCounts")
		if len(got) == 0 && len(tc.want) == 0 {
			continue
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Fatalf("%s: BillableCounts = %+v, want %+v", tc.name, got, tc.want)
		}
	}
}

func testSmsBillableCounts(t *testing.T, s store.Durable) {
	ctx := ctxFor(t)
	at := time.Date(2026, 6, 10, 0, 0, 0, 0, time.UTC)
	sends := []store.SmsSend{
		smsSend("m1", "A", "h1", at),
		smsSend("m2", "A", "h2", at.Add(time.Hour)),
		smsSend("m3", "A", "h3", at.Add(2*time.Hour)),
		smsSend("m4", "A", "h4", at.Add(3*time.Hour)),
		smsSend("m5", "B", "h5", at),
		smsSend("m6", "A", "h6", at.AddDate(0, 1, 0)),
	}
	sends[1].SchemeName = "app"
	sends[2].Billable, sends[2].Status = false, 2 // refused by the provider
	sends[3].Status = 2                           // accepted, delivery failed: billed
	must(t, s.RecordSmsSends(ctx, sends), "RecordSmsSends")
	got, err := s.SmsBillableCounts(ctx, store.SmsFilter{AccountID: "A", From: at, To: at.AddDate(0, 0, 20), Limit: 1, Offset: 5})
	must(t, err, "SmsBillableCounts")
	want := []store.BillCount{bc("app", "sms", 1), bc("默认方案", "sms", 2)}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("SmsBillableCounts = %+v, want %+v", got, want)
	}
}
