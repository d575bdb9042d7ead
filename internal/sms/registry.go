package sms

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"time"

	"github.com/numauth/numauth/internal/registry"
)

// Env is what numauth gives a provider it builds.
type Env struct {
	Logger *slog.Logger
	// Receipts receives the provider's delivery receipts.
	Receipts Receipts
	// Outbox is the durable outbox the sandbox provider delivers into.
	Outbox Outbox
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

// Builder builds a provider from the flags its registration declared, once
// they are parsed.
type Builder func(ctx context.Context, env Env) (Provider, error)

// Registration is one provider: its name (the value of --sms-provider) and
// its own flags. Flags declares them on the serve command's flag set (named
// "sms-NAME-…") and returns the Builder that reads them after parsing.
type Registration struct {
	Name  string
	Flags func(fs *flag.FlagSet) Builder
}

var reg = registry.New[Registration]("sms: provider")

// Register adds a provider. It is called from the provider package's init;
// registering a name twice panics, as a programming error.
func Register(r Registration) {
	if r.Name == "" || r.Flags == nil {
		panic("sms: Register needs a name and a Flags function")
	}
	reg.Add(r.Name, r)
}

// Names lists the registered providers, sorted.
func Names() []string { return reg.Names() }

// Registrations returns every registration, sorted by name, so a command
// can declare every provider's flags.
func Registrations() []Registration { return reg.All() }

// Flags declares every registered provider's flags on fs and returns a
// function that builds the provider called name.
func Flags(fs *flag.FlagSet) func(ctx context.Context, name string, env Env) (Provider, error) {
	builders := map[string]Builder{}
	for _, r := range Registrations() {
		builders[r.Name] = r.Flags(fs)
	}
	return func(ctx context.Context, name string, env Env) (Provider, error) {
		b, ok := builders[name]
		if !ok {
			return nil, fmt.Errorf("unknown SMS provider %q (have %v)", name, Names())
		}
		if env.Logger == nil {
			env.Logger = slog.Default()
		}
		if env.Receipts == nil {
			env.Receipts = func(context.Context, Receipt) {}
		}
		if env.Now == nil {
			env.Now = time.Now
		}
		p, err := b(ctx, env)
		if err != nil {
			return nil, fmt.Errorf("SMS provider %s: %w", name, err)
		}
		return p, nil
	}
}
