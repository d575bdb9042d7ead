// Package limit is numauth's one mechanism for budgets and rate limits:
// how many wrong masks a phone number may take, how many gateway sessions a
// token pair or a source address may open, and (as they arrive) how many
// SMS codes a number may be sent or checked. Every count lives in the
// shared ephemeral store, so it holds across sessions, token pairs and
// instances: opening a new session, minting new tokens or reaching another
// instance never buys another try.
//
// A budget is a number of units per fixed window: windows are aligned to
// multiples of the budget's length on the limiter's clock, and every
// counter of a subject belongs to one window (its key names it), so all of
// them start and end together. Units are reserved before the guarded
// attempt (so parallel attempts can never spend more than the budget
// between them), then either kept (the attempt counts: a wrong mask) or
// given back (it does not: a correct mask). Two counters per subject and
// window tell the cases apart: "n" holds reserved and kept units and is
// what a reservation is checked against; "k" holds kept units only and is
// what decides that a subject is exhausted. A reservation refused while
// units are merely reserved by attempts in flight is ErrBusy (try again in
// a moment), not ErrExhausted.
//
// Windows are fixed, not sliding: a subject can spend Limit units at the end
// of one window and Limit more at the start of the next, so any span of one
// window length sees at most 2×Limit. For the wrong-mask budget that is 6 of
// 10⁴ masks a day.
package limit

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/numauth/numauth/internal/store"
)

// Counter is what the limiter needs of the ephemeral store.
type Counter interface {
	Incr(ctx context.Context, key string, ttl time.Duration) (int64, error)
	Decr(ctx context.Context, key string) (int64, error)
	Get(ctx context.Context, key string) ([]byte, error)
	Swap(ctx context.Context, g store.Guard, key string, old, value []byte, ttl time.Duration) ([]byte, bool, error)
}

// Budget is Limit units per Window for each subject.
type Budget struct {
	// Name is the budget's key family; each budget has its own. It is
	// part of every counter's key ("lim:" + Name + ":" + subject).
	Name   string
	Limit  int // <= 0: unlimited (nothing is counted)
	Window time.Duration
}

// Charge is one unit of a budget for one subject (a phone number's keyed
// hash, an account and a hash, a token id, a source address).
type Charge struct {
	Budget  Budget
	Subject string
	// until, when set, makes the budget one span for the subject that ends
	// then, instead of aligned windows (see Until).
	until time.Time
}

// For is the charge of one unit of b to subject.
func (b Budget) For(subject string) Charge { return Charge{Budget: b, Subject: subject} }

// Until is the charge of one unit of b to a subject that lives until end
// (an SMS code, until it expires): its counters are not windowed but last
// the subject's whole life, so the subject gets exactly Limit units,
// however its life falls across window boundaries. b.Window is unused.
func (b Budget) Until(subject string, end time.Time) Charge {
	return Charge{Budget: b, Subject: subject, until: end}
}

// window is a charge's counters in one window.
type window struct {
	c        Charge
	n, k     string        // the keys of the reservation and kept counters
	ttl      time.Duration // until the window ends, and a minute for clocks
	disabled bool          // an unlimited budget
}

func (l *Limiter) window(c Charge) window {
	w := c.Budget.Window
	if !c.until.IsZero() {
		if c.Budget.Limit <= 0 {
			return window{c: c, disabled: true}
		}
		pre := "lim:" + c.Budget.Name
		return window{c: c, n: pre + ":n:life:" + c.Subject, k: pre + ":k:life:" + c.Subject,
			ttl: max(c.until.Sub(l.now()), time.Millisecond) + time.Minute}
	}
	if c.Budget.Limit <= 0 || w <= 0 {
		return window{c: c, disabled: true}
	}
	now := l.now()
	idx := now.UnixMilli() / w.Milliseconds()
	end := time.UnixMilli((idx + 1) * w.Milliseconds())
	at := ":" + strconv.FormatInt(idx, 10) + ":"
	return window{c: c, n: "lim:" + c.Budget.Name + ":n" + at + c.Subject, k: "lim:" + c.Budget.Name + ":k" + at + c.Subject,
		ttl: end.Sub(now) + time.Minute}
}

// ErrExhausted is returned (wrapped in *ExhaustedError) when a budget has
// no unit left for its subject.
var ErrExhausted = errors.New("limit: budget exhausted")

// ErrBusy: every unit left is reserved by attempts still in flight; one of
// them may give its unit back, so the caller may try again shortly.
var ErrBusy = errors.New("limit: budget reserved by attempts in flight")

// ExhaustedError names the budget that was spent. It unwraps to ErrExhausted.
type ExhaustedError struct{ Budget string }

func (e *ExhaustedError) Error() string { return fmt.Sprintf("limit: budget %q exhausted", e.Budget) }

// Unwrap makes errors.Is(err, ErrExhausted) hold.
func (e *ExhaustedError) Unwrap() error { return ErrExhausted }

// Limiter counts budgets in the ephemeral store.
type Limiter struct {
	c   Counter
	now func() time.Time
}

// New returns a limiter over c whose windows follow the clock now (nil:
// time.Now). Windows shorter than a millisecond are not supported.
func New(c Counter, now func() time.Time) *Limiter {
	if now == nil {
		now = time.Now
	}
	return &Limiter{c: c, now: now}
}

// Reservation is the units one Reserve took.
type Reservation struct {
	l       *Limiter
	windows []window
}

// Spend takes one unit of every charge for good, all or none: the budgets
// of events that count as they happen (sessions opened, calls made). If
// any budget has no unit left, the units already taken are given back and
// the error is an *ExhaustedError naming it.
func (l *Limiter) Spend(ctx context.Context, charges ...Charge) error {
	_, err := l.take(ctx, charges, func(w window) error { return &ExhaustedError{Budget: w.c.Budget.Name} })
	return err
}

// Reserve takes one unit of every charge, all or none: if any budget has
// no unit left, the units already taken are given back and the error is an
// *ExhaustedError naming that budget, or ErrBusy if its units are only
// reserved by attempts in flight. Store failures are returned as they are
// (wrapping store.ErrUnavailable when the store is down), after giving back
// what was taken where the store allows.
func (l *Limiter) Reserve(ctx context.Context, charges ...Charge) (*Reservation, error) {
	return l.take(ctx, charges, func(w window) error {
		// "n" counts kept units too, so a spent budget always ends up
		// here; only now is "k" read, to tell spent from busy. The common
		// case costs one store operation per budget.
		if err := l.check(ctx, w); err != nil {
			return err
		}
		return fmt.Errorf("limit %s: %w", w.c.Budget.Name, ErrBusy)
	})
}

// take counts one unit of every charge in its window's "n" counter, all
// or none; over says what a budget whose counter went past its limit means.
// The counters are independent, so they are counted at once (one store
// round trip for all of them); the outcome is the sequential one's: the
// first charge, in order, that failed or went past its limit decides, and
// every unit taken is given back. A later charge's counter is then counted
// and given back too, which can only make a concurrent attempt at that
// budget's last unit fail, never let one more through.
func (l *Limiter) take(ctx context.Context, charges []Charge, over func(window) error) (*Reservation, error) {
	ws := make([]window, 0, len(charges))
	for _, c := range charges {
		if w := l.window(c); !w.disabled {
			ws = append(ws, w)
		}
	}
	ns, errs := make([]int64, len(ws)), make([]error, len(ws))
	each(len(ws), func(i int) { ns[i], errs[i] = l.c.Incr(ctx, ws[i].n, ws[i].ttl) })
	r := &Reservation{l: l}
	for i, w := range ws {
		if errs[i] == nil {
			r.windows = append(r.windows, w)
		}
	}
	for i, w := range ws {
		if errs[i] != nil {
			r.Refund(ctx)
			return nil, fmt.Errorf("limit %s: %w", w.c.Budget.Name, errs[i])
		}
		if ns[i] > int64(w.c.Budget.Limit) {
			r.Refund(ctx)
			return nil, over(w)
		}
	}
	return r, nil
}

// each runs fn(0) … fn(n-1) at once and returns when all have: the store
// operations of one call's budgets, which do not depend on each other, cost
// one round trip instead of n. A single one runs on the caller's goroutine.
func each(n int, fn func(i int)) {
	if n == 1 {
		fn(0)
		return
	}
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { fn(i) })
	}
	wg.Wait()
}

// Keep makes the reserved units count: the attempt happened (a wrong
// mask). It returns the smallest number of units any of the budgets has
// left for its subject (0: this one spent a budget); with no limited
// budget, -1.
func (r *Reservation) Keep(ctx context.Context) (int, error) {
	ws := r.windows
	r.windows = nil
	ns, errs := make([]int64, len(ws)), make([]error, len(ws))
	each(len(ws), func(i int) { ns[i], errs[i] = r.l.c.Incr(ctx, ws[i].k, ws[i].ttl) })
	left := -1
	for i, w := range ws {
		if errs[i] != nil {
			return 0, fmt.Errorf("limit %s: keep: %w", w.c.Budget.Name, errs[i])
		}
		if l := max(w.c.Budget.Limit-int(ns[i]), 0); left < 0 || l < left {
			left = l
		}
	}
	return left, nil
}

// Refund gives the reserved units back (the attempt did not count). It is
// best effort: a unit that cannot be given back stays spent, which errs on
// the side of the person the budget protects. It reports the first failure.
func (r *Reservation) Refund(ctx context.Context) error {
	ws := r.windows
	r.windows = nil
	errs := make([]error, len(ws))
	each(len(ws), func(i int) { _, errs[i] = r.l.c.Decr(ctx, ws[i].n) })
	for i, err := range errs {
		if err != nil {
			return fmt.Errorf("limit %s: refund: %w", ws[i].c.Budget.Name, err)
		}
	}
	return nil
}

// Check reports, without spending anything, whether every charge still has
// a unit that is not kept; if not, the error is an *ExhaustedError. Units
// merely reserved by attempts in flight do not exhaust a budget here.
func (l *Limiter) Check(ctx context.Context, charges ...Charge) error {
	ws := make([]window, 0, len(charges))
	for _, c := range charges {
		if w := l.window(c); !w.disabled {
			ws = append(ws, w)
		}
	}
	errs := make([]error, len(ws))
	each(len(ws), func(i int) { errs[i] = l.check(ctx, ws[i]) })
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func (l *Limiter) check(ctx context.Context, w window) error {
	c := w.c
	v, err := l.c.Get(ctx, w.k)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("limit %s: %w", c.Budget.Name, err)
	}
	n, err := strconv.ParseInt(string(v), 10, 64)
	if err != nil {
		return fmt.Errorf("limit %s: counter holds %q", c.Budget.Name, v)
	}
	if n >= int64(c.Budget.Limit) {
		return &ExhaustedError{Budget: c.Budget.Name}
	}
	return nil
}

// Cooldown allows one event per Interval for each subject, measured from
// the event itself rather than in aligned windows: the SMS Interval ("one
// code per number per minute"), which must hold for two sends a second
// apart on either side of a window boundary. A hold is one store entry
// that lives for Interval; taking it is one atomic step, so of many
// parallel claims exactly one succeeds, on every instance.
type Cooldown struct {
	Name     string // key family, as Budget.Name
	Interval time.Duration
}

// Hold is a cooldown Claim took.
type Hold struct {
	l     *Limiter
	key   string
	token []byte
}

// Claim takes the cooldown for subject. If it is held (an event happened
// less than Interval ago), the error is an *ExhaustedError naming it.
func (l *Limiter) Claim(ctx context.Context, c Cooldown, subject string) (*Hold, error) {
	if c.Interval <= 0 {
		return &Hold{l: l}, nil
	}
	var tok [12]byte
	rand.Read(tok[:])
	h := &Hold{l: l, key: "lim:" + c.Name + ":c:" + subject, token: []byte(hex.EncodeToString(tok[:]))}
	// Absent, or released and not yet expired: either way free to take,
	// each in one atomic step.
	prev, ok, err := l.c.Swap(ctx, store.Guard{}, h.key, nil, h.token, c.Interval)
	if err == nil && !ok && string(prev) == released {
		_, ok, err = l.c.Swap(ctx, store.Guard{}, h.key, []byte(released), h.token, c.Interval)
	}
	if err != nil {
		return nil, fmt.Errorf("limit %s: %w", c.Name, err)
	}
	if !ok {
		return nil, &ExhaustedError{Budget: c.Name}
	}
	return h, nil
}

// released is a given-back hold's value until it expires.
const released = "released"

// Release gives the cooldown back (the event did not happen after all),
// if it is still this hold's: a hold that expired and was claimed again
// by another event is left alone.
func (h *Hold) Release(ctx context.Context) error {
	if h == nil || h.key == "" {
		return nil
	}
	// A value that expires at once: Swap cannot delete, and a plain Delete
	// could remove a later event's hold.
	if _, _, err := h.l.c.Swap(ctx, store.Guard{}, h.key, h.token, []byte(released), time.Millisecond); err != nil {
		return fmt.Errorf("limit: release cooldown: %w", err)
	}
	return nil
}
