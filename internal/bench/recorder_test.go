package bench

import (
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"
)

func TestBucketRoundTrip(t *testing.T) {
	// Every bucket's range maps back to the bucket, and the ranges tile the
	// values with no gap or overlap.
	var next uint64
	for i := 0; i < bucketOf(maxValue)+1; i++ {
		lo, w := bucketRange(i)
		if lo != next {
			t.Fatalf("bucket %d starts at %d, want %d", i, lo, next)
		}
		for _, v := range []uint64{lo, lo + w/2, lo + w - 1} {
			if got := bucketOf(v); got != i {
				t.Fatalf("bucketOf(%d) = %d, want %d", v, got, i)
			}
		}
		if lo >= 1<<subBits && float64(w)/float64(lo) > 1.0/(1<<subBits) {
			t.Fatalf("bucket %d: width %d at %d is wider than 1/%d", i, w, lo, 1<<subBits)
		}
		next = lo + w
	}
	if next != maxValue+1 {
		t.Fatalf("buckets end at %d, want %d", next, uint64(maxValue)+1)
	}
	if bucketOf(maxValue) >= nBuckets {
		t.Fatalf("nBuckets %d too small for %d", nBuckets, bucketOf(maxValue))
	}
}

// exactQuantile is the nearest-rank quantile of sorted values.
func exactQuantile(sorted []time.Duration, q float64) time.Duration {
	rank := int(q*float64(len(sorted)) + 0.999999999)
	rank = max(rank, 1)
	return sorted[rank-1]
}

func TestQuantilesMatchSortedSample(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	cases := []struct {
		name string
		gen  func() time.Duration
	}{
		{"uniform 0-10ms", func() time.Duration { return time.Duration(rng.Int64N(int64(10 * time.Millisecond))) }},
		{"exponential mean 2ms", func() time.Duration { return time.Duration(rng.ExpFloat64() * float64(2*time.Millisecond)) }},
		{"bimodal 300µs and 40ms", func() time.Duration {
			if rng.IntN(100) < 97 {
				return 300*time.Microsecond + time.Duration(rng.Int64N(50_000))
			}
			return 40*time.Millisecond + time.Duration(rng.Int64N(5_000_000))
		}},
		{"tiny exact values", func() time.Duration { return time.Duration(rng.Int64N(200)) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := NewRecorder()
			vals := make([]time.Duration, 20000)
			for i := range vals {
				vals[i] = tc.gen()
				r.Record(vals[i])
			}
			slices.Sort(vals)
			s := r.Snapshot()
			if s.Count() != uint64(len(vals)) {
				t.Fatalf("count %d, want %d", s.Count(), len(vals))
			}
			if s.Min() != vals[0] || s.Max() != vals[len(vals)-1] {
				t.Fatalf("min/max %v/%v, want %v/%v", s.Min(), s.Max(), vals[0], vals[len(vals)-1])
			}
			var sum time.Duration
			for _, v := range vals {
				sum += v
			}
			if want := sum / time.Duration(len(vals)); s.Mean() != want {
				t.Fatalf("mean %v, want %v", s.Mean(), want)
			}
			for _, q := range []float64{0.01, 0.5, 0.9, 0.95, 0.99, 0.999} {
				got, want := s.Quantile(q), exactQuantile(vals, q)
				tol := float64(want)/(1<<subBits) + 1
				if d := float64(got - want); d > tol || d < -tol {
					t.Errorf("q%.3f = %v, want %v ± %.0fns", q, got, want, tol)
				}
			}
			if s.Quantile(0) != vals[0] || s.Quantile(1) != vals[len(vals)-1] {
				t.Errorf("q0/q1 = %v/%v, want min/max", s.Quantile(0), s.Quantile(1))
			}
		})
	}
}

func TestRecorderEdges(t *testing.T) {
	r := NewRecorder()
	s := r.Snapshot()
	if s.Count() != 0 || s.Quantile(0.99) != 0 || s.Mean() != 0 || s.Max() != 0 || s.Min() != 0 {
		t.Fatalf("empty recorder: %+v", s)
	}
	r.Record(-time.Second) // counts as zero
	r.Record(2 * time.Minute)
	s = r.Snapshot()
	if s.Min() != 0 || s.Max() != 2*time.Minute {
		t.Fatalf("min/max = %v/%v, want 0/2m", s.Min(), s.Max())
	}
	// A value beyond the kept range still reads as the exact max.
	if got := s.Quantile(0.99); got != 2*time.Minute {
		t.Fatalf("q99 = %v, want 2m (clamped to max)", got)
	}
	one := NewRecorder()
	one.Record(1234567 * time.Nanosecond)
	if got := one.Snapshot().Quantile(0.5); got != 1234567 {
		t.Fatalf("single value q50 = %v, want exactly it (kept within min and max)", got)
	}
}

func TestRecorderConcurrent(t *testing.T) {
	r := NewRecorder()
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 1000 {
				r.Record(time.Duration(g*1000+i) * time.Microsecond)
			}
		})
	}
	wg.Wait()
	s := r.Snapshot()
	if s.Count() != 8000 || s.Min() != 0 || s.Max() != 7999*time.Microsecond {
		t.Fatalf("count %d min %v max %v", s.Count(), s.Min(), s.Max())
	}
	if got := s.Quantile(0.5); got < 3970*time.Microsecond || got > 4030*time.Microsecond {
		t.Fatalf("q50 = %v, want about 4ms", got)
	}
}

func BenchmarkRecord(b *testing.B) {
	r := NewRecorder()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		d := time.Duration(0)
		for pb.Next() {
			d += 7919
			r.Record(d % (50 * time.Millisecond))
		}
	})
}

func BenchmarkSnapshotQuantile(b *testing.B) {
	r := NewRecorder()
	for i := range 100000 {
		r.Record(time.Duration(i) * time.Microsecond)
	}
	b.ReportAllocs()
	for b.Loop() {
		r.Snapshot().Quantile(0.99)
	}
}
