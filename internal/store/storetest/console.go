package storetest

import (
	"fmt"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/numauth/numauth/internal/store"
)

// consoleTests are the suite's tests of console users and the audit log.
var consoleTests = []durableTest{
	{"ConsoleUserRoundTrip", testConsoleUserRoundTrip},
	{"ConsoleUserUpdate", testConsoleUserUpdate},
	{"ConsoleUserConcurrentUpdate", testConsoleUserConcurrentUpdate},
	{"AuditAppendList", testAuditAppendList},
	{"VerificationLog", testVerificationLog},
}

// testVerificationLog: ListVerifications selects by every field, orders
// newest first, and pages without losing or repeating a record (several
// records share a time).
func testVerificationLog(t *testing.T, s store.Durable) {
	ctx := ctxFor(t)
	base := time.Date(2026, 11, 30, 23, 59, 0, 0, time.UTC)
	var vs []store.Verification
	for i := 0; i < 40; i++ {
		v := store.Verification{
			ID: fmt.Sprintf("vl%03d", i), AccountID: []string{"acc-a", "acc-b"}[i%2], SchemeCode: fmt.Sprint("FC", i%3),
			Kind: []string{"verify", "login"}[i%5/4], Carrier: "CM", Result: []string{"PASS", "REJECT", "UNKNOWN", "PASS"}[i%4],
			MaskedPhone: fmt.Sprintf("138****%04d", i%7), PhoneHash: fmt.Sprint("h", i%7), LatencyUS: int64(i * 100),
			CreatedAt: base.Add(time.Duration(i/3) * 10 * time.Second), // three records per instant
		}
		vs = append(vs, v)
	}
	must(t, s.RecordVerifications(ctx, vs), "RecordVerifications")
	newestFirst := func(sel func(store.Verification) bool) []string {
		var out []string
		for i := len(vs) - 1; i >= 0; i-- {
			if sel(vs[i]) {
				out = append(out, vs[i].ID)
			}
		}
		// Within one instant the greater ID comes first, as it does here.
		return out
	}
	ids := func(vs []store.Verification) []string {
		var out []string
		for _, v := range vs {
			out = append(out, v.ID)
		}
		return out
	}
	cut := base.Add(50 * time.Second)
	for _, tc := range []struct {
		q   store.VerificationQuery
		sel func(store.Verification) bool
	}{
		{store.VerificationQuery{Limit: 500}, func(store.Verification) bool { return true }},
		{store.VerificationQuery{AccountID: "acc-b"}, func(v store.Verification) bool { return v.AccountID == "acc-b" }},
		{store.VerificationQuery{ID: "vl017"}, func(v store.Verification) bool { return v.ID == "vl017" }},
		{store.VerificationQuery{MaskedPhone: "138****0003"}, func(v store.Verification) bool { return v.MaskedPhone == "138****0003" }},
		{store.VerificationQuery{SchemeCode: "FC1", Result: "PASS"}, func(v store.Verification) bool { return v.SchemeCode == "FC1" && v.Result == "PASS" }},
		{store.VerificationQuery{Kind: "login"}, func(v store.Verification) bool { return v.Kind == "login" }},
		{store.VerificationQuery{From: cut, To: cut.Add(30 * time.Second)}, func(v store.Verification) bool {
			return !v.CreatedAt.Before(cut) && v.CreatedAt.Before(cut.Add(30*time.Second))
		}},
	} {
		got, err := s.ListVerifications(ctx, tc.q)
		must(t, err, "ListVerifications")
		if want := newestFirst(tc.sel); fmt.Sprint(ids(got)) != fmt.Sprint(want) {
			t.Fatalf("ListVerifications(%+v)\n got %v\nwant %v", tc.q, ids(got), want)
		}
	}
	one, err := s.ListVerifications(ctx, store.VerificationQuery{ID: "vl017"})
	must(t, err, "ListVerifications by ID")
	if len(one) != 1 || !reflect.DeepEqual(one[0], vs[17]) {
		t.Fatalf("record vl017 = %+v, want %+v", one, vs[17])
	}
	// Pages of 7: every record once, in order.
	var paged []string
	q := store.VerificationQuery{Limit: 7}
	for page := 0; page < 10; page++ {
		p, err := s.ListVerifications(ctx, q)
		must(t, err, "ListVerifications page")
		if len(p) == 0 {
			break
		}
		paged = append(paged, ids(p)...)
		q.BeforeAt, q.BeforeID = p[len(p)-1].CreatedAt, p[len(p)-1].ID
	}
	if want := newestFirst(func(store.Verification) bool { return true }); fmt.Sprint(paged) != fmt.Sprint(want) {
		t.Fatalf("pages\n got %v\nwant %v", paged, want)
	}
}

func testConsoleUserRoundTrip(t *testing.T, s store.Durable) {
	ctx := ctxFor(t)
	at := time.Date(2026, 12, 1, 8, 0, 0, 123456000, time.UTC)
	hostile := `<img src=x onerror=alert(1)>"'; DROP TABLE console_users;--`
	users := []store.ConsoleUser{
		{Name: "zoe", Role: store.RoleViewer, PasswordHash: "$argon2id$v=19$m=65536,t=3,p=2$c2FsdA$aGFzaA", CreatedAt: at},
		{Name: hostile, Role: store.RoleAdmin, PasswordHash: "$argon2id$x", Generation: 4, Disabled: true, CreatedAt: at.Add(time.Second)},
		{Name: "管理员", Role: store.RoleAdmin, PasswordHash: "h", CreatedAt: at},
	}
	for _, u := range users {
		must(t, s.CreateConsoleUser(ctx, u), "CreateConsoleUser "+u.Name)
	}
	mustIs(t, s.CreateConsoleUser(ctx, users[0]), store.ErrConflict, "CreateConsoleUser of a taken name")
	for _, want := range users {
		got, err := s.GetConsoleUser(ctx, want.Name)
		must(t, err, "GetConsoleUser")
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("GetConsoleUser(%q) = %+v, want %+v", want.Name, got, want)
		}
	}
	_, err := s.GetConsoleUser(ctx, "ZOE")
	mustIs(t, err, store.ErrNotFound, "GetConsoleUser compares names byte for byte")
	list, err := s.ListConsoleUsers(ctx)
	must(t, err, "ListConsoleUsers")
	var names []string
	for _, u := range list {
		names = append(names, u.Name)
	}
	if want := []string{hostile, "zoe", "管理员"}; !reflect.DeepEqual(names, want) {
		t.Fatalf("ListConsoleUsers names = %q, want %q (byte order)", names, want)
	}
	must(t, s.DeleteConsoleUser(ctx, "zoe"), "DeleteConsoleUser")
	mustIs(t, s.DeleteConsoleUser(ctx, "zoe"), store.ErrNotFound, "DeleteConsoleUser twice")
	_, err = s.GetConsoleUser(ctx, "zoe")
	mustIs(t, err, store.ErrNotFound, "GetConsoleUser after delete")
}

func testConsoleUserUpdate(t *testing.T, s store.Durable) {
	ctx := ctxFor(t)
	u := store.ConsoleUser{Name: "ann", Role: store.RoleAdmin, PasswordHash: "h1", Generation: 1, CreatedAt: time.Unix(1_800_000_000, 0).UTC()}
	must(t, s.CreateConsoleUser(ctx, u), "CreateConsoleUser")
	viewer, hash, off, on := store.RoleViewer, "h2", true, false
	steps := []struct {
		ch   store.ConsoleUserChange
		want store.ConsoleUser
	}{
		{store.ConsoleUserChange{}, store.ConsoleUser{Role: store.RoleAdmin, PasswordHash: "h1", Generation: 2}},
		{store.ConsoleUserChange{Role: &viewer}, store.ConsoleUser{Role: store.RoleViewer, PasswordHash: "h1", Generation: 3}},
		{store.ConsoleUserChange{PasswordHash: &hash}, store.ConsoleUser{Role: store.RoleViewer, PasswordHash: "h2", Generation: 4}},
		{store.ConsoleUserChange{Disabled: &off}, store.ConsoleUser{Role: store.RoleViewer, PasswordHash: "h2", Generation: 5, Disabled: true}},
		{store.ConsoleUserChange{Disabled: &on, Role: new(store.ConsoleRole)}, store.ConsoleUser{PasswordHash: "h2", Generation: 6}},
	}
	for i, st := range steps {
		st.want.Name, st.want.CreatedAt = u.Name, u.CreatedAt
		got, err := s.UpdateConsoleUser(ctx, u.Name, st.ch)
		if i == len(steps)-1 {
			// An empty role is no role: the store refuses it and changes nothing.
			if err == nil {
				t.Fatalf("UpdateConsoleUser to the empty role: no error (got %+v)", got)
			}
			continue
		}
		must(t, err, fmt.Sprint("UpdateConsoleUser step ", i))
		if !reflect.DeepEqual(got, st.want) {
			t.Fatalf("step %d: UpdateConsoleUser = %+v, want %+v", i, got, st.want)
		}
		if stored, err := s.GetConsoleUser(ctx, u.Name); err != nil || !reflect.DeepEqual(stored, st.want) {
			t.Fatalf("step %d: stored %+v, %v; want %+v", i, stored, err, st.want)
		}
	}
	_, err := s.UpdateConsoleUser(ctx, "nobody", store.ConsoleUserChange{})
	mustIs(t, err, store.ErrNotFound, "UpdateConsoleUser of an absent user")
}

// testConsoleUserConcurrentUpdate: every update moves the generation on,
// however many run at once (no update is lost).
func testConsoleUserConcurrentUpdate(t *testing.T, s store.Durable) {
	ctx := ctxFor(t)
	must(t, s.CreateConsoleUser(ctx, store.ConsoleUser{Name: "c", Role: store.RoleViewer, PasswordHash: "h", CreatedAt: time.Now().UTC().Truncate(time.Microsecond)}), "CreateConsoleUser")
	const n = 16
	var wg sync.WaitGroup
	var failed atomic.Int32
	for i := 0; i < n; i++ {
		wg.Go(func() {
			if _, err := s.UpdateConsoleUser(ctx, "c", store.ConsoleUserChange{}); err != nil {
				failed.Add(1)
				t.Error(err)
			}
		})
	}
	wg.Wait()
	u, err := s.GetConsoleUser(ctx, "c")
	must(t, err, "GetConsoleUser")
	if failed.Load() == 0 && u.Generation != n {
		t.Fatalf("after %d concurrent updates the generation is %d", n, u.Generation)
	}
}

func testAuditAppendList(t *testing.T, s store.Durable) {
	ctx := ctxFor(t)
	base := time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)
	var es []store.AuditEntry
	for i := 0; i < 25; i++ {
		actor := "user:ann"
		if i%3 == 0 {
			actor = "token"
		}
		action := "keys.create"
		if i%2 == 0 {
			action = "schemes.delete"
		}
		es = append(es, store.AuditEntry{
			ID: fmt.Sprintf("%016x-%02d", base.Add(time.Duration(i)*time.Second).UnixMicro(), i), At: base.Add(time.Duration(i) * time.Second),
			Actor: actor, Source: "127.0.0.1", Action: action, Target: fmt.Sprint("T", i), Outcome: "ok",
			Detail: `{"name":"<script>alert('x')</script>","n":` + fmt.Sprint(i) + `}`,
		})
	}
	must(t, s.AppendAudit(ctx, es[:10]...), "AppendAudit")
	must(t, s.AppendAudit(ctx, es[10:]...), "AppendAudit")
	must(t, s.AppendAudit(ctx), "AppendAudit of nothing")
	// All or none: a batch with one taken ID stores nothing.
	dup := []store.AuditEntry{{ID: "zzzz-new", At: base, Actor: "token", Action: "x", Outcome: "ok", Detail: "{}"}, es[3]}
	mustIs(t, s.AppendAudit(ctx, dup...), store.ErrConflict, "AppendAudit with a taken ID")

	got, err := s.ListAudit(ctx, store.AuditFilter{})
	must(t, err, "ListAudit")
	if len(got) != 25 {
		t.Fatalf("ListAudit = %d entries, want 25 (the failed batch stored nothing)", len(got))
	}
	for i, e := range got {
		if want := es[24-i]; !reflect.DeepEqual(e, want) {
			t.Fatalf("entry %d = %+v, want %+v", i, e, want)
		}
	}
	// Pages: 10, 10, 5, then none.
	var paged []store.AuditEntry
	before := ""
	for page := 0; page < 4; page++ {
		p, err := s.ListAudit(ctx, store.AuditFilter{Before: before, Limit: 10})
		must(t, err, "ListAudit page")
		if want := []int{10, 10, 5, 0}[page]; len(p) != want {
			t.Fatalf("page %d has %d entries, want %d", page, len(p), want)
		}
		paged = append(paged, p...)
		if len(p) > 0 {
			before = p[len(p)-1].ID
		}
	}
	if !reflect.DeepEqual(paged, got) {
		t.Fatal("the pages together differ from the whole list")
	}
	for _, f := range []store.AuditFilter{{Actor: "token"}, {Action: "keys.create"}, {Actor: "user:ann", Action: "schemes.delete"}} {
		sel, err := s.ListAudit(ctx, f)
		must(t, err, "ListAudit filtered")
		want := 0
		for _, e := range es {
			if (f.Actor == "" || e.Actor == f.Actor) && (f.Action == "" || e.Action == f.Action) {
				want++
			}
		}
		if len(sel) != want {
			t.Fatalf("ListAudit(%+v) = %d entries, want %d", f, len(sel), want)
		}
		for _, e := range sel {
			if (f.Actor != "" && e.Actor != f.Actor) || (f.Action != "" && e.Action != f.Action) {
				t.Fatalf("ListAudit(%+v) returned %+v", f, e)
			}
		}
	}
}
