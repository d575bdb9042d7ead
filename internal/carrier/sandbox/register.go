package sandbox

import (
	"context"
	"flag"
	"fmt"
	"slices"
	"strings"

	"github.com/numauth/numauth/internal/carrier"
)

// TicketKeyPurpose is what the ticket key is derived for from numauth's
// master key (carrier.Env.Secret): every instance sharing the master key
// opens every other's tickets.
const TicketKeyPurpose = "numauth sandbox ticket v1"

func init() {
	carrier.Register(carrier.Registration{Name: Name, Flags: flags})
}

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

// flags declares the sandbox's flags: --sandbox-subscriber (repeatable)
// and --sandbox-config. The proxies it trusts are serve's --trusted-proxy
// (carrier.Env.TrustedProxies) and the config file's.
func flags(fs *flag.FlagSet) carrier.Builder {
	var subs multiFlag
	var file string
	fs.Var(&subs, "sandbox-subscriber", "sandbox carrier subscriber ADDR_OR_CIDR=PHONE[@OPERATOR] (repeatable; PHONE mainland or E.164)")
	fs.StringVar(&file, "sandbox-config", "", "sandbox carrier JSON file (subscribers, trusted proxies, faults)")
	return func(ctx context.Context, env carrier.Env) (carrier.Adapter, error) {
		var cfg Config
		if file != "" {
			var err error
			if cfg, err = LoadFile(file); err != nil {
				return nil, err
			}
		}
		if env.Secret != nil {
			cfg.Key = env.Secret(TicketKeyPurpose, 32)
		}
		cfg.Logger, cfg.Now = env.Logger, env.Now
		// A --sandbox-subscriber flag overrides the file's entry for the same prefix.
		for i, s := range subs {
			sub, err := ParseSubscriber(s)
			if err != nil { // the value holds a number: named by its place
				return nil, fmt.Errorf("--sandbox-subscriber (#%d): %w", i+1, err)
			}
			cfg.Subscribers = slices.DeleteFunc(cfg.Subscribers, func(o Subscriber) bool { return o.Prefix == sub.Prefix })
			cfg.Subscribers = append(cfg.Subscribers, sub)
		}
		cfg.TrustedProxies = append(cfg.TrustedProxies, env.TrustedProxies...)
		return New(cfg)
	}
}
