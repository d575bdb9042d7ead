package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/numauth/numauth/internal/store"
)

var retentionTests = []durableTest{
	{"Retention", testRetention},
}

// testRetention: Maintain with a retention deletes the verification and
// SMS send records older than it and keeps the newer ones; statistics and
// bills of whole hours stay as they were (they are read from the rollups,
// which retention keeps); without a retention nothing is deleted.
//
// The records lie well away from the cutoff: PostgreSQL deletes whole
// months (a record goes once its month ended before the cutoff), SQLite
// deletes exactly up to the cutoff; each backend's own tests check its
// edge.
func testRetention(t *testing.T, s store.Durable) {
	mt, ok := s.(store.Maintainer)
	if !ok {
		t.Skip("the store keeps no time-ranged records (not a store.Maintainer)")
	}
	ctx := ctxFor(t)
	now := time.Date(2026, 6, 15, 12, 0, 0, 0, time.UTC)
	const retention = 30 * 24 * time.Hour // cutoff 2026-05-16 12:00
	old := []time.Time{time.Date(2025, 12, 31, 23, 0, 0, 0, time.UTC), time.Date(2026, 3, 10, 8, 0, 0, 0, time.UTC),
		time.Date(2026, 4, 30, 23, 59, 59, 999999000, time.UTC)}
	kept := []time.Time{time.Date(2026, 5, 20, 0, 0, 0, 0, time.UTC), now, now.AddDate(0, 2, 0)}
	var b store.Batch
	for i, at := range append(old, kept...) {
		v := verification(fmt.Sprint("v", i), at)
		v.Billable = true
		b.Verifications = append(b.Verifications, v)
		b.SmsSends = append(b.SmsSends, smsSend(fmt.Sprint("s", i), "acct-1", "h", at))
	}
	must(t, s.WriteBatch(ctx, b), "WriteBatch")
	all := store.VerificationFilter{AccountID: "acct-1"}
	days, err := s.DailyStats(ctx, all)
	must(t, err, "DailyStats")
	billed, err := s.BillableCounts(ctx, all)
	must(t, err, "BillableCounts")
	smsDays, err := s.SmsDailyStats(ctx, store.SmsFilter{AccountID: "acct-1"})
	must(t, err, "SmsDailyStats")

	_, err = mt.Maintain(ctx, now, 0)
	must(t, err, "Maintain without retention")
	for i := range b.Verifications {
		_, err := s.GetVerification(ctx, b.Verifications[i].ID)
		must(t, err, "a record after Maintain without retention")
	}

	rep, err := mt.Maintain(ctx, now, retention)
	must(t, err, "Maintain")
	if rep.Deleted == 0 && len(rep.Dropped) == 0 {
		t.Errorf("Maintain reported nothing dropped or deleted: %+v", rep)
	}
	for i := range b.Verifications {
		_, err := s.GetVerification(ctx, b.Verifications[i].ID)
		_, total, lerr := s.ListSmsSends(ctx, store.SmsFilter{ID: b.SmsSends[i].ID})
		must(t, lerr, "ListSmsSends")
		if i < len(old) {
			mustIs(t, err, store.ErrNotFound, fmt.Sprintf("record of %v after retention", b.Verifications[i].CreatedAt))
			if total != 0 {
				t.Errorf("SMS send of %v still stored after retention", b.SmsSends[i].SentAt)
			}
		} else {
			must(t, err, fmt.Sprintf("record of %v after retention", b.Verifications[i].CreatedAt))
			if total != 1 {
				t.Errorf("SMS send of %v gone after retention", b.SmsSends[i].SentAt)
			}
		}
	}
	days2, err := s.DailyStats(ctx, all)
	must(t, err, "DailyStats after retention")
	billed2, err := s.BillableCounts(ctx, all)
	must(t, err, "BillableCounts after retention")
	smsDays2, err := s.SmsDailyStats(ctx, store.SmsFilter{AccountID: "acct-1"})
	must(t, err, "SmsDailyStats after retention")
	for _, c := range []struct {
		what          string
		before, after any
	}{{"DailyStats", days, days2}, {"BillableCounts", billed, billed2}, {"SmsDailyStats", smsDays, smsDays2}} {
		if fmt.Sprint(c.before) != fmt.Sprint(c.after) {
			t.Errorf("%s changed by retention: %v, then %v", c.what, c.before, c.after)
		}
	}
	// Idempotent: a second run (another instance, say) finds nothing more.
	rep, err = mt.Maintain(ctx, now, retention)
	must(t, err, "Maintain again")
	if rep.Deleted != 0 || len(rep.Dropped) != 0 {
		t.Errorf("a second Maintain deleted more: %+v", rep)
	}
}
