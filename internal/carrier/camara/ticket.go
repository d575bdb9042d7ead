package camara

import (
	"fmt"
	"time"

	"github.com/numauth/numauth/internal/carrier"
	"github.com/numauth/numauth/internal/wire"
)

// A ticket is base64url (no padding) of the ticket record sealed by the
// adapter's key (AES-256-GCM, additional data ticketAAD):
//
//	version (1), kind ('v' or 'l'), expiry (unix ms), operator code,
//	payload: the operator's access token (verify) or the E.164 number (login)
//
// It travels inside numauth's spToken and gateway session, never to the
// browser in clear.
const (
	ticketVersion = 1
	maxTicket     = 16 << 10 // operators' JWT access tokens run to a few KB
)

var (
	ticketAAD = []byte("numauth/carrier/camara/ticket/v1")

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

func (a *Adapter) sealTicket(t ticket) string {
	k, _ := kindByte(t.kind)
	payload := t.token
	if t.kind == carrier.KindLogin {
		payload = t.phone
	}
	w := wire.NewWriter(make([]byte, 0, 64+len(payload)))
	w.Byte(ticketVersion)
	w.Byte(k)
	w.Int(t.expires.UnixMilli())
	w.Strings(string(t.op), payload)
	return b64.EncodeToString(a.box.Seal(w.Out(), ticketAAD))
}

// openTicket opens a ticket of kind that has not expired.
func (a *Adapter) openTicket(s string, kind carrier.Kind) (ticket, error) {
	r, ok := a.unseal(s, maxTicket, ticketAAD, ticketVersion)
	if !ok {
		return ticket{}, errTicket
	}
	var t ticket
	switch r.Byte() {
	case 'v':
		t.kind = carrier.KindVerify
	case 'l':
		t.kind = carrier.KindLogin
	default:
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
	return t, nil
}
