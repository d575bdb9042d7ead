package sms

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"
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

var (
	regMu sync.RWMutex
	reg   = map[string]Registration{}
)

// Register adds a provider. It is called from the provider package's init;
// registering a name twice panics, as a programming error.
func Register(r Registration) {
	regMu.Lock()
	defer regMu.Unlock()
	if r.Name == "" || r.Flags == nil {
		panic("sms: Register needs a name and a Flags function")
	}
	if _, dup := reg[r.Name]; dup {
		panic(fmt.Sprintf("sms: provider %q registered twice", r.Name))
	}
	reg[r.Name] = r
}

// Names lists the registered providers, sorted.
func Names() []string {
	regMu.RLock()
	defer regMu.RUnlock()
	names := make([]string, 0, len(reg))
	for n := range reg {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Registrations returns every registration, sorted by name, so a command
// can declare every provider's flags.
func Registrations() []Registration {
	regMu.RLock()
	defer regMu.RUnlock()
	out := make([]Registration, 0, len(reg))
	for _, r := range reg {
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b Registration) int {
		if a.Name < b.Name {
			return -1
		}
		if a.Name > b.Name {
			return 1
		}
		return 0
	})
	return out
}

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
