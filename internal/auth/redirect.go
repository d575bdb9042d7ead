package auth

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/numauth/numauth/internal/carrier"
	"github.com/numauth/numauth/internal/store"
)

// A redirect front leg, as the H5 gateway runs it (docs/h5-protocol.md):
//
//  1. The page asks for a token (verify-token, login-mask); the adapter's
//     Begin gives the operator URL, which the page's SDK visits in a hidden
//     frame or a popup over the phone's cellular connection.
//  2. The operator sends that window to numauth's callback, whose page
//     posts the answer (code, state) to the page's origin only: the one
//     RedirectOrigin names for the state.
//  3. The page hands the answer to CompleteRedirect with its session: the
//     adapter spends the state, which is bound to that session, and the
//     flow goes on as after a network-identified front leg.

// FrontRedirect is a redirect front leg for the page to run.
type FrontRedirect struct {
	URL    string // the operator's authorization URL
	Window string // carrier.WindowFrame or carrier.WindowPopup
	// CallbackOrigin is where the callback page posts the answer from
	// (numauth's public origin as the operator knows it).
	CallbackOrigin string
}

// maxRedirectsPerSession bounds the redirects one session begins (each
// keeps a small record for 10 minutes): a page retries, it does not loop.
const maxRedirectsPerSession = 10

// redirectTTL bounds a pending redirect: a redirect state lives no longer.
const redirectTTL = 10 * time.Minute

// redirectBinding is what a redirect state is bound to: the gateway
// session, which only the page that opened it knows.
func redirectBinding(sessionID string) string {
	h := sha256.Sum256([]byte("numauth redirect session\x00" + sessionID))
	return hex.EncodeToString(h[:16])
}

func redirectKey(state string) string {
	h := sha256.Sum256([]byte(state))
	return kRedirect + hex.EncodeToString(h[:16])
}

func (s *Service) beginRedirect(ctx context.Context, rd carrier.Redirector, sessionID string, sess session, kind carrier.Kind) (*FrontRedirect, error) {
	n, err := s.eph.Incr(ctx, kRedirect+"n:"+sessionID, time.Until(time.UnixMilli(sess.Expires)))
	if err != nil {
		return nil, storeErr("count redirects", err)
	}
	if n > maxRedirectsPerSession {
		return nil, hint(ErrTooManySessions, "this session began %d redirects; open a new one", maxRedirectsPerSession)
	}
	r, err := rd.Begin(ctx, carrier.BeginRequest{Kind: kind, SessionBinding: redirectBinding(sessionID)})
	if err != nil {
		return nil, fmt.Errorf("carrier front leg: %w", err)
	}
	ttl := min(redirectTTL, time.Until(time.UnixMilli(sess.Expires)))
	if ttl <= 0 {
		return nil, ErrSessionInvalid
	}
	if err := s.eph.Put(ctx, redirectKey(r.State), []byte(sess.Origin), ttl); err != nil {
		return nil, storeErr("put redirect", err)
	}
	w := r.Window
	if w == "" {
		w = carrier.WindowFrame
	}
	return &FrontRedirect{URL: r.URL, Window: w, CallbackOrigin: r.CallbackOrigin}, nil
}

// RedirectOrigin returns the page origin a redirect state was begun for:
// the only origin the callback may hand the operator's answer to. An
// unknown or expired state is ErrSessionInvalid.
func (s *Service) RedirectOrigin(ctx context.Context, state string) (string, error) {
	if state == "" || len(state) > 4096 {
		return "", ErrSessionInvalid
	}
	b, err := s.eph.Get(ctx, redirectKey(state))
	if errors.Is(err, store.ErrNotFound) {
		return "", ErrSessionInvalid
	}
	if err != nil {
		return "", storeErr("get redirect", err)
	}
	return string(b), nil
}

// CompleteRedirect finishes a redirect front leg with the operator's answer
// (the callback's query, as the page received it) and goes on with the
// session's flow: a verification spToken, or a login's masked number.
func (s *Service) CompleteRedirect(ctx context.Context, sessionID, origin string, query url.Values) (SPResult, error) {
	rd, ok := s.cfg.Carrier.(carrier.Redirector)
	if !ok {
		return SPResult{}, fmt.Errorf("carrier front leg: %w: %s has no redirect front leg", carrier.ErrUnsupported, s.cfg.Carrier.Name())
	}
	state := query.Get("state")
	if state == "" {
		return SPResult{}, hint(ErrBadArgument, "the operator's answer has no state")
	}
	sess, err := s.getSession(ctx, sessionID, origin, "")
	if err != nil {
		return SPResult{}, err
	}
	line, err := rd.Complete(ctx, carrier.CallbackRequest{State: state, Query: query, SessionBinding: redirectBinding(sessionID), Kind: sess.Kind})
	if err != nil {
		return SPResult{}, fmt.Errorf("carrier front leg: %w", err)
	}
	if err := s.eph.Delete(ctx, redirectKey(state)); err != nil {
		s.cfg.Logger.WarnContext(ctx, "could not forget a completed redirect", "err", err)
	}
	if sess.Kind == carrier.KindLogin {
		return s.loginLine(ctx, sessionID, sess, line)
	}
	return s.mintSP(ctx, sess, carrier.KindVerify, line.Operator, line.Ticket, "", line.Expires)
}
