package main

import (
	"context"
	"crypto/sha256"
	"errors"
	"flag"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/numauth/numauth/internal/carrier"
	"github.com/numauth/numauth/internal/carrier/sandbox"
)

// A second adapter, for this test binary only: a sandbox of its own key
// with one CM line at 127.0.0.1, so that routes have two adapters to choose
// from. It declares no flags (the README documents every flag serve has).
func init() {
	carrier.Register(carrier.Registration{Name: "second", Flags: func(*flag.FlagSet) carrier.Builder {
		return func(ctx context.Context, env carrier.Env) (carrier.Adapter, error) {
			s, err := sandbox.New(sandbox.Config{
				Key:         env.Secret("numauth test second carrier", 32),
				Subscribers: []sandbox.Subscriber{{Prefix: netip.MustParsePrefix("127.0.0.1/32"), Phone: "+8613900139000"}},
			})
			return second{s}, err
		}
	}})
}

// second is a sandbox under another name; only its back leg and front leg
// are promoted (not the admin handler).
type second struct{ carrier.NetworkIdentified }

func (second) Name() string { return "second" }

func parseServe(t *testing.T, args ...string) serveFlags {
	t.Helper()
	var f serveFlags
	if err := newServeFlagSet(&f).Parse(append([]string{"--data-dir", t.TempDir()}, args...)); err != nil {
		t.Fatal(err)
	}
	return f
}

func TestCarrierRoutes(t *testing.T) {
	ctx := context.Background()
	env := carrier.Env{Logger: slog.New(slog.DiscardHandler), Secret: func(p string, n int) []byte {
		k := sha256.Sum256([]byte(p))
		return k[:n]
	}}
	f := parseServe(t, "--sandbox-subscriber", "127.0.0.2=13800138000", "--sandbox-subscriber", "127.0.0.3=+447700900123",
		"--carrier-route", "+44=sandbox", "--carrier-route", "CM=second")
	a, built, err := f.carriers(ctx, env)
	if err != nil {
		t.Fatal(err)
	}
	if len(built) != 2 || a.Name() != "sandbox+second" {
		t.Fatalf("built %v, adapter %q", built, a.Name())
	}
	ni := a.(carrier.NetworkIdentified)
	for src, want := range map[string]string{"127.0.0.1": "second:", "127.0.0.3": "sandbox:"} {
		l, err := ni.Identify(ctx, carrier.FrontRequest{Source: netip.MustParseAddr(src), Kind: carrier.KindLogin})
		if err != nil || !strings.HasPrefix(l.Ticket, want) {
			t.Errorf("Identify(%s) = %+v, %v; want a ticket of %s", src, l, err, want)
			continue
		}
		moved := map[string]string{"second:": "sandbox:", "sandbox:": "second:"}[want] + strings.TrimPrefix(l.Ticket, want)
		if _, err := a.Number(ctx, moved); !errors.Is(err, carrier.ErrTicketInvalid) {
			t.Errorf("a ticket of %s under the other's name: %v; want ErrTicketInvalid", want, err)
		}
	}
	// The sandbox's CM line is CM's, and CM is second's: not identified.
	if _, err := ni.Identify(ctx, carrier.FrontRequest{Source: netip.MustParseAddr("127.0.0.2"), Kind: carrier.KindVerify}); !errors.Is(err, carrier.ErrNotCellular) {
		t.Errorf("Identify of the sandbox's CM line = %v; want ErrNotCellular", err)
	}

	for _, bad := range [][]string{{"--carrier", "nope"}, {"--carrier-route", "CM=nope"}, {"--carrier-route", "CM"}} {
		bf := parseServe(t, bad...)
		if _, _, err := bf.carriers(ctx, env); err == nil {
			t.Errorf("%v: no error", bad)
		}
	}
}

// TestCarrierFlag: --carrier chooses the adapter alone, and the sandbox's
// admin endpoints are mounted only when the sandbox is built.
func TestCarrierFlag(t *testing.T) {
	t.Setenv("NUMAUTH_BOOTSTRAP_ACCESS_KEY_ID", "")
	t.Setenv("NUMAUTH_BOOTSTRAP_ACCESS_KEY_SECRET", "")
	for _, c := range []struct {
		args         []string
		name         string
		sandboxAdmin bool
	}{
		{nil, "sandbox", true},
		{[]string{"--carrier", "second"}, "second", false},
		{[]string{"--carrier", "second", "--carrier-route", "CU=sandbox"}, "sandbox+second", true},
	} {
		srv, err := newServer(context.Background(), parseServe(t, c.args...), slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		if srv.carrier != c.name {
			t.Errorf("%v: carrier %q, want %q", c.args, srv.carrier, c.name)
		}
		rec := httptest.NewRecorder()
		srv.handler.ServeHTTP(rec, httptest.NewRequest("GET", "/admin/v1/sandbox/subscribers", nil))
		if got := rec.Code == http.StatusUnauthorized; got != c.sandboxAdmin {
			t.Errorf("%v: /admin/v1/sandbox/ answered %d", c.args, rec.Code)
		}
		srv.close()
	}
}
