package auth

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/numauth/numauth/internal/carrier"
	"github.com/numauth/numauth/internal/store"
)

// Network authorization: the flow behind numauth's own number-verification
// API (CAMARA, served by internal/camara). A relying party sends the
// phone's browser to numauth's authorization endpoint; the carrier's front
// leg identifies the line from that request (network-based
// authentication); the grant then serves one back-leg call — whether a
// number is the line's, or what the line's number is — recorded, counted
// and billed as the client's account's.
//
//	IdentifyNetwork ──▶ NetworkGrant (kept by the caller, server side)
//	                      │
//	                      ├─▶ NetworkVerify / NetworkVerifyHashed ─▶ record "verify"
//	                      └─▶ NetworkNumber                        ─▶ record "login"
//
// Single use of a grant is the caller's business (it keeps grants in the
// ephemeral store and consumes them atomically); these methods only run the
// back leg and record the answer.

// ErrNotNetworkAuthenticated: the request did not come over a mobile data
// session the carrier can identify (Wi-Fi, an unknown address).
var ErrNotNetworkAuthenticated = errors.New("not authenticated by the mobile network")

// ErrCarrierMaintenance and ErrCarrierQuota: the carrier refused for the
// time being (maintenance, its call limit). ErrCarrierFailed: it answered
// with an error or not at all.
var (
	ErrCarrierMaintenance = errors.New("carrier under maintenance")
	ErrCarrierQuota       = errors.New("carrier call limit reached")
	ErrCarrierFailed      = errors.New("carrier request failed")
)

// ErrGrantInvalid: a grant that is not usable for the call (malformed, of
// another kind, or its ticket was refused by the carrier).
var ErrGrantInvalid = errors.New("grant invalid")

// NetworkGrant is a line the carrier identified, one ticket per kind of
// back-leg call it may serve. It holds no number: tickets are opaque and
// sealed by the adapter.
type NetworkGrant struct {
	Operator string                  `json:"op"`
	Tickets  map[carrier.Kind]string `json:"t"`
	At       time.Time               `json:"at"`
}

// NetworkCaller is who a back-leg call is counted for.
type NetworkCaller struct {
	AccountID string
	ClientID  string // recorded as the record's scheme, so statistics and billing group by client
}

// IdentifyNetwork runs the carrier's front leg for the phone's request and
// returns a grant with a ticket for each kind asked for.
func (s *Service) IdentifyNetwork(ctx context.Context, front carrier.FrontRequest, kinds ...carrier.Kind) (NetworkGrant, error) {
	if len(kinds) == 0 {
		return NetworkGrant{}, hint(ErrInvalidParameters, "no kind of call asked for")
	}
	ni, ok := s.cfg.Carrier.(carrier.NetworkIdentified)
	if !ok {
		return NetworkGrant{}, carrierErr(ctx, "carrier front leg", fmt.Errorf("%w: %s has a redirect front leg, which network-based authentication does not drive yet",
			carrier.ErrUnsupported, s.cfg.Carrier.Name()))
	}
	g := NetworkGrant{Tickets: make(map[carrier.Kind]string, len(kinds)), At: s.cfg.Now().UTC()}
	for _, k := range kinds {
		if _, dup := g.Tickets[k]; dup {
			continue
		}
		front.Kind = k
		line, err := ni.Identify(ctx, front)
		if err != nil {
			return NetworkGrant{}, carrierErr(ctx, "carrier front leg", err)
		}
		if g.Operator != "" && string(line.Operator) != g.Operator {
			return NetworkGrant{}, hint(ErrCarrierFailed, "the line changed operator between two identifications")
		}
		g.Operator, g.Tickets[k] = string(line.Operator), line.Ticket
	}
	return g, nil
}

// carrierErr maps an adapter's error to the service's.
func carrierErr(ctx context.Context, op string, err error) error {
	switch {
	case ctx.Err() != nil:
		return storeErr(op, ctx.Err())
	case errors.Is(err, carrier.ErrNotCellular):
		return fmt.Errorf("%s: %w: %w", op, ErrNotNetworkAuthenticated, err)
	case errors.Is(err, carrier.ErrMaintenance):
		return fmt.Errorf("%s: %w: %w", op, ErrCarrierMaintenance, err)
	case errors.Is(err, carrier.ErrQuota):
		return fmt.Errorf("%s: %w: %w", op, ErrCarrierQuota, err)
	case errors.Is(err, carrier.ErrTicketInvalid):
		return fmt.Errorf("%s: %w: %w", op, ErrGrantInvalid, err)
	default:
		return fmt.Errorf("%s: %w: %w", op, ErrCarrierFailed, err)
	}
}

// NetworkVerify tells whether phone (E.164, or any mainland form) is the
// number of the granted line, and records the answer. A number outside
// what the carrier serves is not the line's number: false, recorded.
func (s *Service) NetworkVerify(ctx context.Context, c NetworkCaller, g NetworkGrant, phone string) (bool, error) {
	ticket, ok := g.Tickets[carrier.KindVerify]
	if !ok {
		return false, hint(ErrGrantInvalid, "the grant does not serve verification")
	}
	start := time.Now()
	verdict := carrier.Reject
	p, perr := carrier.ParseE164(phone)
	if perr == nil {
		var err error
		verdict, err = s.cfg.Carrier.Verify(ctx, ticket, p)
		if err != nil {
			return false, carrierErr(ctx, "carrier back leg", err)
		}
	}
	rec := store.Verification{
		AccountID: c.AccountID, SchemeCode: c.ClientID, Kind: string(carrier.KindVerify),
		Carrier: g.Operator, Result: string(verdict), MaskedPhone: carrier.Mask(phone), PhoneHash: s.PhoneHash(phone),
	}
	if err := s.recordNetwork(ctx, rec, start); err != nil {
		return false, err
	}
	return verdict == carrier.Pass, nil
}

// NetworkVerifyHashed tells whether hash (SHA-256 of the E.164 number,
// hexadecimal, either case) is the hash of the granted line's number, and
// records the answer. It reads the line's number through the login kind's
// ticket, which the grant must hold; the number is not recorded in clear.
func (s *Service) NetworkVerifyHashed(ctx context.Context, c NetworkCaller, g NetworkGrant, hash string) (bool, error) {
	want, err := hex.DecodeString(hash)
	if err != nil || len(want) != sha256.Size {
		return false, hint(ErrInvalidParameters, "not a SHA-256 in hexadecimal")
	}
	ticket, ok := g.Tickets[carrier.KindLogin]
	if _, verify := g.Tickets[carrier.KindVerify]; !ok || !verify {
		return false, hint(ErrGrantInvalid, "the grant does not serve hashed verification")
	}
	start := time.Now()
	num, err := s.cfg.Carrier.Number(ctx, ticket)
	if err != nil {
		return false, carrierErr(ctx, "carrier back leg", err)
	}
	e164 := carrier.E164(num)
	got := sha256.Sum256([]byte(e164))
	match := subtle.ConstantTimeCompare(got[:], want) == 1
	verdict, masked, hashed := carrier.Reject, "", ""
	if match {
		verdict, masked, hashed = carrier.Pass, carrier.Mask(num), s.PhoneHash(num)
	}
	// A REJECT names no number: the one asked about is known only by its
	// hash, and the line's own is not what was asked.
	rec := store.Verification{
		AccountID: c.AccountID, SchemeCode: c.ClientID, Kind: string(carrier.KindVerify),
		Carrier: g.Operator, Result: string(verdict), MaskedPhone: masked, PhoneHash: hashed,
	}
	if err := s.recordNetwork(ctx, rec, start); err != nil {
		return false, err
	}
	return match, nil
}

// NetworkNumber returns the granted line's number in E.164 form and records
// the lookup.
func (s *Service) NetworkNumber(ctx context.Context, c NetworkCaller, g NetworkGrant) (string, error) {
	ticket, ok := g.Tickets[carrier.KindLogin]
	if !ok {
		return "", hint(ErrGrantInvalid, "the grant does not serve number lookup")
	}
	start := time.Now()
	num, err := s.cfg.Carrier.Number(ctx, ticket)
	if err != nil {
		return "", carrierErr(ctx, "carrier back leg", err)
	}
	rec := store.Verification{
		AccountID: c.AccountID, SchemeCode: c.ClientID, Kind: string(carrier.KindLogin),
		Carrier: g.Operator, Result: string(carrier.Pass), MaskedPhone: carrier.Mask(num), PhoneHash: s.PhoneHash(num),
	}
	if err := s.recordNetwork(ctx, rec, start); err != nil {
		return "", err
	}
	return carrier.E164(num), nil
}

// recordNetwork stores a network back-leg answer; the answer is given only
// once it is on stable storage (nothing is answered that is not billed).
func (s *Service) recordNetwork(ctx context.Context, rec store.Verification, start time.Time) error {
	rec.ID = recordID()
	rec.Billable = verifyBillable(carrier.Verdict(rec.Result))
	rec.LatencyUS = time.Since(start).Microseconds()
	rec.CreatedAt = s.cfg.Now().UTC()
	if err := s.writes.Write(ctx, store.Batch{Verifications: []store.Verification{rec}}); err != nil {
		return storeErr("record verification", err)
	}
	return nil
}
