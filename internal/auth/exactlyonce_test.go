package auth_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/numauth/numauth/internal/auth"
	"github.com/numauth/numauth/internal/auth/authtest"
	"github.com/numauth/numauth/internal/carrier"
	"github.com/numauth/numauth/internal/carrier/sandbox"
	"github.com/numauth/numauth/internal/store"
)

// faultyDurable breaks the service's record writes (WriteBatch) on
// purpose: hook decides what each call does (nil: the real store).
type faultyDurable struct {
	store.Durable
	mu   sync.Mutex
	hook func(ctx context.Context, real func() error) error
}

func (f *faultyDurable) WriteBatch(ctx context.Context, b store.Batch) error {
	f.mu.Lock()
	h := f.hook
	f.mu.Unlock()
	real := func() error { return f.Durable.WriteBatch(ctx, b) }
	if h == nil {
		return real()
	}
	return h(ctx, real)
}

func (f *faultyDurable) set(h func(ctx context.Context, real func() error) error) {
	f.mu.Lock()
	f.hook = h
	f.mu.Unlock()
}

var errDisk = fmt.Errorf("%w: disk full", store.ErrUnavailable)

func faultyEnv(t *testing.T) (*env, *faultyDurable) {
	fd := &faultyDurable{}
	e := newEnvOpts(t, authtest.Options{WrapDurable: func(d store.Durable) store.Durable { fd.Durable = d; return fd }})
	return e, fd
}

// records counts the account's records of a kind, by result.
func (e *env) records(t *testing.T, kind string) store.DayStat {
	t.Helper()
	days, err := e.durable.DailyStats(context.Background(), store.VerificationFilter{AccountID: e.caller.AccountID, Kind: kind})
	if err != nil {
		t.Fatal(err)
	}
	var sum store.DayStat
	for _, d := range days {
		sum.Pass, sum.Reject, sum.Unknown = sum.Pass+d.Pass, sum.Reject+d.Reject, sum.Unknown+d.Unknown
	}
	return sum
}

func (e *env) loginToken(t *testing.T) string {
	t.Helper()
	sid := e.loginSession(t, e.caller, "")
	res, err := e.svc.MintLoginToken(context.Background(), sid, origin, "0013")
	if err != nil {
		t.Fatal(err)
	}
	return res.SPToken
}

// TestOutcomeExactlyOnce: a client told ServiceUnavailable may retry with
// the same spToken and gets the one recorded answer if one was recorded,
// or a fresh one if none was; never two records, never a record for a
// token whose every answer was an error, and a replay after an answer is
// TOKEN_INVALID.
func TestOutcomeExactlyOnce(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name string
		// fault breaks the first attempt's write; recorded says whether
		// that write nevertheless reached the store.
		fault    func(ctx context.Context, real func() error) error
		recorded bool
	}{
		{"write fails", func(context.Context, func() error) error { return errDisk }, false},
		{"write commits but reports failure", func(_ context.Context, real func() error) error {
			if err := real(); err != nil {
				return err
			}
			return errDisk
		}, true},
	}
	for _, tc := range tests {
		for _, kind := range []string{"verify", "login"} {
			t.Run(tc.name+"/"+kind, func(t *testing.T) {
				e, fd := faultyEnv(t)
				var sp string
				call := func() (string, error) {
					if kind == "verify" {
						r, err := e.svc.VerifyNumber(ctx, e.caller, sp, phone)
						return r.VerifyID + "/" + string(r.Result), err
					}
					return e.svc.LoginNumber(ctx, e.caller, sp)
				}
				if kind == "verify" {
					sp = e.verifyToken(t)
				} else {
					sp = e.loginToken(t)
				}
				fd.set(tc.fault)
				if _, err := call(); !errors.Is(err, auth.ErrUnavailable) {
					t.Fatalf("first attempt with a failing store: %v, want ErrUnavailable", err)
				}
				if n := e.records(t, kind); (n.Pass == 1) != tc.recorded || n.Reject+n.Unknown != 0 {
					t.Fatalf("records after the failed attempt: %+v (recorded=%v)", n, tc.recorded)
				}
				fd.set(nil)
				got, err := call()
				if err != nil {
					t.Fatalf("retry with the same spToken: %v", err)
				}
				again, err := call()
				if !errors.Is(err, auth.ErrTokenInvalid) {
					t.Fatalf("replay after the answer = %q, %v; want TOKEN_INVALID", again, err)
				}
				if n := e.records(t, kind); n.Pass != 1 || n.Reject+n.Unknown != 0 {
					t.Fatalf("records after the retry: %+v, want exactly one PASS", n)
				}
				if kind == "login" && got != "+86"+phone {
					t.Fatalf("retry answered %q", got)
				}
			})
		}
	}
}

// TestWithdrawnRecordIsNeverWritten: a caller whose deadline passes while
// its record still waits for the writer gets ServiceUnavailable, and that
// record is never written, even when the store comes back.
func TestWithdrawnRecordIsNeverWritten(t *testing.T) {
	e, fd := faultyEnv(t)
	release := make(chan struct{})
	entered := make(chan struct{}, 1)
	fd.set(func(ctx context.Context, real func() error) error {
		select {
		case entered <- struct{}{}:
		default:
		}
		<-release // the store hangs
		return real()
	})
	blocker, victim := e.verifyToken(t), e.verifyToken(t)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // occupies the writer
		defer wg.Done()
		e.svc.VerifyNumber(context.Background(), e.caller, blocker, phone)
	}()
	<-entered
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	_, err := e.svc.VerifyNumber(ctx, e.caller, victim, phone)
	cancel()
	if !errors.Is(err, auth.ErrUnavailable) {
		t.Fatalf("verification whose record waited past its deadline: %v, want ErrUnavailable", err)
	}
	// A live call queued behind the withdrawn record shares its batch: the
	// withdrawn record must not take part (nor its passed deadline bound
	// the neighbour's write).
	neighbour := e.verifyToken(t)
	var nres auth.VerifyResult
	var nerr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		nres, nerr = e.svc.VerifyNumber(context.Background(), e.caller, neighbour, phone)
	}()
	time.Sleep(300 * time.Millisecond) // let it reach the queue (ordering only; no assertion on time)
	close(release)
	wg.Wait()
	fd.set(nil)
	if nerr != nil || nres.Result != carrier.Pass {
		t.Fatalf("the call queued with the withdrawn record: %+v, %v", nres, nerr)
	}
	// One more verification: the writer takes records in order, so once
	// this one is written, the withdrawn one would have been too.
	if r, err := e.svc.VerifyNumber(context.Background(), e.caller, e.verifyToken(t), phone); err != nil || r.Result != carrier.Pass {
		t.Fatalf("verification after the store came back: %+v, %v", r, err)
	}
	if n := e.records(t, "verify"); n.Pass != 3 {
		t.Fatalf("records: %+v, want the blocker's, the neighbour's and the last one's PASS only (the withdrawn one was written)", n)
	}
	r, err := e.svc.VerifyNumber(context.Background(), e.caller, victim, phone)
	if err != nil || r.Result != carrier.Pass {
		t.Fatalf("retry of the withdrawn verification: %+v, %v", r, err)
	}
	if n := e.records(t, "verify"); n.Pass != 4 {
		t.Fatalf("records after the retry: %+v, want 4 PASS", n)
	}
}

// TestRetryMustAskTheSameQuestion: a retry after a recorded answer with
// another number is a second verification, refused.
func TestRetryMustAskTheSameQuestion(t *testing.T) {
	e, fd := faultyEnv(t)
	ctx := context.Background()
	sp := e.verifyToken(t)
	fd.set(func(_ context.Context, real func() error) error { real(); return errDisk })
	if _, err := e.svc.VerifyNumber(ctx, e.caller, sp, phone); !errors.Is(err, auth.ErrUnavailable) {
		t.Fatal(err)
	}
	fd.set(nil)
	if _, err := e.svc.VerifyNumber(ctx, e.caller, sp, "13900139000"); !errors.Is(err, auth.ErrTokenInvalid) {
		t.Fatalf("retry with another number: %v, want TOKEN_INVALID", err)
	}
	if r, err := e.svc.VerifyNumber(ctx, e.caller, sp, phone); err != nil || r.Result != carrier.Pass {
		t.Fatalf("retry with the same number: %+v, %v", r, err)
	}
}

// TestBillingRule: PASS and REJECT are billable, UNKNOWN is not; a login
// that returned a number is.
func TestBillingRule(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	for _, tc := range []struct {
		phone    string
		fault    bool
		want     carrier.Verdict
		billable bool
	}{
		{phone, false, carrier.Pass, true},
		{"13900139000", false, carrier.Reject, true},
		{phone, true, carrier.Unknown, false},
	} {
		sp := e.verifyToken(t)
		if tc.fault {
			e.sb.SetFault(carrier.ChinaMobile, sandbox.Fault{ErrorRate: 1})
		}
		r, err := e.svc.VerifyNumber(ctx, e.caller, sp, tc.phone)
		e.sb.SetFault(carrier.ChinaMobile, sandbox.Fault{})
		if err != nil || r.Result != tc.want {
			t.Fatalf("verify %s: %+v, %v; want %s", tc.phone, r, err, tc.want)
		}
		v, err := e.durable.GetVerification(ctx, r.VerifyID)
		if err != nil || v.Billable != tc.billable || v.Result != string(tc.want) {
			t.Fatalf("record of a %s: %+v, %v; want billable=%v", tc.want, v, err, tc.billable)
		}
	}
}
