// Package limit is numauth's one mechanism for budgets and rate limits:
// how many wrong masks a phone number may take, how many gateway sessions a
// token pair or a source address may open, and (as they arrive) how many
// SMS codes a number may be sent or checked. Every count lives in the
// shared ephemeral store, so it holds across sessions, token pairs and
// instances: opening a new session, minting new tokens or reaching another
// instance never buys another try.
//
// A budget is a number of units per fixed window; the window starts with
// the first unit a subject spends and the counter expires with it. Units
// are reserved before the guarded attempt (so parallel attempts can never
// spend more than the budget between them) and given back when the attempt
// turns out not to count (a correct mask).
package limit

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/numauth/numauth/internal/store"
)

// Counter is what the limiter needs of the ephemeral store.
type Counter interface {
	Incr(ctx context.Context, key string, ttl time.Duration) (int64, error)
	Decr(ctx context.Context, key string) (int64, error)
	Get(ctx context.Context, key string) ([]byte, error)
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
}

// For is the charge of one unit of b to subject.
func (b Budget) For(subject string) Charge { return Charge{b, subject} }

func (c Charge) key() string { return "lim:" + c.Budget.Name + ":" + c.Subject }

// ErrExhausted is returned (wrapped in *ExhaustedError) when a budget has
// no unit left for its subject.
var ErrExhausted = errors.New("limit: budget exhausted")

// ExhaustedError names the budget that was spent. It unwraps to ErrExhausted.
type ExhaustedError struct{ Budget string }

func (e *ExhaustedError) Error() string { return fmt.Sprintf("limit: budget %q exhausted", e.Budget) }

// Unwrap makes errors.Is(err, ErrExhausted) hold.
func (e *ExhaustedError) Unwrap() error { return ErrExhausted }

// Limiter counts budgets in the ephemeral store.
type Limiter struct{ c Counter }

// New returns a limiter over c.
func New(c Counter) *Limiter { return &Limiter{c: c} }

// Reservation is the units one Reserve took.
type Reservation struct {
	l       *Limiter
	charges []Charge
	counts  []int64
}

// Reserve takes one unit of every charge, all or none: if any budget has
// no unit left, the units already taken are given back and the error is an
// *ExhaustedError naming that budget. Store failures are returned as they
// are (wrapping store.ErrUnavailable when the store is down), after giving
// back what was taken where the store allows.
func (l *Limiter) Reserve(ctx context.Context, charges ...Charge) (*Reservation, error) {
	r := &Reservation{l: l}
	for _, c := range charges {
		if c.Budget.Limit <= 0 {
			continue
		}
		n, err := l.c.Incr(ctx, c.key(), c.Budget.Window)
		if err != nil {
			r.Refund(ctx)
			return nil, fmt.Errorf("limit %s: %w", c.Budget.Name, err)
		}
		r.charges, r.counts = append(r.charges, c), append(r.counts, n)
		if n > int64(c.Budget.Limit) {
			r.Refund(ctx)
			return nil, &ExhaustedError{Budget: c.Budget.Name}
		}
	}
	return r, nil
}

// Left is the smallest number of units any reserved budget has left after
// this reservation (0: this one took the last unit of some budget).
// Unlimited budgets are not counted; with none, Left is -1.
func (r *Reservation) Left() int {
	left := -1
	for i, c := range r.charges {
		if l := c.Budget.Limit - int(r.counts[i]); left < 0 || l < left {
			left = l
		}
	}
	return left
}

// Refund gives the reserved units back (the attempt did not count). It is
// best effort: a unit that cannot be given back stays spent, which errs on
// the side of the person the budget protects. It reports the first failure.
func (r *Reservation) Refund(ctx context.Context) error {
	var first error
	for _, c := range r.charges {
		if _, err := r.l.c.Decr(ctx, c.key()); err != nil && first == nil {
			first = fmt.Errorf("limit %s: refund: %w", c.Budget.Name, err)
		}
	}
	r.charges, r.counts = nil, nil
	return first
}

// Check reports, without spending anything, whether every charge still has
// a unit left; if not, the error is an *ExhaustedError.
func (l *Limiter) Check(ctx context.Context, charges ...Charge) error {
	for _, c := range charges {
		if c.Budget.Limit <= 0 {
			continue
		}
		v, err := l.c.Get(ctx, c.key())
		if errors.Is(err, store.ErrNotFound) {
			continue
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
	}
	return nil
}
