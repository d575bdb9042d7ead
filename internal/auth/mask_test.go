package auth_test

import (
	"context"
	"errors"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/numauth/numauth/internal/auth"
	"github.com/numauth/numauth/internal/carrier"
	"github.com/numauth/numauth/internal/store/memory"
	"github.com/numauth/numauth/internal/token"
)

// maskCounter counts the masks the carrier was asked to check, and how
// many of them were wrong: the guesses an attacker got answered.
type maskCounter struct {
	carrier.NetworkIdentified
	checked, wrong atomic.Int32
}

func (m *maskCounter) MatchMask(ctx context.Context, ticket, digits string) (bool, error) {
	ok, err := m.NetworkIdentified.MatchMask(ctx, ticket, digits)
	if err == nil {
		m.checked.Add(1)
		if !ok {
			m.wrong.Add(1)
		}
	}
	return ok, err
}

// maskEnv is an env whose carrier counts mask checks.
func maskEnv(t *testing.T, opts ...func(*auth.Config)) (*env, *maskCounter) {
	mc := &maskCounter{}
	e := newEnvWith(t, func(a carrier.Adapter) carrier.Adapter {
		mc.NetworkIdentified = a.(carrier.NetworkIdentified)
		return mc
	}, opts...)
	return e, mc
}

// loginSession opens a login session (a new token pair each time) and
// requests the masked number; it returns "" if the number is locked.
func (e *env) loginSession(t *testing.T, c auth.Caller, sc string) string {
	t.Helper()
	ctx := context.Background()
	ti, err := e.svc.IssuePageTokens(ctx, c, auth.PageTokenRequest{URL: pageURL, Origin: origin, SceneCode: sc, Biz: token.BizLogin})
	if err != nil {
		t.Fatal(err)
	}
	s, err := e.svc.OpenSession(ctx, auth.SessionRequest{AccessToken: ti.AccessToken, JwtToken: ti.JwtToken, Origin: origin, Kind: carrier.KindLogin})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.LoginMask(ctx, s.ID, origin, carrier.FrontRequest{Source: lineAddr}); errors.Is(err, auth.ErrMaskLocked) {
		return ""
	} else if err != nil {
		t.Fatal(err)
	}
	return s.ID
}

// TestMaskBudgetIsPerNumber runs the brute-force attack of the security
// review: many sessions, few guesses each. However the guesses are spread,
// the carrier checks at most the budget of wrong masks for the number.
func TestMaskBudgetIsPerNumber(t *testing.T) {
	for _, perSession := range []int{1, 2} {
		e, mc := maskEnv(t)
		guesses := 0
		for i := 0; i < 200 && guesses < 10_000; i++ {
			sid := e.loginSession(t, e.caller, "")
			if sid == "" {
				break // locked before the masked number: the attack is over
			}
			for j := 0; j < perSession; j++ {
				guess := []string{"1111", "2222"}[j]
				_, err := e.svc.MintLoginToken(context.Background(), sid, origin, guess)
				var mw *auth.MaskWrongError
				if !errors.As(err, &mw) && !errors.Is(err, auth.ErrMaskLocked) && !errors.Is(err, auth.ErrSessionInvalid) {
					t.Fatalf("wrong guess: %v", err)
				}
				guesses++
			}
		}
		if got := mc.wrong.Load(); got != 3 {
			t.Fatalf("%d guesses per session: the carrier checked %d wrong masks for the number, want exactly the budget of 3", perSession, got)
		}
		// The right mask, in a fresh session, is refused too: the number is locked.
		if sid := e.loginSession(t, e.caller, ""); sid != "" {
			t.Fatalf("%d guesses per session: a new session on the locked number got its masked number", perSession)
		}
	}
}

// TestMaskBudgetHoldsUnderParallelGuesses: guesses released at one moment
// from many sessions and goroutines never get more than the budget checked.
func TestMaskBudgetHoldsUnderParallelGuesses(t *testing.T) {
	e, mc := maskEnv(t)
	var sids []string
	for range 8 {
		sids = append(sids, e.loginSession(t, e.caller, ""))
	}
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			e.svc.MintLoginToken(context.Background(), sids[i%len(sids)], origin, "9999")
		}()
	}
	close(start)
	wg.Wait()
	if got := mc.wrong.Load(); got != 3 {
		t.Fatalf("%d wrong masks checked by 64 parallel guesses from 8 sessions; the budget is 3", got)
	}
}

// TestCorrectMasksDoNotSpendTheBudget: a user who logs in every time is
// never locked, and wrong tries left are counted per number.
func TestCorrectMasksDoNotSpendTheBudget(t *testing.T) {
	e, mc := maskEnv(t)
	ctx := context.Background()
	for i := 0; i < 10; i++ {
		sid := e.loginSession(t, e.caller, "")
		if sid == "" {
			t.Fatalf("login %d: the number is locked after %d correct logins", i, i)
		}
		if _, err := e.svc.MintLoginToken(ctx, sid, origin, "0013"); err != nil {
			t.Fatalf("login %d: %v", i, err)
		}
	}
	// Two wrong masks in two sessions: one try is left for the number, in any session.
	for left := 2; left >= 1; left-- {
		_, err := e.svc.MintLoginToken(ctx, e.loginSession(t, e.caller, ""), origin, "9999")
		var mw *auth.MaskWrongError
		if !errors.As(err, &mw) || mw.TriesLeft != left {
			t.Fatalf("wrong mask: %v, want %d tries left", err, left)
		}
	}
	if mc.checked.Load() != 12 {
		t.Fatalf("carrier checked %d masks, want 12", mc.checked.Load())
	}
}

// TestMaskLockIsPerAccount: one tenant's wrong masks lock the number for
// that tenant only; the global ceiling, reached by several tenants, locks
// it for all.
func TestMaskLockIsPerAccount(t *testing.T) {
	e, mc := maskEnv(t, func(c *auth.Config) { c.MaskTriesGlobal = 5 })
	ctx := context.Background()
	tenants := []auth.Caller{e.caller}
	schemes := []string{e.scheme.Code}
	for _, acct := range []string{"acct2", "acct3"} {
		cred, err := e.svc.CreateAccessKey(ctx, acct, "", "", "tenant")
		if err != nil {
			t.Fatal(err)
		}
		c := auth.Caller{AccessKeyID: cred.AccessKeyID, AccountID: cred.AccountID}
		sc, err := e.svc.CreateScheme(ctx, c, auth.SchemeInput{Name: "shop", AppName: "Shop", OsType: "H5", Origin: origin, URL: pageURL})
		if err != nil {
			t.Fatal(err)
		}
		tenants, schemes = append(tenants, c), append(schemes, sc.Code)
	}
	spend := func(i, n int) {
		for range n {
			sid := e.loginSession(t, tenants[i], schemes[i])
			if sid == "" {
				t.Fatalf("tenant %d: locked early", i)
			}
			e.svc.MintLoginToken(ctx, sid, origin, "9999")
		}
	}
	spend(0, 3) // the hostile tenant spends its budget for the number
	if e.loginSession(t, tenants[0], schemes[0]) != "" {
		t.Fatal("tenant 0 can still log the number in after spending its budget")
	}
	sid := e.loginSession(t, tenants[1], schemes[1])
	if sid == "" {
		t.Fatal("one tenant's wrong masks locked the number for another tenant")
	}
	if _, err := e.svc.MintLoginToken(ctx, sid, origin, "0013"); err != nil {
		t.Fatalf("another tenant's login: %v", err)
	}
	spend(1, 2) // the global ceiling (5) is reached
	for i := range tenants {
		if e.loginSession(t, tenants[i], schemes[i]) != "" {
			t.Fatalf("tenant %d can log in after the number's global budget was spent", i)
		}
	}
	if got := mc.wrong.Load(); got != 5 {
		t.Fatalf("carrier checked %d wrong masks across tenants, want the global ceiling 5", got)
	}
}

// TestSessionBudgets: one token pair opens a bounded number of sessions,
// and so does one address.
func TestSessionBudgets(t *testing.T) {
	e := newEnv(t, func(c *auth.Config) { c.SessionsPerToken = 5; c.SessionsPerSource = 8 })
	ctx := context.Background()
	ti, err := e.svc.IssuePageTokens(ctx, e.caller, auth.PageTokenRequest{URL: pageURL, Origin: origin})
	if err != nil {
		t.Fatal(err)
	}
	check := func(ti auth.PageTokens, src string) error {
		_, err := e.svc.OpenSession(ctx, auth.SessionRequest{AccessToken: ti.AccessToken, JwtToken: ti.JwtToken, Origin: origin, Kind: carrier.KindVerify, Source: src})
		return err
	}
	for i := range 5 {
		if err := check(ti, ""); err != nil {
			t.Fatalf("session %d: %v", i, err)
		}
	}
	mem, ok := e.eph.(*memory.Store)
	if !ok {
		t.Fatalf("the test stack's ephemeral store is a %T, not the in-process one", e.eph)
	}
	before, _, _ := mem.Usage()
	if err := check(ti, ""); !errors.Is(err, auth.ErrTooManySessions) {
		t.Fatalf("sixth session of one token pair: %v", err)
	}
	// The session is written while the budget is asked: a refused one is
	// deleted again, so it costs the store nothing.
	if after, _, _ := mem.Usage(); after != before {
		t.Errorf("a refused session left %d entries behind", after-before)
	}
	addr := netip.MustParseAddr("192.0.2.7").String()
	for i := range 8 {
		ti, err := e.svc.IssuePageTokens(ctx, e.caller, auth.PageTokenRequest{URL: pageURL, Origin: origin})
		if err != nil {
			t.Fatal(err)
		}
		err = check(ti, addr)
		if i < 8 && err != nil {
			t.Fatalf("session %d from one address: %v", i, err)
		}
	}
	ti, _ = e.svc.IssuePageTokens(ctx, e.caller, auth.PageTokenRequest{URL: pageURL, Origin: origin})
	if err := check(ti, addr); !errors.Is(err, auth.ErrTooManySessions) {
		t.Fatalf("ninth session from one address: %v", err)
	}
	if err := check(ti, "192.0.2.8"); err != nil {
		t.Fatalf("another address: %v", err)
	}
}

// TestParallelCorrectLogins: many logins of one number at one moment, all
// with the right digits, all succeed: units reserved by attempts in flight
// never lock the number, as the budget counts only wrong masks.
func TestParallelCorrectLogins(t *testing.T) {
	e, mc := maskEnv(t)
	var sids []string
	for range 32 {
		sids = append(sids, e.loginSession(t, e.caller, ""))
	}
	start := make(chan struct{})
	errs := make(chan error, len(sids))
	var wg sync.WaitGroup
	for _, sid := range sids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, err := e.svc.MintLoginToken(context.Background(), sid, origin, "0013")
			errs <- err
		}()
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("a correct login in parallel with others: %v", err)
		}
	}
	if mc.wrong.Load() != 0 || e.loginSession(t, e.caller, "") == "" {
		t.Fatal("correct logins locked the number")
	}
}
