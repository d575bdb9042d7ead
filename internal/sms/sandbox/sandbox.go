// Package sandbox is numauth's default SMS provider: it delivers into the
// durable outbox instead of a phone network, so tests, the CLI
// (`numauth sms outbox`) and the console can read the codes. Like the
// sandbox carrier it can be made to fail on purpose: numbers that it
// refuses (--sms-sandbox-reject) and an outage switch, so integrators can
// test their error paths.
package sandbox

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/numauth/numauth/internal/sms"
)

// Name is the provider's registered name.
const Name = "sandbox"

func init() {
	sms.Register(sms.Registration{Name: Name, Flags: func(fs *flag.FlagSet) sms.Builder {
		var reject prefixes
		fs.Var(&reject, "sms-sandbox-reject", "E.164 prefix (e.g. +86170000) of numbers the sandbox SMS provider refuses, to test refusals (repeatable)")
		return func(ctx context.Context, env sms.Env) (sms.Provider, error) {
			return New(Config{Outbox: env.Outbox, Reject: reject, Now: env.Now})
		}
	}})
}

type prefixes []string

func (p *prefixes) String() string { return strings.Join(*p, ",") }
func (p *prefixes) Set(v string) error {
	if !strings.HasPrefix(v, "+") || len(v) < 2 || strings.Trim(v[1:], "0123456789") != "" {
		return fmt.Errorf("%q is not an E.164 prefix such as +86170", v)
	}
	*p = append(*p, v)
	return nil
}

// Config configures the provider.
type Config struct {
	Outbox sms.Outbox // required
	Reject []string   // E.164 prefixes of refused numbers
	Now    func() time.Time
}

// Provider is the sandbox SMS provider.
type Provider struct {
	outbox sms.Outbox
	now    func() time.Time
	down   atomic.Bool
	mu     sync.RWMutex
	reject []string
}

// New returns a sandbox provider delivering into cfg.Outbox.
func New(cfg Config) (*Provider, error) {
	if cfg.Outbox == nil {
		return nil, errors.New("sandbox SMS provider needs an outbox")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Provider{outbox: cfg.Outbox, now: cfg.Now, reject: append([]string(nil), cfg.Reject...)}, nil
}

// SetOutage switches the simulated outage on or off: while on, every Send
// fails with sms.ErrUnavailable and nothing is delivered.
func (p *Provider) SetOutage(on bool) { p.down.Store(on) }

// RejectPrefix makes the provider refuse numbers starting with prefix.
func (p *Provider) RejectPrefix(prefix string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.reject = append(p.reject, prefix)
}

func (p *Provider) refuses(to string) bool {
	p.mu.RLock()
	defer p.mu.RUnlock()
	for _, pre := range p.reject {
		if strings.HasPrefix(to, pre) {
			return true
		}
	}
	return false
}

// ProviderID is the sandbox's message id for numauth's message id: derived,
// so a repeated Send of one message answers the same id.
func ProviderID(id string) string { return "sandbox-" + id }

// Send delivers m into the outbox. The message counts as delivered at once.
func (p *Provider) Send(ctx context.Context, m sms.Message) (sms.Accepted, error) {
	if err := ctx.Err(); err != nil {
		return sms.Accepted{}, fmt.Errorf("%w: %w", sms.ErrUnavailable, err)
	}
	if p.down.Load() {
		return sms.Accepted{}, fmt.Errorf("%w: the sandbox provider's simulated outage is on", sms.ErrUnavailable)
	}
	if p.refuses(m.To) {
		return sms.Accepted{}, fmt.Errorf("%w: the sandbox provider is configured to refuse this number", sms.ErrRejected)
	}
	e := sms.OutboxEntry{
		ID: m.ID, ProviderID: ProviderID(m.ID), To: m.To, SignName: m.SignName, TemplateCode: m.TemplateCode,
		Text: m.Text, CreatedAt: p.now().UTC(),
	}
	if err := p.outbox.PutOutbox(ctx, e); err != nil {
		return sms.Accepted{}, fmt.Errorf("%w: outbox: %w", sms.ErrUnavailable, err)
	}
	return sms.Accepted{ProviderID: e.ProviderID, Status: sms.StatusDelivered}, nil
}

// Close does nothing: the outbox belongs to the durable store.
func (p *Provider) Close() error { return nil }
