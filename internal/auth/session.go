package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/numauth/numauth/internal/carrier"
	"github.com/numauth/numauth/internal/limit"
	"github.com/numauth/numauth/internal/store"
	"github.com/numauth/numauth/internal/token"
	"github.com/numauth/numauth/internal/wire"
)

// Ephemeral key prefixes of the flows (budgets live under "lim:", see
// internal/limit; the epoch marker is "epoch").
const (
	kSession  = "h5s:"   // gateway session
	kSPUsed   = "spu:"   // spToken outcome state (see sptoken.go)
	kNonce    = "nonce:" // seen signature nonces
	kSmsCode  = "smsc:"  // live SMS codes of one account, scheme and number (see sms.go)
	kRedirect = "h5r:"   // a redirect front leg's page origin, by state (see redirect.go)
)

// SessionRequest is the gateway's check call from the page.
type SessionRequest struct {
	AccessToken, JwtToken string
	Origin                string // the request's Origin header
	Kind                  carrier.Kind
	Phone                 string // optional (checkAuthAvailable's phoneNumber)
	// Source is the address the call came from, for the per-address
	// session budget ("" when unknown: not counted).
	Source string
}

// SessionInfo is an open gateway session.
type SessionInfo struct {
	ID        string
	ExpiresIn time.Duration
	// Origin is the page origin the session is bound to (normalised): the
	// only origin the gateway lets read its answers.
	Origin string
}

type session struct {
	AccountID string       `json:"a"`
	Scheme    string       `json:"s"`
	Origin    string       `json:"o"`
	Kind      carrier.Kind `json:"k"`
	Expires   int64        `json:"e"` // unix ms
	// Set by login-mask:
	Operator  string `json:"op,omitempty"`
	Ticket    string `json:"t,omitempty"`
	Masked    string `json:"m,omitempty"`
	PhoneHash string `json:"h,omitempty"`
	// Fusion is the id of the fusion authentication token the session was
	// opened with (fusion.go); empty for a seed flow's session.
	Fusion string `json:"f,omitempty"`
}

// sessionVersion starts a session in the ephemeral store. Sessions that
// start with '{' are JSON, as numauth stored them before (instances of both
// versions share one Redis during a rolling upgrade).
const sessionVersion = 1

// fusionSessionVersion is a session opened with a fusion token: version 1's
// fields and the token's id. Sessions of the seed flows stay version 1, so
// instances that know no fusion keep reading them during an upgrade.
const fusionSessionVersion = 2

func (ss *session) encode() []byte {
	w := wire.NewWriter(make([]byte, 0, 128))
	if ss.Fusion != "" {
		w.Byte(fusionSessionVersion)
	} else {
		w.Byte(sessionVersion)
	}
	w.Strings(ss.AccountID, ss.Scheme, ss.Origin, string(ss.Kind), ss.Operator, ss.Ticket, ss.Masked, ss.PhoneHash)
	w.Int(ss.Expires)
	if ss.Fusion != "" {
		w.String(ss.Fusion)
	}
	return w.Out()
}

func decodeSession(b []byte) (session, error) {
	var ss session
	if len(b) > 0 && b[0] == '{' {
		err := json.Unmarshal(b, &ss)
		return ss, err
	}
	r := wire.NewReader(b)
	v := r.Byte()
	if v != sessionVersion && v != fusionSessionVersion {
		return session{}, wire.ErrMalformed
	}
	ss.AccountID, ss.Scheme, ss.Origin, ss.Kind = r.String(), r.String(), r.String(), carrier.Kind(r.String())
	ss.Operator, ss.Ticket, ss.Masked, ss.PhoneHash = r.String(), r.String(), r.String(), r.String()
	ss.Expires = r.Int()
	if v == fusionSessionVersion {
		if ss.Fusion = r.String(); ss.Fusion == "" {
			return session{}, wire.ErrMalformed
		}
	}
	return ss, r.Done()
}

// OpenSession validates the page's tokens against its origin and opens a session.
func (s *Service) OpenSession(ctx context.Context, in SessionRequest) (SessionInfo, error) {
	if in.AccessToken == "" || in.JwtToken == "" || (in.Kind != carrier.KindVerify && in.Kind != carrier.KindLogin) {
		return SessionInfo{}, hint(ErrBadArgument, "accessToken, jwtToken and kind are required")
	}
	if in.Phone != "" {
		if _, err := carrier.ParseE164(in.Phone); err != nil {
			return SessionInfo{}, hint(ErrBadArgument, "phoneNumber is not a mainland mobile or E.164 number")
		}
	}
	a, err := s.sealer.OpenAccess(in.AccessToken)
	if err != nil {
		return SessionInfo{}, fmt.Errorf("%w: access token: %w", ErrIdentity, err)
	}
	if err := s.checkPair(ctx, &a, in.JwtToken); err != nil {
		return SessionInfo{}, err
	}
	origin, err := NormalizeOrigin(in.Origin)
	if err != nil || origin != a.Origin {
		return SessionInfo{}, hint(ErrIdentity, "origin %q is not the tokens' origin", in.Origin)
	}
	want := token.BizVerify
	if in.Kind == carrier.KindLogin {
		want = token.BizLogin
	}
	if !a.Biz.Allows(want) {
		return SessionInfo{}, ErrBizMismatch
	}
	if err := s.schemeAlive(ctx, a.AccountID, a.Scheme); err != nil {
		return SessionInfo{}, err
	}
	// Sessions cost memory in the shared store: a public token pair, or one
	// address, opens only so many (Config.SessionsPerToken, SessionsPerSource).
	charges := []limit.Charge{s.budgets.sessionsPerToken.For(a.ID)}
	if in.Source != "" {
		charges = append(charges, s.budgets.sessionsPerSource.For(in.Source))
	}
	now := s.cfg.Now()
	ttl := min(s.cfg.SessionTTL, time.Unix(a.Expires, 0).Sub(now))
	sess := session{AccountID: a.AccountID, Scheme: a.Scheme, Origin: origin, Kind: in.Kind, Expires: now.Add(ttl).UnixMilli()}
	id := token.NewID()
	if err := s.spendAndPut(ctx, charges, id, sess); err != nil {
		return SessionInfo{}, err
	}
	return SessionInfo{ID: id, ExpiresIn: ttl, Origin: origin}, nil
}

// spendAndPut spends the session budgets and writes the new session id at
// the same time: one store round trip on the call's path instead of two
// (three with the per-address budget). That opens nothing the budgets
// refuse: the id is fresh, and nobody learns it before the budgets allowed
// it; a session whose budget refused is deleted before the refusal is
// answered (if that fails it expires unknown to anyone). As before, a unit
// spent for a session that could not be written stays spent.
func (s *Service) spendAndPut(ctx context.Context, charges []limit.Charge, id string, sess session) error {
	put := make(chan error, 1)
	go func() { put <- s.putSession(ctx, id, sess) }()
	spendErr := s.limits.Spend(ctx, charges...)
	putErr := <-put
	if spendErr != nil {
		if putErr == nil {
			s.dropSession(ctx, id)
		}
		if errors.Is(spendErr, limit.ErrExhausted) {
			return fmt.Errorf("%w: %w", ErrTooManySessions, spendErr)
		}
		return storeErr("count sessions", spendErr)
	}
	return putErr
}

// dropSession deletes a session nobody was told of, on a short deadline of
// its own (the call's may be spent); a failure leaves it to expire.
func (s *Service) dropSession(ctx context.Context, id string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), releaseTimeout)
	defer cancel()
	if err := s.eph.Delete(ctx, kSession+id); err != nil {
		s.cfg.Logger.Warn("could not delete a refused session; it expires unused", "err", err)
	}
}

// checkPair checks that jwtToken is the JwtToken minted with the AccessToken
// a, and not expired. An AccessToken that binds its JwtToken settles it
// with a digest comparison; one minted before the binding existed (during a
// rolling upgrade) has the JwtToken's signature and claims verified.
func (s *Service) checkPair(ctx context.Context, a *token.Access, jwtToken string) error {
	if len(a.JWT) > 0 {
		if !a.BindsJWT(jwtToken) {
			return hint(ErrIdentity, "the tokens are not one pair")
		}
		if s.cfg.Now().Unix() >= a.JWTExpires {
			return fmt.Errorf("%w: jwt token: %w", ErrIdentity, token.ErrExpired)
		}
		return nil
	}
	claims, err := s.keys.Verify(ctx, jwtToken)
	if err != nil {
		return fmt.Errorf("%w: jwt token: %w", ErrIdentity, err)
	}
	if claims.ID != a.ID || claims.Subject != a.AccountID || !slices.Contains(claims.Audience, a.Scheme) {
		return hint(ErrIdentity, "the tokens are not one pair")
	}
	return nil
}

func (s *Service) schemeAlive(ctx context.Context, account, code string) error {
	all, err := s.schemes(ctx, account, false)
	if err != nil {
		return err
	}
	for _, sc := range all {
		if sc.Code == code {
			return nil
		}
	}
	return ErrSchemeGone
}

func (s *Service) putSession(ctx context.Context, id string, sess session) error {
	ttl := time.Until(time.UnixMilli(sess.Expires))
	if ttl <= 0 {
		return ErrSessionInvalid
	}
	if err := s.eph.Put(ctx, kSession+id, sess.encode(), ttl); err != nil {
		return storeErr("put session", err)
	}
	return nil
}

func (s *Service) getSession(ctx context.Context, id, origin string, kind carrier.Kind) (session, error) {
	if id == "" || len(id) > 64 {
		return session{}, hint(ErrBadArgument, "session")
	}
	b, err := s.eph.Get(ctx, kSession+id)
	if errors.Is(err, store.ErrNotFound) {
		return session{}, ErrSessionInvalid
	}
	if err != nil {
		s.epoch.failed(err)
		return session{}, storeErr("get session", err)
	}
	sess, err := decodeSession(b)
	if err != nil {
		return session{}, ErrSessionInvalid
	}
	if o, err := NormalizeOrigin(origin); err != nil || o != sess.Origin {
		return session{}, hint(ErrIdentity, "origin %q is not the session's", origin)
	}
	if kind != "" && sess.Kind != kind {
		return session{}, hint(ErrSessionInvalid, "the session was opened for %s", sess.Kind)
	}
	// A session outlives nothing: once its scheme is deleted it is dead.
	if err := s.schemeAlive(ctx, sess.AccountID, sess.Scheme); err != nil {
		return session{}, err
	}
	return sess, nil
}

// frontLeg opens the page's session for a flow and runs the carrier's
// front leg for it over the request's connection. An adapter with a
// network-identified front leg is asked first; one with a redirect front
// leg (alone, or behind a router when no network-identified adapter knows
// the line) begins a redirect, which the page runs and CompleteRedirect
// finishes.
func (s *Service) frontLeg(ctx context.Context, sessionID, origin string, kind carrier.Kind, front carrier.FrontRequest) (session, carrier.Line, *FrontRedirect, error) {
	sess, err := s.getSession(ctx, sessionID, origin, kind)
	if err != nil {
		return session{}, carrier.Line{}, nil, err
	}
	front.Kind = kind
	rd, redirect := s.cfg.Carrier.(carrier.Redirector)
	var identifyErr error
	if ni, ok := s.cfg.Carrier.(carrier.NetworkIdentified); ok {
		line, err := ni.Identify(ctx, front)
		switch {
		case err == nil:
			return sess, line, nil, nil
		case !redirect || !(errors.Is(err, carrier.ErrNotCellular) || errors.Is(err, carrier.ErrUnsupported)):
			return session{}, carrier.Line{}, nil, fmt.Errorf("carrier front leg: %w", err)
		}
		identifyErr = fmt.Errorf("carrier front leg: %w", err)
	}
	if !redirect {
		return session{}, carrier.Line{}, nil, fmt.Errorf("carrier front leg: %w: %s has neither front leg", carrier.ErrUnsupported, s.cfg.Carrier.Name())
	}
	r, err := s.beginRedirect(ctx, rd, sessionID, sess, kind)
	if identifyErr != nil && errors.Is(err, carrier.ErrUnsupported) {
		// A router with no redirect adapter: the network's answer stands.
		return session{}, carrier.Line{}, nil, identifyErr
	}
	if err != nil {
		return session{}, carrier.Line{}, nil, err
	}
	return sess, carrier.Line{}, r, nil
}
