package h5

import (
	"net/http/httptest"
	"net/netip"
	"testing"
)

// TestVisitor: behind a trusted proxy the per-address session budget
// counts the visitor the proxy names, never an address a client wrote
// into the header itself past the trusted hops.
func TestVisitor(t *testing.T) {
	g := (&Gateway{}).WithTrustedProxies([]netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")})
	tests := []struct {
		name, peer string
		xff        []string
		want       string
	}{
		{"no proxy: the peer", "198.51.100.7", nil, "198.51.100.7"},
		{"an untrusted peer's header is ignored", "198.51.100.7", []string{"203.0.113.9"}, "198.51.100.7"},
		{"one trusted hop", "10.0.0.2", []string{"203.0.113.9"}, "203.0.113.9"},
		{"a forged left part is ignored", "10.0.0.2", []string{"192.0.2.1, 203.0.113.9"}, "203.0.113.9"},
		{"two trusted hops, two headers", "10.0.0.2", []string{"203.0.113.9", "10.1.1.1"}, "203.0.113.9"},
		{"only trusted hops: the proxy", "10.0.0.2", []string{"10.1.1.1"}, "10.0.0.2"},
		{"garbage: the proxy", "10.0.0.2", []string{"203.0.113.9, not-an-ip"}, "10.0.0.2"},
		{"no header: the proxy", "10.0.0.2", nil, "10.0.0.2"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/h5/v1/check", nil)
			for _, h := range tc.xff {
				r.Header.Add("X-Forwarded-For", h)
			}
			if got := g.visitor(r, netip.MustParseAddr(tc.peer)); got.String() != tc.want {
				t.Fatalf("visitor = %s, want %s", got, tc.want)
			}
		})
	}
}
