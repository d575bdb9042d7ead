// Package ipset parses and matches IP address sets as operators and
// integrators write them: bare addresses and CIDR prefixes, IPv4 and IPv6.
// The sandbox carrier's subscriber table and a scheme's IpWhiteList both
// take their prefixes from here.
package ipset

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
)

// Canonical returns p masked, with an IPv4-mapped prefix turned into the
// IPv4 prefix it stands for (::ffff:10.0.0.0/104 is 10.0.0.0/8).
func Canonical(p netip.Prefix) (netip.Prefix, error) {
	if !p.IsValid() {
		return netip.Prefix{}, errors.New("invalid prefix")
	}
	if a := p.Addr(); a.Is4In6() {
		if p.Bits() < 96 {
			return netip.Prefix{}, fmt.Errorf("IPv4-mapped prefix %s is shorter than /96", p)
		}
		p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
	}
	return p.Masked(), nil
}

// ParsePrefix parses "10.0.0.0/24", "2001:db8::/64", or a bare address,
// which stands for itself alone (/32 or /128). The result is Canonical.
// Zones are refused.
func ParsePrefix(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	var p netip.Prefix
	if strings.Contains(s, "/") {
		var err error
		if p, err = netip.ParsePrefix(s); err != nil {
			return netip.Prefix{}, err
		}
	} else {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return netip.Prefix{}, err
		}
		if a.Zone() != "" {
			return netip.Prefix{}, fmt.Errorf("bad address %q: zones are not allowed", s)
		}
		p = netip.PrefixFrom(a, a.BitLen())
	}
	return Canonical(p)
}

// Set is a list of canonical prefixes. The empty Set contains nothing.
type Set []netip.Prefix

// separators split the entries of a written list: Alibaba documents one
// entry per line; commas, semicolons and spaces are accepted as well.
const separators = "\n\r\t ,;"

// Parse parses a list of addresses and prefixes separated by newlines,
// commas, semicolons or white space. Empty entries are skipped and
// repeated ones kept once, in their first place. An entry that is not an
// address or prefix is an error naming it.
func Parse(s string) (Set, error) {
	var set Set
	fields := strings.FieldsFunc(s, func(r rune) bool { return strings.ContainsRune(separators, r) })
	for i, f := range fields {
		p, err := ParsePrefix(f)
		if err != nil {
			return nil, fmt.Errorf("entry %d, %q, is not an IP address or CIDR prefix (like 192.0.2.7 or 198.51.100.0/24)", i+1, clip(f))
		}
		if !set.has(p) {
			set = append(set, p)
		}
	}
	return set, nil
}

func (s Set) has(p netip.Prefix) bool {
	for _, q := range s {
		if q == p {
			return true
		}
	}
	return false
}

// Contains reports whether a lies in one of the set's prefixes. An
// IPv4-mapped IPv6 address counts as the IPv4 address; a zone is ignored.
func (s Set) Contains(a netip.Addr) bool {
	a = a.WithZone("").Unmap()
	for _, p := range s {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// String is the canonical text of the set, which Parse reads back: the
// entries separated by commas, a single address written without its
// prefix length ("192.0.2.7,198.51.100.0/24").
func (s Set) String() string {
	var b strings.Builder
	for i, p := range s {
		if i > 0 {
			b.WriteByte(',')
		}
		if p.IsSingleIP() {
			b.WriteString(p.Addr().String())
		} else {
			b.WriteString(p.String())
		}
	}
	return b.String()
}

// PeerAddr is the address of a connection's peer given as "host:port" (an
// http.Request's RemoteAddr), unmapped; the zero Addr when it is not one.
func PeerAddr(remote string) netip.Addr {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	return a.WithZone("").Unmap()
}

// clip shortens untrusted text quoted in an error.
func clip(s string) string {
	if len(s) > 48 {
		return s[:48] + "…"
	}
	return s
}

// Visitor is the address a request was made from when it may have come
// through proxies: peer (the TCP peer) unless peer is one of trusted; then
// the right-most address of the X-Forwarded-For chain (xff, the header's
// values) that is not a trusted proxy. A garbled chain names nobody, and
// peer is returned.
func Visitor(peer netip.Addr, xff []string, trusted []netip.Prefix) netip.Addr {
	isTrusted := func(a netip.Addr) bool {
		for _, p := range trusted {
			if p.Contains(a) {
				return true
			}
		}
		return false
	}
	if !isTrusted(peer) {
		return peer
	}
	hops := strings.Split(strings.Join(xff, ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			return peer
		}
		if a = a.Unmap(); !isTrusted(a) {
			return a
		}
	}
	return peer
}
