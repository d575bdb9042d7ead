package camara

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/numauth/numauth/internal/carrier"
	"github.com/numauth/numauth/internal/store"
	"github.com/numauth/numauth/internal/wire"
)

// A ticket is base64url (no padding) of the ticket record sealed by the
// adapter's key (AES-256-GCM, additional data ticketAAD):
//
//	version (1), kind ('v' or 'l'), expiry (unix ms), operator code,
//	payload: the operator's access token (verify) or the E.164 number (login)
//
// An access token longer than maxInlineToken (operators' JWTs run to a few
// KB, and numauth's spToken that carries the ticket has a bound) is kept in
// the shared memory instead, sealed under tokenAAD at car:camara:tok:ID until
// it expires, and the payload is '@' and ID. The ticket travels inside
// numauth's spToken and gateway session, never to the browser in clear.
const (
	ticketVersion  = 1
	maxTicket      = 2048
	maxInlineToken = 1024
	tokenPrefix    = "car:camara:tok:"
)

var (
	ticketAAD = []byte("numauth/carrier/camara/ticket/v1")
	tokenAAD  = []byte("numauth/carrier/camara/token/v1")

	errTicket        = fmt.Errorf("%w: malformed or not sealed by this adapter's key", carrier.ErrTicketInvalid)
	errTicketExpired = fmt.Errorf("%w: the operator's token in it has expired", carrier.ErrTicketInvalid)
	errWrongKind     = fmt.Errorf("%w: issued for the other flow", carrier.ErrTicketInvalid)
)

type ticket struct {
	kind    carrier.Kind
	op      carrier.Operator
	expires time.Time
	token   string // verify: the operator's access token
	phone   string // login: the line's number, E.164
}

func (a *Adapter) sealTicket(ctx context.Context, t ticket) (string, error) {
	k, _ := kindByte(t.kind)
	payload := t.token
	if t.kind == carrier.KindLogin {
		payload = t.phone
	} else if len(t.token) > maxInlineToken || strings.HasPrefix(t.token, "@") {
		id := hex.EncodeToString(random(16))
		ttl := t.expires.Sub(a.cfg.Now()) + time.Minute
		stored, err := a.cfg.Shared.PutIfAbsent(ctx, tokenPrefix+id, a.box.Seal([]byte(t.token), tokenAAD), ttl)
		if err != nil || !stored {
			if ctx.Err() != nil {
				return "", ctx.Err()
			}
			return "", fmt.Errorf("%w: keep the operator's access token: %v", carrier.ErrFailed, err)
		}
		payload = "@" + id
	}
	w := wire.NewWriter(make([]byte, 0, 64+len(payload)))
	w.Byte(ticketVersion)
	w.Byte(k)
	w.Int(t.expires.UnixMilli())
	w.Strings(string(t.op), payload)
	return b64.EncodeToString(a.box.Seal(w.Out(), ticketAAD)), nil
}

// openTicket opens a ticket of kind that has not expired.
func (a *Adapter) openTicket(ctx context.Context, s string, kind carrier.Kind) (ticket, error) {
	r, ok := a.unseal(s, maxTicket, ticketAAD, ticketVersion)
	if !ok {
		return ticket{}, errTicket
	}
	var t ticket
	if t.kind, ok = kindOf(r.Byte()); !ok {
		return ticket{}, errTicket
	}
	t.expires = time.UnixMilli(r.Int())
	t.op = carrier.Operator(r.String())
	payload := r.String()
	if r.Done() != nil || payload == "" {
		return ticket{}, errTicket
	}
	if t.kind == carrier.KindVerify {
		t.token = payload
	} else {
		t.phone = payload
	}
	if t.kind != kind {
		return ticket{}, errWrongKind
	}
	if !a.cfg.Now().Before(t.expires) {
		return ticket{}, errTicketExpired
	}
	if id, ok := strings.CutPrefix(t.token, "@"); ok {
		sealed, err := a.cfg.Shared.Get(ctx, tokenPrefix+id)
		switch {
		case errors.Is(err, store.ErrNotFound):
			return ticket{}, errTicketExpired
		case err != nil:
			if ctx.Err() != nil {
				return ticket{}, ctx.Err()
			}
			return ticket{}, fmt.Errorf("%w: read the operator's access token: %v", carrier.ErrFailed, err)
		}
		tok, err := a.box.Open(sealed, tokenAAD)
		if err != nil {
			return ticket{}, errTicket
		}
		t.token = string(tok)
	}
	return t, nil
}
