package camara_test

// The adapter against an operator this project did not write: the npm
// oidc-provider with a small NV resource server (test/operator), so the
// adapter and numauth's own provider are not only each other's mirror.

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"net/netip"
	"net/url"
	"regexp"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/numauth/numauth/internal/carrier"
	"github.com/numauth/numauth/internal/carrier/camara"
	"github.com/numauth/numauth/internal/carrier/camara/camaratest"
	"github.com/numauth/numauth/internal/carrier/carriertest"
	"github.com/numauth/numauth/internal/store/memory"
	"github.com/numauth/numauth/test/operator"
)

// indepOperator is a test operator with numauth registered at it twice,
// once per client authentication.
type indepOperator struct {
	op  *operator.Server
	key *ecdsa.PrivateKey

	mu    sync.Mutex
	addrs map[string]netip.Addr // phone → the browser's address at this operator
}

const gwSecret = "gw-secret-0123456789"

func startOperator(t *testing.T, o operator.Options) *indepOperator {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	jwks, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: "gw-1", Algorithm: "ES256", Use: "sig"}}})
	o.Clients = append(o.Clients,
		operator.Client{ID: "gw-jwt", JWKS: jwks, RedirectURIs: []string{camaratest.CallbackURL}},
		operator.Client{ID: "gw-basic", Secret: gwSecret, RedirectURIs: []string{camaratest.CallbackURL}})
	return &indepOperator{op: operator.Start(t, o), key: key, addrs: map[string]netip.Addr{}}
}

// attach puts phone on a loopback address of its own at the operator.
func (o *indepOperator) attach(t *testing.T, phone string) netip.Addr {
	o.mu.Lock()
	defer o.mu.Unlock()
	if a, ok := o.addrs[phone]; ok {
		return a
	}
	a := netip.AddrFrom4([4]byte{127, 2, byte(len(o.addrs) >> 8), byte(len(o.addrs) + 1)})
	o.op.SetLine(t, a.String(), phone)
	o.addrs[phone] = a
	return a
}

// independent is an adapter registered at a test operator.
type independent struct {
	*indepOperator
	adapter *camara.Adapter
	clock   *camaratest.Clock
}

// newIndependent builds a fresh adapter (a key and a shared memory of its
// own: a world of its own) for the operator.
func (o *indepOperator) adapter(t *testing.T, secret bool, edit func(*camara.Config)) *independent {
	t.Helper()
	in := &independent{indepOperator: o, clock: &camaratest.Clock{}}
	cfg := camara.Config{Issuer: o.op.Issuer, APIRoot: o.op.APIRoot, ClientID: "gw-jwt", ClientKey: o.key, KeyID: "gw-1"}
	if secret {
		cfg = camara.Config{Issuer: o.op.Issuer, APIRoot: o.op.APIRoot, ClientID: "gw-basic", ClientSecret: gwSecret}
	}
	shared := memory.New()
	t.Cleanup(func() { shared.Close() })
	cfg.Key = make([]byte, 32)
	rand.Read(cfg.Key)
	cfg.Shared, cfg.Now = shared, in.clock.Now
	if edit != nil {
		edit(&cfg)
	}
	a, err := camara.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	in.adapter = a
	return in
}

func startIndependent(t *testing.T, secret bool, o operator.Options, edit func(*camara.Config)) *independent {
	return startOperator(t, o).adapter(t, secret, edit)
}

func (in *independent) world() carriertest.World {
	return carriertest.World{
		Adapter: in.adapter,
		Authorize: func(t *testing.T, r carrier.Redirect, phone string) url.Values {
			src := camaratest.WiFi
			if phone != "" {
				src = in.attach(t, phone)
			}
			return camaratest.Visit(t, r.URL, src, camaratest.CallbackURL)
		},
		Advance:  in.clock.Advance,
		Operator: "CAMARA",
	}
}

// The suite against oidc-provider, with each client authentication, with
// tokens good until they expire and with single-use tokens. The worlds of
// one run share an operator: each has an adapter of its own.
func TestConformanceIndependentOperator(t *testing.T) {
	for _, c := range []struct {
		name              string
		secret, singleUse bool
	}{{"private_key_jwt", false, false}, {"client_secret_basic", true, false}, {"single-use tokens", false, true}} {
		t.Run(c.name, func(t *testing.T) {
			op := startOperator(t, operator.Options{SingleUse: c.singleUse})
			carriertest.Run(t, carriertest.Harness{New: func(t *testing.T) carriertest.World {
				w := op.adapter(t, c.secret, nil).world()
				w.OneAnswerPerTicket = c.singleUse
				return w
			}})
		})
	}
}

var correlatorRE = regexp.MustCompile(`^[a-zA-Z0-9-_:;./<>{}]{1,256}$`)

// What the operator saw: the number or its hash as configured, and an
// x-correlator on every call.
func TestIndependentOperatorSeesTheAPI(t *testing.T) {
	for _, hashed := range []bool{false, true} {
		in := startIndependent(t, false, operator.Options{}, func(c *camara.Config) { c.Hashed = hashed })
		l, err := indepFlow(t, in, carrier.KindVerify, ukLine)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range []string{ukLine, "+447700900999"} {
			want := carrier.Reject
			if p == ukLine {
				want = carrier.Pass
			}
			if v, err := in.adapter.Verify(context.Background(), l.Ticket, p); err != nil || v != want {
				t.Errorf("hashed=%v: Verify(%s) = %q, %v; want %s", hashed, carrier.Mask(p), v, err, want)
			}
		}
		ll, err := indepFlow(t, in, carrier.KindLogin, ukLine)
		if err != nil || ll.Masked != carrier.Mask(ukLine) {
			t.Fatalf("login front leg = %+v, %v", ll, err)
		}
		calls := in.op.Calls(t)
		if len(calls) != 3 {
			t.Fatalf("the operator saw %d NV calls, want 3 (two verifications, one device-phone-number): %+v", len(calls), calls)
		}
		for _, c := range calls {
			if !correlatorRE.MatchString(c.Correlator) {
				t.Errorf("%s without a valid x-correlator: %q", c.Path, c.Correlator)
			}
			if c.Path != "/number-verification/v2/device-phone-number" && c.Hashed != hashed {
				t.Errorf("hashed=%v: %s sent hashedPhoneNumber=%v", hashed, c.Path, c.Hashed)
			}
		}
	}
}

func indepFlow(t *testing.T, in *independent, kind carrier.Kind, phone string) (carrier.Line, error) {
	t.Helper()
	ctx := context.Background()
	r, err := in.adapter.Begin(ctx, carrier.BeginRequest{Kind: kind, SessionBinding: "s", RedirectURL: camaratest.CallbackURL})
	if err != nil {
		return carrier.Line{}, err
	}
	src := camaratest.WiFi
	if phone != "" {
		src = in.attach(t, phone)
	}
	q := camaratest.Visit(t, r.URL, src, camaratest.CallbackURL)
	return in.adapter.Complete(ctx, carrier.CallbackRequest{State: r.State, Query: q, SessionBinding: "s"})
}

// The independent operator's faults, each through the adapter's one table.
func TestIndependentOperatorFaults(t *testing.T) {
	in := startIndependent(t, false, operator.Options{}, func(c *camara.Config) { c.Timeout = 500 * time.Millisecond })
	ctx := context.Background()
	front := []struct {
		name  string
		fault operator.Fault
		kind  carrier.Kind
		want  error
	}{
		{"token 503", operator.Fault{Endpoint: "token", Status: 503}, carrier.KindVerify, carrier.ErrMaintenance},
		{"token 429", operator.Fault{Endpoint: "token", Status: 429}, carrier.KindVerify, carrier.ErrQuota},
		{"token refuses the client", operator.Fault{Endpoint: "token", Status: 401}, carrier.KindVerify, carrier.ErrFailed},
		{"token slow", operator.Fault{Endpoint: "token", Delay: 2 * time.Second}, carrier.KindVerify, carrier.ErrFailed},
		{"device-phone-number 500", operator.Fault{Endpoint: "device-phone-number", Status: 500}, carrier.KindLogin, carrier.ErrFailed},
		{"device-phone-number 429", operator.Fault{Endpoint: "device-phone-number", Status: 429, Code: "QUOTA_EXCEEDED"}, carrier.KindLogin, carrier.ErrQuota},
	}
	for _, c := range front {
		t.Run(c.name, func(t *testing.T) {
			in.op.SetFault(t, c.fault)
			defer in.op.ClearFaults(t)
			if l, err := indepFlow(t, in, c.kind, ukLine); !errors.Is(err, c.want) || l.Ticket != "" {
				t.Errorf("front leg = %+v, %v; want %v", l, err, c.want)
			}
		})
	}
	for _, c := range []struct {
		name  string
		fault operator.Fault
		want  error
	}{
		{"503", operator.Fault{Endpoint: "verify", Status: 503}, carrier.ErrMaintenance},
		{"429", operator.Fault{Endpoint: "verify", Status: 429, Code: "QUOTA_EXCEEDED"}, carrier.ErrQuota},
		{"500", operator.Fault{Endpoint: "verify", Status: 500}, carrier.ErrFailed},
		{"slow", operator.Fault{Endpoint: "verify", Delay: 2 * time.Second}, carrier.ErrFailed},
	} {
		t.Run("verify "+c.name, func(t *testing.T) {
			l, err := indepFlow(t, in, carrier.KindVerify, ukLine)
			if err != nil {
				t.Fatal(err)
			}
			in.op.SetFault(t, c.fault)
			defer in.op.ClearFaults(t)
			if v, err := in.adapter.Verify(ctx, l.Ticket, ukLine); !errors.Is(err, c.want) || v != "" {
				t.Errorf("Verify = %q, %v; want %v", v, err, c.want)
			}
		})
	}
	t.Run("not network-authenticated", func(t *testing.T) {
		l, err := indepFlow(t, in, carrier.KindVerify, ukLine)
		if err != nil {
			t.Fatal(err)
		}
		in.op.SetNetworkAuthenticated(t, false)
		defer in.op.SetNetworkAuthenticated(t, true)
		if v, err := in.adapter.Verify(ctx, l.Ticket, ukLine); !errors.Is(err, carrier.ErrNotCellular) {
			t.Errorf("Verify = %q, %v; want ErrNotCellular", v, err)
		}
	})
	t.Run("login_required", func(t *testing.T) {
		in.op.SetDenyError(t, "login_required")
		defer in.op.SetDenyError(t, "access_denied")
		if l, err := indepFlow(t, in, carrier.KindVerify, ""); !errors.Is(err, carrier.ErrNotCellular) || l.Ticket != "" {
			t.Errorf("front leg from Wi-Fi = %+v, %v; want ErrNotCellular", l, err)
		}
	})
	t.Run("keys rotated", func(t *testing.T) {
		in.op.RotateKeys(t)
		l, err := indepFlow(t, in, carrier.KindVerify, ukLine)
		if err != nil {
			t.Fatalf("front leg after the operator changed keys: %v", err)
		}
		if v, err := in.adapter.Verify(ctx, l.Ticket, ukLine); err != nil || v != carrier.Pass {
			t.Errorf("Verify after the key change = %q, %v", v, err)
		}
	})
	t.Run("discovery down after the first flow", func(t *testing.T) {
		in.op.SetFault(t, operator.Fault{Endpoint: "discovery", Status: 503})
		defer in.op.ClearFaults(t)
		if _, err := indepFlow(t, in, carrier.KindVerify, ukLine); err != nil {
			t.Errorf("front leg with discovery down, its document known: %v", err)
		}
	})
}
