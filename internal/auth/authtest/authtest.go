// Package authtest starts an auth.Service over real, throwaway stores (a
// SQLite file in the test's temporary directory, the in-process ephemeral
// store) and the sandbox carrier, for the tests of auth and of the packages
// built on it (h5, openapi).
package authtest

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"

	"github.com/numauth/numauth/internal/auth"
	"github.com/numauth/numauth/internal/carrier"
	"github.com/numauth/numauth/internal/carrier/sandbox"
	"github.com/numauth/numauth/internal/secret"
	smssandbox "github.com/numauth/numauth/internal/sms/sandbox"
	"github.com/numauth/numauth/internal/store"
	"github.com/numauth/numauth/internal/store/memory"
	"github.com/numauth/numauth/internal/store/sqlite"
)

// Options shape a Stack; the zero value is a service with the default
// configuration and a sandbox that knows no subscriber.
type Options struct {
	// Config for auth.New; its Carrier is replaced by the stack's sandbox.
	Config auth.Config
	// Subscribers the sandbox carrier maps to numbers.
	Subscribers []sandbox.Subscriber
	// Prepare, if set, runs on the ephemeral store before the service starts.
	Prepare func(context.Context, store.Ephemeral) error
	// WrapCarrier, if set, wraps the sandbox adapter the service uses (to
	// count or break its calls).
	WrapCarrier func(carrier.Adapter) carrier.Adapter
	// WrapDurable, if set, wraps the durable store the service uses (the
	// Stack's Durable stays the real one, for the test to read).
	WrapDurable func(store.Durable) store.Durable
	// WrapEphemeral, likewise, wraps the ephemeral store (to make it forget).
	WrapEphemeral func(store.Ephemeral) store.Ephemeral
}

// Stack is a running service and what it runs on. Everything is closed
// when the test ends.
type Stack struct {
	Svc     *auth.Service
	Durable store.Durable
	Eph     store.Ephemeral
	Box     *secret.Box
	Sandbox *sandbox.Sandbox
	// SMS is the sandbox SMS provider delivering into Durable's outbox,
	// unless Options.Config.SMS named another provider.
	SMS *smssandbox.Provider
}

// New starts a Stack or fails the test.
func New(t testing.TB, o Options) *Stack {
	t.Helper()
	ctx := context.Background()
	d, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "numauth.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	eph := memory.New()
	t.Cleanup(func() { eph.Close() })
	if o.Prepare != nil {
		if err := o.Prepare(ctx, eph); err != nil {
			t.Fatal(err)
		}
	}
	box, err := secret.New(bytes.Repeat([]byte{9}, secret.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	sb, err := sandbox.New(sandbox.Config{Key: box.Derive("sandbox", 32), Subscribers: o.Subscribers})
	if err != nil {
		t.Fatal(err)
	}
	cfg := o.Config
	cfg.Carrier = sb
	if o.WrapCarrier != nil {
		cfg.Carrier = o.WrapCarrier(sb)
	}
	var sd store.Durable = d
	if o.WrapDurable != nil {
		sd = o.WrapDurable(d)
	}
	var se store.Ephemeral = eph
	if o.WrapEphemeral != nil {
		se = o.WrapEphemeral(eph)
	}
	var smsSB *smssandbox.Provider
	if cfg.SMS.Provider == nil {
		if smsSB, err = smssandbox.New(smssandbox.Config{Outbox: d}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { smsSB.Close() })
		cfg.SMS.Provider, cfg.SMS.ProviderName = smsSB, smssandbox.Name
	}
	svc, err := auth.New(ctx, cfg, sd, se, box)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Close)
	return &Stack{Svc: svc, Durable: d, Eph: eph, Box: box, Sandbox: sb, SMS: smsSB}
}
