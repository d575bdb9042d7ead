// Package carrier defines how numauth talks to mobile operators.
//
// An adapter answers two questions: which subscriber is on the data session
// a request came over (the front leg, reached by the phone's browser through
// numauth's H5 gateway), and what number or verdict a ticket from that front
// leg stands for (the back leg, called by numauth on behalf of the
// integrator's server). Every adapter passes the shared suite in package
// carriertest.
package carrier

import (
	"context"
	"errors"
	"net/http"
	"net/netip"
)

// Operator is a mobile network operator code.
type Operator string

const (
	ChinaMobile  Operator = "CM"
	ChinaUnicom  Operator = "CU"
	ChinaTelecom Operator = "CT"
)

// Kind is the flow a front leg serves.
type Kind string

const (
	KindVerify Kind = "verify" // local-number verification (本机号码校验)
	KindLogin  Kind = "login"  // one-click login (一键登录)
)

// Verdict is the back-leg answer of a verification.
type Verdict string

const (
	Pass    Verdict = "PASS"    // the number is the line's number
	Reject  Verdict = "REJECT"  // the number is not the line's number
	Unknown Verdict = "UNKNOWN" // the carrier cannot tell
)

// Errors adapters return (wrapped with %w where they add detail). The H5
// gateway and the service map them to the SDK's and the API's codes.
var (
	// ErrNotCellular: the request did not come over a cellular data session
	// the carrier can identify (Wi-Fi, unknown address). SDK code 600008.
	ErrNotCellular = errors.New("carrier: not a cellular data session")
	// ErrMaintenance: the carrier is under maintenance. SDK code 600013.
	ErrMaintenance = errors.New("carrier: under maintenance")
	// ErrQuota: the carrier's call limit is reached. SDK code 600014.
	ErrQuota = errors.New("carrier: call limit reached")
	// ErrFailed: the carrier answered with an error or not at all.
	ErrFailed = errors.New("carrier: request failed")
	// ErrTicketInvalid: the ticket is malformed, forged, expired, not this
	// adapter's, or from a front leg of the other Kind.
	ErrTicketInvalid = errors.New("carrier: invalid ticket")
)

// FrontRequest is what the front leg sees of the phone's request.
type FrontRequest struct {
	// Source is the address the request came from (the TCP peer).
	Source netip.Addr
	// Header is the request's header, for header enrichment (X-MSISDN style).
	// Adapters honour enrichment only when Source is a trusted proxy.
	Header http.Header
	Kind   Kind
}

// Line is the front leg's answer: the subscriber's line, identified.
type Line struct {
	Operator Operator
	// Ticket is opaque to numauth; it is handed back to the adapter's back
	// leg (Verify, Number, MatchMask). It is sealed inside numauth's spToken
	// and never shown to the browser in clear.
	Ticket string
	// Masked is the masked number for one-click login, e.g. "138****5678".
	Masked string
}

// Adapter is one operator integration. Its methods are safe for concurrent
// use, and each returns the context's error once ctx is done.
//
// A ticket serves the Kind of the front leg that issued it: a KindVerify
// ticket serves Verify, a KindLogin ticket serves MatchMask and Number; any
// other use is ErrTicketInvalid. A ticket may be used more than once: single
// use is enforced by numauth's spToken, not by the adapter.
type Adapter interface {
	// Name is the adapter's registered name, e.g. "sandbox".
	Name() string
	// Identify runs the front leg for a request from the phone.
	Identify(ctx context.Context, req FrontRequest) (Line, error)
	// Verify tells whether phone (11-digit mainland number) is the number of
	// the line the ticket stands for. A phone that is not such a number is
	// an error wrapping ErrBadPhone.
	Verify(ctx context.Context, ticket, phone string) (Verdict, error)
	// Number returns the number (11-digit mainland number) of the line the
	// ticket stands for. Used by one-click login.
	Number(ctx context.Context, ticket string) (string, error)
	// MatchMask reports whether digits are the middle four digits (4th to
	// 7th) of the line's number. Digits that are not four ASCII digits are
	// an error wrapping ErrBadMask.
	MatchMask(ctx context.Context, ticket, digits string) (bool, error)
}
