package sandbox

import (
	"context"
	"fmt"
	"net/netip"
	"testing"

	"github.com/numauth/numauth/internal/carrier"
)

// benchSandbox has a table of 1,000 /32s, 100 /24s and 10 IPv6 /64s, the
// shape of a busy test lab.
func benchSandbox(b *testing.B) *Sandbox {
	b.Helper()
	var subs []Subscriber
	for i := range 1000 {
		subs = append(subs, Subscriber{Prefix: netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}), 32), Phone: fmt.Sprintf("138%08d", i)})
	}
	for i := range 100 {
		subs = append(subs, Subscriber{Prefix: netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 1, byte(i), 0}), 24), Phone: fmt.Sprintf("186%08d", i)})
	}
	for i := range 10 {
		subs = append(subs, Subscriber{Prefix: netip.PrefixFrom(netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 7: byte(i)}), 64), Phone: fmt.Sprintf("189%08d", i)})
	}
	return mustNew(b, Config{Subscribers: subs})
}

func BenchmarkIdentify(b *testing.B) {
	s := benchSandbox(b)
	ctx := context.Background()
	for _, src := range []string{"10.0.1.44", "10.1.50.9", "2001:db8:0:5::1", "203.0.113.1"} {
		req := carrier.FrontRequest{Source: netip.MustParseAddr(src), Kind: carrier.KindVerify}
		b.Run(src, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_, _ = s.Identify(ctx, req)
			}
		})
	}
}

func BenchmarkVerify(b *testing.B) {
	s := benchSandbox(b)
	ctx := context.Background()
	l, err := s.Identify(ctx, carrier.FrontRequest{Source: netip.MustParseAddr("10.0.1.44"), Kind: carrier.KindVerify})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if v, err := s.Verify(ctx, l.Ticket, "13800000300"); err != nil || v != carrier.Pass {
			b.Fatal(v, err)
		}
	}
}

func BenchmarkVerifyForged(b *testing.B) {
	s := benchSandbox(b)
	ctx := context.Background()
	l, err := s.Identify(ctx, carrier.FrontRequest{Source: netip.MustParseAddr("10.0.1.44"), Kind: carrier.KindVerify})
	if err != nil {
		b.Fatal(err)
	}
	forged := []byte(l.Ticket)
	forged[30] ^= 1 // valid base64, wrong tag
	b.ReportAllocs()
	for b.Loop() {
		_, _ = s.Verify(ctx, string(forged), "13800000300")
	}
}
