package auth_test

import (
	"context"
	"errors"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/numauth/numauth/internal/auth"
	"github.com/numauth/numauth/internal/auth/authtest"
	"github.com/numauth/numauth/internal/carrier"
	"github.com/numauth/numauth/internal/store"
	"github.com/numauth/numauth/internal/token"
)

// forgetful is an ephemeral store that can lose everything at once, as an
// in-memory Redis does on a restart: every key lives under a generation,
// and forget starts a new one.
type forgetful struct {
	store.Ephemeral
	gen atomic.Int64
}

func (f *forgetful) k(key string) string { return strconv.FormatInt(f.gen.Load(), 10) + "/" + key }
func (f *forgetful) forget()             { f.gen.Add(1) }

func (f *forgetful) PutIfAbsent(ctx context.Context, key string, v []byte, ttl time.Duration) (bool, error) {
	return f.Ephemeral.PutIfAbsent(ctx, f.k(key), v, ttl)
}
func (f *forgetful) Put(ctx context.Context, key string, v []byte, ttl time.Duration) error {
	return f.Ephemeral.Put(ctx, f.k(key), v, ttl)
}
func (f *forgetful) Get(ctx context.Context, key string) ([]byte, error) {
	return f.Ephemeral.Get(ctx, f.k(key))
}
func (f *forgetful) Take(ctx context.Context, key string) ([]byte, error) {
	return f.Ephemeral.Take(ctx, f.k(key))
}
func (f *forgetful) Delete(ctx context.Context, key string) error {
	return f.Ephemeral.Delete(ctx, f.k(key))
}
func (f *forgetful) Incr(ctx context.Context, key string, ttl time.Duration) (int64, error) {
	return f.Ephemeral.Incr(ctx, f.k(key), ttl)
}
func (f *forgetful) Decr(ctx context.Context, key string) (int64, error) {
	return f.Ephemeral.Decr(ctx, f.k(key))
}
func (f *forgetful) Swap(ctx context.Context, g store.Guard, key string, old, v []byte, ttl time.Duration) ([]byte, bool, error) {
	if !g.IsZero() {
		g.Key = f.k(g.Key)
	}
	return f.Ephemeral.Swap(ctx, g, f.k(key), old, v, ttl)
}

// TestReplayRightAfterStoreForgets: the moment the ephemeral store loses
// its data, before any poll could notice, neither a spent spToken nor a
// seen nonce is accepted again: the epoch guard is inside the consumption.
func TestReplayRightAfterStoreForgets(t *testing.T) {
	fs := &forgetful{}
	e := newEnvOpts(t, authtest.Options{WrapEphemeral: func(s store.Ephemeral) store.Ephemeral { fs.Ephemeral = s; return fs }})
	ctx := context.Background()
	// Two seconds after the service started, 100 ms into a second: the
	// request below and the loss 10 ms later fall in one second.
	e.now.Store(time.Unix(0, e.now.Load()).Truncate(time.Second).Add(2100 * time.Millisecond).UnixNano())
	sp := e.verifyToken(t)
	if r, err := e.svc.VerifyNumber(ctx, e.caller, sp, phone); err != nil || r.Result != carrier.Pass {
		t.Fatalf("first use: %+v, %v", r, err)
	}
	signedAt := time.Unix(0, e.now.Load())
	if err := e.svc.ConsumeNonce(ctx, "key", "n1", signedAt, time.Minute); err != nil {
		t.Fatalf("first nonce: %v", err)
	}
	e.now.Add(int64(10 * time.Millisecond)) // the loss comes 10 ms later, most likely in the same second
	fs.forget()
	if r, err := e.svc.VerifyNumber(ctx, e.caller, sp, phone); !errors.Is(err, auth.ErrTokenInvalid) {
		t.Fatalf("spent spToken right after the store forgot: %+v, %v; want TOKEN_INVALID", r, err)
	}
	if err := e.svc.ConsumeNonce(ctx, "key", "n1", signedAt, time.Minute); !errors.Is(err, auth.ErrSignedBeforeEpoch) {
		t.Fatalf("seen nonce right after the store forgot: %v; want ErrSignedBeforeEpoch", err)
	}
	// What is issued and signed after the new epoch works.
	if r, err := e.svc.VerifyNumber(ctx, e.caller, e.verifyToken(t), phone); err != nil || r.Result != carrier.Pass {
		t.Fatalf("new token after the loss: %+v, %v", r, err)
	}
	if err := e.svc.ConsumeNonce(ctx, "key", "n2", time.Unix(0, e.now.Load()).Add(time.Second), time.Minute); err != nil {
		t.Fatalf("new nonce after the loss: %v", err)
	}
}

// TestReplayAfterLease: an answered token stays spent after its claim's
// lease would have run out; only an unanswered claim can be taken over.
func TestReplayAfterLease(t *testing.T) {
	e := newEnv(t)
	sp := e.verifyToken(t)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	r, err := e.svc.VerifyNumber(ctx, e.caller, sp, phone)
	cancel()
	if err != nil || r.Result != carrier.Pass {
		t.Fatalf("first use: %+v, %v", r, err)
	}
	time.Sleep(100*time.Millisecond + 1200*time.Millisecond) // past the deadline and the lease's grace
	if r, err := e.svc.VerifyNumber(context.Background(), e.caller, sp, phone); !errors.Is(err, auth.ErrTokenInvalid) {
		t.Fatalf("replay after the lease: %+v, %v; want TOKEN_INVALID", r, err)
	}
}

// TestDeletedSchemeStopsSessionsAndTokens: after DeleteVerifyScheme, a
// session opened before cannot mint tokens, and an spToken minted before
// is TOKEN_INVALID, not a billable answer.
func TestDeletedSchemeStopsSessionsAndTokens(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	sid := e.session(t, carrier.KindVerify, token.BizAny)
	login := e.session(t, carrier.KindLogin, token.BizAny)
	sp := e.verifyToken(t)
	if err := e.svc.DeleteScheme(ctx, e.caller, e.scheme.Code); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.MintVerifyToken(ctx, sid, origin, carrier.FrontRequest{Source: lineAddr}); !errors.Is(err, auth.ErrSchemeGone) {
		t.Fatalf("verify-token on a session of a deleted scheme: %v", err)
	}
	if _, err := e.svc.LoginMask(ctx, login, origin, carrier.FrontRequest{Source: lineAddr}); !errors.Is(err, auth.ErrSchemeGone) {
		t.Fatalf("login-mask on a session of a deleted scheme: %v", err)
	}
	if r, err := e.svc.VerifyNumber(ctx, e.caller, sp, phone); !errors.Is(err, auth.ErrTokenInvalid) {
		t.Fatalf("spToken of a deleted scheme: %+v, %v; want TOKEN_INVALID", r, err)
	}
	if n := e.records(t, "verify"); n.Pass+n.Reject+n.Unknown != 0 {
		t.Fatalf("records: %+v, want none", n)
	}
}
