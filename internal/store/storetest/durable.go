package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/numauth/numauth/internal/sms"
	"github.com/numauth/numauth/internal/store"
)

// RunDurable runs the conformance suite for a store.Durable. open must return
// a fresh, empty store for each call.
func RunDurable(t *testing.T, open func(t *testing.T) store.Durable) {
	tests := []durableTest{
		{"Ping", testPing},
		{"AccessKeyCreateGet", testAccessKeyCreateGet},
		{"AccessKeyConflict", testAccessKeyConflict},
		{"AccessKeyNotFound", testAccessKeyNotFound},
		{"AccessKeyList", testAccessKeyList},
		{"AccessKeyStatus", testAccessKeyStatus},
		{"SchemeCreateGet", testSchemeCreateGet},
		{"SchemeConflict", testSchemeConflict},
		{"SchemeNameUnique", testSchemeNameUnique},
		{"SchemeNameConcurrent", testSchemeNameConcurrent},
		{"SchemeList", testSchemeList},
		{"SchemeDelete", testSchemeDelete},
		{"VerificationRoundTrip", testVerificationRoundTrip},
		{"VerificationEmptyBatch", testVerificationEmptyBatch},
		{"VerificationBatchAtomic", testVerificationBatchAtomic},
		{"VerificationNotFound", testVerificationNotFound},
		{"DailyStats", testDailyStats},
		{"SigningKeys", testSigningKeys},
		{"ConcurrentRecord", testDurableConcurrentRecord},
		{"ConcurrentCreate", testDurableConcurrentCreate},
		{"Closed", testDurableClosed},
	}
	tests = append(tests, smsTests...)
	tests = append(tests, oauthTests...)
	tests = append(tests, billingTests...)
	tests = append(tests, consoleTests...)
	tests = append(tests, resealTests...)
	tests = append(tests, rollupTests...)
	tests = append(tests, retentionTests...)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			t.Cleanup(func() { _ = s.Close() })
			tc.run(t, s)
		})
	}
}

// durableTest is one subtest of RunDurable, run on a fresh store.
type durableTest struct {
	name string
	run  func(t *testing.T, s store.Durable)
}

// base has nanoseconds and a non-UTC zone on purpose: backends keep
// microseconds and return UTC.
var base = time.Date(2026, 3, 14, 9, 26, 53, 589793238, time.FixedZone("CST", 8*3600))

// sameTime reports whether got is want at microsecond precision, in UTC.
func sameTime(got, want time.Time) bool {
	if want.IsZero() {
		return got.IsZero()
	}
	return got.Equal(want.Truncate(time.Microsecond)) && got.Location() == time.UTC
}

// diff compares two records field by field: times with sameTime, byte
// and string slices with bytes.Equal and slices.Equal (nil and empty are the
// same), the rest with ==.
func diff(got, want any) string {
	gv, wv := reflect.ValueOf(got), reflect.ValueOf(want)
	var out string
	for i := 0; i < wv.NumField(); i++ {
		name := wv.Type().Field(i).Name
		g, w := gv.Field(i).Interface(), wv.Field(i).Interface()
		ok := true
		switch w := w.(type) {
		case time.Time:
			ok = sameTime(g.(time.Time), w)
			if !ok {
				out += fmt.Sprintf("\n  %s: got %v (%v), want %v in UTC at µs precision", name, g, g.(time.Time).Location(), w.Truncate(time.Microsecond).UTC())
				continue
			}
		case []byte:
			ok = bytes.Equal(g.([]byte), w)
		case []string:
			ok = slices.Equal(g.([]string), w)
		default:
			ok = g == w
		}
		if !ok {
			out += fmt.Sprintf("\n  %s: got %#v, want %#v", name, g, w)
		}
	}
	return out
}

func checkSame(t *testing.T, what string, got, want any) {
	t.Helper()
	if d := diff(got, want); d != "" {
		t.Errorf("%s differs:%s", what, d)
	}
}

// checkList checks got against want element by element, in order; it
// reports whether the lengths matched.
func checkList[T any](t *testing.T, what string, got, want []T) bool {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d items, want %d", what, len(got), len(want))
		return false
	}
	for i := range want {
		checkSame(t, fmt.Sprintf("%s[%d]", what, i), got[i], want[i])
	}
	return true
}

func accessKey(id string, at time.Time) store.AccessKey {
	return store.AccessKey{
		ID:           id,
		AccountID:    "acct-1",
		SealedSecret: []byte{0, 1, 2, 0xff, 'x'},
		Status:       store.KeyActive,
		Description:  "test key “" + id + "”",
		CreatedAt:    at,
	}
}

func testPing(t *testing.T, s store.Durable) {
	must(t, s.Ping(ctxFor(t)), "Ping")
	must(t, s.ProbeWrite(ctxFor(t)), "ProbeWrite")
}

func testAccessKeyCreateGet(t *testing.T, s store.Durable) {
	ctx := ctxFor(t)
	k := accessKey("LTAI-1", base)
	must(t, s.CreateAccessKey(ctx, k), "CreateAccessKey")
	got, err := s.GetAccessKey(ctx, k.ID)
	must(t, err, "GetAccessKey")
	checkSame(t, "access key", got, k)

	// An inactive key with an empty description also round-trips.
	k2 := accessKey("LTAI-2", base.Add(time.Second))
	k2.Status, k2.Description = store.KeyInactive, ""
	must(t, s.CreateAccessKey(ctx, k2), "CreateAccessKey inactive")
	got, err = s.GetAccessKey(ctx, k2.ID)
	must(t, err, "GetAccessKey inactive")
	checkSame(t, "inactive access key", got, k2)
}

func testAccessKeyConflict(t *testing.T, s store.Durable) {
	ctx := ctxFor(t)
	k := accessKey("LTAI-1", base)
	must(t, s.CreateAccessKey(ctx, k), "CreateAccessKey")
	k2 := k
	k2.AccountID, k2.SealedSecret = "acct-2", []byte("other")
	mustIs(t, s.CreateAccessKey(ctx, k2), store.ErrConflict, "CreateAccessKey duplicate")
	got, err := s.GetAccessKey(ctx, k.ID)
	must(t, err, "GetAccessKey")
	checkSame(t, "access key after conflict", got, k)
}

func testAccessKeyNotFound(t *testing.T, s store.Durable) {
	ctx := ctxFor(t)
	_, err := s.GetAccessKey(ctx, "nope")
	mustIs(t, err, store.ErrNotFound, "GetAccessKey absent")
	mustIs(t, s.SetAccessKeyStatus(ctx, "nope", store.KeyInactive), store.ErrNotFound, "SetAccessKeyStatus absent")
	keys, err := s.ListAccessKeys(ctx)
	must(t, err, "ListAccessKeys empty")
	if len(keys) != 0 {
		t.Fatalf("ListAccessKeys on an empty store: %d keys", len(keys))
	}
}

func testAccessKeyList(t *testing.T, s store.Durable) {
	ctx := ctxFor(t)
	// Inserted out of order; two share a CreatedAt, so ID breaks the tie.
	want := []store.AccessKey{
		accessKey("k-a", base),
		accessKey("k-b", base.Add(time.Microsecond)),
		accessKey("k-c", base.Add(time.Microsecond)),
		accessKey("k-0", base.Add(time.Hour)),
	}
	want[3].AccountID = "acct-2"
	for _, i := range []int{2, 3, 0, 1} {
		must(t, s.CreateAccessKey(ctx, want[i]), "CreateAccessKey "+want[i].ID)
	}
	got, err := s.ListAccessKeys(ctx)
	must(t, err, "ListAccessKeys")
	checkList(t, "ListAccessKeys", got, want)
}

func testAccessKeyStatus(t *testing.T, s store.Durable) {
	ctx := ctxFor(t)
	k := accessKey("LTAI-1", base)
	must(t, s.CreateAccessKey(ctx, k), "CreateAccessKey")
	for _, st := range []store.KeyStatus{store.KeyInactive, store.KeyInactive, store.KeyActive} {
		must(t, s.SetAccessKeyStatus(ctx, k.ID, st), "SetAccessKeyStatus "+string(st))
		got, err := s.GetAccessKey(ctx, k.ID)
		must(t, err, "GetAccessKey")
		k.Status = st
		checkSame(t, "access key after SetAccessKeyStatus("+string(st)+")", got, k)
	}
}

func scheme(code, account string, at time.Time) store.Scheme {
	return store.Scheme{
		Code:        code,
		AccountID:   account,
		Name:        "方案 " + code,
		AppName:     "Shop",
		OsType:      "H5",
		Origin:      "https://shop.example.com",
		URL:         "https://shop.example.com/login",
		PackName:    "com.example.shop",
		PackSign:    "a1b2c3",
		BundleID:    "com.example.Shop",
		SmsSignName: "示例",
		IPWhiteList: "10.0.0.0/8,192.0.2.1",
		Email:       "dev@example.com",
		CreatedAt:   at,
		// Kept as given (a scheme of CreateSchemeConfig).
		FusionStrategy: "sms",
	}
}

func testSchemeCreateGet(t *testing.T, s store.Durable) {
	ctx := ctxFor(t)
	sc := scheme("FC100000012345678", "acct-1", base)
	must(t, s.CreateScheme(ctx, sc), "CreateScheme")
	got, err := s.GetScheme(ctx, sc.Code)
	must(t, err, "GetScheme")
	checkSame(t, "scheme", got, sc)

	sparse := store.Scheme{Code: "FC2", AccountID: "acct-1", Name: "n", OsType: "iOS", CreatedAt: base}
	must(t, s.CreateScheme(ctx, sparse), "CreateScheme sparse")
	got, err = s.GetScheme(ctx, sparse.Code)
	must(t, err, "GetScheme sparse")
	checkSame(t, "sparse scheme", got, sparse)

	_, err = s.GetScheme(ctx, "FC-nope")
	mustIs(t, err, store.ErrNotFound, "GetScheme absent")
}

func testSchemeConflict(t *testing.T, s store.Durable) {
	ctx := ctxFor(t)
	sc := scheme("FC1", "acct-1", base)
	must(t, s.CreateScheme(ctx, sc), "CreateScheme")
	other := scheme("FC1", "acct-2", base.Add(time.Hour))
	mustIs(t, s.CreateScheme(ctx, other), store.ErrConflict, "CreateScheme duplicate")
	got, err := s.GetScheme(ctx, sc.Code)
	must(t, err, "GetScheme")
	checkSame(t, "scheme after conflict", got, sc)
}

// testSchemeNameUnique: a name is unique within an account (byte for byte),
// free in every other account, and free again once its scheme is deleted.
func testSchemeNameUnique(t *testing.T, s store.Durable) {
	ctx := ctxFor(t)
	first := scheme("FC-1", "acct-1", base)
	first.Name = "Shop"
	must(t, s.CreateScheme(ctx, first), "CreateScheme")
	for _, tc := range []struct {
		name       string
		code, acct string
		schemeName string
		want       error // nil: stored
	}{
		{"same name", "FC-2", "acct-1", "Shop", store.ErrNameConflict},
		{"same name, other account", "FC-3", "acct-2", "Shop", nil},
		{"other case", "FC-4", "acct-1", "shop", nil},
		{"trailing space", "FC-5", "acct-1", "Shop ", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sc := scheme(tc.code, tc.acct, base.Add(time.Second))
			sc.Name = tc.schemeName
			err := s.CreateScheme(ctx, sc)
			if tc.want == nil {
				must(t, err, "CreateScheme")
				return
			}
			mustIs(t, err, tc.want, "CreateScheme")
			mustIs(t, err, store.ErrConflict, "CreateScheme (ErrNameConflict is an ErrConflict)")
			_, err = s.GetScheme(ctx, tc.code)
			mustIs(t, err, store.ErrNotFound, "GetScheme of the refused scheme")
		})
	}
	got, err := s.GetScheme(ctx, first.Code)
	must(t, err, "GetScheme")
	checkSame(t, "scheme after the conflicts", got, first)

	// A taken code is ErrConflict, not a name conflict.
	dup := scheme(first.Code, "acct-1", base)
	dup.Name = "Another"
	err = s.CreateScheme(ctx, dup)
	mustIs(t, err, store.ErrConflict, "CreateScheme with a taken code")
	if errors.Is(err, store.ErrNameConflict) {
		t.Fatalf("CreateScheme with a taken code and a free name: %v, want a plain ErrConflict", err)
	}

	must(t, s.DeleteScheme(ctx, first.Code), "DeleteScheme")
	again := scheme("FC-6", "acct-1", base.Add(time.Hour))
	again.Name = "Shop"
	must(t, s.CreateScheme(ctx, again), "CreateScheme of a deleted scheme's name")
}

// testSchemeNameConcurrent: of many concurrent creations of one name in one
// account (each with its own code), exactly one is stored and every other
// gets ErrNameConflict.
func testSchemeNameConcurrent(t *testing.T, s store.Durable) {
	ctx := ctxFor(t)
	const n = 20
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sc := scheme(fmt.Sprintf("FC-%02d", i), "acct-1", base)
			sc.Name = "Shop"
			errs[i] = s.CreateScheme(ctx, sc)
		}()
	}
	wg.Wait()
	ok := 0
	for i, err := range errs {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, store.ErrNameConflict):
			t.Errorf("creation %d: %v, want nil or ErrNameConflict", i, err)
		}
	}
	if ok != 1 {
		t.Fatalf("%d of %d concurrent creations of one name succeeded, want exactly 1", ok, n)
	}
	got, err := s.ListSchemes(ctx, "acct-1")
	must(t, err, "ListSchemes")
	if len(got) != 1 {
		t.Fatalf("ListSchemes after the race: %d schemes, want 1", len(got))
	}
}

// RunSchemeNameMigration checks schema migration 2 (unique scheme names) on
// a database that holds duplicate names, as one from before it could. s is
// a fresh store of the backend; rewind must take its database back to
// schema version 1 (drop the index schemes_account_name and forget
// migration 2), and reopen must open the same database again, migrating it.
// The first scheme of a name in an account (by CreatedAt, then Code) keeps
// the name; every later one gets " (CODE)" appended.
func RunSchemeNameMigration(t *testing.T, s store.Durable, rewind func() error, reopen func() store.Durable) {
	ctx := ctxFor(t)
	named := func(code, account, name string, at time.Time) store.Scheme {
		sc := scheme(code, account, at)
		sc.Name = name
		sc.FusionStrategy = "" // schema version 1 has no column for it
		return sc
	}
	before := []store.Scheme{
		named("FC-a", "acct-1", "Shop", base),
		named("FC-c", "acct-1", "Shop", base.Add(time.Second)), // a tie on CreatedAt: the code decides
		named("FC-b", "acct-1", "Shop", base.Add(time.Second)),
		named("FC-0", "acct-1", "Shop", base.Add(time.Minute)),
		named("FC-x", "acct-2", "Shop", base.Add(time.Hour)), // another account keeps its name
		named("FC-y", "acct-1", "Other", base.Add(time.Hour)),
		named("FC-z", "acct-1", "Other", base.Add(2*time.Hour)),
	}
	must(t, rewind(), "rewind to schema version 1")
	for _, sc := range before {
		must(t, s.CreateScheme(ctx, sc), "CreateScheme "+sc.Code+" at schema version 1")
	}
	must(t, s.Close(), "Close")
	s = reopen()
	t.Cleanup(func() { _ = s.Close() })
	want := map[string]string{
		"FC-a": "Shop", "FC-b": "Shop (FC-b)", "FC-c": "Shop (FC-c)", "FC-0": "Shop (FC-0)",
		"FC-x": "Shop", "FC-y": "Other", "FC-z": "Other (FC-z)",
	}
	for _, sc := range before {
		got, err := s.GetScheme(ctx, sc.Code)
		must(t, err, "GetScheme "+sc.Code+" after the migration")
		sc.Name = want[sc.Code]
		checkSame(t, "scheme "+sc.Code+" after the migration", got, sc)
	}
	mustIs(t, s.CreateScheme(ctx, named("FC-new", "acct-1", "Shop", base)), store.ErrNameConflict,
		"CreateScheme of a taken name after the migration")
}

func testSchemeList(t *testing.T, s store.Durable) {
	ctx := ctxFor(t)
	all := []store.Scheme{
		scheme("FC-a", "acct-1", base),
		scheme("FC-x", "acct-2", base.Add(time.Millisecond)),
		scheme("FC-b", "acct-1", base.Add(time.Second)),
		scheme("FC-c", "acct-1", base.Add(time.Second)),
		scheme("FC-0", "acct-1", base.Add(time.Minute)),
	}
	for _, i := range []int{4, 2, 3, 1, 0} {
		must(t, s.CreateScheme(ctx, all[i]), "CreateScheme "+all[i].Code)
	}
	for _, tc := range []struct {
		account string
		want    []store.Scheme
	}{
		{"", all},
		{"acct-1", []store.Scheme{all[0], all[2], all[3], all[4]}},
		{"acct-2", []store.Scheme{all[1]}},
		{"acct-none", nil},
	} {
		got, err := s.ListSchemes(ctx, tc.account)
		must(t, err, "ListSchemes "+tc.account)
		checkList(t, fmt.Sprintf("ListSchemes(%q)", tc.account), got, tc.want)
	}
}

func testSchemeDelete(t *testing.T, s store.Durable) {
	ctx := ctxFor(t)
	a, b := scheme("FC-a", "acct-1", base), scheme("FC-b", "acct-1", base.Add(time.Second))
	must(t, s.CreateScheme(ctx, a), "CreateScheme a")
	must(t, s.CreateScheme(ctx, b), "CreateScheme b")
	must(t, s.DeleteScheme(ctx, a.Code), "DeleteScheme")
	_, err := s.GetScheme(ctx, a.Code)
	mustIs(t, err, store.ErrNotFound, "GetScheme after delete")
	mustIs(t, s.DeleteScheme(ctx, a.Code), store.ErrNotFound, "DeleteScheme twice")
	mustIs(t, s.DeleteScheme(ctx, "FC-never"), store.ErrNotFound, "DeleteScheme absent")
	got, err := s.ListSchemes(ctx, "acct-1")
	must(t, err, "ListSchemes")
	if len(got) != 1 || got[0].Code != b.Code {
		t.Fatalf("ListSchemes after delete: %+v, want only %s", got, b.Code)
	}
	// The code can be registered again after a delete.
	a.Name = "again"
	must(t, s.CreateScheme(ctx, a), "CreateScheme after delete")
	got2, err := s.GetScheme(ctx, a.Code)
	must(t, err, "GetScheme re-created")
	checkSame(t, "re-created scheme", got2, a)
}

func verification(id string, at time.Time) store.Verification {
	return store.Verification{
		ID:          id,
		AccountID:   "acct-1",
		SchemeCode:  "FC1",
		Kind:        "verify",
		Carrier:     "CM",
		Result:      "PASS",
		MaskedPhone: "138****5678",
		PhoneHash:   "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
		Billable:    true,
		LatencyUS:   123456,
		CreatedAt:   at,
	}
}

func testVerificationRoundTrip(t *testing.T, s store.Durable) {
	ctx := ctxFor(t)
	a := verification("v-a", base)
	b := store.Verification{
		ID: "v-b", AccountID: "acct-2", SchemeCode: "FC2", Kind: "login", Carrier: "CT",
		Result: "UNKNOWN", Billable: false, LatencyUS: 0,
		CreatedAt: time.Date(2026, 12, 31, 23, 59, 59, 999999999, time.UTC),
	}
	c := verification("v-c", base.Add(-1000*time.Hour))
	c.Result, c.Carrier, c.LatencyUS = "REJECT", "CU", 1<<40
	must(t, s.RecordVerifications(ctx, []store.Verification{a, b, c}), "RecordVerifications")
	for _, want := range []store.Verification{a, b, c} {
		got, err := s.GetVerification(ctx, want.ID)
		must(t, err, "GetVerification "+want.ID)
		checkSame(t, "verification "+want.ID, got, want)
	}
}

func testVerificationEmptyBatch(t *testing.T, s store.Durable) {
	ctx := ctxFor(t)
	must(t, s.RecordVerifications(ctx, nil), "RecordVerifications(nil)")
	must(t, s.RecordVerifications(ctx, []store.Verification{}), "RecordVerifications(empty)")
}

func testVerificationBatchAtomic(t *testing.T, s store.Durable) {
	ctx := ctxFor(t)
	stored := verification("stored", base)
	must(t, s.RecordVerifications(ctx, []store.Verification{stored}), "RecordVerifications")
	for _, tc := range []struct {
		name  string
		batch []store.Verification
		gone  []string // ids that must not be stored afterwards
	}{
		{"DuplicateInBatch", []store.Verification{
			verification("d-1", base), verification("d-2", base), verification("d-1", base.Add(time.Second)),
		}, []string{"d-1", "d-2"}},
		{"DuplicateOfStored", []store.Verification{
			verification("e-1", base), verification("stored", base.Add(time.Hour)), verification("e-2", base),
		}, []string{"e-1", "e-2"}},
		{"DuplicateLast", []store.Verification{
			verification("f-1", base), verification("f-2", base), verification("stored", base),
		}, []string{"f-1", "f-2"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mustIs(t, s.RecordVerifications(ctx, tc.batch), store.ErrConflict, "RecordVerifications with a duplicate")
			for _, id := range tc.gone {
				_, err := s.GetVerification(ctx, id)
				mustIs(t, err, store.ErrNotFound, "GetVerification "+id+" after a failed batch")
			}
			got, err := s.GetVerification(ctx, "stored")
			must(t, err, "GetVerification stored")
			checkSame(t, "stored verification", got, stored)
		})
	}
	// The store still accepts a good batch afterwards.
	must(t, s.RecordVerifications(ctx, []store.Verification{verification("e-1", base), verification("e-2", base)}), "RecordVerifications after conflicts")
	for _, id := range []string{"e-1", "e-2"} {
		_, err := s.GetVerification(ctx, id)
		must(t, err, "GetVerification "+id)
	}
	stats, err := s.DailyStats(ctx, store.VerificationFilter{AccountID: "acct-1"})
	must(t, err, "DailyStats")
	if len(stats) != 1 || stats[0].Pass != 3 {
		t.Fatalf("DailyStats after conflicts: %+v, want one day with Pass=3", stats)
	}
}

func testVerificationNotFound(t *testing.T, s store.Durable) {
	_, err := s.GetVerification(ctxFor(t), "v-nope")
	mustIs(t, err, store.ErrNotFound, "GetVerification absent")
}

func testDailyStats(t *testing.T, s store.Durable) {
	ctx := ctxFor(t)
	day1 := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	day2 := day1.AddDate(0, 0, 1)
	day3 := day1.AddDate(0, 0, 2)
	cst := time.FixedZone("CST", 8*3600)
	n := 0
	rec := func(at time.Time, account, kind, schemeCode, result string) store.Verification {
		n++
		v := verification(fmt.Sprintf("s-%03d", n), at)
		v.AccountID, v.Kind, v.SchemeCode, v.Result = account, kind, schemeCode, result
		return v
	}
	recs := []store.Verification{
		rec(day1, "A", "verify", "S1", "PASS"),
		rec(day1.Add(time.Hour), "A", "verify", "S1", "PASS"),
		rec(day1.Add(2*time.Hour), "A", "verify", "S2", "REJECT"),
		rec(day1.Add(3*time.Hour), "A", "login", "S1", "PASS"),
		// 07:59:59.999999 on day2 in CST is still day1 in UTC.
		rec(day2.Add(-time.Microsecond).In(cst), "A", "verify", "S1", "UNKNOWN"),
		// 08:00 on day2 in CST is day2 00:00 UTC.
		rec(day2.In(cst), "A", "verify", "S1", "PASS"),
		rec(day2.Add(10*time.Hour), "A", "verify", "S2", "REJECT"),
		rec(day2.Add(11*time.Hour), "B", "verify", "S9", "PASS"),
		rec(day3.Add(5*time.Hour), "A", "login", "S2", "UNKNOWN"),
	}
	must(t, s.RecordVerifications(ctx, recs[:4]), "RecordVerifications 1")
	must(t, s.RecordVerifications(ctx, recs[4:]), "RecordVerifications 2")

	for _, tc := range []struct {
		name string
		f    store.VerificationFilter
		want []store.DayStat
	}{
		{"AccountA", store.VerificationFilter{AccountID: "A", From: day1, To: day3.AddDate(0, 0, 1)},
			[]store.DayStat{ds("2026-05-01", 3, 1, 1), ds("2026-05-02", 1, 1, 0), ds("2026-05-03", 0, 0, 1)}},
		{"AccountB", store.VerificationFilter{AccountID: "B", From: day1, To: day3},
			[]store.DayStat{ds("2026-05-02", 1, 0, 0)}},
		{"KindVerify", store.VerificationFilter{AccountID: "A", Kind: "verify", From: day1, To: day3.AddDate(0, 0, 1)},
			[]store.DayStat{ds("2026-05-01", 2, 1, 1), ds("2026-05-02", 1, 1, 0)}},
		{"KindLogin", store.VerificationFilter{AccountID: "A", Kind: "login", From: day1, To: day3.AddDate(0, 0, 1)},
			[]store.DayStat{ds("2026-05-01", 1, 0, 0), ds("2026-05-03", 0, 0, 1)}},
		{"Scheme", store.VerificationFilter{AccountID: "A", SchemeCode: "S2", From: day1, To: day3.AddDate(0, 0, 1)},
			[]store.DayStat{ds("2026-05-01", 0, 1, 0), ds("2026-05-02", 0, 1, 0), ds("2026-05-03", 0, 0, 1)}},
		{"KindAndScheme", store.VerificationFilter{AccountID: "A", Kind: "verify", SchemeCode: "S1", From: day1, To: day3},
			[]store.DayStat{ds("2026-05-01", 2, 0, 1), ds("2026-05-02", 1, 0, 0)}},
		// To is exclusive: day2 00:00 UTC is left out, day2-1µs is in.
		{"ToExclusive", store.VerificationFilter{AccountID: "A", From: day1, To: day2},
			[]store.DayStat{ds("2026-05-01", 3, 1, 1)}},
		// From is inclusive, and a bound in another zone means the same instant.
		{"FromInclusive", store.VerificationFilter{AccountID: "A", From: day2.In(cst), To: day2.Add(time.Hour)},
			[]store.DayStat{ds("2026-05-02", 1, 0, 0)}},
		{"PartialDay", store.VerificationFilter{AccountID: "A", From: day1.Add(90 * time.Minute), To: day1.Add(3 * time.Hour)},
			[]store.DayStat{ds("2026-05-01", 0, 1, 0)}},
		{"AllAccounts", store.VerificationFilter{From: day2, To: day3},
			[]store.DayStat{ds("2026-05-02", 2, 1, 0)}},
		{"NoBounds", store.VerificationFilter{AccountID: "A", Kind: "login"},
			[]store.DayStat{ds("2026-05-01", 1, 0, 0), ds("2026-05-03", 0, 0, 1)}},
		{"OnlyFrom", store.VerificationFilter{AccountID: "A", From: day3},
			[]store.DayStat{ds("2026-05-03", 0, 0, 1)}},
		{"OnlyTo", store.VerificationFilter{AccountID: "B", To: day3},
			[]store.DayStat{ds("2026-05-02", 1, 0, 0)}},
		{"NoMatch", store.VerificationFilter{AccountID: "C", From: day1, To: day3}, nil},
		{"EmptyRange", store.VerificationFilter{AccountID: "A", From: day2, To: day2}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.DailyStats(ctx, tc.f)
			must(t, err, "DailyStats")
			if len(got) == 0 && len(tc.want) == 0 {
				return
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("DailyStats(%+v):\n got %+v\nwant %+v", tc.f, got, tc.want)
			}
		})
	}
}

func ds(day string, pass, reject, unknown int64) store.DayStat {
	return store.DayStat{Day: day, Pass: pass, Reject: reject, Unknown: unknown}
}

func testSigningKeys(t *testing.T, s store.Durable) {
	ctx := ctxFor(t)
	keys := []store.SigningKey{
		{ID: "jwt-2", Use: "jwt", Alg: "ES256", Sealed: []byte("sealed-2"), Public: []byte{0x30, 0x59, 0}, CreatedAt: base.Add(time.Hour)},
		{ID: "jwt-1", Use: "jwt", Alg: "ES256", Sealed: []byte("sealed-1"), Public: []byte{0x30, 0x59, 1}, CreatedAt: base, NotAfter: base.Add(90 * time.Minute)},
		{ID: "jwt-0", Use: "jwt", Alg: "ES256", Sealed: []byte("sealed-0"), Public: []byte{0x30, 0x59, 2}, CreatedAt: base.Add(time.Hour)},
		{ID: "seal-1", Use: "seal", Alg: "A256GCM", Sealed: []byte{0, 0, 0}, Public: nil, CreatedAt: base},
	}
	for _, k := range keys {
		must(t, s.PutSigningKey(ctx, k), "PutSigningKey "+k.ID)
	}
	dup := keys[3]
	dup.Use = "jwt"
	mustIs(t, s.PutSigningKey(ctx, dup), store.ErrConflict, "PutSigningKey duplicate")

	for _, tc := range []struct {
		use  string
		want []store.SigningKey
	}{
		{"jwt", []store.SigningKey{keys[1], keys[2], keys[0]}},
		{"seal", []store.SigningKey{keys[3]}},
		{"other", nil},
	} {
		got, err := s.ListSigningKeys(ctx, tc.use)
		must(t, err, "ListSigningKeys "+tc.use)
		what := fmt.Sprintf("ListSigningKeys(%q)", tc.use)
		if !checkList(t, what, got, tc.want) {
			continue
		}
		for i := range tc.want {
			if tc.want[i].Public == nil && len(got[i].Public) != 0 {
				t.Errorf("%s[%d].Public = %x, want empty", what, i, got[i].Public)
			}
		}
	}
}

// testDurableConcurrentRecord records from many goroutines at once, the
// way a group-committing caller and the admin API would; nothing is lost.
func testDurableConcurrentRecord(t *testing.T, s store.Durable) {
	ctx := ctxFor(t)
	const workers, batches, per = 16, 10, 8
	day := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	var wg sync.WaitGroup
	errs := make(chan error, workers*batches)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := 0; b < batches; b++ {
				batch := make([]store.Verification, per)
				for i := range batch {
					batch[i] = verification(fmt.Sprintf("c-%d-%d-%d", w, b, i), day.Add(time.Duration(i)*time.Second))
				}
				if err := s.RecordVerifications(ctx, batch); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	// Readers at the same time.
	for r := 0; r < 4; r++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 20; i++ {
				if _, err := s.DailyStats(ctx, store.VerificationFilter{AccountID: "acct-1"}); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("concurrent RecordVerifications/DailyStats: %v", err)
	}
	got, err := s.DailyStats(ctx, store.VerificationFilter{AccountID: "acct-1", From: day, To: day.AddDate(0, 0, 1)})
	must(t, err, "DailyStats")
	if len(got) != 1 || got[0].Pass != workers*batches*per {
		t.Fatalf("after concurrent recording: %+v, want one day with Pass=%d", got, workers*batches*per)
	}
	for _, id := range []string{"c-0-0-0", fmt.Sprintf("c-%d-%d-%d", workers-1, batches-1, per-1)} {
		if _, err := s.GetVerification(ctx, id); err != nil {
			t.Fatalf("GetVerification %s: %v", id, err)
		}
	}
}

// testDurableConcurrentCreate: of many concurrent creations of one id,
// exactly one wins and the others get ErrConflict.
func testDurableConcurrentCreate(t *testing.T, s store.Durable) {
	ctx := ctxFor(t)
	const n = 16
	var wg sync.WaitGroup
	results := make(chan error, 4*n)
	for i := 0; i < n; i++ {
		wg.Add(4)
		go func() {
			defer wg.Done()
			results <- s.CreateOAuthClient(ctx, oauthClient("nv-same", fmt.Sprint("acct-", i), base))
		}()
		go func() {
			defer wg.Done()
			k := accessKey("same", base)
			k.Description = fmt.Sprint(i)
			results <- s.CreateAccessKey(ctx, k)
		}()
		go func() {
			defer wg.Done()
			results <- s.CreateScheme(ctx, scheme("FC-same", fmt.Sprint("acct-", i), base))
		}()
		go func() {
			defer wg.Done()
			results <- s.RecordVerifications(ctx, []store.Verification{verification("v-same", base)})
		}()
	}
	wg.Wait()
	close(results)
	ok := 0
	for err := range results {
		switch {
		case err == nil:
			ok++
		case errors.Is(err, store.ErrConflict):
		default:
			t.Fatalf("concurrent create: unexpected error %v", err)
		}
	}
	if ok != 4 {
		t.Fatalf("concurrent create: %d successes, want exactly 4 (one per kind)", ok)
	}
}

// testDurableClosed: a closed store reports ErrUnavailable, never success or
// ErrNotFound.
func testDurableClosed(t *testing.T, s store.Durable) {
	ctx := ctxFor(t)
	must(t, s.CreateAccessKey(ctx, accessKey("k", base)), "CreateAccessKey")
	must(t, s.Close(), "Close")
	mustIs(t, s.Ping(ctx), store.ErrUnavailable, "Ping after Close")
	mustIs(t, s.ProbeWrite(ctx), store.ErrUnavailable, "ProbeWrite after Close")
	_, err := s.GetAccessKey(ctx, "k")
	mustIs(t, err, store.ErrUnavailable, "GetAccessKey after Close")
	mustIs(t, s.RecordVerifications(ctx, []store.Verification{verification("v", base)}), store.ErrUnavailable, "RecordVerifications after Close")
	_, err = s.DailyStats(ctx, store.VerificationFilter{})
	mustIs(t, err, store.ErrUnavailable, "DailyStats after Close")
	mustIs(t, s.RecordSmsSends(ctx, []store.SmsSend{smsSend("s", "a", "h", base)}), store.ErrUnavailable, "RecordSmsSends after Close")
	_, _, err = s.ListSmsSends(ctx, store.SmsFilter{})
	mustIs(t, err, store.ErrUnavailable, "ListSmsSends after Close")
	mustIs(t, s.PutOutbox(ctx, sms.OutboxEntry{ID: "o", CreatedAt: base}), store.ErrUnavailable, "PutOutbox after Close")
	mustIs(t, s.CreateOAuthClient(ctx, oauthClient("nv", "a", base)), store.ErrUnavailable, "CreateOAuthClient after Close")
	_, err = s.GetOAuthClient(ctx, "nv")
	mustIs(t, err, store.ErrUnavailable, "GetOAuthClient after Close")
	_, err = s.ListOAuthClients(ctx, "")
	mustIs(t, err, store.ErrUnavailable, "ListOAuthClients after Close")
	mustIs(t, s.SetOAuthClientActive(ctx, "nv", true), store.ErrUnavailable, "SetOAuthClientActive after Close")
}
