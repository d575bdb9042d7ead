package bench

import (
	"math"
	"math/bits"
	"sync/atomic"
	"time"
)

// The recorder is a log-linear histogram in the manner of HdrHistogram:
// values below 2^subBits nanoseconds have a bucket each; above, every power
// of two is split into 2^subBits equal buckets. A bucket's width is then at
// most 1/2^subBits of its lower bound, and a quantile read at the bucket's
// midpoint is within half of that (±0.2 % for subBits = 8) of a value that
// was recorded. Recording is one atomic add per bucket plus the count, sum
// and extremes: cheap enough for every call of a load test, and safe from
// any number of goroutines.
const (
	subBits = 8
	// maxValue is the largest value the recorder keeps apart (2^36 ns, about
	// 69 s); larger values count in the last bucket, the max stays exact.
	maxValueBits = 36
	maxValue     = 1<<maxValueBits - 1
	nBuckets     = (maxValueBits-subBits)<<subBits + 1<<(subBits+1)
)

// overflowBucket holds maxValue and every value beyond it.
var overflowBucket = bucketOf(maxValue)

// bucketOf returns the bucket index of v (0 ≤ v ≤ maxValue).
func bucketOf(v uint64) int {
	shift := bits.Len64(v) - subBits - 1
	if shift < 0 {
		shift = 0
	}
	return shift<<subBits + int(v>>uint(shift))
}

// bucketRange returns the smallest value of bucket i and the bucket's width.
func bucketRange(i int) (lo, width uint64) {
	if i < 1<<(subBits+1) {
		return uint64(i), 1
	}
	shift := i>>subBits - 1
	mant := uint64(i - shift<<subBits)
	return mant << uint(shift), 1 << uint(shift)
}

// Recorder records latencies. Its zero value is not usable; call NewRecorder.
// All methods are safe for concurrent use.
type Recorder struct {
	counts [nBuckets]atomic.Uint64
	n      atomic.Uint64
	sum    atomic.Uint64 // nanoseconds; 2^64 ns is 584 years
	min    atomic.Uint64 // stored as ^v so that the zero value means "none"
	max    atomic.Uint64
}

// NewRecorder returns an empty recorder.
func NewRecorder() *Recorder { return new(Recorder) }

// Record adds one latency. A negative duration counts as zero.
func (r *Recorder) Record(d time.Duration) {
	v := uint64(max(d, 0))
	b := min(v, maxValue)
	r.counts[bucketOf(b)].Add(1)
	r.n.Add(1)
	r.sum.Add(v)
	for {
		cur := r.max.Load()
		if v <= cur || r.max.CompareAndSwap(cur, v) {
			break
		}
	}
	for {
		cur := r.min.Load()
		if ^v <= cur || r.min.CompareAndSwap(cur, ^v) {
			break
		}
	}
}

// Count returns how many latencies were recorded.
func (r *Recorder) Count() uint64 { return r.n.Load() }

// Snapshot returns a copy of the recorder's state. While other goroutines
// record, the copy may miss the latest few values but is never torn in a
// way that matters for a quantile: counts are read bucket by bucket and the
// total is recomputed from them.
func (r *Recorder) Snapshot() *Snapshot {
	s := &Snapshot{counts: make([]uint64, nBuckets)}
	for i := range r.counts {
		c := r.counts[i].Load()
		s.counts[i] = c
		s.n += c
	}
	s.sum = r.sum.Load()
	s.max = r.max.Load()
	if m := r.min.Load(); m != 0 {
		s.min = ^m
	}
	return s
}

// Snapshot is a frozen copy of a Recorder, for reading quantiles.
type Snapshot struct {
	counts   []uint64
	n        uint64
	sum      uint64
	min, max uint64
}

// Count returns the number of values in the snapshot.
func (s *Snapshot) Count() uint64 { return s.n }

// Max returns the largest value recorded (exact), 0 if none.
func (s *Snapshot) Max() time.Duration { return time.Duration(s.max) }

// Min returns the smallest value recorded (exact), 0 if none.
func (s *Snapshot) Min() time.Duration { return time.Duration(s.min) }

// Mean returns the arithmetic mean (exact), 0 if none.
func (s *Snapshot) Mean() time.Duration {
	if s.n == 0 {
		return 0
	}
	return time.Duration(s.sum / s.n)
}

// Quantile returns the q-quantile (0 ≤ q ≤ 1) by the nearest-rank method:
// the smallest recorded value v such that at least q of all values are ≤ v,
// read at the middle of its bucket and kept within [Min, Max]; the lowest
// and the highest rank are exact (Min and Max). It returns 0 for an empty
// snapshot.
func (s *Snapshot) Quantile(q float64) time.Duration {
	if s.n == 0 {
		return 0
	}
	if !(q > 0) { // also NaN
		return s.Min()
	}
	if q >= 1 {
		return s.Max()
	}
	rank := uint64(math.Ceil(q * float64(s.n)))
	switch {
	case rank <= 1:
		return s.Min()
	case rank >= s.n:
		return s.Max()
	}
	var seen uint64
	for i, c := range s.counts {
		seen += c
		if seen >= rank {
			if i == overflowBucket {
				return s.Max() // the overflow bucket: only the max is known
			}
			lo, w := bucketRange(i)
			v := lo + (w-1)/2
			return time.Duration(min(max(v, s.min), s.max))
		}
	}
	return s.Max()
}
