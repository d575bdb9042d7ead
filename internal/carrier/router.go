package carrier

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// Route is one routing rule, the value of a --carrier-route flag:
//
//	MATCH=ADAPTER
//
// where MATCH is
//
//   - an operator code ("CM", "CU", "CT", or any ValidOperator code): lines
//     of that operator are the adapter's, and no other adapter's answer
//     for such a line is taken;
//   - an E.164 prefix, "+" and 1 to 15 digits ("+44", "+86138"): numbers
//     with that prefix are the adapter's, where numauth knows the number
//     before the front leg (a redirect front leg's login hint);
//   - "*": anything no earlier rule matched.
//
// and ADAPTER is a registered adapter's name (ValidName). Rules are tried
// in order and the first match decides.
type Route struct {
	Operator Operator // set for an operator rule
	Prefix   string   // set for a prefix rule, "+" included
	Adapter  string
}

// Any reports whether r is the "*" rule.
func (r Route) Any() bool { return r.Operator == "" && r.Prefix == "" }

// String returns r in ParseRoute's syntax.
func (r Route) String() string {
	m := "*"
	switch {
	case r.Operator != "":
		m = string(r.Operator)
	case r.Prefix != "":
		m = r.Prefix
	}
	return m + "=" + r.Adapter
}

// maxRouteInput bounds a rule: an 8-character operator or a 16-character
// prefix, "=", a 32-character name.
const maxRouteInput = 64

// ParseRoute reads a rule (see Route). Spaces around MATCH and ADAPTER are
// ignored; anything else malformed is an error that says what is wrong.
func ParseRoute(s string) (Route, error) {
	if len(s) > maxRouteInput {
		return Route{}, fmt.Errorf("carrier route: longer than %d characters", maxRouteInput)
	}
	m, name, ok := strings.Cut(s, "=")
	if !ok {
		return Route{}, errors.New("carrier route: want MATCH=ADAPTER (MATCH an operator code, +PREFIX or *)")
	}
	m, name = strings.TrimSpace(m), strings.TrimSpace(name)
	if !ValidName(name) {
		// Neither part is echoed: a mistyped rule may hold a phone number.
		return Route{}, errors.New("carrier route: ADAPTER is not an adapter name (a-z, 0-9 and '-', starting with a letter)")
	}
	r := Route{Adapter: name}
	switch {
	case m == "*":
	case strings.HasPrefix(m, "+"):
		if len(m) < 2 || len(m) > 16 || !isDigits(m[1:]) || m[1] == '0' {
			return Route{}, errors.New("carrier route: a prefix is + and 1 to 15 digits, the first not 0")
		}
		r.Prefix = m
	case ValidOperator(Operator(m)):
		r.Operator = Operator(m)
	default:
		return Route{}, errors.New("carrier route: MATCH is neither an operator code (2 to 8 of A-Z and 0-9), a +PREFIX nor *")
	}
	return r, nil
}

// Router is an adapter that runs several adapters at once, as its routes
// say. Its back leg goes to the adapter that issued the ticket: a router's
// ticket is that adapter's name, ":", and that adapter's own ticket, so a
// ticket stays as opaque and unforgeable as the adapters make theirs, and
// a ticket moved to another adapter's name is refused by that adapter.
//
// Its front leg is network-identified: Identify asks the network-identified
// adapters in the order their first rule names them, and the first that
// identifies the line wins, unless an operator rule gives that line's
// operator to another adapter (then its answer is passed over). ErrNotCellular
// from all is ErrNotCellular; when none identifies the line and one failed
// otherwise, the first such error is returned.
//
// Its redirect front leg is the routed redirect adapters': Begin goes to
// the one the login hint routes to, else to the first in route order, and
// Complete to the one whose state the callback carries. Callers try the
// network-identified front leg first and begin a redirect when no adapter
// identified the line (internal/auth does).
type Router struct {
	name     string
	routes   []Route
	order    []string
	adapters map[string]Adapter
}

var (
	_ NetworkIdentified = (*Router)(nil)
	_ Redirector        = RedirectRouter{}
)

// RedirectRouter is a Router with a redirect front leg: what [Router.Adapter]
// gives when a routed adapter has one.
type RedirectRouter struct{ *Router }

// Adapter returns the router as the adapter numauth holds: r itself, or,
// when a routed adapter has a redirect front leg, a RedirectRouter, so that
// the capability is there exactly when one of the adapters has it.
func (r *Router) Adapter() Adapter {
	for _, a := range r.adapters {
		if _, ok := a.(Redirector); ok {
			return RedirectRouter{r}
		}
	}
	return r
}

// NewRouter returns a router over adapters (by name) with routes. Every
// route must name one of adapters, and every adapter must be named by a
// route.
func NewRouter(routes []Route, adapters map[string]Adapter) (*Router, error) {
	if len(routes) == 0 {
		return nil, errors.New("carrier router: no routes")
	}
	r := &Router{routes: routes, adapters: map[string]Adapter{}}
	for _, rt := range routes {
		a, ok := adapters[rt.Adapter]
		if !ok || a == nil {
			return nil, fmt.Errorf("carrier router: route %s names no adapter given", rt)
		}
		if _, seen := r.adapters[rt.Adapter]; !seen {
			r.adapters[rt.Adapter] = a
			r.order = append(r.order, rt.Adapter)
		}
	}
	for n := range adapters {
		if _, ok := r.adapters[n]; !ok {
			return nil, fmt.Errorf("carrier router: adapter %s is named by no route", n)
		}
	}
	r.name = strings.Join(r.order, "+")
	return r, nil
}

// Name returns the routed adapters' names in order, joined by "+"
// ("sandbox+camara"): spTokens minted under one set of routes are refused
// under another.
func (r *Router) Name() string { return r.name }

// Adapters returns the routed adapters by name.
func (r *Router) Adapters() map[string]Adapter {
	out := make(map[string]Adapter, len(r.adapters))
	for n, a := range r.adapters {
		out[n] = a
	}
	return out
}

// Route returns the name of the adapter a number (E.164) belongs to: the
// first rule whose prefix it has, whose operator its block is allocated to
// (mainland numbers), or "*". No rule matches: "", false.
func (r *Router) Route(e164 string) (string, bool) {
	op, _ := OperatorOf(e164)
	for _, rt := range r.routes {
		if rt.Any() || rt.Prefix != "" && strings.HasPrefix(e164, rt.Prefix) || rt.Operator != "" && rt.Operator == op {
			return rt.Adapter, true
		}
	}
	return "", false
}

// owner returns the adapter an operator rule gives op's lines to, if any.
func (r *Router) owner(op Operator) (string, bool) {
	for _, rt := range r.routes {
		if rt.Operator == op {
			return rt.Adapter, true
		}
	}
	return "", false
}

// Identify runs the front leg (see Router).
func (r *Router) Identify(ctx context.Context, req FrontRequest) (Line, error) {
	var first error
	asked := false
	for _, n := range r.order {
		ni, ok := r.adapters[n].(NetworkIdentified)
		if !ok {
			continue
		}
		asked = true
		line, err := ni.Identify(ctx, req)
		if err != nil {
			if ctx.Err() != nil {
				return Line{}, ctx.Err()
			}
			if !errors.Is(err, ErrNotCellular) && first == nil {
				first = fmt.Errorf("%s: %w", n, err)
			}
			continue
		}
		if o, ok := r.owner(line.Operator); ok && o != n {
			continue // an operator rule gives this line to another adapter
		}
		line.Ticket = n + ":" + line.Ticket
		return line, nil
	}
	switch {
	case first != nil:
		return Line{}, first
	case !asked:
		return Line{}, fmt.Errorf("%w: no routed adapter has a network-identified front leg", ErrUnsupported)
	}
	return Line{}, ErrNotCellular
}

var errNoIssuer = fmt.Errorf("%w: no routed adapter issued it", ErrTicketInvalid)

// issuer splits a router ticket into its adapter and that adapter's ticket.
func (r *Router) issuer(ctx context.Context, ticket string) (Adapter, string, error) {
	if err := ctx.Err(); err != nil {
		return nil, "", err
	}
	n, inner, ok := strings.Cut(ticket, ":")
	a, known := r.adapters[n]
	if !ok || !known {
		return nil, "", errNoIssuer
	}
	return a, inner, nil
}

// Verify asks the adapter that issued ticket.
func (r *Router) Verify(ctx context.Context, ticket, phone string) (Verdict, error) {
	a, inner, err := r.issuer(ctx, ticket)
	if err != nil {
		return "", err
	}
	return a.Verify(ctx, inner, phone)
}

// Number asks the adapter that issued ticket.
func (r *Router) Number(ctx context.Context, ticket string) (string, error) {
	a, inner, err := r.issuer(ctx, ticket)
	if err != nil {
		return "", err
	}
	return a.Number(ctx, inner)
}

// MatchMask asks the adapter that issued ticket.
func (r *Router) MatchMask(ctx context.Context, ticket, digits string) (bool, error) {
	a, inner, err := r.issuer(ctx, ticket)
	if err != nil {
		return false, err
	}
	return a.MatchMask(ctx, inner, digits)
}

// Begin starts a redirect front leg (see Router).
func (r RedirectRouter) Begin(ctx context.Context, req BeginRequest) (Redirect, error) {
	if err := ctx.Err(); err != nil {
		return Redirect{}, err
	}
	name := ""
	if p, err := ParseE164(req.LoginHint); err == nil {
		if n, ok := r.Route(p); ok {
			if _, ok := r.adapters[n].(Redirector); ok {
				name = n
			}
		}
	}
	for _, n := range r.order {
		if name != "" {
			break
		}
		if _, ok := r.adapters[n].(Redirector); ok {
			name = n
		}
	}
	if name == "" {
		return Redirect{}, fmt.Errorf("%w: no routed adapter has a redirect front leg", ErrUnsupported)
	}
	red, err := r.adapters[name].(Redirector).Begin(ctx, req)
	if err != nil {
		return Redirect{}, fmt.Errorf("%s: %w", name, err)
	}
	return red, nil
}

// Complete hands the callback to the redirect adapter whose state it
// carries: each refuses a state it did not issue without spending anything.
func (r RedirectRouter) Complete(ctx context.Context, req CallbackRequest) (Line, error) {
	for _, n := range r.order {
		rd, ok := r.adapters[n].(Redirector)
		if !ok {
			continue
		}
		line, err := rd.Complete(ctx, req)
		if errors.Is(err, ErrStateUnknown) {
			continue // not this adapter's state: the next one's, maybe
		}
		if err != nil {
			return Line{}, fmt.Errorf("%s: %w", n, err)
		}
		line.Ticket = n + ":" + line.Ticket
		return line, nil
	}
	return Line{}, fmt.Errorf("%w: no routed adapter issued it", ErrStateUnknown)
}
