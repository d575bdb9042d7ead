package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/numauth/numauth/internal/store"
)

// StatsBenchStart is the first record time of the statistics benchmark:
// its records are spread evenly over the 30 days that follow, over 2
// accounts and 10 schemes.
var StatsBenchStart = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// StatsBenchDays is the span of the benchmark's records.
const StatsBenchDays = 30

// BenchStats measures the statistics an account's console asks for (a
// month of DailyStats, of one account) on a store that holds n records,
// through the store (rollups) and through raw, the statistics query as it
// was before the rollups (a scan of the records). load must fill the
// store with n records and their rollups.
func BenchStats(b *testing.B, s store.Durable, raw func(ctx context.Context, f store.VerificationFilter) (int, error)) {
	ctx := context.Background()
	f := store.VerificationFilter{AccountID: "acct-0", From: StatsBenchStart, To: StatsBenchStart.AddDate(0, 0, StatsBenchDays)}
	want, err := s.DailyStats(ctx, f)
	if err != nil {
		b.Fatal(err)
	}
	if n, err := raw(ctx, f); err != nil || n != len(want) {
		b.Fatalf("raw scan: %d days (%v), rollups %d", n, err, len(want))
	}
	b.Run("rollup", func(b *testing.B) {
		for b.Loop() {
			if _, err := s.DailyStats(ctx, f); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("raw-scan", func(b *testing.B) {
		for b.Loop() {
			if _, err := raw(ctx, f); err != nil {
				b.Fatal(err)
			}
		}
	})
	// A month that starts and ends mid-hour: rollups plus two partial hours
	// read from the records.
	g := f
	g.From, g.To = f.From.Add(30*time.Minute), f.To.Add(-30*time.Minute)
	b.Run("rollup-partial-hours", func(b *testing.B) {
		for b.Loop() {
			if _, err := s.DailyStats(ctx, g); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("hourly", func(b *testing.B) {
		for b.Loop() {
			if _, err := s.HourlyStats(ctx, f); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// StatsBenchSizes are the record counts the statistics benchmark runs at.
var StatsBenchSizes = []int{100_000, 1_000_000}

// SizeName names a benchmark size: 1e5, 1e6, …
func SizeName(n int) string {
	e := 0
	for m := n; m >= 10 && m%10 == 0; m /= 10 {
		e++
	}
	return fmt.Sprintf("records=1e%d", e)
}
