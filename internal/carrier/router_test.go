package carrier_test

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/numauth/numauth/internal/carrier"
	"github.com/numauth/numauth/internal/carrier/carriertest"
	"github.com/numauth/numauth/internal/carrier/sandbox"
)

func routes(t *testing.T, rules ...string) []carrier.Route {
	t.Helper()
	var out []carrier.Route
	for _, r := range rules {
		rt, err := carrier.ParseRoute(r)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, rt)
	}
	return out
}

func newSandbox(t *testing.T) *sandbox.Sandbox {
	t.Helper()
	s, err := sandbox.New(sandbox.Config{}) // a key of its own
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func attach(t *testing.T, s *sandbox.Sandbox, src netip.Addr, phone string) {
	t.Helper()
	if err := s.AddSubscriber(sandbox.Subscriber{Prefix: netip.PrefixFrom(src, src.BitLen()), Phone: phone}); err != nil {
		t.Fatal(err)
	}
}

// TestRouterConformance: two sandboxes behind one router, mainland numbers
// on one and others on the other, pass the suite as one adapter.
func TestRouterConformance(t *testing.T) {
	carriertest.Run(t, carriertest.Harness{New: func(t *testing.T) carriertest.World {
		cn, intl := newSandbox(t), newSandbox(t)
		r, err := carrier.NewRouter(routes(t, "CM=cn", "CU=cn", "CT=cn", "+44=intl", "*=intl"),
			map[string]carrier.Adapter{"cn": cn, "intl": intl})
		if err != nil {
			t.Fatal(err)
		}
		return carriertest.World{Adapter: r, Attach: func(t *testing.T, src netip.Addr, phone string) {
			if carrier.IsMainland(phone) {
				attach(t, cn, src, phone)
			} else {
				attach(t, intl, src, phone)
			}
		}}
	}})
}

func TestRouter(t *testing.T) {
	ctx := context.Background()
	a, b := newSandbox(t), newSandbox(t)
	r, err := carrier.NewRouter(routes(t, "CM=a", "+44=b", "*=b"), map[string]carrier.Adapter{"a": a, "b": b})
	if err != nil {
		t.Fatal(err)
	}
	if r.Name() != "a+b" {
		t.Errorf("Name() = %q", r.Name())
	}
	cm, cu, uk := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2"), netip.MustParseAddr("192.0.2.3")
	attach(t, a, cm, "13812345678")
	attach(t, b, cu, "18611112222")
	attach(t, b, uk, "+447700900123")
	// b also knows a CM line, which the CM rule gives to a alone.
	stray := netip.MustParseAddr("192.0.2.4")
	attach(t, b, stray, "13900001111")

	for _, c := range []struct {
		src   netip.Addr
		phone string
		by    string
	}{{cm, "+8613812345678", "a"}, {cu, "+8618611112222", "b"}, {uk, "+447700900123", "b"}} {
		l, err := r.Identify(ctx, carrier.FrontRequest{Source: c.src, Kind: carrier.KindLogin})
		if err != nil {
			t.Fatalf("Identify(%s) = %v", c.src, err)
		}
		if !strings.HasPrefix(l.Ticket, c.by+":") {
			t.Errorf("the line of %s was identified by %q, want %s", carrier.Mask(c.phone), l.Ticket[:2], c.by)
		}
		if n, err := r.Number(ctx, l.Ticket); err != nil || n != c.phone {
			t.Errorf("Number = %q, %v", carrier.Mask(n), err)
		}
		// The same ticket under the other adapter's name is refused by it.
		other := map[string]string{"a": "b", "b": "a"}[c.by]
		moved := other + strings.TrimPrefix(l.Ticket, c.by)
		if _, err := r.Number(ctx, moved); !errors.Is(err, carrier.ErrTicketInvalid) {
			t.Errorf("Number(ticket moved to %s) = %v; want ErrTicketInvalid", other, err)
		}
		// And the adapters themselves refuse the router's ticket.
		if _, err := a.Number(ctx, l.Ticket); !errors.Is(err, carrier.ErrTicketInvalid) {
			t.Errorf("a.Number(router ticket) = %v", err)
		}
	}
	if l, err := r.Identify(ctx, carrier.FrontRequest{Source: stray, Kind: carrier.KindVerify}); !errors.Is(err, carrier.ErrNotCellular) {
		t.Errorf("Identify of a CM line b knows = %+v, %v; want ErrNotCellular (CM is a's)", l, err)
	}
	for phone, want := range map[string]string{"+8613812345678": "a", "+447700900123": "b", "+8618611112222": "b", "+12025550143": "b"} {
		if got, ok := r.Route(phone); !ok || got != want {
			t.Errorf("Route(%s) = %q, %v; want %s", carrier.Mask(phone), got, ok, want)
		}
	}
	// A fault of one adapter is reported when no other identifies the line.
	a.SetFault(carrier.ChinaMobile, sandbox.Fault{Maintenance: true})
	if _, err := r.Identify(ctx, carrier.FrontRequest{Source: cm, Kind: carrier.KindVerify}); !errors.Is(err, carrier.ErrMaintenance) {
		t.Errorf("Identify under a's maintenance = %v; want ErrMaintenance", err)
	}

	if _, err := carrier.NewRouter(routes(t, "CM=a"), map[string]carrier.Adapter{"a": a, "b": b}); err == nil {
		t.Error("NewRouter accepted an adapter no route names")
	}
	if _, err := carrier.NewRouter(routes(t, "CM=c"), map[string]carrier.Adapter{"a": a}); err == nil {
		t.Error("NewRouter accepted a route to no adapter")
	}
}

// redirectOnly has a back leg and no front leg numauth can drive here.
type redirectOnly struct{ carrier.Adapter }

func TestRouterWithoutNetworkFrontLeg(t *testing.T) {
	r, err := carrier.NewRouter(routes(t, "*=x"), map[string]carrier.Adapter{"x": redirectOnly{newSandbox(t)}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Identify(context.Background(), carrier.FrontRequest{Kind: carrier.KindVerify}); !errors.Is(err, carrier.ErrUnsupported) {
		t.Errorf("Identify = %v; want ErrUnsupported", err)
	}
}
