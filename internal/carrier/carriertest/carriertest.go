// Package carriertest is the conformance suite every carrier adapter passes.
//
// An adapter's test builds a [Harness] that knows how to start a fresh world
// for the adapter (the adapter and whatever fake operator backs it) and how to
// make a phone number appear on a cellular data session in that world, then
// calls [Run]:
//
//	func TestConformance(t *testing.T) {
//		carriertest.Run(t, carriertest.Harness{
//			New: func(t *testing.T) carriertest.World {
//				a := newAdapter(t)
//				return carriertest.World{
//					Adapter: a,
//					Attach: func(t *testing.T, src netip.Addr, phone string) { ... },
//				}
//			},
//		})
//	}
//
// The suite only uses addresses from the documentation ranges (192.0.2.0/24,
// 198.51.100.0/24, 2001:db8::/32) and numbers whose prefixes are allocated to
// CM, CU and CT.
package carriertest

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"testing"

	"github.com/numauth/numauth/internal/carrier"
)

// Harness tells the suite how to drive one adapter.
type Harness struct {
	// New starts a fresh, independent world: no line is attached yet, and a
	// ticket issued in one world is not valid in another. It registers its
	// own clean-up with t.Cleanup.
	New func(t *testing.T) World
}

// World is one adapter and the means to put subscribers in front of it.
type World struct {
	Adapter carrier.Adapter
	// Attach makes Adapter see phone (an 11-digit number) on a cellular
	// data session from src: a later Identify whose FrontRequest.Source is
	// src identifies that line. It is called from the test goroutine only,
	// before the calls that rely on it.
	Attach func(t *testing.T, src netip.Addr, phone string)
}

// Numbers the suite attaches, one per operator, and numbers it never attaches.
var (
	phones = map[carrier.Operator]string{
		carrier.ChinaMobile:  "13812345678",
		carrier.ChinaUnicom:  "18611112222",
		carrier.ChinaTelecom: "18933334444",
	}
	otherSameOperator = "13987654321" // CM, never attached
	unattached        = []netip.Addr{
		netip.MustParseAddr("198.51.100.7"),
		netip.MustParseAddr("2001:db8:ffff::7"),
	}
	kinds = []carrier.Kind{carrier.KindVerify, carrier.KindLogin}
)

// source returns the i-th attached test address of a family.
func source(v6 bool, i int) netip.Addr {
	if v6 {
		return netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 14: byte(i >> 8), 15: byte(i)})
	}
	return netip.AddrFrom4([4]byte{192, 0, 2, byte(i)})
}

// Run runs the whole suite against the adapter h describes.
func Run(t *testing.T, h Harness) {
	t.Helper()
	if h.New == nil {
		t.Fatal("carriertest: Harness.New is nil")
	}
	t.Run("Name", func(t *testing.T) { testName(t, h) })
	t.Run("Identify", func(t *testing.T) { testIdentify(t, h) })
	t.Run("NotCellular", func(t *testing.T) { testNotCellular(t, h) })
	t.Run("Verify", func(t *testing.T) { testVerify(t, h) })
	t.Run("Number", func(t *testing.T) { testNumber(t, h) })
	t.Run("MatchMask", func(t *testing.T) { testMatchMask(t, h) })
	t.Run("KindBinding", func(t *testing.T) { testKindBinding(t, h) })
	t.Run("BadTickets", func(t *testing.T) { testBadTickets(t, h) })
	t.Run("ForeignTicket", func(t *testing.T) { testForeignTicket(t, h) })
	t.Run("CancelledContext", func(t *testing.T) { testCancelled(t, h) })
	t.Run("Concurrent", func(t *testing.T) { testConcurrent(t, h) })
}

// world starts a world and attaches one line per operator from IPv4
// addresses 1-3 and IPv6 addresses 1-3.
func world(t *testing.T, h Harness) World {
	t.Helper()
	w := h.New(t)
	if w.Adapter == nil || w.Attach == nil {
		t.Fatal("carriertest: Harness.New returned a World without Adapter or Attach")
	}
	for i, op := range operators() {
		w.Attach(t, source(false, i+1), phones[op])
		w.Attach(t, source(true, i+1), phones[op])
	}
	return w
}

func operators() []carrier.Operator {
	return []carrier.Operator{carrier.ChinaMobile, carrier.ChinaUnicom, carrier.ChinaTelecom}
}

// identify runs the front leg from the attached address of op and fails the
// test unless it succeeds.
func identify(t *testing.T, a carrier.Adapter, op carrier.Operator, kind carrier.Kind) carrier.Line {
	t.Helper()
	i := 0
	for j, o := range operators() {
		if o == op {
			i = j + 1
		}
	}
	line, err := a.Identify(context.Background(), carrier.FrontRequest{Source: source(false, i), Kind: kind})
	if err != nil {
		t.Fatalf("Identify(%s, %s) = %v", op, kind, err)
	}
	return line
}

func testName(t *testing.T, h Harness) {
	if name := h.New(t).Adapter.Name(); name == "" || strings.TrimSpace(name) != name {
		t.Errorf("Name() = %q, want a non-empty registered name", name)
	}
}

func testIdentify(t *testing.T, h Harness) {
	w := world(t, h)
	ctx := context.Background()
	for _, v6 := range []bool{false, true} {
		for i, op := range operators() {
			for _, kind := range kinds {
				src := source(v6, i+1)
				phone := phones[op]
				line, err := w.Adapter.Identify(ctx, carrier.FrontRequest{Source: src, Kind: kind})
				if err != nil {
					t.Errorf("Identify from %s (%s, %s): %v", src, op, kind, err)
					continue
				}
				if line.Operator != op {
					t.Errorf("Identify from %s: Operator = %q, want %q", src, line.Operator, op)
				}
				if want := carrier.Mask(phone); line.Masked != want {
					t.Errorf("Identify from %s: Masked = %q, want %q", src, line.Masked, want)
				}
				if line.Ticket == "" {
					t.Errorf("Identify from %s: empty Ticket", src)
				}
				if strings.Contains(line.Ticket, phone) || strings.Contains(line.Ticket, phone[3:]) {
					t.Errorf("Identify from %s: the Ticket shows the number in clear: %q", src, line.Ticket)
				}
			}
		}
	}
	// Two front legs for the same line give two tickets that both work.
	l1 := identify(t, w.Adapter, carrier.ChinaMobile, carrier.KindVerify)
	l2 := identify(t, w.Adapter, carrier.ChinaMobile, carrier.KindVerify)
	for _, l := range []carrier.Line{l1, l2} {
		if v, err := w.Adapter.Verify(ctx, l.Ticket, phones[carrier.ChinaMobile]); err != nil || v != carrier.Pass {
			t.Errorf("Verify of a repeated front leg's ticket = %q, %v; want PASS", v, err)
		}
	}
}

func testNotCellular(t *testing.T, h Harness) {
	w := world(t, h)
	for _, src := range append(unattached, netip.Addr{}) {
		for _, kind := range kinds {
			line, err := w.Adapter.Identify(context.Background(), carrier.FrontRequest{Source: src, Kind: kind})
			if !errors.Is(err, carrier.ErrNotCellular) {
				t.Errorf("Identify from unattached %v (%s) = %+v, %v; want ErrNotCellular", src, kind, line, err)
			}
			if line.Ticket != "" {
				t.Errorf("Identify from unattached %v (%s) gave a ticket", src, kind)
			}
		}
	}
}

func testVerify(t *testing.T, h Harness) {
	w := world(t, h)
	ctx := context.Background()
	for _, op := range operators() {
		ticket := identify(t, w.Adapter, op, carrier.KindVerify).Ticket
		for _, c := range []struct {
			phone string
			want  carrier.Verdict
		}{
			{phones[op], carrier.Pass},
			{otherSameOperator, carrier.Reject},
			{phones[otherOperator(op)], carrier.Reject},
			{phones[op], carrier.Pass}, // a REJECT does not spend the ticket
		} {
			v, err := w.Adapter.Verify(ctx, ticket, c.phone)
			if err != nil || v != c.want {
				t.Errorf("Verify(%s ticket, %s) = %q, %v; want %q", op, carrier.Mask(c.phone), v, err, c.want)
			}
		}
		for _, bad := range []string{"", "1381234567", "abc", "23812345678"} {
			v, err := w.Adapter.Verify(ctx, ticket, bad)
			if !errors.Is(err, carrier.ErrBadPhone) || v == carrier.Pass {
				t.Errorf("Verify(%s ticket, %q) = %q, %v; want an error wrapping ErrBadPhone", op, bad, v, err)
			}
		}
	}
}

func otherOperator(op carrier.Operator) carrier.Operator {
	if op == carrier.ChinaMobile {
		return carrier.ChinaUnicom
	}
	return carrier.ChinaMobile
}

func testNumber(t *testing.T, h Harness) {
	w := world(t, h)
	for _, op := range operators() {
		ticket := identify(t, w.Adapter, op, carrier.KindLogin).Ticket
		for range 2 {
			got, err := w.Adapter.Number(context.Background(), ticket)
			if err != nil || got != phones[op] {
				t.Errorf("Number(%s ticket) = %q, %v; want %q", op, carrier.Mask(got), err, carrier.Mask(phones[op]))
			}
		}
	}
}

func testMatchMask(t *testing.T, h Harness) {
	w := world(t, h)
	ctx := context.Background()
	for _, op := range operators() {
		phone := phones[op]
		ticket := identify(t, w.Adapter, op, carrier.KindLogin).Ticket
		right := phone[3:7]
		wrong := fmt.Sprintf("%04d", (atoi4(right)+1)%10000)
		if ok, err := w.Adapter.MatchMask(ctx, ticket, right); err != nil || !ok {
			t.Errorf("MatchMask(%s ticket, right digits) = %v, %v; want true", op, ok, err)
		}
		for _, d := range []string{wrong, phone[7:], phone[:4], "0000"} {
			if d == right {
				continue
			}
			if ok, err := w.Adapter.MatchMask(ctx, ticket, d); err != nil || ok {
				t.Errorf("MatchMask(%s ticket, %q) = %v, %v; want false, nil", op, d, ok, err)
			}
		}
		for _, d := range []string{"", right[:3], right + "0", "12a4", " " + right[1:], phone, "１２３４", "-123"} {
			if ok, err := w.Adapter.MatchMask(ctx, ticket, d); ok || !errors.Is(err, carrier.ErrBadMask) {
				t.Errorf("MatchMask(%s ticket, %q) = %v, %v; want false and an error wrapping ErrBadMask", op, d, ok, err)
			}
		}
	}
}

func atoi4(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}

// testKindBinding: a verification ticket does not reveal the number, and a
// login ticket does not serve a verification.
func testKindBinding(t *testing.T, h Harness) {
	w := world(t, h)
	ctx := context.Background()
	phone := phones[carrier.ChinaMobile]
	vt := identify(t, w.Adapter, carrier.ChinaMobile, carrier.KindVerify).Ticket
	lt := identify(t, w.Adapter, carrier.ChinaMobile, carrier.KindLogin).Ticket
	if n, err := w.Adapter.Number(ctx, vt); !errors.Is(err, carrier.ErrTicketInvalid) || n != "" {
		t.Errorf("Number(verify ticket) = %q, %v; want ErrTicketInvalid", carrier.Mask(n), err)
	}
	if ok, err := w.Adapter.MatchMask(ctx, vt, phone[3:7]); !errors.Is(err, carrier.ErrTicketInvalid) || ok {
		t.Errorf("MatchMask(verify ticket) = %v, %v; want ErrTicketInvalid", ok, err)
	}
	if v, err := w.Adapter.Verify(ctx, lt, phone); !errors.Is(err, carrier.ErrTicketInvalid) || v == carrier.Pass {
		t.Errorf("Verify(login ticket) = %q, %v; want ErrTicketInvalid", v, err)
	}
}

// checkInvalid asserts that every back-leg call with ticket fails with
// ErrTicketInvalid and reveals nothing.
func checkInvalid(t *testing.T, a carrier.Adapter, ticket, what string) {
	t.Helper()
	ctx := context.Background()
	phone := phones[carrier.ChinaMobile]
	if v, err := a.Verify(ctx, ticket, phone); !errors.Is(err, carrier.ErrTicketInvalid) || v == carrier.Pass {
		t.Errorf("Verify(%s) = %q, %v; want ErrTicketInvalid", what, v, err)
	}
	if n, err := a.Number(ctx, ticket); !errors.Is(err, carrier.ErrTicketInvalid) || n != "" {
		t.Errorf("Number(%s) = %q, %v; want ErrTicketInvalid", what, carrier.Mask(n), err)
	}
	if ok, err := a.MatchMask(ctx, ticket, phone[3:7]); !errors.Is(err, carrier.ErrTicketInvalid) || ok {
		t.Errorf("MatchMask(%s) = %v, %v; want ErrTicketInvalid", what, ok, err)
	}
}

func testBadTickets(t *testing.T, h Harness) {
	w := world(t, h)
	for _, g := range []string{
		"", "x", "garbage", "!!!!", "====", "\x00\x01\x02", "null", "{}",
		phones[carrier.ChinaMobile], strings.Repeat("A", 64), strings.Repeat("A", 1<<16),
	} {
		checkInvalid(t, w.Adapter, g, fmt.Sprintf("garbage %.20q", g))
	}
	for _, kind := range kinds {
		ticket := identify(t, w.Adapter, carrier.ChinaMobile, kind).Ticket
		for n := 0; n < len(ticket); n++ {
			checkInvalid(t, w.Adapter, ticket[:n], fmt.Sprintf("%s ticket truncated to %d bytes", kind, n))
		}
		checkInvalid(t, w.Adapter, ticket+"A", string(kind)+" ticket with a byte appended")
		checkInvalid(t, w.Adapter, ticket+ticket, string(kind)+" ticket twice")
		b := []byte(ticket)
		for i := range b {
			for bit := range 8 {
				b[i] ^= 1 << bit
				checkInvalid(t, w.Adapter, string(b), fmt.Sprintf("%s ticket with bit %d of byte %d flipped", kind, bit, i))
				b[i] ^= 1 << bit
			}
			if t.Failed() {
				return // one broken position tells the story; spare the log
			}
		}
	}
}

// testForeignTicket: a ticket from another world is not valid in this one.
func testForeignTicket(t *testing.T, h Harness) {
	w1, w2 := world(t, h), world(t, h)
	for _, kind := range kinds {
		ticket := identify(t, w1.Adapter, carrier.ChinaMobile, kind).Ticket
		checkInvalid(t, w2.Adapter, ticket, string(kind)+" ticket from another world")
	}
}

func testCancelled(t *testing.T, h Harness) {
	w := world(t, h)
	vt := identify(t, w.Adapter, carrier.ChinaMobile, carrier.KindVerify).Ticket
	lt := identify(t, w.Adapter, carrier.ChinaMobile, carrier.KindLogin).Ticket
	phone := phones[carrier.ChinaMobile]
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, kind := range kinds {
		if line, err := w.Adapter.Identify(ctx, carrier.FrontRequest{Source: source(false, 1), Kind: kind}); !errors.Is(err, context.Canceled) || line.Ticket != "" {
			t.Errorf("Identify(cancelled, %s) = %+v, %v; want context.Canceled", kind, line, err)
		}
	}
	if v, err := w.Adapter.Verify(ctx, vt, phone); !errors.Is(err, context.Canceled) || v == carrier.Pass {
		t.Errorf("Verify(cancelled) = %q, %v; want context.Canceled", v, err)
	}
	if n, err := w.Adapter.Number(ctx, lt); !errors.Is(err, context.Canceled) || n != "" {
		t.Errorf("Number(cancelled) = %q, %v; want context.Canceled", carrier.Mask(n), err)
	}
	if ok, err := w.Adapter.MatchMask(ctx, lt, phone[3:7]); !errors.Is(err, context.Canceled) || ok {
		t.Errorf("MatchMask(cancelled) = %v, %v; want context.Canceled", ok, err)
	}
}

// testConcurrent runs every operation from many goroutines at once, over
// many lines; run the suite with -race.
func testConcurrent(t *testing.T, h Harness) {
	const goroutines, rounds = 8, 25
	w := h.New(t)
	numbers := make([]string, goroutines)
	for g := range goroutines {
		numbers[g] = fmt.Sprintf("1%d%d%08d", []int{3, 8, 5}[g%3], 5+g%5, g*1111)
		if _, ok := carrier.OperatorOf(numbers[g]); !ok {
			t.Fatalf("suite bug: %s has no operator", numbers[g])
		}
		w.Attach(t, source(g%2 == 1, 100+g), numbers[g])
	}
	var wg sync.WaitGroup
	errs := make(chan error, goroutines)
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- hammer(w.Adapter, source(g%2 == 1, 100+g), numbers[g], rounds)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}

func hammer(a carrier.Adapter, src netip.Addr, phone string, rounds int) error {
	ctx := context.Background()
	op, _ := carrier.OperatorOf(phone)
	for range rounds {
		vl, err := a.Identify(ctx, carrier.FrontRequest{Source: src, Kind: carrier.KindVerify})
		if err != nil || vl.Operator != op {
			return fmt.Errorf("Identify(%s) = %+v, %v", src, vl, err)
		}
		if v, err := a.Verify(ctx, vl.Ticket, phone); err != nil || v != carrier.Pass {
			return fmt.Errorf("Verify from %s = %q, %v", src, v, err)
		}
		ll, err := a.Identify(ctx, carrier.FrontRequest{Source: src, Kind: carrier.KindLogin})
		if err != nil {
			return fmt.Errorf("Identify(%s, login) = %v", src, err)
		}
		if ok, err := a.MatchMask(ctx, ll.Ticket, phone[3:7]); err != nil || !ok {
			return fmt.Errorf("MatchMask from %s = %v, %v", src, ok, err)
		}
		if n, err := a.Number(ctx, ll.Ticket); err != nil || n != phone {
			return fmt.Errorf("Number from %s = %q, %v", src, carrier.Mask(n), err)
		}
		if _, err := a.Identify(ctx, carrier.FrontRequest{Source: unattached[0], Kind: carrier.KindVerify}); !errors.Is(err, carrier.ErrNotCellular) {
			return fmt.Errorf("Identify(unattached) = %v", err)
		}
	}
	return nil
}
