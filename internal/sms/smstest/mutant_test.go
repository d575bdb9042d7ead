package smstest_test

// The suite is worth what it catches. These tests break the sandbox
// provider in one way at a time and check that Run fails, in the subtest
// meant to catch that break. Each mutant runs in a child process (this test
// binary, re-executed), since a failing suite fails the test that runs it.

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"github.com/numauth/numauth/internal/sms"
	"github.com/numauth/numauth/internal/sms/sandbox"
	"github.com/numauth/numauth/internal/sms/smstest"
)

// mutant wraps a working provider; a nil send passes calls through.
type mutant struct {
	sms.Provider
	send func(ctx context.Context, m sms.Message) (sms.Accepted, error)
}

func (m *mutant) Send(ctx context.Context, msg sms.Message) (sms.Accepted, error) {
	if m.send != nil {
		return m.send(ctx, msg)
	}
	return m.Provider.Send(ctx, msg)
}

type world struct {
	p   *sandbox.Provider
	ob  *smstest.MemoryOutbox
	log *slog.Logger
}

// mutants maps a name to the break and the subtest that must catch it.
var mutants = map[string]struct {
	caughtBy string
	mutate   func(w world, m *mutant)
}{
	"a refusal is reported as an outage": {"Reject", func(w world, m *mutant) {
		m.send = func(ctx context.Context, msg sms.Message) (sms.Accepted, error) {
			a, err := w.p.Send(ctx, msg)
			if errors.Is(err, sms.ErrRejected) {
				err = sms.ErrUnavailable
			}
			return a, err
		}
	}},
	"an outage is reported as success": {"Outage", func(w world, m *mutant) {
		m.send = func(ctx context.Context, msg sms.Message) (sms.Accepted, error) {
			a, err := w.p.Send(ctx, msg)
			if errors.Is(err, sms.ErrUnavailable) {
				return sms.Accepted{ProviderID: "x-" + msg.ID, Status: sms.StatusPending}, nil
			}
			return a, err
		}
	}},
	"long texts are cut": {"Deliver", func(w world, m *mutant) {
		m.send = func(ctx context.Context, msg sms.Message) (sms.Accepted, error) {
			if r := []rune(msg.Text); len(r) > 70 {
				msg.Text = string(r[:70])
			}
			return w.p.Send(ctx, msg)
		}
	}},
	"every message is delivered twice": {"Deliver", func(w world, m *mutant) {
		m.send = func(ctx context.Context, msg sms.Message) (sms.Accepted, error) {
			dup := msg
			dup.ID += "-again"
			w.p.Send(ctx, dup)
			return w.p.Send(ctx, msg)
		}
	}},
	"the text is logged": {"Deliver", func(w world, m *mutant) {
		m.send = func(ctx context.Context, msg sms.Message) (sms.Accepted, error) {
			w.log.Info("sending", "to", msg.To, "text", msg.Text)
			return w.p.Send(ctx, msg)
		}
	}},
	"a canceled context is ignored": {"Canceled", func(w world, m *mutant) {
		m.send = func(ctx context.Context, msg sms.Message) (sms.Accepted, error) {
			return w.p.Send(context.WithoutCancel(ctx), msg)
		}
	}},
	"one provider id for every message": {"Parallel", func(w world, m *mutant) {
		m.send = func(ctx context.Context, msg sms.Message) (sms.Accepted, error) {
			a, err := w.p.Send(ctx, msg)
			a.ProviderID = "same"
			return a, err
		}
	}},
	"a repeated send delivers again": {"Idempotent", func(w world, m *mutant) {
		var n sync.Map
		m.send = func(ctx context.Context, msg sms.Message) (sms.Accepted, error) {
			if _, seen := n.LoadOrStore(msg.ID, true); seen {
				msg.ID += "-2"
			}
			return w.p.Send(ctx, msg)
		}
	}},
}

const mutantEnv = "SMSTEST_MUTANT"

// TestMutant is the child: it runs the suite against the mutant named in
// the environment. Without that, it is skipped.
func TestMutant(t *testing.T) {
	name := os.Getenv(mutantEnv)
	if name == "" {
		t.Skip("runs only as the child of TestSuiteCatchesMutants")
	}
	mu, ok := mutants[name]
	if !ok {
		t.Fatalf("no mutant %q", name)
	}
	smstest.Run(t, smstest.Harness{New: func(t *testing.T, env sms.Env) smstest.World {
		ob := &smstest.MemoryOutbox{}
		p, err := sandbox.New(sandbox.Config{Outbox: ob})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { p.Close() })
		m := &mutant{Provider: p}
		mu.mutate(world{p: p, ob: ob, log: env.Logger}, m)
		return smstest.World{
			Provider:   m,
			Received:   ob.Received,
			Reject:     func(t *testing.T, to string) { p.RejectPrefix(to) },
			Outage:     func(t *testing.T, on bool) { p.SetOutage(on) },
			Receipts:   true,
			Idempotent: true,
		}
	}})
}

func TestSuiteCatchesMutants(t *testing.T) {
	if os.Getenv(mutantEnv) != "" {
		t.Skip("child")
	}
	if testing.Short() {
		t.Skip("re-executes the test binary once per mutant")
	}
	for name, mu := range mutants {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			cmd := exec.Command(os.Args[0], "-test.run=^TestMutant$", "-test.v", "-test.count=1")
			cmd.Env = append(os.Environ(), mutantEnv+"="+name)
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("the suite passed a provider whose %s:\n%s", name, out)
			}
			if want := "--- FAIL: TestMutant/" + mu.caughtBy; !strings.Contains(string(out), want) {
				t.Errorf("the suite failed, but not in %s:\n%s", mu.caughtBy, out)
			}
		})
	}
}
