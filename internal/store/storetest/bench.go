package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/numauth/numauth/internal/store"
)

// benchVerifications makes n records in batches of batch, ready to record.
func benchVerifications(n, batch int) [][]store.Verification {
	out := make([][]store.Verification, 0, n/batch+1)
	at := time.Now()
	for i := 0; i < n; i += batch {
		b := make([]store.Verification, batch)
		for j := range b {
			b[j] = store.Verification{
				ID: fmt.Sprintf("%016x-%04x", i, j), AccountID: "acct-1", SchemeCode: "FC100000012345678",
				Kind: "verify", Carrier: "CM", Result: "PASS", MaskedPhone: "138****5678",
				PhoneHash: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
				Billable:  true, LatencyUS: 84000, CreatedAt: at,
			}
		}
		out = append(out, b)
	}
	return out
}

// BenchRecordVerifications measures RecordVerifications on s, one op being
// one call with batch records; it also reports ns/record.
func BenchRecordVerifications(b *testing.B, s store.Durable, batch int) {
	ctx := context.Background()
	batches := benchVerifications(b.N*batch, batch)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := s.RecordVerifications(ctx, batches[i]); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch), "ns/record")
}

// BenchGetAccessKey measures parallel GetAccessKey over 1024 keys in s.
func BenchGetAccessKey(b *testing.B, s store.Durable) {
	ctx := context.Background()
	ids := make([]string, 1024)
	for i := range ids {
		ids[i] = fmt.Sprint("LTAI5t", i)
		if err := s.CreateAccessKey(ctx, store.AccessKey{ID: ids[i], AccountID: "a",
			SealedSecret: make([]byte, 60), Status: store.KeyActive, CreatedAt: time.Now()}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			i++
			if _, err := s.GetAccessKey(ctx, ids[i&1023]); err != nil {
				b.Error(err)
			}
		}
	})
}
