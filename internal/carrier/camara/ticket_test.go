package camara

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/numauth/numauth/internal/carrier"
	"github.com/numauth/numauth/internal/store/memory"
)

// An operator's long JWT access token is kept in the shared memory, so the
// ticket (and numauth's spToken around it) stays short; a short one rides
// in the ticket.
func TestTicketSize(t *testing.T) {
	a := fuzzAdapter(t)
	ctx := context.Background()
	for _, n := range []int{40, maxInlineToken, maxInlineToken + 1, 8 << 10} {
		tok := strings.Repeat("j", n)
		s, err := a.sealTicket(ctx, ticket{kind: carrier.KindVerify, op: "CAMARA", expires: time.Now().Add(time.Minute), token: tok})
		if err != nil {
			t.Fatal(err)
		}
		if len(s) > 1500 {
			t.Errorf("a %d-byte token gives a %d-character ticket", n, len(s))
		}
		got, err := a.openTicket(ctx, s, carrier.KindVerify)
		if err != nil || got.token != tok {
			t.Errorf("openTicket of a %d-byte token: %d bytes, %v", n, len(got.token), err)
		}
	}
	// A token beginning with the reference marker is never taken for one.
	s, _ := a.sealTicket(ctx, ticket{kind: carrier.KindVerify, op: "CAMARA", expires: time.Now().Add(time.Minute), token: "@abc"})
	if got, err := a.openTicket(ctx, s, carrier.KindVerify); err != nil || got.token != "@abc" {
		t.Errorf("openTicket of %q = %q, %v", "@abc", got.token, err)
	}
}

// A reference to a token the shared memory no longer has (a flushed store)
// is an invalid ticket, not a failure of numauth.
func TestTicketTokenForgotten(t *testing.T) {
	a := fuzzAdapter(t)
	s, err := a.sealTicket(context.Background(), ticket{kind: carrier.KindVerify, op: "CAMARA", expires: time.Now().Add(time.Minute), token: strings.Repeat("j", 4096)})
	if err != nil {
		t.Fatal(err)
	}
	cfg := a.cfg
	cfg.Shared = memory.New()
	forgot, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := forgot.openTicket(context.Background(), s, carrier.KindVerify); !errors.Is(err, carrier.ErrTicketInvalid) {
		t.Fatalf("openTicket with the token forgotten = %v; want ErrTicketInvalid", err)
	}
}
