package auth_test

// Regression tests from the review of the exactly-once and budget changes.

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/numauth/numauth/internal/auth"
	"github.com/numauth/numauth/internal/auth/authtest"
	"github.com/numauth/numauth/internal/carrier"
	"github.com/numauth/numauth/internal/store"
)

// TestReplayAfterLossWithClockSkew: an spToken minted by an instance whose
// clock runs ahead is refused after the store forgets, however soon: the
// token carries the epoch marker it was minted under; no clock decides.
func TestReplayAfterLossWithClockSkew(t *testing.T) {
	fs := &forgetful{}
	e := newEnvOpts(t, authtest.Options{WrapEphemeral: func(s store.Ephemeral) store.Ephemeral { fs.Ephemeral = s; return fs }})
	ctx := context.Background()
	real := e.now.Load()
	e.now.Store(real + int64(5*time.Second)) // the minting instance is 5 s ahead
	sp := e.verifyToken(t)
	if r, err := e.svc.VerifyNumber(ctx, e.caller, sp, phone); err != nil || r.Result != carrier.Pass {
		t.Fatalf("first use: %+v, %v", r, err)
	}
	e.now.Store(real + int64(time.Second)) // the instance that notices the loss has the right time
	fs.forget()
	if r, err := e.svc.VerifyNumber(ctx, e.caller, sp, phone); !errors.Is(err, auth.ErrTokenInvalid) {
		t.Fatalf("replay of a spent spToken after the loss: %+v, %v; want TOKEN_INVALID", r, err)
	}
}

// flakyEph fails Swap while down.
type flakyEph struct {
	store.Ephemeral
	down atomic.Bool
}

func (f *flakyEph) Swap(ctx context.Context, g store.Guard, key string, old, v []byte, ttl time.Duration) ([]byte, bool, error) {
	if f.down.Load() {
		return nil, false, store.ErrUnavailable
	}
	return f.Ephemeral.Swap(ctx, g, key, old, v, ttl)
}

// TestRetryAfterBlip: the record commits, then the ephemeral store blips,
// so the claim can be neither settled nor released. The client is told
// ServiceUnavailable, and its retries get ServiceUnavailable (never a
// final TOKEN_INVALID) until the claim's lease ends, then the recorded PASS.
func TestRetryAfterBlip(t *testing.T) {
	fe, fd := &flakyEph{}, &faultyDurable{}
	e := newEnvOpts(t, authtest.Options{
		WrapEphemeral: func(s store.Ephemeral) store.Ephemeral { fe.Ephemeral = s; return fe },
		WrapDurable:   func(d store.Durable) store.Durable { fd.Durable = d; return fd },
	})
	sp := e.verifyToken(t)
	fd.set(func(_ context.Context, real func() error) error { err := real(); fe.down.Store(true); return err })
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	_, err := e.svc.VerifyNumber(ctx, e.caller, sp, phone)
	cancel()
	if !errors.Is(err, auth.ErrUnavailable) {
		t.Fatalf("first call: %v, want ErrUnavailable", err)
	}
	fd.set(nil)
	fe.down.Store(false)
	deadline := time.Now().Add(5 * time.Second)
	for {
		r, err := e.svc.VerifyNumber(context.Background(), e.caller, sp, phone)
		if errors.Is(err, auth.ErrUnavailable) && time.Now().Before(deadline) {
			time.Sleep(100 * time.Millisecond)
			continue
		}
		if err != nil || r.Result != carrier.Pass {
			t.Fatalf("retry after ServiceUnavailable: %+v, %v; want the recorded PASS", r, err)
		}
		break
	}
	if n := e.records(t, "verify"); n.Pass != 1 {
		t.Fatalf("records: %+v, want one PASS", n)
	}
}

// lateDurable hides the next GetVerification: the earlier record lands
// between a retry's read and its write.
type lateDurable struct {
	store.Durable
	hide atomic.Bool
}

func (l *lateDurable) GetVerification(ctx context.Context, id string) (store.Verification, error) {
	if l.hide.CompareAndSwap(true, false) {
		return store.Verification{}, store.ErrNotFound
	}
	return l.Durable.GetVerification(ctx, id)
}

// TestRetryOtherNumberRace: a retry about another number never gets the
// first number's recorded answer, even when that record lands late.
func TestRetryOtherNumberRace(t *testing.T) {
	fd, ld := &faultyDurable{}, &lateDurable{}
	e := newEnvOpts(t, authtest.Options{WrapDurable: func(d store.Durable) store.Durable { fd.Durable = d; ld.Durable = fd; return ld }})
	ctx := context.Background()
	sp := e.verifyToken(t)
	fd.set(func(_ context.Context, real func() error) error {
		if err := real(); err != nil {
			return err
		}
		return errDisk // committed, reported as failed
	})
	if _, err := e.svc.VerifyNumber(ctx, e.caller, sp, phone); !errors.Is(err, auth.ErrUnavailable) {
		t.Fatalf("first call: %v", err)
	}
	fd.set(nil)
	ld.hide.Store(true)
	if r, err := e.svc.VerifyNumber(ctx, e.caller, sp, "13800138999"); !errors.Is(err, auth.ErrTokenInvalid) {
		t.Fatalf("retry about another number: %+v, %v; want TOKEN_INVALID", r, err)
	}
}

// ctxEph honours contexts as go-redis does.
type ctxEph struct{ store.Ephemeral }

func (c ctxEph) Swap(ctx context.Context, g store.Guard, key string, old, v []byte, ttl time.Duration) ([]byte, bool, error) {
	if err := ctx.Err(); err != nil {
		return nil, false, err
	}
	return c.Ephemeral.Swap(ctx, g, key, old, v, ttl)
}
func (c ctxEph) Incr(ctx context.Context, key string, ttl time.Duration) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	return c.Ephemeral.Incr(ctx, key, ttl)
}
func (c ctxEph) Decr(ctx context.Context, key string) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	return c.Ephemeral.Decr(ctx, key)
}

// TestCommitAtDeadline: a record committed just before the call's deadline
// is settled and answered, not answered 503 while billed.
func TestCommitAtDeadline(t *testing.T) {
	fd := &faultyDurable{}
	e := newEnvOpts(t, authtest.Options{
		WrapEphemeral: func(s store.Ephemeral) store.Ephemeral { return ctxEph{s} },
		WrapDurable:   func(d store.Durable) store.Durable { fd.Durable = d; return fd },
	})
	sp := e.verifyToken(t)
	fd.set(func(ctx context.Context, real func() error) error {
		err := real()
		if d, ok := ctx.Deadline(); ok {
			time.Sleep(time.Until(d) - time.Millisecond) // a slow fsync that still makes it
		}
		return err
	})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err := e.svc.VerifyNumber(ctx, e.caller, sp, phone)
	if n := e.records(t, "verify"); err != nil && n.Pass == 1 {
		t.Fatalf("client told %v, but a billable PASS is recorded", err)
	}
}

// abortingCarrier cancels the call's context during the mask check, as a
// page that goes away does.
type abortingCarrier struct {
	carrier.NetworkIdentified
	abort atomic.Pointer[context.CancelFunc]
}

func (a *abortingCarrier) MatchMask(ctx context.Context, ticket, digits string) (bool, error) {
	if c := a.abort.Swap(nil); c != nil {
		(*c)()
		return false, ctx.Err()
	}
	return a.NetworkIdentified.MatchMask(ctx, ticket, digits)
}

// TestAbortedMaskLeaksNoUnits: attempts whose page went away give their
// units back, on a store that honours contexts.
func TestAbortedMaskLeaksNoUnits(t *testing.T) {
	ac := &abortingCarrier{}
	e := newEnvOpts(t, authtest.Options{
		WrapEphemeral: func(s store.Ephemeral) store.Ephemeral { return ctxEph{s} },
		WrapCarrier: func(a carrier.Adapter) carrier.Adapter {
			ac.NetworkIdentified = a.(carrier.NetworkIdentified)
			return ac
		},
	})
	for i := 0; i < 3; i++ {
		sid := e.loginSession(t, e.caller, "")
		ctx, cancel := context.WithCancel(context.Background())
		ac.abort.Store(&cancel)
		e.svc.MintLoginToken(ctx, sid, origin, "1111")
		cancel()
	}
	sid := e.loginSession(t, e.caller, "")
	if sid == "" {
		t.Fatal("number locked by aborted attempts")
	}
	if _, err := e.svc.MintLoginToken(context.Background(), sid, origin, "0013"); err != nil {
		t.Fatalf("correct mask after three aborted attempts: %v", err)
	}
}
