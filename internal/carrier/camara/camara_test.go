package camara_test

import (
	"fmt"
	"net/netip"
	"net/url"
	"testing"

	"github.com/numauth/numauth/internal/carrier"
	"github.com/numauth/numauth/internal/carrier/camara/camaratest"
	"github.com/numauth/numauth/internal/carrier/carriertest"
	"github.com/numauth/numauth/internal/carrier/sandbox"
)

func world(f *camaratest.Fixture) carriertest.World {
	return carriertest.World{
		Adapter: f.Adapter,
		Authorize: func(t *testing.T, r carrier.Redirect, phone string) url.Values {
			src := camaratest.WiFi
			if phone != "" {
				src = f.Op.Attach(t, phone)
			}
			return camaratest.Visit(t, r.URL, src, camaratest.CallbackURL)
		},
		Advance: f.Clock.Advance,
		// numauth's northbound tokens serve one NV call.
		OneAnswerPerTicket: true,
		Operator:           "CAMARA",
	}
}

// The adapter passes the carrier suite against numauth's own CAMARA
// provider, with each client authentication.
func TestConformance(t *testing.T) {
	for _, secret := range []bool{false, true} {
		t.Run(fmt.Sprintf("secret=%v", secret), func(t *testing.T) {
			carriertest.Run(t, carriertest.Harness{New: func(t *testing.T) carriertest.World {
				return world(camaratest.New(t, secret, nil, nil))
			}})
		})
	}
}

// A sandbox and the camara adapter behind one router pass the suite as one
// adapter: network-identified lines through the sandbox, redirects through
// the operator.
func TestRouterConformance(t *testing.T) {
	carriertest.Run(t, carriertest.Harness{New: func(t *testing.T) carriertest.World {
		f := camaratest.New(t, false, nil, nil)
		sb, err := sandbox.New(sandbox.Config{})
		if err != nil {
			t.Fatal(err)
		}
		var routes []carrier.Route
		for _, s := range []string{"+44=camara", "*=sandbox"} {
			r, err := carrier.ParseRoute(s)
			if err != nil {
				t.Fatal(err)
			}
			routes = append(routes, r)
		}
		r, err := carrier.NewRouter(routes, map[string]carrier.Adapter{"camara": f.Adapter, "sandbox": sb})
		if err != nil {
			t.Fatal(err)
		}
		w := world(f)
		w.Adapter = r.Adapter()
		if _, ok := w.Adapter.(carrier.Redirector); !ok {
			t.Fatal("a router with a redirect adapter has no redirect front leg")
		}
		w.OneAnswerPerTicket = false // the back-leg tests' tickets are the sandbox's
		w.Attach = func(t *testing.T, src netip.Addr, phone string) {
			if err := sb.AddSubscriber(sandbox.Subscriber{Prefix: netip.PrefixFrom(src, src.BitLen()), Phone: phone}); err != nil {
				t.Fatal(err)
			}
		}
		return w
	}})
}
