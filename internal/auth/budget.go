package auth

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/numauth/numauth/internal/limit"
)

// reserveWaiting reserves a unit of every charge. While the units left
// are only reserved by attempts in flight, it waits for them to settle, a
// fraction of a millisecond at a time, up to busyWait; then it answers
// ErrUnavailable. A spent budget is exhausted wrapped in exhausted (or
// returned as it is when exhausted is nil).
func (s *Service) reserveWaiting(ctx context.Context, what string, exhausted error, charges ...limit.Charge) (*limit.Reservation, error) {
	// Units in flight are held for a few store round trips: wait about
	// that long between tries, not longer.
	const wait = 200 * time.Microsecond
	for spent := time.Duration(0); ; spent += wait {
		res, err := s.limits.Reserve(ctx, charges...)
		switch {
		case err == nil:
			return res, nil
		case errors.Is(err, limit.ErrExhausted) && exhausted != nil:
			return nil, fmt.Errorf("%w: %w", exhausted, err)
		case errors.Is(err, limit.ErrExhausted):
			return nil, err
		case errors.Is(err, limit.ErrBusy) && spent < busyWait:
			select {
			case <-time.After(wait):
			case <-ctx.Done():
				return nil, storeErr("wait for parallel attempts", ctx.Err())
			}
		case errors.Is(err, limit.ErrBusy):
			return nil, fmt.Errorf("%w: too many parallel attempts (%s): %w", ErrUnavailable, what, err)
		default:
			return nil, storeErr(what, err)
		}
	}
}

// busyWait bounds how long an attempt waits for parallel attempts on the
// same budget to settle.
const busyWait = 250 * time.Millisecond
