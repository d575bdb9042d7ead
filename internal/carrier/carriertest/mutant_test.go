package carriertest_test

// The suite is worth what it catches. These tests break the sandbox adapter
// in one way at a time and check that Run fails, in the subtest meant to
// catch that break. Each mutant runs in a child process (this test binary,
// re-executed), since a failing suite fails the test that runs it.

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"github.com/numauth/numauth/internal/carrier"
	"github.com/numauth/numauth/internal/carrier/carriertest"
	"github.com/numauth/numauth/internal/carrier/sandbox"
)

// mutant wraps a working adapter; the nil hooks pass calls through.
type mutant struct {
	carrier.NetworkIdentified
	identify  func(ctx context.Context, req carrier.FrontRequest) (carrier.Line, error)
	verify    func(ctx context.Context, ticket, phone string) (carrier.Verdict, error)
	number    func(ctx context.Context, ticket string) (string, error)
	matchMask func(ctx context.Context, ticket, digits string) (bool, error)
}

func (m *mutant) Identify(ctx context.Context, req carrier.FrontRequest) (carrier.Line, error) {
	if m.identify != nil {
		return m.identify(ctx, req)
	}
	return m.NetworkIdentified.Identify(ctx, req)
}

func (m *mutant) Verify(ctx context.Context, ticket, phone string) (carrier.Verdict, error) {
	if m.verify != nil {
		return m.verify(ctx, ticket, phone)
	}
	return m.NetworkIdentified.Verify(ctx, ticket, phone)
}

func (m *mutant) Number(ctx context.Context, ticket string) (string, error) {
	if m.number != nil {
		return m.number(ctx, ticket)
	}
	return m.NetworkIdentified.Number(ctx, ticket)
}

func (m *mutant) MatchMask(ctx context.Context, ticket, digits string) (bool, error) {
	if m.matchMask != nil {
		return m.matchMask(ctx, ticket, digits)
	}
	return m.NetworkIdentified.MatchMask(ctx, ticket, digits)
}

// mutants maps a name to the break and the subtest that must catch it.
var mutants = map[string]struct {
	caughtBy string
	mutate   func(s *sandbox.Sandbox, m *mutant)
}{
	"verify passes anything": {"Verify", func(s *sandbox.Sandbox, m *mutant) {
		m.verify = func(ctx context.Context, ticket, phone string) (carrier.Verdict, error) {
			if _, err := s.Verify(ctx, ticket, phone); err != nil {
				return "", err
			}
			return carrier.Pass, nil
		}
	}},
	"invalid tickets reject instead of failing": {"BadTickets", func(s *sandbox.Sandbox, m *mutant) {
		m.verify = func(ctx context.Context, ticket, phone string) (carrier.Verdict, error) {
			v, err := s.Verify(ctx, ticket, phone)
			if errors.Is(err, carrier.ErrTicketInvalid) {
				return carrier.Reject, nil
			}
			return v, err
		}
	}},
	"cancellation ignored": {"CancelledContext", func(s *sandbox.Sandbox, m *mutant) {
		m.number = func(ctx context.Context, ticket string) (string, error) {
			return s.Number(context.WithoutCancel(ctx), ticket)
		}
	}},
	"a foreign number's mask hides the wrong digits": {"MatchMask", func(s *sandbox.Sandbox, m *mutant) {
		m.matchMask = func(ctx context.Context, ticket, digits string) (bool, error) {
			n, err := s.Number(ctx, ticket)
			if err == nil && !carrier.IsMainland(n) && carrier.IsMaskDigits(digits) {
				return digits == n[4:8], nil // the mainland rule's 4th to 7th digits
			}
			return s.MatchMask(ctx, ticket, digits)
		}
	}},
	"Number answers the 11-digit form": {"Number", func(s *sandbox.Sandbox, m *mutant) {
		m.number = func(ctx context.Context, ticket string) (string, error) {
			n, err := s.Number(ctx, ticket)
			return carrier.AlibabaForm(n), err
		}
	}},
	"every line is China Mobile": {"Identify", func(s *sandbox.Sandbox, m *mutant) {
		m.identify = func(ctx context.Context, req carrier.FrontRequest) (carrier.Line, error) {
			l, err := s.Identify(ctx, req)
			if err == nil {
				l.Operator = carrier.ChinaMobile
			}
			return l, err
		}
	}},
	"Wi-Fi is a failure, not ErrNotCellular": {"NotCellular", func(s *sandbox.Sandbox, m *mutant) {
		m.identify = func(ctx context.Context, req carrier.FrontRequest) (carrier.Line, error) {
			l, err := s.Identify(ctx, req)
			if errors.Is(err, carrier.ErrNotCellular) {
				err = carrier.ErrFailed
			}
			return l, err
		}
	}},
	"any well-formed mask matches": {"MatchMask", func(s *sandbox.Sandbox, m *mutant) {
		m.matchMask = func(ctx context.Context, ticket, digits string) (bool, error) {
			_, err := s.MatchMask(ctx, ticket, digits)
			return err == nil, err
		}
	}},
	"malformed mask is just wrong": {"MatchMask", func(s *sandbox.Sandbox, m *mutant) {
		m.matchMask = func(ctx context.Context, ticket, digits string) (bool, error) {
			ok, err := s.MatchMask(ctx, ticket, digits)
			if errors.Is(err, carrier.ErrBadMask) {
				return false, nil
			}
			return ok, err
		}
	}},
	"a verification ticket reveals the number": {"KindBinding", func(s *sandbox.Sandbox, m *mutant) {
		var tickets sync.Map // verify ticket → login ticket of the same line
		m.identify = func(ctx context.Context, req carrier.FrontRequest) (carrier.Line, error) {
			l, err := s.Identify(ctx, req)
			if err == nil && req.Kind == carrier.KindVerify {
				tickets.Store(l.Ticket, mustLogin(s, req))
			}
			return l, err
		}
		m.number = func(ctx context.Context, ticket string) (string, error) {
			if lt, ok := tickets.Load(ticket); ok {
				ticket = lt.(string)
			}
			return s.Number(ctx, ticket)
		}
	}},
	"the ticket carries the number in clear": {"Identify", func(s *sandbox.Sandbox, m *mutant) {
		m.identify = func(ctx context.Context, req carrier.FrontRequest) (carrier.Line, error) {
			l, err := s.Identify(ctx, req)
			if err == nil {
				n, _ := s.Number(ctx, mustLogin(s, req))
				l.Ticket += "." + n
			}
			return l, err
		}
	}},
}

func mustLogin(s *sandbox.Sandbox, req carrier.FrontRequest) string {
	req.Kind = carrier.KindLogin
	l, _ := s.Identify(context.Background(), req)
	return l.Ticket
}

const mutantEnv = "CARRIERTEST_MUTANT"

// TestMutant is the child: it runs the suite against the mutant named in
// the environment. Without that, it is skipped.
func TestMutant(t *testing.T) {
	name := os.Getenv(mutantEnv)
	if name == "" {
		t.Skip("runs only as the child of TestSuiteCatchesMutants")
	}
	if rm, ok := redirectMutants[name]; ok {
		carriertest.Run(t, redirectHarness(rm.mutate))
		return
	}
	mu, ok := mutants[name]
	if !ok {
		t.Fatalf("no mutant %q", name)
	}
	carriertest.Run(t, carriertest.Harness{New: func(t *testing.T) carriertest.World {
		s, err := sandbox.New(sandbox.Config{})
		if err != nil {
			t.Fatal(err)
		}
		m := &mutant{NetworkIdentified: s}
		mu.mutate(s, m)
		return carriertest.World{Adapter: m, Attach: func(t *testing.T, src netip.Addr, phone string) {
			if err := s.AddSubscriber(sandbox.Subscriber{Prefix: netip.PrefixFrom(src, src.BitLen()), Phone: phone}); err != nil {
				t.Fatal(err)
			}
		}}
	}})
}

func TestSuiteCatchesMutants(t *testing.T) {
	if os.Getenv(mutantEnv) != "" {
		t.Skip("child")
	}
	if testing.Short() {
		t.Skip("re-executes the test binary once per mutant")
	}
	caughtBy := map[string]string{}
	for name, mu := range mutants {
		caughtBy[name] = mu.caughtBy
	}
	for name, mu := range redirectMutants {
		caughtBy[name] = mu.caughtBy
	}
	for name, caught := range caughtBy {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			cmd := exec.Command(os.Args[0], "-test.run=^TestMutant$", "-test.v", "-test.count=1")
			cmd.Env = append(os.Environ(), mutantEnv+"="+name)
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("the suite passed an adapter whose %s:\n%s", name, out)
			}
			if want := "--- FAIL: TestMutant/" + caught + " "; !strings.Contains(string(out), want) {
				t.Errorf("the suite failed, but not in %s:\n%s", caught, out)
			}
		})
	}
}
