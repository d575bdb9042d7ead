package sandbox

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"

	"github.com/numauth/numauth/internal/carrier"
	"github.com/numauth/numauth/internal/ipset"
)

// Subscriber is a line in the sandbox: requests from Prefix come over
// Phone's cellular data session.
type Subscriber struct {
	Prefix netip.Prefix
	// Phone is the line's number: E.164 as the table keeps it, or any
	// form carrier.ParseE164 reads when given.
	Phone string
	// Operator is the line's operator. A mainland number's is its block's
	// allocation (carrier.OperatorOf), and Operator, if given, must be that;
	// another country's number has the Operator given, or DefaultOperator.
	Operator carrier.Operator
}

// DefaultOperator is the operator of a line whose number is not a mainland
// China number and whose subscriber entry names none.
const DefaultOperator carrier.Operator = "INTL"

// line is a subscriber as the table keeps it.
type line struct {
	phone string
	op    carrier.Operator
}

// table is an immutable subscriber table: a map per address family from
// masked prefix to line, and the prefix lengths in use, longest first, so
// that a lookup tries one map probe per length in use.
type table struct {
	lines  map[netip.Prefix]line
	lens4  []int
	lens6  []int
	sorted []Subscriber // for Subscribers(), in address order
}

var emptyTable = &table{lines: map[netip.Prefix]line{}}

// lookup returns the line of the longest prefix holding addr.
func (t *table) lookup(addr netip.Addr) (line, bool) {
	addr = addr.Unmap().WithZone("")
	lens := t.lens6
	if addr.Is4() {
		lens = t.lens4
	}
	for _, bits := range lens {
		p, err := addr.Prefix(bits)
		if err != nil {
			continue
		}
		if l, ok := t.lines[p]; ok {
			return l, true
		}
	}
	return line{}, false
}

// with returns a copy of t with s added or replaced; s must be canonical.
func (t *table) with(s Subscriber, l line) *table {
	lines := make(map[netip.Prefix]line, len(t.lines)+1)
	for p, v := range t.lines {
		lines[p] = v
	}
	lines[s.Prefix] = l
	return build(lines)
}

// without returns a copy of t without prefix p (canonical), and whether p
// was there.
func (t *table) without(p netip.Prefix) (*table, bool) {
	if _, ok := t.lines[p]; !ok {
		return t, false
	}
	lines := make(map[netip.Prefix]line, len(t.lines))
	for q, v := range t.lines {
		if q != p {
			lines[q] = v
		}
	}
	return build(lines), true
}

func build(lines map[netip.Prefix]line) *table {
	t := &table{lines: lines, sorted: make([]Subscriber, 0, len(lines))}
	seen4, seen6 := map[int]bool{}, map[int]bool{}
	for p, l := range lines {
		t.sorted = append(t.sorted, Subscriber{Prefix: p, Phone: l.phone, Operator: l.op})
		if p.Addr().Is4() {
			if !seen4[p.Bits()] {
				seen4[p.Bits()] = true
				t.lens4 = append(t.lens4, p.Bits())
			}
		} else if !seen6[p.Bits()] {
			seen6[p.Bits()] = true
			t.lens6 = append(t.lens6, p.Bits())
		}
	}
	longestFirst := func(a, b int) int { return cmp.Compare(b, a) }
	slices.SortFunc(t.lens4, longestFirst)
	slices.SortFunc(t.lens6, longestFirst)
	slices.SortFunc(t.sorted, func(a, b Subscriber) int {
		if c := a.Prefix.Addr().Compare(b.Prefix.Addr()); c != 0 {
			return c
		}
		return cmp.Compare(a.Prefix.Bits(), b.Prefix.Bits())
	})
	return t
}

// index checks a list of subscribers and maps their canonical prefixes to
// their lines; a prefix may appear once.
func index(subs []Subscriber) (map[netip.Prefix]line, error) {
	lines := make(map[netip.Prefix]line, len(subs))
	for i, sub := range subs {
		c, l, err := checkSubscriber(sub)
		if err != nil {
			return nil, fmt.Errorf("sandbox: subscribers[%d]: %w", i, err)
		}
		if _, dup := lines[c.Prefix]; dup {
			return nil, fmt.Errorf("sandbox: subscribers[%d]: prefix %s is listed twice", i, c.Prefix)
		}
		lines[c.Prefix] = l
	}
	return lines, nil
}

// ParsePrefix parses "10.0.0.0/24", "2001:db8::/64", or a bare address,
// which stands for itself alone (/32 or /128), as the config file, the
// admin API and the flags take prefixes. The result is canonical: masked,
// and an IPv4-mapped prefix turned into the IPv4 prefix it stands for.
func ParsePrefix(s string) (netip.Prefix, error) { return ipset.ParsePrefix(s) }

// checkSubscriber validates s and returns it canonical, with its line.
func checkSubscriber(s Subscriber) (Subscriber, line, error) {
	p, err := ipset.Canonical(s.Prefix)
	if err != nil {
		return Subscriber{}, line{}, err
	}
	phone, op, err := checkPhone(s.Phone, s.Operator)
	if err != nil {
		return Subscriber{}, line{}, err
	}
	return Subscriber{Prefix: p, Phone: phone, Operator: op}, line{phone: phone, op: op}, nil
}

// checkPhone returns phone in E.164 form with its operator: a mainland
// number's block allocation (the sandbox knows mainland numbers in CM's,
// CU's and CT's blocks only, and op, if given, must be the allocation),
// another number's op or DefaultOperator.
func checkPhone(phone string, op carrier.Operator) (string, carrier.Operator, error) {
	p, err := carrier.ParseE164(phone)
	if err != nil {
		return "", "", err
	}
	if op != "" && !carrier.ValidOperator(op) {
		return "", "", fmt.Errorf("operator %q is not an operator code (2 to 8 of A-Z and 0-9)", op)
	}
	if !carrier.IsMainland(p) {
		if op == "" {
			op = DefaultOperator
		}
		if v1Code(op) != 0 {
			// CM, CU and CT are mainland operators: an spToken bound to one
			// serves mainland numbers only, so the line's own number would
			// be refused.
			return "", "", fmt.Errorf("%s is not a mainland number, so its operator cannot be %s", carrier.Mask(p), op)
		}
		return p, op, nil
	}
	alloc, ok := carrier.OperatorOf(p)
	if !ok {
		return "", "", fmt.Errorf("%w: %s is in no operator's block", carrier.ErrBadPhone, carrier.Mask(p))
	}
	if op != "" && op != alloc {
		return "", "", fmt.Errorf("%s is a %s number, not %s", carrier.Mask(p), alloc, op)
	}
	return p, alloc, nil
}
