package auth

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/numauth/numauth/internal/limit"
)

// ConsumeNonce marks a signed request's nonce seen, once across instances,
// under the epoch guard: a store that forgot the nonces it had seen (and
// with them its epoch marker) accepts none until the new epoch is known,
// and then only requests signed after it. scope keeps nonces of different
// signers apart (the AccessKey id); signedAt is the request's timestamp;
// ttl is how long the nonce must be remembered (the timestamp window).
// It returns ErrNonceUsed for a replay and ErrSignedBeforeEpoch for a
// request signed before the current epoch.
func (s *Service) ConsumeNonce(ctx context.Context, scope, nonce string, signedAt time.Time, ttl time.Duration) error {
	// Signed timestamps have one-second resolution, so a request counts as
	// signed at the start of its second, less a millisecond: one signed in
	// the second the epoch began is refused too, since it may have been
	// seen in that second before the store forgot. (serve waits for the
	// epoch's second to pass before it takes calls, so only clients whose
	// clocks are behind, or the moment after a loss, see the refusal.)
	issued := stamp{at: signedAt.Unix()*1000 - 1}
	_, fresh, err := s.guardedSwap(ctx, issued, kNonce+scope+":"+nonce, nil, []byte{1}, ttl)
	if errors.Is(err, errBeforeEpoch) {
		return fmt.Errorf("%w: %w", ErrSignedBeforeEpoch, err)
	}
	if err != nil {
		return err
	}
	if !fresh {
		return ErrNonceUsed
	}
	return nil
}

// Throttle counts one call of an AccessKey against perSecond calls per
// second across all instances; past it the answer is ErrThrottled.
// perSecond <= 0 is no limit.
func (s *Service) Throttle(ctx context.Context, keyID string, perSecond int) error {
	if perSecond <= 0 {
		return nil
	}
	// One window per clock second (the limiter's windows are aligned to
	// the service's clock), as Alibaba's flow control counts per second.
	b := limit.Budget{Name: "thr", Limit: perSecond, Window: time.Second}
	err := s.limits.Spend(ctx, b.For(keyID))
	if errors.Is(err, limit.ErrExhausted) {
		return ErrThrottled
	}
	if err != nil {
		return storeErr("throttle", err)
	}
	return nil
}
