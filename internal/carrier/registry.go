package carrier

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/numauth/numauth/internal/registry"
)

// Env is what numauth gives an adapter it builds.
type Env struct {
	Logger *slog.Logger
	// Secret derives a key of n bytes for purpose from numauth's master
	// key: the same on every instance sharing that key, different for
	// every purpose, so that the instances of one deployment open each
	// other's tickets and no two adapters share a key.
	Secret func(purpose string, n int) []byte
	// TrustedProxies are the proxies serve's --trusted-proxy names: those
	// whose enrichment header an adapter may believe.
	TrustedProxies []netip.Prefix
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// PublicURL is the URL browsers reach numauth at (serve's --public-url,
	// or http:// and --addr), without a trailing slash: a redirect
	// adapter's callback is PublicURL + "/h5/v1/NAME/callback".
	PublicURL string
	// Shared is memory every instance of the deployment shares (numauth's
	// ephemeral store), for what must hold across instances, such as a
	// redirect state's single use. Adapters keep their keys under
	// "car:NAME:".
	Shared Shared
}

// Shared is the part of numauth's ephemeral store an adapter may use.
type Shared interface {
	// PutIfAbsent stores value under key unless the key exists, and
	// reports whether it stored: exactly one of many concurrent callers,
	// on any instance, gets true.
	PutIfAbsent(ctx context.Context, key string, value []byte, ttl time.Duration) (bool, error)
	// Get returns the value under key; a missing or expired key is an
	// error wrapping store.ErrNotFound.
	Get(ctx context.Context, key string) ([]byte, error)
}

// Builder builds an adapter from the flags its registration declared, once
// they are parsed.
type Builder func(ctx context.Context, env Env) (Adapter, error)

// Registration is one adapter: its name (the value of --carrier and of a
// --carrier-route rule) and its own flags. Flags declares them on the serve
// command's flag set (named "NAME-…") and returns the Builder that reads
// them after parsing. An adapter is built at most once per server, however
// many routes name it: its flags are its one configuration.
type Registration struct {
	Name  string
	Flags func(fs *flag.FlagSet) Builder
}

// Administered is implemented by adapters that can be changed at run time:
// serve mounts the handler, behind the admin token, at /admin/v1/NAME/
// (the prefix stripped).
type Administered interface {
	AdminHandler() http.Handler
}

// ProxyTrusting is implemented by adapters that trust proxies of their own
// configuration (beyond Env.TrustedProxies); the gateway trusts their
// X-Forwarded-For for its per-address budgets too.
type ProxyTrusting interface {
	TrustedProxies() []netip.Prefix
}

var reg = registry.New[Registration]("carrier adapter")

// Register adds an adapter. It is called from the adapter package's init;
// registering a name twice, or a name that is not a route name
// (ValidName), panics, as a programming error.
func Register(r Registration) {
	if !ValidName(r.Name) || r.Flags == nil {
		panic("carrier: Register needs a name of a-z, 0-9 and '-' and a Flags function")
	}
	reg.Add(r.Name, r)
}

// ValidName reports whether name can name an adapter: 1 to 32 characters
// of a-z, 0-9 and '-', starting with a letter.
func ValidName(name string) bool {
	if name == "" || len(name) > 32 || name[0] < 'a' || name[0] > 'z' {
		return false
	}
	return strings.Trim(name, "abcdefghijklmnopqrstuvwxyz0123456789-") == ""
}

// Names lists the registered adapters, sorted.
func Names() []string { return reg.Names() }

// Registrations returns every registration, sorted by name, so a command
// can declare every adapter's flags.
func Registrations() []Registration { return reg.All() }

// Flags declares every registered adapter's flags on fs and returns a
// function that builds the adapter called name.
func Flags(fs *flag.FlagSet) func(ctx context.Context, name string, env Env) (Adapter, error) {
	builders := map[string]Builder{}
	for _, r := range Registrations() {
		builders[r.Name] = r.Flags(fs)
	}
	return func(ctx context.Context, name string, env Env) (Adapter, error) {
		b, ok := builders[name]
		if !ok {
			return nil, fmt.Errorf("unknown carrier adapter %q (have %v)", name, Names())
		}
		if env.Logger == nil {
			env.Logger = slog.Default()
		}
		if env.Now == nil {
			env.Now = time.Now
		}
		a, err := b(ctx, env)
		if err != nil {
			return nil, fmt.Errorf("carrier adapter %s: %w", name, err)
		}
		return a, nil
	}
}
