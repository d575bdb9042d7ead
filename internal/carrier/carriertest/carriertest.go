// Package carriertest is the conformance suite every carrier adapter passes.
//
// An adapter's test builds a [Harness] that knows how to start a fresh world
// for the adapter (the adapter and whatever fake operator backs it) and how to
// put a phone number on a cellular data session in that world, then calls
// [Run]:
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
// The suite runs the parts the adapter implements: the back-leg tests
// always; the network-identified front-leg tests when the adapter is a
// [carrier.NetworkIdentified] (World.Attach puts lines in front of it); the
// redirect tests (state binding, replay, expiry, operator errors,
// cancellation) when it is a [carrier.Redirector] (World.Authorize plays the
// operator, World.Advance its clock). An adapter with both front legs has
// its back leg tested through the network-identified one.
//
// The suite only uses addresses from the documentation ranges (192.0.2.0/24,
// 198.51.100.0/24, 2001:db8::/32), mainland numbers whose prefixes are
// allocated to CM, CU and CT, and numbers of other countries from their
// fictional or test ranges (+44 7700 900xxx, +1 202 555 01xx).
package carriertest

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/numauth/numauth/internal/carrier"
)

// Harness tells the suite how to drive one adapter.
type Harness struct {
	// New starts a fresh, independent world: no line is attached yet, and a
	// ticket or state issued in one world is not valid in another. It
	// registers its own clean-up with t.Cleanup.
	New func(t *testing.T) World
}

// World is one adapter and the means to put subscribers in front of it.
type World struct {
	Adapter carrier.Adapter
	// Attach (network-identified adapters) makes Adapter see phone (E.164)
	// on a cellular data session from src: a later Identify whose
	// FrontRequest.Source is src identifies that line. It is called from
	// the test goroutine only, before the calls that rely on it.
	Attach func(t *testing.T, src netip.Addr, phone string)
	// Authorize (redirect adapters) plays the phone's browser at the
	// operator: given Begin's answer, it returns the query the operator
	// sends the browser back to the callback with, for the line of phone
	// (E.164), or, when phone is "", the query of an operator that cannot
	// identify the line (OAuth error access_denied). It is safe for
	// concurrent use.
	Authorize func(t *testing.T, r carrier.Redirect, phone string) url.Values
	// Advance (redirect adapters) moves the adapter's clock forward by d.
	Advance func(d time.Duration)
	// OneAnswerPerTicket says the operator answers one back-leg call per
	// verification ticket (CAMARA operators whose access tokens serve one
	// NV call): the suite then asks each verification ticket one question.
	OneAnswerPerTicket bool
	// Operator, when set, is the code every line of the adapter carries
	// (an aggregator that cannot know a line's operator before the back
	// leg): a mainland line may carry it instead of its block's operator.
	Operator carrier.Operator
}

// testLine is a number the suite attaches; op is "" for numbers of other
// countries, whose operator the adapter names.
type testLine struct {
	phone string
	op    carrier.Operator
}

// Numbers the suite attaches, one per mainland operator and two of other
// countries, and numbers it never attaches.
var (
	lines = []testLine{
		{"+8613812345678", carrier.ChinaMobile},
		{"+8618611112222", carrier.ChinaUnicom},
		{"+8618933334444", carrier.ChinaTelecom},
		{"+447700900123", ""},
		{"+12025550143", ""},
	}
	otherSameOperator = "+8613987654321" // CM, never attached
	otherCountry      = "+447700900999"  // never attached
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

// Run runs the suite's parts the adapter h describes implements.
func Run(t *testing.T, h Harness) {
	t.Helper()
	if h.New == nil {
		t.Fatal("carriertest: Harness.New is nil")
	}
	w := h.New(t)
	_, network := w.Adapter.(carrier.NetworkIdentified)
	_, redirect := w.Adapter.(carrier.Redirector)
	if !network && !redirect {
		t.Fatalf("carriertest: %T has no front leg (neither carrier.NetworkIdentified nor carrier.Redirector)", w.Adapter)
	}
	t.Run("Name", func(t *testing.T) { testName(t, h) })
	if network {
		t.Run("Identify", func(t *testing.T) { testIdentify(t, h) })
		t.Run("NotCellular", func(t *testing.T) { testNotCellular(t, h) })
	}
	if redirect {
		t.Run("RedirectFlow", func(t *testing.T) { testRedirectFlow(t, h) })
		t.Run("RedirectDenied", func(t *testing.T) { testRedirectDenied(t, h) })
		t.Run("RedirectReplay", func(t *testing.T) { testRedirectReplay(t, h) })
		t.Run("RedirectBinding", func(t *testing.T) { testRedirectBinding(t, h) })
		t.Run("RedirectExpiry", func(t *testing.T) { testRedirectExpiry(t, h) })
		t.Run("RedirectForgedState", func(t *testing.T) { testRedirectForged(t, h) })
		t.Run("RedirectCancelled", func(t *testing.T) { testRedirectCancelled(t, h) })
	}
	t.Run("Verify", func(t *testing.T) { testVerify(t, h) })
	t.Run("Number", func(t *testing.T) { testNumber(t, h) })
	t.Run("MatchMask", func(t *testing.T) { testMatchMask(t, h) })
	t.Run("KindBinding", func(t *testing.T) { testKindBinding(t, h) })
	t.Run("BadTickets", func(t *testing.T) { testBadTickets(t, h) })
	t.Run("ForeignTicket", func(t *testing.T) { testForeignTicket(t, h) })
	t.Run("CancelledContext", func(t *testing.T) { testCancelled(t, h) })
	t.Run("Concurrent", func(t *testing.T) { testConcurrent(t, h) })
}

// world starts a world; a network-identified one gets every test line
// attached from IPv4 and IPv6 addresses 1, 2, ….
func world(t *testing.T, h Harness) World {
	t.Helper()
	w := h.New(t)
	if w.Adapter == nil {
		t.Fatal("carriertest: Harness.New returned a World without Adapter")
	}
	if _, ok := w.Adapter.(carrier.NetworkIdentified); ok {
		if w.Attach == nil {
			t.Fatal("carriertest: a network-identified adapter's World needs Attach")
		}
		for i, l := range lines {
			w.Attach(t, source(false, i+1), l.phone)
			w.Attach(t, source(true, i+1), l.phone)
		}
	} else if w.Authorize == nil || w.Advance == nil {
		t.Fatal("carriertest: a redirect adapter's World needs Authorize and Advance")
	}
	return w
}

// binding is the session binding the suite's redirect flows use.
const binding = "carriertest-session-1"

// front runs a front leg for phone (a line of the test world, lines[i])
// with whichever capability the adapter has, network-identified first.
func front(ctx context.Context, t *testing.T, w World, i int, kind carrier.Kind) (carrier.Line, error) {
	if ni, ok := w.Adapter.(carrier.NetworkIdentified); ok {
		return ni.Identify(ctx, carrier.FrontRequest{Source: source(false, i+1), Kind: kind})
	}
	return redirectFlow(ctx, t, w, lines[i].phone, kind, binding)
}

// redirectFlow runs begin → operator → callback → complete for phone.
func redirectFlow(ctx context.Context, t *testing.T, w World, phone string, kind carrier.Kind, bind string) (carrier.Line, error) {
	rd := w.Adapter.(carrier.Redirector)
	r, err := rd.Begin(ctx, carrier.BeginRequest{Kind: kind, SessionBinding: bind, RedirectURL: "https://numauth.test/callback"})
	if err != nil {
		return carrier.Line{}, fmt.Errorf("Begin: %w", err)
	}
	q := w.Authorize(t, r, phone)
	return rd.Complete(ctx, carrier.CallbackRequest{State: r.State, Query: q, SessionBinding: bind})
}

// line runs the front leg for lines[i] and fails the test unless it succeeds.
func line(t *testing.T, w World, i int, kind carrier.Kind) carrier.Line {
	t.Helper()
	l, err := front(context.Background(), t, w, i, kind)
	if err != nil {
		t.Fatalf("front leg (%s, %s) = %v", carrier.Mask(lines[i].phone), kind, err)
	}
	return l
}

// checkLine checks a front leg's answer of kind for lines[i].
func checkLine(t *testing.T, w World, what string, l carrier.Line, i int, kind carrier.Kind) {
	t.Helper()
	tl := lines[i]
	switch {
	case w.Operator != "" && l.Operator == w.Operator:
	case tl.op != "" && l.Operator != tl.op, tl.op == "" && !carrier.ValidOperator(l.Operator):
		t.Errorf("%s: Operator = %q, want %q (or a valid code for a non-mainland number)", what, l.Operator, tl.op)
	}
	_, redirect := w.Adapter.(carrier.Redirector)
	if want := carrier.Mask(tl.phone); l.Masked != want && !(redirect && kind == carrier.KindVerify && l.Masked == "") {
		t.Errorf("%s: Masked = %q, want %q", what, l.Masked, want)
	}
	if !l.Expires.IsZero() && !l.Expires.After(time.Now().Add(-time.Hour)) {
		t.Errorf("%s: Expires = %v, in the past", what, l.Expires)
	}
	if l.Ticket == "" {
		t.Errorf("%s: empty Ticket", what)
	}
	national := carrier.AlibabaForm(tl.phone)
	if strings.Contains(l.Ticket, tl.phone[1:]) || strings.Contains(l.Ticket, national[len(national)-8:]) {
		t.Errorf("%s: the Ticket shows the number in clear: %q", what, l.Ticket)
	}
}

func testName(t *testing.T, h Harness) {
	if name := h.New(t).Adapter.Name(); name == "" || strings.TrimSpace(name) != name {
		t.Errorf("Name() = %q, want a non-empty registered name", name)
	}
}

func testIdentify(t *testing.T, h Harness) {
	w := world(t, h)
	ni := w.Adapter.(carrier.NetworkIdentified)
	ctx := context.Background()
	for _, v6 := range []bool{false, true} {
		for i := range lines {
			for _, kind := range kinds {
				src := source(v6, i+1)
				l, err := ni.Identify(ctx, carrier.FrontRequest{Source: src, Kind: kind})
				if err != nil {
					t.Errorf("Identify from %s (%s): %v", src, kind, err)
					continue
				}
				checkLine(t, w, "Identify from "+src.String(), l, i, kind)
			}
		}
	}
	// Two front legs for the same line give two tickets that both work.
	for _, l := range []carrier.Line{line(t, w, 0, carrier.KindVerify), line(t, w, 0, carrier.KindVerify)} {
		if v, err := w.Adapter.Verify(ctx, l.Ticket, lines[0].phone); err != nil || v != carrier.Pass {
			t.Errorf("Verify of a repeated front leg's ticket = %q, %v; want PASS", v, err)
		}
	}
}

func testNotCellular(t *testing.T, h Harness) {
	w := world(t, h)
	ni := w.Adapter.(carrier.NetworkIdentified)
	for _, src := range append(unattached, netip.Addr{}) {
		for _, kind := range kinds {
			l, err := ni.Identify(context.Background(), carrier.FrontRequest{Source: src, Kind: kind})
			if !errors.Is(err, carrier.ErrNotCellular) {
				t.Errorf("Identify from unattached %v (%s) = %+v, %v; want ErrNotCellular", src, kind, l, err)
			}
			if l.Ticket != "" {
				t.Errorf("Identify from unattached %v (%s) gave a ticket", src, kind)
			}
		}
	}
}

func testVerify(t *testing.T, h Harness) {
	w := world(t, h)
	ctx := context.Background()
	for i, tl := range lines {
		ticket := line(t, w, i, carrier.KindVerify).Ticket
		fresh := func() string {
			if w.OneAnswerPerTicket {
				ticket = line(t, w, i, carrier.KindVerify).Ticket
			}
			return ticket
		}
		other := lines[(i+1)%len(lines)].phone
		for _, c := range []struct {
			phone string
			want  carrier.Verdict
		}{
			{tl.phone, carrier.Pass},
			{carrier.AlibabaForm(tl.phone), carrier.Pass}, // the 11-digit form of a mainland number
			{otherSameOperator, carrier.Reject},
			{otherCountry, carrier.Reject},
			{other, carrier.Reject},
			{tl.phone, carrier.Pass}, // a REJECT does not spend the ticket
		} {
			if c.phone == tl.phone && c.want == carrier.Reject {
				continue
			}
			v, err := w.Adapter.Verify(ctx, fresh(), c.phone)
			if err != nil || v != c.want {
				t.Errorf("Verify(%s ticket, %s) = %q, %v; want %q", carrier.Mask(tl.phone), carrier.Mask(c.phone), v, err, c.want)
			}
		}
		for _, bad := range []string{"", "1381234567", "abc", "23812345678", "+0123456789", "+123456", "+1234567890123456", "+86 12345678901"} {
			v, err := w.Adapter.Verify(ctx, fresh(), bad)
			if !errors.Is(err, carrier.ErrBadPhone) || v == carrier.Pass {
				t.Errorf("Verify(%s ticket, %q) = %q, %v; want an error wrapping ErrBadPhone", carrier.Mask(tl.phone), bad, v, err)
			}
		}
	}
}

func testNumber(t *testing.T, h Harness) {
	w := world(t, h)
	for i, tl := range lines {
		ticket := line(t, w, i, carrier.KindLogin).Ticket
		for range 2 {
			got, err := w.Adapter.Number(context.Background(), ticket)
			if err != nil || got != tl.phone {
				t.Errorf("Number(%s ticket) = %q, %v; want %q (E.164)", carrier.Mask(tl.phone), carrier.Mask(got), err, carrier.Mask(tl.phone))
			}
		}
	}
}

func testMatchMask(t *testing.T, h Harness) {
	w := world(t, h)
	ctx := context.Background()
	for i, tl := range lines {
		ticket := line(t, w, i, carrier.KindLogin).Ticket
		right, _ := carrier.MaskDigits(tl.phone)
		d := tl.phone[1:]
		wrong := fmt.Sprintf("%04d", (atoi4(right)+1)%10000)
		if ok, err := w.Adapter.MatchMask(ctx, ticket, right); err != nil || !ok {
			t.Errorf("MatchMask(%s ticket, right digits) = %v, %v; want true", carrier.Mask(tl.phone), ok, err)
		}
		for _, m := range []string{wrong, d[len(d)-4:], d[:4], strings.TrimPrefix(carrier.AlibabaForm(tl.phone), "+")[:4], "0000"} {
			if m == right {
				continue
			}
			if ok, err := w.Adapter.MatchMask(ctx, ticket, m); err != nil || ok {
				t.Errorf("MatchMask(%s ticket, %q) = %v, %v; want false, nil", carrier.Mask(tl.phone), m, ok, err)
			}
		}
		for _, m := range []string{"", right[:3], right + "0", "12a4", " " + right[1:], tl.phone, "１２３４", "-123"} {
			if ok, err := w.Adapter.MatchMask(ctx, ticket, m); ok || !errors.Is(err, carrier.ErrBadMask) {
				t.Errorf("MatchMask(%s ticket, %q) = %v, %v; want false and an error wrapping ErrBadMask", carrier.Mask(tl.phone), m, ok, err)
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
	for _, i := range []int{0, 3} { // a mainland number and another
		phone := lines[i].phone
		digits, _ := carrier.MaskDigits(phone)
		vt := line(t, w, i, carrier.KindVerify).Ticket
		lt := line(t, w, i, carrier.KindLogin).Ticket
		if n, err := w.Adapter.Number(ctx, vt); !errors.Is(err, carrier.ErrTicketInvalid) || n != "" {
			t.Errorf("Number(verify ticket) = %q, %v; want ErrTicketInvalid", carrier.Mask(n), err)
		}
		if ok, err := w.Adapter.MatchMask(ctx, vt, digits); !errors.Is(err, carrier.ErrTicketInvalid) || ok {
			t.Errorf("MatchMask(verify ticket) = %v, %v; want ErrTicketInvalid", ok, err)
		}
		if v, err := w.Adapter.Verify(ctx, lt, phone); !errors.Is(err, carrier.ErrTicketInvalid) || v == carrier.Pass {
			t.Errorf("Verify(login ticket) = %q, %v; want ErrTicketInvalid", v, err)
		}
	}
}

// checkInvalid asserts that every back-leg call with ticket fails with
// ErrTicketInvalid and reveals nothing.
func checkInvalid(t *testing.T, a carrier.Adapter, ticket, what string) {
	t.Helper()
	ctx := context.Background()
	phone := lines[0].phone
	digits, _ := carrier.MaskDigits(phone)
	if v, err := a.Verify(ctx, ticket, phone); !errors.Is(err, carrier.ErrTicketInvalid) || v == carrier.Pass {
		t.Errorf("Verify(%s) = %q, %v; want ErrTicketInvalid", what, v, err)
	}
	if n, err := a.Number(ctx, ticket); !errors.Is(err, carrier.ErrTicketInvalid) || n != "" {
		t.Errorf("Number(%s) = %q, %v; want ErrTicketInvalid", what, carrier.Mask(n), err)
	}
	if ok, err := a.MatchMask(ctx, ticket, digits); !errors.Is(err, carrier.ErrTicketInvalid) || ok {
		t.Errorf("MatchMask(%s) = %v, %v; want ErrTicketInvalid", what, ok, err)
	}
}

func testBadTickets(t *testing.T, h Harness) {
	w := world(t, h)
	for _, g := range []string{
		"", "x", "garbage", "!!!!", "====", "\x00\x01\x02", "null", "{}", ":", "sandbox:",
		lines[0].phone, strings.Repeat("A", 64), strings.Repeat("A", 1<<16),
	} {
		checkInvalid(t, w.Adapter, g, fmt.Sprintf("garbage %.20q", g))
	}
	for _, kind := range kinds {
		ticket := line(t, w, 0, kind).Ticket
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
		ticket := line(t, w1, 0, kind).Ticket
		checkInvalid(t, w2.Adapter, ticket, string(kind)+" ticket from another world")
	}
}

func testCancelled(t *testing.T, h Harness) {
	w := world(t, h)
	vt := line(t, w, 0, carrier.KindVerify).Ticket
	lt := line(t, w, 0, carrier.KindLogin).Ticket
	phone := lines[0].phone
	digits, _ := carrier.MaskDigits(phone)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if ni, ok := w.Adapter.(carrier.NetworkIdentified); ok {
		for _, kind := range kinds {
			if l, err := ni.Identify(ctx, carrier.FrontRequest{Source: source(false, 1), Kind: kind}); !errors.Is(err, context.Canceled) || l.Ticket != "" {
				t.Errorf("Identify(cancelled, %s) = %+v, %v; want context.Canceled", kind, l, err)
			}
		}
	}
	if v, err := w.Adapter.Verify(ctx, vt, phone); !errors.Is(err, context.Canceled) || v == carrier.Pass {
		t.Errorf("Verify(cancelled) = %q, %v; want context.Canceled", v, err)
	}
	if n, err := w.Adapter.Number(ctx, lt); !errors.Is(err, context.Canceled) || n != "" {
		t.Errorf("Number(cancelled) = %q, %v; want context.Canceled", carrier.Mask(n), err)
	}
	if ok, err := w.Adapter.MatchMask(ctx, lt, digits); !errors.Is(err, context.Canceled) || ok {
		t.Errorf("MatchMask(cancelled) = %v, %v; want context.Canceled", ok, err)
	}
}

// testConcurrent runs every operation from many goroutines at once, over
// many lines; run the suite with -race.
func testConcurrent(t *testing.T, h Harness) {
	const goroutines, rounds = 8, 25
	w := world(t, h)
	numbers := make([]string, goroutines)
	_, network := w.Adapter.(carrier.NetworkIdentified)
	for g := range goroutines {
		if g%4 == 3 {
			numbers[g] = fmt.Sprintf("+447700900%03d", 200+g)
		} else {
			numbers[g] = fmt.Sprintf("+861%d%d%08d", []int{3, 8, 5}[g%3], 5+g%5, g*1111)
			if _, ok := carrier.OperatorOf(numbers[g]); !ok {
				t.Fatalf("suite bug: %s has no operator", numbers[g])
			}
		}
		if network {
			w.Attach(t, source(g%2 == 1, 100+g), numbers[g])
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, goroutines)
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- hammer(t, w, source(g%2 == 1, 100+g), numbers[g], rounds)
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

func hammer(t *testing.T, w World, src netip.Addr, phone string, rounds int) error {
	ctx := context.Background()
	ni, network := w.Adapter.(carrier.NetworkIdentified)
	leg := func(kind carrier.Kind) (carrier.Line, error) {
		if network {
			return ni.Identify(ctx, carrier.FrontRequest{Source: src, Kind: kind})
		}
		return redirectFlow(ctx, t, w, phone, kind, binding+src.String())
	}
	op, mainland := carrier.OperatorOf(phone)
	digits, _ := carrier.MaskDigits(phone)
	for range rounds {
		vl, err := leg(carrier.KindVerify)
		if err != nil || mainland && vl.Operator != op && (w.Operator == "" || vl.Operator != w.Operator) {
			return fmt.Errorf("front leg (%s) = %+v, %v", src, vl, err)
		}
		if v, err := w.Adapter.Verify(ctx, vl.Ticket, phone); err != nil || v != carrier.Pass {
			return fmt.Errorf("Verify from %s = %q, %v", src, v, err)
		}
		ll, err := leg(carrier.KindLogin)
		if err != nil {
			return fmt.Errorf("front leg (%s, login) = %v", src, err)
		}
		if ok, err := w.Adapter.MatchMask(ctx, ll.Ticket, digits); err != nil || !ok {
			return fmt.Errorf("MatchMask from %s = %v, %v", src, ok, err)
		}
		if n, err := w.Adapter.Number(ctx, ll.Ticket); err != nil || n != phone {
			return fmt.Errorf("Number from %s = %q, %v", src, carrier.Mask(n), err)
		}
		if network {
			if _, err := ni.Identify(ctx, carrier.FrontRequest{Source: unattached[0], Kind: carrier.KindVerify}); !errors.Is(err, carrier.ErrNotCellular) {
				return fmt.Errorf("Identify(unattached) = %v", err)
			}
		}
	}
	return nil
}
