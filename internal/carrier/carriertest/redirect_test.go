package carriertest_test

// A small redirect adapter, written here to prove that the suite's redirect
// part passes a correct one and catches broken ones (mutant_test.go runs
// the broken ones). Its operator is a fake: Authorize maps the phone to an
// address of a sandbox, and Complete identifies the line from that address,
// so the back leg is the sandbox's.

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/netip"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/numauth/numauth/internal/carrier"
	"github.com/numauth/numauth/internal/carrier/carriertest"
	"github.com/numauth/numauth/internal/carrier/sandbox"
)

type redirectState struct {
	kind    carrier.Kind
	binding string
	expires time.Time
}

// redirectAdapter is a Redirector, and not a NetworkIdentified: only the
// sandbox's back leg is promoted.
type redirectAdapter struct {
	carrier.Adapter
	sb *sandbox.Sandbox

	mu     sync.Mutex
	states map[string]redirectState
	offset time.Duration
	lines  map[string]netip.Addr // the fake operator's: phone → sandbox address

	// Breaks, for the mutants.
	replayable, unbound, noExpiry, ignoreCancel, deniedIsFailure bool
}

var _ carrier.Redirector = (*redirectAdapter)(nil)

const stateTTL = 10 * time.Minute

func (a *redirectAdapter) now() time.Time {
	a.mu.Lock()
	defer a.mu.Unlock()
	return time.Now().Add(a.offset)
}

func (a *redirectAdapter) Begin(ctx context.Context, req carrier.BeginRequest) (carrier.Redirect, error) {
	if err := ctx.Err(); err != nil {
		return carrier.Redirect{}, err
	}
	b := make([]byte, 16)
	rand.Read(b)
	st := hex.EncodeToString(b)
	exp := a.now().Add(stateTTL)
	a.mu.Lock()
	a.states[st] = redirectState{kind: req.Kind, binding: req.SessionBinding, expires: exp}
	a.mu.Unlock()
	return carrier.Redirect{URL: "https://operator.test/authorize?state=" + st, State: st}, nil
}

func (a *redirectAdapter) Complete(ctx context.Context, req carrier.CallbackRequest) (carrier.Line, error) {
	if a.ignoreCancel {
		ctx = context.WithoutCancel(ctx)
	}
	if err := ctx.Err(); err != nil {
		return carrier.Line{}, err
	}
	now := a.now()
	a.mu.Lock()
	st, ok := a.states[req.State]
	switch {
	case !ok || req.Query.Get("state") != req.State:
		a.mu.Unlock()
		return carrier.Line{}, fmt.Errorf("%w: unknown state", carrier.ErrTicketInvalid)
	case !a.unbound && st.binding != req.SessionBinding:
		a.mu.Unlock()
		return carrier.Line{}, fmt.Errorf("%w: state of another session", carrier.ErrTicketInvalid)
	}
	if !a.replayable {
		delete(a.states, req.State)
	}
	a.mu.Unlock()
	if !a.noExpiry && now.After(st.expires) {
		return carrier.Line{}, fmt.Errorf("%w: state expired", carrier.ErrTicketInvalid)
	}
	switch e := req.Query.Get("error"); {
	case (e == "access_denied" || e == "login_required") && !a.deniedIsFailure:
		return carrier.Line{}, fmt.Errorf("%w: operator answered %s", carrier.ErrNotCellular, e)
	case e != "":
		return carrier.Line{}, fmt.Errorf("%w: operator answered %s", carrier.ErrFailed, e)
	}
	src, err := netip.ParseAddr(req.Query.Get("code"))
	if err != nil {
		return carrier.Line{}, fmt.Errorf("%w: bad code", carrier.ErrFailed)
	}
	return a.sb.Identify(ctx, carrier.FrontRequest{Source: src, Kind: st.kind})
}

// authorize is the fake operator.
func (a *redirectAdapter) authorize(t *testing.T, r carrier.Redirect, phone string) url.Values {
	u, err := url.Parse(r.URL)
	if err != nil {
		t.Errorf("Begin's URL %q: %v", r.URL, err)
		return nil
	}
	st := u.Query().Get("state")
	if phone == "" {
		return url.Values{"state": {st}, "error": {"access_denied"}}
	}
	a.mu.Lock()
	src, ok := a.lines[phone]
	if !ok {
		n := len(a.lines) + 1
		src = netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 0xaa, 0xaa, 14: byte(n >> 8), 15: byte(n)})
		a.lines[phone] = src
	}
	a.mu.Unlock()
	if !ok {
		if err := a.sb.AddSubscriber(sandbox.Subscriber{Prefix: netip.PrefixFrom(src, 128), Phone: phone}); err != nil {
			t.Errorf("fake operator: %v", err)
		}
	}
	return url.Values{"state": {st}, "code": {src.String()}}
}

func redirectHarness(mutate func(*redirectAdapter)) carriertest.Harness {
	return carriertest.Harness{New: func(t *testing.T) carriertest.World {
		sb, err := sandbox.New(sandbox.Config{})
		if err != nil {
			t.Fatal(err)
		}
		a := &redirectAdapter{Adapter: sb, sb: sb, states: map[string]redirectState{}, lines: map[string]netip.Addr{}}
		if mutate != nil {
			mutate(a)
		}
		return carriertest.World{
			Adapter:   a,
			Authorize: a.authorize,
			Advance: func(d time.Duration) {
				a.mu.Lock()
				a.offset += d
				a.mu.Unlock()
			},
		}
	}}
}

// TestRedirectConformance: a correct redirect adapter passes the suite.
func TestRedirectConformance(t *testing.T) {
	carriertest.Run(t, redirectHarness(nil))
}

// redirectMutants break the redirect adapter one way at a time.
var redirectMutants = map[string]struct {
	caughtBy string
	mutate   func(*redirectAdapter)
}{
	"redirect state replayable":               {"RedirectReplay", func(a *redirectAdapter) { a.replayable = true }},
	"redirect state not bound to its session": {"RedirectBinding", func(a *redirectAdapter) { a.unbound = true }},
	"redirect state never expires":            {"RedirectExpiry", func(a *redirectAdapter) { a.noExpiry = true }},
	"redirect Complete ignores cancellation":  {"RedirectCancelled", func(a *redirectAdapter) { a.ignoreCancel = true }},
	"redirect access_denied is a failure":     {"RedirectDenied", func(a *redirectAdapter) { a.deniedIsFailure = true }},
}
