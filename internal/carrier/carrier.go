// Package carrier defines how numauth talks to mobile operators.
//
// An adapter answers two questions: which subscriber is on the data session
// a request came over (the front leg, reached by the phone's browser through
// numauth's H5 gateway), and what number or verdict a ticket from that front
// leg stands for (the back leg, called by numauth on behalf of the
// integrator's server).
//
// The back leg is one interface, [Adapter], which every adapter implements
// and which numauth holds. The front leg is one of two capabilities, as
// dex's connectors are password or callback connectors:
//
//   - [NetworkIdentified]: numauth sees the phone's request and the adapter
//     tells whose line it came over (the sandbox; header enrichment behind
//     an operator's proxy).
//   - [Redirector]: the browser is sent to the operator and comes back to
//     numauth with a code (CAMARA's OIDC flow with network-based
//     authentication; the China carriers' H5 gateways).
//
// Code that needs the front leg type-asserts the capability it can drive.
// Adapters register under a name (registry.go) and [Router] runs several at
// once. Numbers are E.164 inside numauth (phone.go). Every adapter passes
// the shared suite in package carriertest.
package carrier

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"time"
)

// Operator is a mobile network operator code: "CM", "CU" and "CT" for the
// three mainland operators (whose number blocks [OperatorOf] knows), or
// another code an adapter names (see [ValidOperator]).
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
	// the carrier can identify (Wi-Fi, unknown address), or, on a redirect
	// front leg, the operator answered access_denied or login_required.
	// SDK code 600008.
	ErrNotCellular = errors.New("carrier: not a cellular data session")
	// ErrMaintenance: the carrier is under maintenance. SDK code 600013.
	ErrMaintenance = errors.New("carrier: under maintenance")
	// ErrQuota: the carrier's call limit is reached. SDK code 600014.
	ErrQuota = errors.New("carrier: call limit reached")
	// ErrFailed: the carrier answered with an error or not at all.
	ErrFailed = errors.New("carrier: request failed")
	// ErrTicketInvalid: the ticket is malformed, forged, expired, not this
	// adapter's, or from a front leg of the other Kind; on a redirect front
	// leg, the state is unknown, expired, spent or bound to another session.
	ErrTicketInvalid = errors.New("carrier: invalid ticket")
	// ErrStateUnknown: a redirect state the adapter did not issue (forged,
	// malformed, another adapter's). It wraps ErrTicketInvalid; a router
	// offers such a state to its next redirect adapter, and no other.
	ErrStateUnknown = fmt.Errorf("%w: redirect state not issued by this adapter", ErrTicketInvalid)
	// ErrUnsupported: the adapter lacks the front-leg capability the caller
	// needs (a redirect-only adapter asked to identify a request). The
	// gateway answers it as a carrier error.
	ErrUnsupported = errors.New("carrier: front leg not supported by this adapter")
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
	// Masked is the masked number for one-click login, as [Mask] writes it
	// ("138****5678", "+4477****0123"). A redirect front leg may leave it
	// empty on a KindVerify line: its operator does not tell the number
	// before the back leg is asked.
	Masked string
	// Expires, when set, is when the ticket stops working (the operator
	// token inside it expires): numauth's spToken never outlives it.
	Expires time.Time
}

// Adapter is one operator integration's back leg, and what numauth holds:
// every adapter implements it, and one of [NetworkIdentified] or
// [Redirector] for its front leg. Its methods are safe for concurrent use,
// and each returns the context's error once ctx is done.
//
// A ticket serves the Kind of the front leg that issued it: a KindVerify
// ticket serves Verify, a KindLogin ticket serves MatchMask and Number; any
// other use is ErrTicketInvalid. A ticket may be used more than once: single
// use is enforced by numauth's spToken, not by the adapter.
type Adapter interface {
	// Name is the adapter's registered name, e.g. "sandbox".
	Name() string
	// Verify tells whether phone is the number of the line the ticket
	// stands for. phone is E.164 ("+8613800138000"); adapters accept
	// whatever [ParseE164] accepts, and anything else is an error wrapping
	// ErrBadPhone.
	Verify(ctx context.Context, ticket, phone string) (Verdict, error)
	// Number returns the number of the line the ticket stands for, in
	// E.164 form. Used by one-click login.
	Number(ctx context.Context, ticket string) (string, error)
	// MatchMask reports whether digits are the four digits the line's
	// masked number hides ([MaskDigits]: the 4th to 7th digits of a
	// mainland number). Digits that are not four ASCII digits are an error
	// wrapping ErrBadMask.
	MatchMask(ctx context.Context, ticket, digits string) (bool, error)
}

// NetworkIdentified is the front leg of an adapter that tells the line from
// the phone's own request (its source address, an enrichment header).
type NetworkIdentified interface {
	Adapter
	// Identify runs the front leg for a request from the phone. A request
	// the adapter cannot place on a cellular line is ErrNotCellular.
	Identify(ctx context.Context, req FrontRequest) (Line, error)
}

// Redirector is the front leg of an adapter whose operator identifies the
// line itself: numauth sends the phone's browser to the operator (over the
// cellular data session) and the operator sends it back to numauth's
// callback. The flow is begin → operator → callback → complete:
//
//  1. Begin returns the URL to send the browser to and the state that
//     travels with it. The state is the adapter's (for OIDC, the state
//     parameter; the adapter keeps its PKCE verifier and nonce under it).
//  2. The operator authenticates the line and redirects the browser to
//     BeginRequest.RedirectURL with the state and a code (or an error).
//  3. Complete takes the callback's query and returns the Line, whose
//     Ticket serves the back leg as a network-identified front leg's does.
//
// The contract every Redirector keeps (carriertest checks it):
//   - A state is single use: the first Complete with it consumes it,
//     whatever its outcome; a second is ErrTicketInvalid (a replay).
//   - A state is bound to BeginRequest.SessionBinding: Complete with
//     another binding is ErrTicketInvalid and does not consume it.
//   - A state expires: Complete after the adapter's state lifetime (at most
//     10 minutes; the page's session lives no longer) is ErrTicketInvalid.
//   - A state the adapter did not issue is ErrStateUnknown (an
//     ErrTicketInvalid); one whose Kind differs from CallbackRequest.Kind
//     is ErrTicketInvalid; nothing in Query is trusted before the state is.
//   - The operator's OAuth error access_denied or login_required (the line
//     is not cellular, or not the operator's) is ErrNotCellular; other
//     operator errors are ErrFailed (or ErrMaintenance, ErrQuota).
//   - Both return the context's error once ctx is done, and a Complete
//     whose ctx is done before it spends the state does not consume it.
type Redirector interface {
	Adapter
	Begin(ctx context.Context, req BeginRequest) (Redirect, error)
	Complete(ctx context.Context, req CallbackRequest) (Line, error)
}

// BeginRequest starts a redirect front leg.
type BeginRequest struct {
	Kind Kind
	// SessionBinding is an opaque value the caller binds the flow to (a
	// hash of numauth's gateway session): Complete must present it again.
	SessionBinding string
	// RedirectURL is numauth's callback as the operator knows it.
	RedirectURL string
	// LoginHint is the number the user gave, E.164, or "" (the operator may
	// use it as OIDC's login_hint).
	LoginHint string
}

// Redirect is where to send the browser.
type Redirect struct {
	URL   string // the operator's authorization URL, state included
	State string // the state the callback carries back
	// Window is how the page's browser should visit URL: WindowFrame (a
	// hidden iframe, where the operator permits framing) or WindowPopup.
	// "" is WindowFrame.
	Window string
	// CallbackOrigin is the origin of the redirect URL the operator sends
	// the browser back to: where numauth's callback page posts from.
	CallbackOrigin string
}

// How a page visits a Redirect's URL (see docs/carriers.md for the
// trade-offs).
const (
	WindowFrame = "frame"
	WindowPopup = "popup"
)

// CallbackRequest is the browser's return to numauth's callback.
type CallbackRequest struct {
	State          string     // the callback's state parameter
	Query          url.Values // the whole callback query (code, error, …)
	SessionBinding string     // as given to Begin
	// Kind, when set, is the flow the caller's session is for: a state
	// begun for the other Kind is ErrTicketInvalid and is not spent.
	Kind Kind
}
