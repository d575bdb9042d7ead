package ipset

import (
	"net/netip"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name, in string
		want     string // canonical; "" with bad set: an error
		bad      bool
	}{
		{"empty", "", "", false},
		{"blank", " \n\t ", "", false},
		{"Alibaba's example, one per line", "139.9.167.181\n122.112.210.205\n139.9.172.0/24", "139.9.167.181,122.112.210.205,139.9.172.0/24", false},
		{"commas and spaces", "10.0.0.1, 10.0.0.2;10.0.0.3\r\n", "10.0.0.1,10.0.0.2,10.0.0.3", false},
		{"host bits are masked", "139.9.172.5/24", "139.9.172.0/24", false},
		{"IPv6", "2001:db8::1\n2001:db8:1::/48", "2001:db8::1,2001:db8:1::/48", false},
		{"IPv4-mapped", "::ffff:10.0.0.1\n::ffff:10.0.0.0/104", "10.0.0.1,10.0.0.0/8", false},
		{"single-address prefix", "192.0.2.7/32", "192.0.2.7", false},
		{"repeated", "192.0.2.7 192.0.2.7/32", "192.0.2.7", false},
		{"everyone", "0.0.0.0/0,::/0", "0.0.0.0/0,::/0", false},
		{"wildcard", "172.0.0.*", "", true},
		{"host name", "example.com", "", true},
		{"range", "10.0.0.1-10.0.0.9", "", true},
		{"bad length", "10.0.0.0/33", "", true},
		{"port", "10.0.0.1:80", "", true},
		{"zone", "fe80::1%eth0", "", true},
		{"short mapped prefix", "::ffff:0:0/90", "", true},
		{"one bad among good", "10.0.0.1\nnope", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.in)
			if tt.bad {
				if err == nil {
					t.Fatalf("Parse(%q) = %v, want an error", tt.in, got)
				}
				return
			}
			if err != nil || got.String() != tt.want {
				t.Fatalf("Parse(%q) = %q, %v, want %q", tt.in, got.String(), err, tt.want)
			}
		})
	}
}

func TestParseErrorNamesTheEntry(t *testing.T) {
	_, err := Parse("10.0.0.1\n\x1b[31mred")
	if err == nil || !strings.Contains(err.Error(), "entry 2") || strings.Contains(err.Error(), "\x1b") {
		t.Fatalf("error = %v; want it to name entry 2 with its control character escaped", err)
	}
}

func TestContains(t *testing.T) {
	set, err := Parse("10.0.0.0/8\n192.0.2.7\n2001:db8::/32")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		addr string
		want bool
	}{
		{"10.1.2.3", true},
		{"11.0.0.1", false},
		{"192.0.2.7", true},
		{"192.0.2.8", false},
		{"::ffff:10.9.9.9", true},
		{"2001:db8::5", true},
		{"2001:db9::5", false},
		{"fe80::1%eth0", false},
	} {
		if got := set.Contains(netip.MustParseAddr(tt.addr)); got != tt.want {
			t.Errorf("Contains(%s) = %v, want %v", tt.addr, got, tt.want)
		}
	}
	if (Set{}).Contains(netip.MustParseAddr("10.0.0.1")) || set.Contains(netip.Addr{}) {
		t.Error("the empty set or the zero address matched")
	}
}

func TestPeerAddr(t *testing.T) {
	for in, want := range map[string]string{
		"192.0.2.1:1234":       "192.0.2.1",
		"[2001:db8::1]:443":    "2001:db8::1",
		"[::ffff:10.0.0.1]:80": "10.0.0.1",
		"[fe80::1%eth0]:80":    "fe80::1",
		"192.0.2.1":            "192.0.2.1",
		"not an address":       "invalid IP",
		"":                     "invalid IP",
	} {
		if got := PeerAddr(in).String(); got != want {
			t.Errorf("PeerAddr(%q) = %s, want %s", in, got, want)
		}
	}
}

// FuzzParse: Parse never panics; what it accepts it prints canonically, the
// canonical text parses to the same set, and every entry's own address is
// contained.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"", "139.9.167.181\n122.112.210.205\n139.9.172.0/24", "::ffff:10.0.0.0/104",
		"10.0.0.1, 10.0.0.1/32;2001:db8::/32", "fe80::1%eth0", "172.0.0.*", "1.2.3.4/-1", "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		set, err := Parse(s)
		if err != nil {
			return
		}
		again, err := Parse(set.String())
		if err != nil || again.String() != set.String() || len(again) != len(set) {
			t.Fatalf("Parse(%q) = %q, which parses to %q, %v", s, set.String(), again.String(), err)
		}
		for _, p := range set {
			if !set.Contains(p.Addr()) {
				t.Fatalf("Parse(%q): %s does not contain its own address", s, p)
			}
		}
	})
}
