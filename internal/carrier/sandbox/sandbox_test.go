package sandbox

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"regexp"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/numauth/numauth/internal/carrier"
	"github.com/numauth/numauth/internal/carrier/carriertest"
)

func TestConformance(t *testing.T) {
	carriertest.Run(t, carriertest.Harness{
		New: func(t *testing.T) carriertest.World {
			s := mustNew(t, Config{})
			return carriertest.World{
				Adapter: s,
				Attach: func(t *testing.T, src netip.Addr, phone string) {
					t.Helper()
					if err := s.AddSubscriber(Subscriber{Prefix: netip.PrefixFrom(src, src.BitLen()), Phone: phone}); err != nil {
						t.Fatal(err)
					}
				},
			}
		},
	})
}

func mustNew(t testing.TB, cfg Config) *Sandbox {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}

func pfx(s string) netip.Prefix { return netip.MustParsePrefix(s) }
func addr(s string) netip.Addr  { return netip.MustParseAddr(s) }

func identify(s *Sandbox, src string, h http.Header) (carrier.Line, error) {
	return s.Identify(context.Background(), carrier.FrontRequest{Source: addr(src), Header: h, Kind: carrier.KindLogin})
}

// numberOf runs both legs and returns the number the sandbox saw from src.
func numberOf(t *testing.T, s *Sandbox, src string, h http.Header) (string, error) {
	t.Helper()
	l, err := identify(s, src, h)
	if err != nil {
		return "", err
	}
	n, err := s.Number(context.Background(), l.Ticket)
	return carrier.AlibabaForm(n), err // the tests name mainland numbers by their 11 digits
}

func TestLongestPrefixMatch(t *testing.T) {
	s := mustNew(t, Config{Subscribers: []Subscriber{
		{Prefix: pfx("10.0.0.0/8"), Phone: "13800000008"},
		{Prefix: pfx("10.1.0.0/16"), Phone: "13800000016"},
		{Prefix: pfx("10.1.2.0/24"), Phone: "13800000024"},
		{Prefix: pfx("10.1.2.3/32"), Phone: "13800000032"},
		{Prefix: pfx("2001:db8::/32"), Phone: "18600000032"},
		{Prefix: pfx("2001:db8:1::/48"), Phone: "18600000048"},
		{Prefix: pfx("::ffff:172.16.0.0/108"), Phone: "18900000012"}, // IPv4-mapped: 172.16.0.0/12
	}})
	for src, want := range map[string]string{
		"10.9.9.9":                "13800000008",
		"10.1.9.9":                "13800000016",
		"10.1.2.9":                "13800000024",
		"10.1.2.3":                "13800000032",
		"::ffff:10.1.2.3":         "13800000032",
		"::ffff:10.1.2.4":         "13800000024",
		"2001:db8:2::1":           "18600000032",
		"2001:db8:1:ffff::1":      "18600000048",
		"2001:db8:1::1%eth0":      "18600000048",
		"172.31.255.255":          "18900000012",
		"::ffff:172.20.0.1":       "18900000012",
		"11.0.0.1":                "",
		"172.32.0.1":              "",
		"::a01:203":               "", // IPv4-compatible, not mapped: an IPv6 address
		"2001:db9::1":             "",
		"::1":                     "",
		"0.0.0.0":                 "",
		"fe80::1":                 "",
		"2001:db8:ffff::10.1.2.3": "18600000032",
	} {
		got, err := numberOf(t, s, src, nil)
		if want == "" {
			if !errors.Is(err, carrier.ErrNotCellular) {
				t.Errorf("from %s: %s, %v; want ErrNotCellular", src, got, err)
			}
			continue
		}
		if err != nil || got != want {
			t.Errorf("from %s: %s, %v; want %s", src, got, err, want)
		}
	}
}

func TestRuntimeSubscribers(t *testing.T) {
	s := mustNew(t, Config{})
	if _, err := numberOf(t, s, "10.0.0.1", nil); !errors.Is(err, carrier.ErrNotCellular) {
		t.Fatalf("empty table: %v", err)
	}
	for _, bad := range []Subscriber{
		{Prefix: netip.Prefix{}, Phone: "13800138000"},
		{Prefix: pfx("10.0.0.0/24"), Phone: ""},
		{Prefix: pfx("10.0.0.0/24"), Phone: "12345"},
		{Prefix: pfx("10.0.0.0/24"), Phone: "14012345678"}, // no operator
		{Prefix: pfx("::ffff:0:0/95"), Phone: "13800138000"},
	} {
		if err := s.AddSubscriber(bad); err == nil {
			t.Errorf("AddSubscriber(%v, %s) succeeded", bad.Prefix, carrier.Mask(bad.Phone))
		}
	}
	if err := s.AddSubscriber(Subscriber{Prefix: pfx("10.0.0.7/24"), Phone: "+86 138-0013-8000"}); err != nil {
		t.Fatal(err)
	}
	if err := s.AddSubscriber(Subscriber{Prefix: pfx("::ffff:192.0.2.1/128"), Phone: "18912345678"}); err != nil {
		t.Fatal(err)
	}
	want := []Subscriber{{Prefix: pfx("10.0.0.0/24"), Phone: "+8613800138000", Operator: "CM"}, {Prefix: pfx("192.0.2.1/32"), Phone: "+8618912345678", Operator: "CT"}}
	if got := s.Subscribers(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("Subscribers() = %v, want %v", got, want)
	}
	if n, err := numberOf(t, s, "10.0.0.200", nil); err != nil || n != "13800138000" {
		t.Fatalf("after add: %s, %v", n, err)
	}
	// Renumber.
	if err := s.AddSubscriber(Subscriber{Prefix: pfx("10.0.0.0/24"), Phone: "13900139000"}); err != nil {
		t.Fatal(err)
	}
	if n, err := numberOf(t, s, "10.0.0.200", nil); err != nil || n != "13900139000" {
		t.Fatalf("after renumber: %s, %v", n, err)
	}
	if s.RemoveSubscriber(pfx("10.0.1.0/24")) || s.RemoveSubscriber(netip.Prefix{}) {
		t.Fatal("removed a prefix that is not there")
	}
	if !s.RemoveSubscriber(pfx("10.0.0.99/24")) { // masked like AddSubscriber
		t.Fatal("RemoveSubscriber of an existing prefix reported false")
	}
	if !s.RemoveSubscriber(pfx("::ffff:192.0.2.1/128")) {
		t.Fatal("RemoveSubscriber of a mapped prefix reported false")
	}
	if _, err := numberOf(t, s, "10.0.0.200", nil); !errors.Is(err, carrier.ErrNotCellular) {
		t.Fatalf("after remove: %v", err)
	}
	if got := s.Subscribers(); len(got) != 0 {
		t.Fatalf("Subscribers() after removing all = %v", got)
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	for name, cfg := range map[string]Config{
		"short key":        {Key: make([]byte, 16)},
		"long key":         {Key: make([]byte, 33)},
		"bad header":       {EnrichmentHeader: "X MSISDN"},
		"bad proxy":        {TrustedProxies: []netip.Prefix{{}}},
		"bad subscriber":   {Subscribers: []Subscriber{{Prefix: pfx("10.0.0.0/8"), Phone: "123"}}},
		"duplicate prefix": {Subscribers: []Subscriber{{Prefix: pfx("10.0.0.0/8"), Phone: "13800138000"}, {Prefix: pfx("10.1.0.0/8"), Phone: "13900139000"}}},
		"unknown operator": {Faults: map[carrier.Operator]Fault{"x": {Maintenance: true}}},
		"negative latency": {Faults: map[carrier.Operator]Fault{carrier.ChinaMobile: {Latency: -1}}},
		"error rate > 1":   {Faults: map[carrier.Operator]Fault{carrier.ChinaMobile: {ErrorRate: 1.5}}},
		"negative TTL":     {TicketTTL: -time.Second},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("%s: New succeeded", name)
		}
	}
}

func TestEnrichment(t *testing.T) {
	s := mustNew(t, Config{
		TrustedProxies: []netip.Prefix{pfx("192.0.2.0/28"), pfx("2001:db8:aaaa::/48")},
		Subscribers:    []Subscriber{{Prefix: pfx("198.51.100.0/24"), Phone: "13800138000"}, {Prefix: pfx("192.0.2.1/32"), Phone: "18600001111"}},
	})
	hdr := func(kv ...string) http.Header {
		h := http.Header{}
		for i := 0; i < len(kv); i += 2 {
			h.Add(kv[i], kv[i+1])
		}
		return h
	}
	for _, c := range []struct {
		src  string
		h    http.Header
		want string // "" = not cellular
	}{
		{"192.0.2.5", hdr("X-MSISDN", "18912345678"), "18912345678"},
		{"192.0.2.5", hdr("x-msisdn", "+86 189-1234-5678"), "18912345678"},
		{"::ffff:192.0.2.5", hdr("X-Msisdn", "8618912345678"), "18912345678"},
		{"2001:db8:aaaa::9", hdr("X-MSISDN", "18912345678"), "18912345678"},
		// From a trusted proxy that names no one (or not clearly), the
		// address table decides.
		{"192.0.2.5", nil, ""},
		{"192.0.2.5", hdr("X-MSISDN", "garbage"), ""},
		{"192.0.2.5", hdr("X-MSISDN", "14012345678"), ""}, // no operator
		{"192.0.2.5", hdr("X-MSISDN", "18912345678", "X-MSISDN", "13800138000"), ""},
		{"192.0.2.1", hdr("X-MSISDN", "bad"), "18600001111"},
		{"192.0.2.1", hdr("X-MSISDN", "18912345678"), "18912345678"},
		// Anyone else's header is ignored.
		{"198.51.100.7", hdr("X-MSISDN", "18912345678"), "13800138000"},
		{"192.0.2.16", hdr("X-MSISDN", "18912345678"), ""},
		{"203.0.113.1", hdr("X-MSISDN", "18912345678"), ""},
		{"2001:db8:aaab::9", hdr("X-MSISDN", "18912345678"), ""},
		// Another header name is not the enrichment header.
		{"192.0.2.5", hdr("X-Phone", "18912345678"), ""},
	} {
		got, err := numberOf(t, s, c.src, c.h)
		if c.want == "" {
			if !errors.Is(err, carrier.ErrNotCellular) {
				t.Errorf("from %s with %v: %s, %v; want ErrNotCellular", c.src, c.h, got, err)
			}
		} else if err != nil || got != c.want {
			t.Errorf("from %s with %v: %s, %v; want %s", c.src, c.h, got, err, c.want)
		}
	}

	custom := mustNew(t, Config{TrustedProxies: []netip.Prefix{pfx("192.0.2.0/24")}, EnrichmentHeader: "x-up-calling-line-id"})
	if n, err := numberOf(t, custom, "192.0.2.1", hdr("X-Up-Calling-Line-Id", "13800138000")); err != nil || n != "13800138000" {
		t.Errorf("custom header: %s, %v", n, err)
	}
	if _, err := numberOf(t, custom, "192.0.2.1", hdr("X-MSISDN", "13800138000")); !errors.Is(err, carrier.ErrNotCellular) {
		t.Errorf("default header honoured when a custom one is set: %v", err)
	}
}

func TestSharedKey(t *testing.T) {
	key := bytes.Repeat([]byte{7}, 32)
	a := mustNew(t, Config{Key: key, Subscribers: []Subscriber{{Prefix: pfx("10.0.0.0/8"), Phone: "13800138000"}}})
	b := mustNew(t, Config{Key: key}) // knows no subscriber: tickets carry the line
	c := mustNew(t, Config{Key: bytes.Repeat([]byte{8}, 32)})
	ctx := context.Background()
	vl, _ := a.Identify(ctx, carrier.FrontRequest{Source: addr("10.1.1.1"), Kind: carrier.KindVerify})
	ll, _ := a.Identify(ctx, carrier.FrontRequest{Source: addr("10.1.1.1"), Kind: carrier.KindLogin})
	if v, err := b.Verify(ctx, vl.Ticket, "13800138000"); err != nil || v != carrier.Pass {
		t.Errorf("Verify on a peer = %s, %v", v, err)
	}
	if n, err := b.Number(ctx, ll.Ticket); err != nil || n != "+8613800138000" {
		t.Errorf("Number on a peer = %s, %v", n, err)
	}
	if _, err := c.Verify(ctx, vl.Ticket, "13800138000"); !errors.Is(err, carrier.ErrTicketInvalid) {
		t.Errorf("Verify under another key: %v", err)
	}
}

func TestTicketExpiry(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	clock := func() time.Time { return now }
	key := bytes.Repeat([]byte{1}, 32)
	s := mustNew(t, Config{Key: key, Now: clock, TicketTTL: 2 * time.Minute,
		Subscribers: []Subscriber{{Prefix: pfx("10.0.0.0/8"), Phone: "13800138000"}}})
	ctx := context.Background()
	l, err := s.Identify(ctx, carrier.FrontRequest{Source: addr("10.0.0.1"), Kind: carrier.KindLogin})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		at time.Duration
		ok bool
	}{{0, true}, {2 * time.Minute, true}, {2*time.Minute + time.Millisecond, false}, {-clockSkew, true}, {-clockSkew - time.Millisecond, false}} {
		now = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC).Add(c.at)
		_, err := s.Number(ctx, l.Ticket)
		if c.ok && err != nil || !c.ok && !errors.Is(err, carrier.ErrTicketInvalid) {
			t.Errorf("at %v after issue: %v", c.at, err)
		}
	}
	// The default TTL is an hour.
	now = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	d := mustNew(t, Config{Key: key, Now: clock})
	now = now.Add(DefaultTicketTTL - time.Second)
	if _, err := d.Number(ctx, l.Ticket); err != nil {
		t.Errorf("within the default TTL: %v", err)
	}
	now = now.Add(2 * time.Second)
	if _, err := d.Number(ctx, l.Ticket); !errors.Is(err, carrier.ErrTicketInvalid) {
		t.Errorf("past the default TTL: %v", err)
	}
}

func TestTicketFormat(t *testing.T) {
	if got := ticketEncoding.EncodedLen(overhead + maxRecordLen); got != maxTicketLen {
		t.Fatalf("maxTicketLen = %d, encoding says %d", maxTicketLen, got)
	}
	s := mustNew(t, Config{Subscribers: []Subscriber{{Prefix: pfx("10.0.0.0/8"), Phone: "13800138000"}}})
	// The longest record: an 8-character operator and a 15-digit number.
	if err := s.AddSubscriber(Subscriber{Prefix: pfx("10.9.0.1/32"), Phone: "+999123456789012", Operator: "ABCDEFGH"}); err != nil {
		t.Fatal(err)
	}
	if l, err := identify(s, "10.9.0.1", nil); err != nil || len(l.Ticket) != maxTicketLen {
		t.Fatalf("longest ticket = %q, %v; want %d characters", l.Ticket, err, maxTicketLen)
	}
	seen := map[string]bool{}
	for range 100 {
		l, err := identify(s, "10.0.0.1", nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(l.Ticket) > maxTicketLen || !regexp.MustCompile(`^[A-Za-z0-9_-]+$`).MatchString(l.Ticket) {
			t.Fatalf("ticket %q is not at most %d base64url characters", l.Ticket, maxTicketLen)
		}
		if seen[l.Ticket] {
			t.Fatal("two front legs gave the same ticket")
		}
		seen[l.Ticket] = true
	}
	if _, err := s.Identify(context.Background(), carrier.FrontRequest{Source: addr("10.0.0.1"), Kind: "other"}); err == nil {
		t.Error("Identify with an unknown kind succeeded")
	}
}

func TestFaults(t *testing.T) {
	s := mustNew(t, Config{Subscribers: []Subscriber{
		{Prefix: pfx("10.0.0.1/32"), Phone: "13800138000"}, // CM
		{Prefix: pfx("10.0.0.2/32"), Phone: "18600186000"}, // CU
		{Prefix: pfx("10.0.0.3/32"), Phone: "18900189000"}, // CT
	}, Faults: map[carrier.Operator]Fault{carrier.ChinaTelecom: {QuotaExhausted: true}}})
	ctx := context.Background()
	front := func(src string) error {
		_, err := s.Identify(ctx, carrier.FrontRequest{Source: addr(src), Kind: carrier.KindVerify})
		return err
	}
	ticketCM, err := s.Identify(ctx, carrier.FrontRequest{Source: addr("10.0.0.1"), Kind: carrier.KindVerify})
	if err != nil {
		t.Fatal(err)
	}
	if err := front("10.0.0.3"); !errors.Is(err, carrier.ErrQuota) {
		t.Errorf("CT with quota exhausted from the config: %v", err)
	}

	s.SetFault(carrier.ChinaMobile, Fault{Maintenance: true})
	if err := front("10.0.0.1"); !errors.Is(err, carrier.ErrMaintenance) {
		t.Errorf("CM in maintenance: %v", err)
	}
	if err := front("10.0.0.2"); err != nil {
		t.Errorf("CU while CM is in maintenance: %v", err)
	}
	// Maintenance is a front-leg fault: a ticket issued before still works.
	if v, err := s.Verify(ctx, ticketCM.Ticket, "13800138000"); err != nil || v != carrier.Pass {
		t.Errorf("back leg during maintenance: %s, %v", v, err)
	}
	// Not cellular beats any fault: Wi-Fi has no operator.
	if err := front("10.9.9.9"); !errors.Is(err, carrier.ErrNotCellular) {
		t.Errorf("unattached during faults: %v", err)
	}

	s.SetFault(carrier.ChinaMobile, Fault{ErrorRate: 1})
	if err := front("10.0.0.1"); !errors.Is(err, carrier.ErrFailed) {
		t.Errorf("front leg with error rate 1: %v", err)
	}
	if v, err := s.Verify(ctx, ticketCM.Ticket, "13800138000"); !errors.Is(err, carrier.ErrFailed) || v == carrier.Pass {
		t.Errorf("back leg with error rate 1: %s, %v", v, err)
	}

	s.SetFault(carrier.ChinaMobile, Fault{ErrorRate: 0.3})
	failed := 0
	const n = 4000
	for range n {
		if err := front("10.0.0.1"); errors.Is(err, carrier.ErrFailed) {
			failed++
		} else if err != nil {
			t.Fatal(err)
		}
	}
	if rate := float64(failed) / n; rate < 0.25 || rate > 0.35 {
		t.Errorf("error rate 0.3 failed %.3f of calls", rate)
	}

	// Clamping, clearing, and unknown operators.
	s.SetFault(carrier.ChinaMobile, Fault{ErrorRate: 7, Latency: -time.Second})
	if got := s.Faults()[carrier.ChinaMobile]; got != (Fault{ErrorRate: 1}) {
		t.Errorf("clamped fault = %+v", got)
	}
	s.SetFault(carrier.ChinaMobile, Fault{})
	s.SetFault("xx", Fault{Maintenance: true}) // not an operator code
	if got := s.Faults(); len(got) != 1 || got[carrier.ChinaTelecom] != (Fault{QuotaExhausted: true}) {
		t.Errorf("Faults() = %+v, want only CT's", got)
	}
	if err := front("10.0.0.1"); err != nil {
		t.Errorf("after clearing: %v", err)
	}
	// Faults() is a copy.
	s.Faults()[carrier.ChinaUnicom] = Fault{Maintenance: true}
	if err := front("10.0.0.2"); err != nil {
		t.Errorf("changing the map Faults returned changed the sandbox: %v", err)
	}
}

// TestLatency checks that the latency fault is applied to the slow
// operator's calls and no other's, and that a context ending first wins, by
// recording the waits instead of timing them: wall time says nothing
// reliable on a loaded machine.
func TestLatency(t *testing.T) {
	s := mustNew(t, Config{Subscribers: []Subscriber{{Prefix: pfx("10.0.0.1/32"), Phone: "13800138000"}, {Prefix: pfx("10.0.0.2/32"), Phone: "18600186000"}}})
	ctx := context.Background()
	lt, err := s.Identify(ctx, carrier.FrontRequest{Source: addr("10.0.0.1"), Kind: carrier.KindLogin})
	if err != nil {
		t.Fatal(err)
	}
	var waits []time.Duration
	s.wait = func(_ context.Context, d time.Duration) error { waits = append(waits, d); return nil }
	const delay = 50 * time.Millisecond
	s.SetFault(carrier.ChinaMobile, Fault{Latency: delay})
	front := func(src string) func(context.Context) error {
		return func(ctx context.Context) error {
			_, err := s.Identify(ctx, carrier.FrontRequest{Source: addr(src), Kind: carrier.KindLogin})
			return err
		}
	}
	calls := []struct {
		name string
		call func(context.Context) error
		want []time.Duration // the waits the call makes
	}{
		{"CM front", front("10.0.0.1"), []time.Duration{delay}},
		{"CM Number", func(ctx context.Context) error { _, err := s.Number(ctx, lt.Ticket); return err }, []time.Duration{delay}},
		{"CM MatchMask", func(ctx context.Context) error { _, err := s.MatchMask(ctx, lt.Ticket, "0013"); return err }, []time.Duration{delay}},
		{"CU front while CM is slow", front("10.0.0.2"), nil},
	}
	for _, c := range calls {
		waits = nil
		if err := c.call(ctx); err != nil || !slices.Equal(waits, c.want) {
			t.Errorf("%s with %v latency on CM: waited %v, %v; want %v", c.name, delay, waits, err, c.want)
		}
	}
	// A context that ends while the call waits ends the call with its
	// error: the real wait, its context cancelled from inside, with an hour
	// still to go.
	s.SetFault(carrier.ChinaMobile, Fault{Latency: time.Hour})
	for _, c := range calls[:3] {
		cctx, cancel := context.WithCancel(ctx)
		waited := false
		s.wait = func(ctx context.Context, d time.Duration) error { waited = true; cancel(); return sleep(ctx, d) }
		if err := c.call(cctx); !waited || !errors.Is(err, context.Canceled) {
			t.Errorf("%s, its context ended during 1h latency: waited %v, %v", c.name, waited, err)
		}
		cancel()
	}
}

func TestSleep(t *testing.T) {
	done, cancel := context.WithCancel(context.Background())
	cancel()
	expired, cancel2 := context.WithDeadline(context.Background(), time.Unix(0, 0))
	defer cancel2()
	for _, c := range []struct {
		name string
		ctx  context.Context
		d    time.Duration
		want error
	}{
		{"elapsed", context.Background(), time.Nanosecond, nil},
		{"cancelled, an hour to go", done, time.Hour, context.Canceled},
		{"past its deadline, an hour to go", expired, time.Hour, context.DeadlineExceeded},
	} {
		if err := sleep(c.ctx, c.d); !errors.Is(err, c.want) || (c.want == nil) != (err == nil) {
			t.Errorf("%s: sleep = %v, want %v", c.name, err, c.want)
		}
	}
}

// TestConcurrentControl changes the table and the faults while lines are
// being identified; run with -race.
func TestConcurrentControl(t *testing.T) {
	s := mustNew(t, Config{Subscribers: []Subscriber{{Prefix: pfx("10.0.0.0/24"), Phone: "13800138000"}}})
	ctx := context.Background()
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				p := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 1, byte(g), byte(i)}), 32)
				if err := s.AddSubscriber(Subscriber{Prefix: p, Phone: "18600186000"}); err != nil {
					t.Error(err)
					return
				}
				s.SetFault(carrier.ChinaUnicom, Fault{ErrorRate: float64(i%2) / 2})
				_ = s.Faults()
				_ = s.Subscribers()
				s.RemoveSubscriber(p)
			}
		}()
	}
	for range 2000 {
		l, err := s.Identify(ctx, carrier.FrontRequest{Source: addr("10.0.0.9"), Kind: carrier.KindVerify})
		if err != nil {
			t.Fatal(err)
		}
		if v, err := s.Verify(ctx, l.Ticket, "13800138000"); err != nil || v != carrier.Pass {
			t.Fatal(v, err)
		}
	}
	close(stop)
	wg.Wait()
}

// TestLogsMaskNumbers drives every logging path with debug logging on and
// checks that no full number reaches the log.
func TestLogsMaskNumbers(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s := mustNew(t, Config{Logger: log, TrustedProxies: []netip.Prefix{pfx("192.0.2.0/24")},
		Subscribers: []Subscriber{{Prefix: pfx("10.0.0.0/8"), Phone: "13800138000"}}})
	ctx := context.Background()
	_ = s.AddSubscriber(Subscriber{Prefix: pfx("10.1.0.0/16"), Phone: "18600186000"})
	_ = s.AddSubscriber(Subscriber{Prefix: pfx("10.2.0.0/16"), Phone: "13912345678x"}) // rejected
	s.RemoveSubscriber(pfx("10.1.0.0/16"))
	s.SetFault(carrier.ChinaMobile, Fault{Latency: time.Millisecond})
	l, _ := s.Identify(ctx, carrier.FrontRequest{Source: addr("10.0.0.1"), Kind: carrier.KindVerify})
	_, _ = s.Verify(ctx, l.Ticket, "13800138000")
	_, _ = s.Identify(ctx, carrier.FrontRequest{Source: addr("192.0.2.1"), Kind: carrier.KindVerify,
		Header: http.Header{"X-Msisdn": {"18912345678"}}})
	if buf.Len() == 0 {
		t.Fatal("nothing was logged")
	}
	if m := regexp.MustCompile(`1[3-9]\d{9}`).FindString(buf.String()); m != "" {
		t.Errorf("the log shows a full number %s:\n%s", m, buf.String())
	}
}

// TestTicketV1 opens a ticket as instances before E.164 sealed it (a
// rolling upgrade: a v1 instance's tickets live on in spTokens).
func TestTicketV1(t *testing.T) {
	key := make([]byte, 32)
	s := mustNew(t, Config{Key: key})
	var rec [recordLenV1]byte
	rec[0], rec[1], rec[2] = ticketVersionV1, 'l', 2
	binary.BigEndian.PutUint64(rec[3:11], uint64(time.Now().UnixMilli()))
	copy(rec[11:], "18600186000")
	v1 := ticketEncoding.EncodeToString(s.sealer.aead.Seal(nil, nil, rec[:], ticketAAD))
	if n, err := s.Number(context.Background(), v1); err != nil || n != "+8618600186000" {
		t.Fatalf("Number(v1 ticket) = %q, %v", carrier.Mask(n), err)
	}
	rec[2] = 1 // a CU number sealed as CM's: not a ticket the sandbox made
	bad := ticketEncoding.EncodeToString(s.sealer.aead.Seal(nil, nil, rec[:], ticketAAD))
	if _, err := s.Number(context.Background(), bad); !errors.Is(err, carrier.ErrTicketInvalid) {
		t.Fatalf("Number(inconsistent v1 ticket) = %v", err)
	}
}

// TestForeignSubscribers: numbers of any country, with the operator their
// entry names or DefaultOperator; faults apply per operator.
func TestForeignSubscribers(t *testing.T) {
	s := mustNew(t, Config{})
	for _, in := range []string{"192.0.2.7=+447700900123", "192.0.2.8=+44 7700 900124@VF"} {
		sub, err := ParseSubscriber(in)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.AddSubscriber(sub); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		src, phone string
		op         carrier.Operator
	}{{"192.0.2.7", "+447700900123", DefaultOperator}, {"192.0.2.8", "+447700900124", "VF"}} {
		l, err := identify(s, c.src, nil)
		if err != nil || l.Operator != c.op || l.Masked != carrier.Mask(c.phone) {
			t.Fatalf("Identify(%s) = %+v, %v; want operator %s", c.src, l, err, c.op)
		}
		if n, err := s.Number(context.Background(), l.Ticket); err != nil || n != c.phone {
			t.Fatalf("Number = %q, %v", carrier.Mask(n), err)
		}
	}
	for _, bad := range []string{"192.0.2.9=+8613800138000@CU", "192.0.2.9=+447700900123@vf", "192.0.2.9=+447700900123@"} {
		if _, err := ParseSubscriber(bad); err == nil {
			t.Errorf("ParseSubscriber(%q) succeeded", bad)
		}
	}
	s.SetFault("VF", Fault{Maintenance: true})
	if _, err := identify(s, "192.0.2.8", nil); !errors.Is(err, carrier.ErrMaintenance) {
		t.Fatalf("Identify under VF maintenance = %v", err)
	}
	if _, err := identify(s, "192.0.2.7", nil); err != nil {
		t.Fatalf("Identify of another operator's line under VF maintenance = %v", err)
	}
}

// Mainland lines get version 1 tickets (67 characters), which instances
// from before E.164 open too, so a rolling upgrade does not refuse the new
// instances' tickets; other countries' lines need version 2.
func TestTicketVersionForRollingUpgrades(t *testing.T) {
	s := mustNew(t, Config{Subscribers: []Subscriber{
		{Prefix: pfx("10.0.0.1/32"), Phone: "13800138000"},
		{Prefix: pfx("10.0.0.2/32"), Phone: "+447700900123"},
	}})
	const v1Len = 67 // base64url of nonce, the 22-byte record and the tag
	for src, c := range map[string]struct {
		wantV1 bool
		phone  string
	}{"10.0.0.1": {true, "+8613800138000"}, "10.0.0.2": {false, "+447700900123"}} {
		wantV1 := c.wantV1
		l, err := identify(s, src, nil)
		if err != nil {
			t.Fatal(err)
		}
		if (len(l.Ticket) == v1Len) != wantV1 {
			t.Errorf("line on %s: a %d-character ticket, want version 1: %v", src, len(l.Ticket), wantV1)
		}
		if n, err := s.Number(context.Background(), l.Ticket); err != nil || n != c.phone {
			t.Errorf("line on %s: its ticket's number: %v, %v", src, n != "", err)
		}
	}
}

// CM, CU and CT are mainland operators: a line of another country cannot
// be given one, or its spToken would refuse its own number.
func TestForeignLinesCannotHaveMainlandOperators(t *testing.T) {
	for _, op := range []carrier.Operator{carrier.ChinaMobile, carrier.ChinaUnicom, carrier.ChinaTelecom} {
		if _, err := ParseSubscriber("192.0.2.3=+447700900123@" + string(op)); err == nil {
			t.Errorf("a UK line with operator %s was accepted", op)
		}
	}
	if sub, err := ParseSubscriber("192.0.2.3=+447700900123@VF"); err != nil || sub.Operator != "VF" {
		t.Errorf("a UK line of VF: %+v, %v", sub, err)
	}
}
