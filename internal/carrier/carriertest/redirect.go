package carriertest

import (
	"context"
	"errors"
	"net/url"
	"testing"
	"time"

	"github.com/numauth/numauth/internal/carrier"
)

// The redirect front leg's contract (carrier.Redirector): a state is single
// use, bound to its session binding, expires, and is the adapter's own; the
// operator's access_denied is ErrNotCellular; a cancelled call does nothing.

// begin starts a redirect front leg for phone and returns the state and
// the operator's answer to the browser.
func begin(t *testing.T, w World, phone string, kind carrier.Kind, bind string) (carrier.Redirect, url.Values) {
	t.Helper()
	r, err := w.Adapter.(carrier.Redirector).Begin(context.Background(), carrier.BeginRequest{
		Kind: kind, SessionBinding: bind, RedirectURL: "https://numauth.test/callback", LoginHint: phone,
	})
	if err != nil {
		t.Fatalf("Begin(%s) = %v", kind, err)
	}
	if r.URL == "" || r.State == "" {
		t.Fatalf("Begin(%s) = %+v: want a URL and a state", kind, r)
	}
	return r, w.Authorize(t, r, phone)
}

func complete(w World, ctx context.Context, r carrier.Redirect, q url.Values, bind string) (carrier.Line, error) {
	return w.Adapter.(carrier.Redirector).Complete(ctx, carrier.CallbackRequest{State: r.State, Query: q, SessionBinding: bind})
}

func testRedirectFlow(t *testing.T, h Harness) {
	w := world(t, h)
	for i := range lines {
		for _, kind := range kinds {
			r, q := begin(t, w, lines[i].phone, kind, binding)
			l, err := complete(w, context.Background(), r, q, binding)
			if err != nil {
				t.Errorf("Complete(%s, %s) = %v", carrier.Mask(lines[i].phone), kind, err)
				continue
			}
			checkLine(t, w, "Complete", l, i, kind)
		}
	}
	// Two flows at once, each completing with its own state.
	r1, q1 := begin(t, w, lines[0].phone, carrier.KindVerify, binding)
	r2, q2 := begin(t, w, lines[1].phone, carrier.KindVerify, binding)
	if r1.State == r2.State {
		t.Fatalf("two Begins gave one state %q", r1.State)
	}
	for _, c := range []struct {
		r     carrier.Redirect
		q     url.Values
		phone string
	}{{r2, q2, lines[1].phone}, {r1, q1, lines[0].phone}} {
		l, err := complete(w, context.Background(), c.r, c.q, binding)
		if err != nil {
			t.Fatalf("Complete of one of two flows: %v", err)
		}
		if v, err := w.Adapter.Verify(context.Background(), l.Ticket, c.phone); err != nil || v != carrier.Pass {
			t.Errorf("Verify after one of two flows = %q, %v; want PASS", v, err)
		}
	}
}

func testRedirectDenied(t *testing.T, h Harness) {
	w := world(t, h)
	for _, kind := range kinds {
		r, q := begin(t, w, "", kind, binding)
		if l, err := complete(w, context.Background(), r, q, binding); !errors.Is(err, carrier.ErrNotCellular) || l.Ticket != "" {
			t.Errorf("Complete after the operator's access_denied (%s) = %+v, %v; want ErrNotCellular", kind, l, err)
		}
	}
	for _, e := range []string{"access_denied", "login_required"} {
		r, _ := begin(t, w, lines[0].phone, carrier.KindVerify, binding)
		q := url.Values{"state": {r.State}, "error": {e}}
		if l, err := complete(w, context.Background(), r, q, binding); !errors.Is(err, carrier.ErrNotCellular) || l.Ticket != "" {
			t.Errorf("Complete with error=%s = %+v, %v; want ErrNotCellular", e, l, err)
		}
	}
}

func testRedirectReplay(t *testing.T, h Harness) {
	w := world(t, h)
	r, q := begin(t, w, lines[0].phone, carrier.KindLogin, binding)
	if _, err := complete(w, context.Background(), r, q, binding); err != nil {
		t.Fatalf("Complete = %v", err)
	}
	if l, err := complete(w, context.Background(), r, q, binding); !errors.Is(err, carrier.ErrTicketInvalid) || l.Ticket != "" {
		t.Errorf("Complete replayed = %+v, %v; want ErrTicketInvalid", l, err)
	}
	// A state spent by an operator's error is spent too.
	r, _ = begin(t, w, "", carrier.KindVerify, binding)
	complete(w, context.Background(), r, url.Values{"state": {r.State}, "error": {"access_denied"}}, binding)
	if l, err := complete(w, context.Background(), r, w.Authorize(t, r, lines[0].phone), binding); !errors.Is(err, carrier.ErrTicketInvalid) || l.Ticket != "" {
		t.Errorf("Complete after a denied Complete with its state = %+v, %v; want ErrTicketInvalid", l, err)
	}
}

func testRedirectBinding(t *testing.T, h Harness) {
	w := world(t, h)
	r, q := begin(t, w, lines[0].phone, carrier.KindVerify, binding)
	for _, other := range []string{"", binding + "x", "carriertest-session-2"} {
		if l, err := complete(w, context.Background(), r, q, other); !errors.Is(err, carrier.ErrTicketInvalid) || l.Ticket != "" {
			t.Errorf("Complete with session binding %q = %+v, %v; want ErrTicketInvalid", other, l, err)
		}
	}
	// The wrong session did not spend the state.
	if _, err := complete(w, context.Background(), r, q, binding); err != nil {
		t.Errorf("Complete with the right binding after wrong ones = %v; want the line", err)
	}
}

func testRedirectExpiry(t *testing.T, h Harness) {
	w := world(t, h)
	r, q := begin(t, w, lines[0].phone, carrier.KindVerify, binding)
	w.Advance(10*time.Minute + time.Second)
	if l, err := complete(w, context.Background(), r, q, binding); !errors.Is(err, carrier.ErrTicketInvalid) || l.Ticket != "" {
		t.Errorf("Complete 10 minutes after Begin = %+v, %v; want ErrTicketInvalid", l, err)
	}
}

func testRedirectForged(t *testing.T, h Harness) {
	w1, w2 := world(t, h), world(t, h)
	r, q := begin(t, w1, lines[0].phone, carrier.KindVerify, binding)
	for _, c := range []struct {
		what  string
		state string
		w     World
	}{
		{"a state of another world", r.State, w2},
		{"an empty state", "", w1},
		{"a made-up state", "forged-" + r.State, w1},
		{"a truncated state", r.State[:len(r.State)-1], w1},
	} {
		q2 := url.Values{}
		for k, v := range q {
			q2[k] = v
		}
		q2.Set("state", c.state)
		if l, err := complete(c.w, context.Background(), carrier.Redirect{State: c.state}, q2, binding); !errors.Is(err, carrier.ErrTicketInvalid) || l.Ticket != "" {
			t.Errorf("Complete with %s = %+v, %v; want ErrTicketInvalid", c.what, l, err)
		}
	}
	// The callback's state must be the state Complete is given.
	r2, _ := begin(t, w1, lines[1].phone, carrier.KindVerify, binding)
	if l, err := complete(w1, context.Background(), r2, q, binding); !errors.Is(err, carrier.ErrTicketInvalid) || l.Ticket != "" {
		t.Errorf("Complete with another flow's callback = %+v, %v; want ErrTicketInvalid", l, err)
	}
}

func testRedirectCancelled(t *testing.T, h Harness) {
	w := world(t, h)
	rd := w.Adapter.(carrier.Redirector)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if r, err := rd.Begin(ctx, carrier.BeginRequest{Kind: carrier.KindVerify, SessionBinding: binding, RedirectURL: "https://numauth.test/callback"}); !errors.Is(err, context.Canceled) {
		t.Errorf("Begin(cancelled) = %+v, %v; want context.Canceled", r, err)
	}
	r, q := begin(t, w, lines[0].phone, carrier.KindVerify, binding)
	if l, err := complete(w, ctx, r, q, binding); !errors.Is(err, context.Canceled) || l.Ticket != "" {
		t.Errorf("Complete(cancelled) = %+v, %v; want context.Canceled", l, err)
	}
	if _, err := complete(w, context.Background(), r, q, binding); err != nil {
		t.Errorf("Complete after a cancelled Complete = %v; want the line (a cancelled call spends nothing)", err)
	}
}
