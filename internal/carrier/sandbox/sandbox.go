// Package sandbox is numauth's built-in simulated operator, the default
// carrier adapter (name "sandbox").
//
// It identifies a subscriber by the address a front-leg request comes from:
// a table maps addresses and CIDR prefixes to numbers, and a request from any
// other address is treated as Wi-Fi (carrier.ErrNotCellular). A trusted
// proxy may name the subscriber in an enrichment header (X-MSISDN by
// default). The operator of a line is its number's allocation
// (carrier.OperatorOf) for a mainland number, and the one its subscriber
// entry names (or DefaultOperator) for a number of another country. Numbers
// are E.164 ("+8613800138000", "+447700900123"). Faults can be injected per operator — latency, an
// error rate, maintenance, an exhausted quota — so that integrators can
// exercise their error paths.
//
// Tickets are sealed with AES-256-GCM: they can be neither read nor forged,
// and every instance configured with the same key opens the others' tickets.
//
// The subscriber table and the faults can be changed at run time, by the
// methods of [Sandbox] or over HTTP through [Sandbox.AdminHandler]; a Sandbox
// is safe for concurrent use.
package sandbox

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math"
	mathrand "math/rand/v2"
	"net/http"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/numauth/numauth/internal/carrier"
	"github.com/numauth/numauth/internal/ipset"
)

// Name is the sandbox adapter's registered name.
const Name = "sandbox"

// DefaultEnrichmentHeader is the header a trusted proxy names the subscriber in.
const DefaultEnrichmentHeader = "X-MSISDN"

// DefaultTicketTTL is how long a ticket opens by default: longer than any
// operator's default spToken lifetime (China Unicom's 30 minutes), so that
// numauth's own token, not the sandbox, decides when a flow has expired.
const DefaultTicketTTL = time.Hour

// Config configures a Sandbox. The zero Config is a working sandbox with no
// subscribers and a random key.
type Config struct {
	// Subscribers seeds the subscriber table. A prefix may appear once.
	Subscribers []Subscriber
	// TrustedProxies are the sources whose enrichment header is believed.
	TrustedProxies []netip.Prefix
	// EnrichmentHeader names the header carrying the subscriber's number
	// (default "X-MSISDN").
	EnrichmentHeader string
	// Key seals tickets: 32 bytes (AES-256). Instances sharing a key open
	// each other's tickets. Empty: a random key, good for one instance.
	Key []byte
	// Faults are the faults injected from the start, per operator.
	Faults map[carrier.Operator]Fault
	// TicketTTL is how long after issue a ticket opens (default
	// DefaultTicketTTL).
	TicketTTL time.Duration
	// Logger receives the sandbox's log lines (default: none). Numbers in
	// them are always masked.
	Logger *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Fault is what the sandbox injects into the calls of one operator.
type Fault struct {
	// Latency delays every call, front and back leg; a call whose context
	// ends first returns the context's error.
	Latency time.Duration
	// ErrorRate is the probability, 0 to 1, that a call fails with
	// carrier.ErrFailed, front and back leg.
	ErrorRate float64
	// Maintenance fails every front leg with carrier.ErrMaintenance.
	Maintenance bool
	// QuotaExhausted fails every front leg with carrier.ErrQuota.
	QuotaExhausted bool
}

func (f Fault) validate() error {
	if f.Latency < 0 {
		return errors.New("latency is negative")
	}
	if !(f.ErrorRate >= 0 && f.ErrorRate <= 1) { // also rejects NaN
		return fmt.Errorf("errorRate %v is not between 0 and 1", f.ErrorRate)
	}
	return nil
}

// Sandbox is the simulated operator. Create it with New.
type Sandbox struct {
	sealer  *sealer
	header  string // canonical form
	trusted []netip.Prefix
	ttl     time.Duration
	now     func() time.Time
	log     *slog.Logger
	// wait serves the latency fault (default sleep); tests replace it to
	// see the latency applied without waiting for it.
	wait func(ctx context.Context, d time.Duration) error

	mu     sync.Mutex // serializes writers; readers load the pointers
	table  atomic.Pointer[table]
	faults atomic.Pointer[map[carrier.Operator]Fault] // only non-zero faults
}

var (
	_ carrier.NetworkIdentified = (*Sandbox)(nil)
	_ carrier.Administered      = (*Sandbox)(nil)
	_ carrier.ProxyTrusting     = (*Sandbox)(nil)
)

// New returns a Sandbox configured by cfg, or an error naming the first bad
// setting.
func New(cfg Config) (*Sandbox, error) {
	s := &Sandbox{ttl: cfg.TicketTTL, now: cfg.Now, log: cfg.Logger, wait: sleep}
	key := cfg.Key
	if len(key) == 0 {
		key = make([]byte, 32)
		rand.Read(key)
	}
	var err error
	if s.sealer, err = newSealer(key); err != nil {
		return nil, err
	}
	if s.header, err = enrichmentHeader(cfg.EnrichmentHeader); err != nil {
		return nil, err
	}
	for i, p := range cfg.TrustedProxies {
		c, err := ipset.Canonical(p)
		if err != nil {
			return nil, fmt.Errorf("sandbox: trustedProxies[%d]: %w", i, err)
		}
		s.trusted = append(s.trusted, c)
	}
	lines, err := index(cfg.Subscribers)
	if err != nil {
		return nil, err
	}
	s.table.Store(build(lines))
	faults := map[carrier.Operator]Fault{}
	for op, f := range cfg.Faults {
		if !carrier.ValidOperator(op) {
			return nil, fmt.Errorf("sandbox: faults: unknown operator %q (want CM, CU, CT, or a code of 2 to 8 of A-Z and 0-9)", op)
		}
		if err := f.validate(); err != nil {
			return nil, fmt.Errorf("sandbox: faults for %s: %w", op, err)
		}
		if f != (Fault{}) {
			faults[op] = f
		}
	}
	s.faults.Store(&faults)
	switch {
	case s.ttl == 0:
		s.ttl = DefaultTicketTTL
	case s.ttl < 0:
		return nil, errors.New("sandbox: ticket TTL is negative")
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	return s, nil
}

// enrichmentHeader validates and canonicalizes a header name ("" → default).
func enrichmentHeader(name string) (string, error) {
	if name == "" {
		return DefaultEnrichmentHeader, nil
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
			return "", fmt.Errorf("sandbox: enrichment header %q is not a header name", name)
		}
	}
	return http.CanonicalHeaderKey(name), nil
}

// Name returns "sandbox".
func (s *Sandbox) Name() string { return Name }

// TrustedProxies returns the proxies whose enrichment header the sandbox
// believes.
func (s *Sandbox) TrustedProxies() []netip.Prefix { return slices.Clone(s.trusted) }

// Identify runs the front leg: the subscriber is the one the enrichment
// header names when the request comes from a trusted proxy, else the one
// whose prefix holds the source address (longest prefix wins; an
// IPv4-mapped IPv6 source counts as IPv4). No subscriber: ErrNotCellular.
// Then the operator's faults apply.
func (s *Sandbox) Identify(ctx context.Context, req carrier.FrontRequest) (carrier.Line, error) {
	if err := ctx.Err(); err != nil {
		return carrier.Line{}, err
	}
	if kindCode(req.Kind) == 0 {
		return carrier.Line{}, fmt.Errorf("sandbox: unknown kind %q", req.Kind)
	}
	l, ok := s.subscriber(req)
	if !ok {
		return carrier.Line{}, carrier.ErrNotCellular
	}
	if err := s.fault(ctx, l.op, true); err != nil {
		return carrier.Line{}, err
	}
	if s.log.Enabled(ctx, slog.LevelDebug) {
		s.log.LogAttrs(ctx, slog.LevelDebug, "sandbox: line identified",
			slog.String("phone", carrier.Mask(l.phone)), slog.String("operator", string(l.op)),
			slog.String("kind", string(req.Kind)), slog.String("source", req.Source.String()))
	}
	return carrier.Line{
		Operator: l.op,
		Ticket:   s.sealer.seal(ticket{phone: l.phone, op: l.op, kind: req.Kind, issued: s.now()}),
		Masked:   carrier.Mask(l.phone),
	}, nil
}

// subscriber finds the line a front-leg request comes over.
func (s *Sandbox) subscriber(req carrier.FrontRequest) (line, bool) {
	src := req.Source.Unmap()
	if s.isTrusted(src) {
		// Exactly one value: a proxy that appended its own to the client's
		// names no one for sure.
		if vs := req.Header.Values(s.header); len(vs) == 1 {
			if phone, op, err := checkPhone(vs[0], ""); err == nil {
				return line{phone: phone, op: op}, true
			}
		}
	}
	return s.table.Load().lookup(src)
}

func (s *Sandbox) isTrusted(src netip.Addr) bool {
	for _, p := range s.trusted {
		if p.Contains(src) {
			return true
		}
	}
	return false
}

// fault applies op's faults to a call: latency, then (front leg only)
// maintenance and quota, then the error rate.
func (s *Sandbox) fault(ctx context.Context, op carrier.Operator, front bool) error {
	f, ok := (*s.faults.Load())[op]
	if !ok {
		return nil
	}
	if f.Latency > 0 {
		if err := s.wait(ctx, f.Latency); err != nil {
			return err
		}
	}
	if front && f.Maintenance {
		return fmt.Errorf("%w (sandbox fault for %s)", carrier.ErrMaintenance, op)
	}
	if front && f.QuotaExhausted {
		return fmt.Errorf("%w (sandbox fault for %s)", carrier.ErrQuota, op)
	}
	if f.ErrorRate > 0 && mathrand.Float64() < f.ErrorRate {
		return fmt.Errorf("%w (sandbox fault for %s: error rate %g)", carrier.ErrFailed, op, f.ErrorRate)
	}
	return nil
}

// sleep waits d, or until ctx ends and then returns ctx's error.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// backLeg opens a ticket of kind and applies its operator's faults.
func (s *Sandbox) backLeg(ctx context.Context, tkt string, kind carrier.Kind) (ticket, error) {
	if err := ctx.Err(); err != nil {
		return ticket{}, err
	}
	tk, err := s.sealer.open(tkt, kind, s.now(), s.ttl)
	if err != nil {
		return ticket{}, err
	}
	if err := s.fault(ctx, tk.op, false); err != nil {
		return ticket{}, err
	}
	return tk, nil
}

// Verify tells whether phone is the number of a verification ticket's line.
// phone may be in any form carrier.ParseE164 accepts.
func (s *Sandbox) Verify(ctx context.Context, tkt, phone string) (carrier.Verdict, error) {
	tk, err := s.backLeg(ctx, tkt, carrier.KindVerify)
	if err != nil {
		return "", err
	}
	p, err := carrier.ParseE164(phone)
	if err != nil {
		return "", err
	}
	if subtle.ConstantTimeCompare([]byte(p), []byte(tk.phone)) == 1 {
		return carrier.Pass, nil
	}
	return carrier.Reject, nil
}

// Number returns the number of a login ticket's line, in E.164 form.
func (s *Sandbox) Number(ctx context.Context, tkt string) (string, error) {
	tk, err := s.backLeg(ctx, tkt, carrier.KindLogin)
	if err != nil {
		return "", err
	}
	return tk.phone, nil
}

// MatchMask reports whether digits are the digits the mask of a login
// ticket's line hides (carrier.MaskDigits: the 4th to 7th digits of a
// mainland number); digits that are not four ASCII digits are an error wrapping
// carrier.ErrBadMask.
func (s *Sandbox) MatchMask(ctx context.Context, tkt, digits string) (bool, error) {
	tk, err := s.backLeg(ctx, tkt, carrier.KindLogin)
	if err != nil {
		return false, err
	}
	return carrier.MatchMaskDigits(tk.phone, digits)
}

// AddSubscriber adds a line to the table, or renumbers the line of an
// existing prefix. The prefix is masked ("10.0.0.7/24" is "10.0.0.0/24") and
// an IPv4-mapped IPv6 prefix becomes the IPv4 prefix it stands for. A
// mainland number must be in CM's, CU's or CT's blocks; a number of another
// country takes sub.Operator, or DefaultOperator.
func (s *Sandbox) AddSubscriber(sub Subscriber) error {
	c, l, err := checkSubscriber(sub)
	if err != nil {
		return fmt.Errorf("sandbox: %w", err)
	}
	s.mu.Lock()
	s.table.Store(s.table.Load().with(c, l))
	s.mu.Unlock()
	s.log.Info("sandbox: subscriber set", "prefix", c.Prefix.String(), "phone", carrier.Mask(c.Phone), "operator", string(l.op))
	return nil
}

// RemoveSubscriber removes the line of prefix (taken in the canonical form
// AddSubscriber stores) and reports whether there was one.
func (s *Sandbox) RemoveSubscriber(prefix netip.Prefix) bool {
	c, err := ipset.Canonical(prefix)
	if err != nil {
		return false
	}
	s.mu.Lock()
	t, ok := s.table.Load().without(c)
	s.table.Store(t)
	s.mu.Unlock()
	if ok {
		s.log.Info("sandbox: subscriber removed", "prefix", c.String())
	}
	return ok
}

// Subscribers returns the table, ordered by address, then prefix length.
func (s *Sandbox) Subscribers() []Subscriber {
	return slices.Clone(s.table.Load().sorted)
}

// SetFault sets the faults of op (CM, CU, CT or another valid operator
// code; others are ignored),
// replacing what was set before; the zero Fault clears them. A negative
// latency counts as none and the error rate is clamped to 0..1.
func (s *Sandbox) SetFault(op carrier.Operator, f Fault) {
	if !carrier.ValidOperator(op) {
		return
	}
	f.Latency = max(f.Latency, 0)
	if math.IsNaN(f.ErrorRate) {
		f.ErrorRate = 0
	}
	f.ErrorRate = min(max(f.ErrorRate, 0), 1)
	s.mu.Lock()
	faults := maps.Clone(*s.faults.Load())
	if f == (Fault{}) {
		delete(faults, op)
	} else {
		faults[op] = f
	}
	s.faults.Store(&faults)
	s.mu.Unlock()
	s.log.Info("sandbox: faults set", "operator", string(op), "latency", f.Latency.String(),
		"errorRate", f.ErrorRate, "maintenance", f.Maintenance, "quotaExhausted", f.QuotaExhausted)
}

// Faults returns the faults in force, by operator; an operator without
// faults is absent.
func (s *Sandbox) Faults() map[carrier.Operator]Fault {
	return maps.Clone(*s.faults.Load())
}
