package camara

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/numauth/numauth/internal/carrier"
	"github.com/numauth/numauth/internal/store/memory"
)

func fuzzAdapter(t testing.TB) *Adapter {
	a, err := New(Config{
		Issuer: "https://op.example", APIRoot: "https://api.op.example", ClientID: "c", ClientSecret: "s",
		Key: make([]byte, 32), Shared: memory.New(),
	})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// States and tickets come back from browsers and operators: anything that
// is not one this adapter sealed is refused, never a panic.
func FuzzOpenStateAndTicket(f *testing.F) {
	a := fuzzAdapter(f)
	st := a.sealState(state{kind: carrier.KindLogin, id: make([]byte, 16), expires: time.Now().Add(time.Hour).UnixMilli(),
		binding: bindingHash("b"), verifier: "v", nonce: "n", redirect: "https://numauth.test/cb"})
	tk, err := a.sealTicket(context.Background(), ticket{kind: carrier.KindVerify, op: "CAMARA", expires: time.Now().Add(time.Hour), token: "t"})
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{"", "x", st, tk, st[:len(st)-1], tk + "A"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if _, err := a.openState(s); err != nil && !errors.Is(err, carrier.ErrTicketInvalid) {
			t.Fatalf("openState: %v", err)
		}
		for _, k := range []carrier.Kind{carrier.KindVerify, carrier.KindLogin} {
			if _, err := a.openTicket(context.Background(), s, k); err != nil && !errors.Is(err, carrier.ErrTicketInvalid) {
				t.Fatalf("openTicket: %v", err)
			}
		}
		// A callback with whatever query: refused unless its state is this adapter's.
		q, _ := url.ParseQuery(s)
		ctx, cancel := context.WithCancel(context.Background())
		cancel() // never reaches an operator
		if l, err := a.Complete(ctx, carrier.CallbackRequest{State: q.Get("state"), Query: q, SessionBinding: "b"}); err == nil || l.Ticket != "" {
			t.Fatalf("Complete(%q) = %+v, %v", s, l, err)
		}
	})
}

// Operators' error answers are parsed; whatever they hold maps to a carrier
// error, never a panic, and never echoes more than a bounded code.
func FuzzNVError(f *testing.F) {
	for _, s := range []string{``, `{}`, `{"code":"UNAVAILABLE"}`, `{"code":"NUMBER_VERIFICATION.USER_NOT_AUTHENTICATED_BY_MOBILE_NETWORK"}`, `<html>`, `{"code":1}`} {
		f.Add(503, s)
		f.Add(403, s)
	}
	f.Fuzz(func(t *testing.T, status int, body string) {
		err := nvError(http.MethodPost, "/verify", status, []byte(body))
		known := false
		for _, e := range []error{carrier.ErrNotCellular, carrier.ErrTicketInvalid, carrier.ErrQuota, carrier.ErrMaintenance, carrier.ErrFailed} {
			known = known || errors.Is(err, e)
		}
		if !known {
			t.Fatalf("nvError(%d, %q) = %v: no carrier error", status, body, err)
		}
		if len(err.Error()) > 200 {
			t.Fatalf("nvError(%d, …) is %d characters: the operator's answer leaks into it", status, len(err.Error()))
		}
	})
}
