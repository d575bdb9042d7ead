package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/numauth/numauth/internal/carrier"
	"github.com/numauth/numauth/internal/store"
	"github.com/numauth/numauth/internal/token"
	"github.com/numauth/numauth/internal/wire"
)

// Ephemeral key prefixes.
const (
	kSession  = "h5s:" // gateway session
	kMaskTry  = "h5m:" // mask attempts of a session
	kMaskLock = "mlk:" // login lock of a number (keyed hash)
	kSPUsed   = "spu:" // consumed spToken ids
)

// H5Check is the gateway's check call from the page.
type H5Check struct {
	AccessToken, JwtToken string
	Origin                string // the request's Origin header
	Kind                  carrier.Kind
	Phone                 string // optional (checkAuthAvailable's phoneNumber)
}

// H5Session is an open gateway session.
type H5Session struct {
	ID        string
	ExpiresIn time.Duration
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
}

// sessionVersion starts a session in the ephemeral store. Sessions that
// start with '{' are JSON, as numauth stored them before (instances of both
// versions share one Redis during a rolling upgrade).
const sessionVersion = 1

func (ss *session) encode() []byte {
	w := wire.NewWriter(make([]byte, 0, 128))
	w.Byte(sessionVersion)
	w.Strings(ss.AccountID, ss.Scheme, ss.Origin, string(ss.Kind), ss.Operator, ss.Ticket, ss.Masked, ss.PhoneHash)
	w.Int(ss.Expires)
	return w.Out()
}

func decodeSession(b []byte) (session, error) {
	var ss session
	if len(b) > 0 && b[0] == '{' {
		err := json.Unmarshal(b, &ss)
		return ss, err
	}
	r := wire.NewReader(b)
	if r.Byte() != sessionVersion {
		return session{}, wire.ErrMalformed
	}
	ss.AccountID, ss.Scheme, ss.Origin, ss.Kind = r.String(), r.String(), r.String(), carrier.Kind(r.String())
	ss.Operator, ss.Ticket, ss.Masked, ss.PhoneHash = r.String(), r.String(), r.String(), r.String()
	ss.Expires = r.Int()
	return ss, r.Done()
}

// CheckH5 validates the page's tokens against its origin and opens a session.
func (s *Service) CheckH5(ctx context.Context, in H5Check) (H5Session, error) {
	if in.AccessToken == "" || in.JwtToken == "" || (in.Kind != carrier.KindVerify && in.Kind != carrier.KindLogin) {
		return H5Session{}, fmt.Errorf("%w: accessToken, jwtToken and kind are required", ErrBadArgument)
	}
	if in.Phone != "" {
		if _, err := carrier.NormalizePhone(in.Phone); err != nil {
			return H5Session{}, fmt.Errorf("%w: phoneNumber is not a mainland mobile number", ErrBadArgument)
		}
	}
	a, err := s.sealer.OpenAccess(in.AccessToken)
	if err != nil {
		return H5Session{}, fmt.Errorf("%w: access token: %w", ErrIdentity, err)
	}
	if err := s.checkPair(ctx, &a, in.JwtToken); err != nil {
		return H5Session{}, err
	}
	origin, err := NormalizeOrigin(in.Origin)
	if err != nil || origin != a.Origin {
		return H5Session{}, fmt.Errorf("%w: origin %q is not the tokens' origin", ErrIdentity, in.Origin)
	}
	want := token.BizVerify
	if in.Kind == carrier.KindLogin {
		want = token.BizLogin
	}
	if !a.Biz.Allows(want) {
		return H5Session{}, ErrBizMismatch
	}
	if err := s.schemeAlive(ctx, a.AccountID, a.Scheme); err != nil {
		return H5Session{}, err
	}
	now := s.cfg.Now()
	ttl := min(s.cfg.SessionTTL, time.Unix(a.Expires, 0).Sub(now))
	sess := session{AccountID: a.AccountID, Scheme: a.Scheme, Origin: origin, Kind: in.Kind, Expires: now.Add(ttl).UnixMilli()}
	id := token.NewID()
	if err := s.putSession(ctx, id, sess); err != nil {
		return H5Session{}, err
	}
	return H5Session{ID: id, ExpiresIn: ttl}, nil
}

// checkPair checks that jwtToken is the JwtToken minted with the AccessToken
// a, and not expired. An AccessToken that binds its JwtToken settles it
// with a digest comparison; one minted before the binding existed (during a
// rolling upgrade) has the JwtToken's signature and claims verified.
func (s *Service) checkPair(ctx context.Context, a *token.Access, jwtToken string) error {
	if len(a.JWT) > 0 {
		if !a.BindsJWT(jwtToken) {
			return fmt.Errorf("%w: the tokens are not one pair", ErrIdentity)
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
		return fmt.Errorf("%w: the tokens are not one pair", ErrIdentity)
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
		return session{}, fmt.Errorf("%w: session", ErrBadArgument)
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
		return session{}, fmt.Errorf("%w: origin %q is not the session's", ErrIdentity, origin)
	}
	if sess.Kind != kind {
		return session{}, fmt.Errorf("%w: the session was opened for %s", ErrSessionInvalid, sess.Kind)
	}
	return sess, nil
}

// SPResult is a carrier leg's answer to the page.
type SPResult struct {
	SPToken  string
	Operator carrier.Operator
	Masked   string
}

func (s *Service) mintSP(ctx context.Context, sess session, kind carrier.Kind, op carrier.Operator, ticket, masked string) (SPResult, error) {
	// A store that just came back empty gets its new epoch before this token.
	if _, err := s.epoch.current(ctx); err != nil {
		return SPResult{}, err
	}
	now := s.cfg.Now()
	ttl, ok := s.cfg.SPTokenTTL[op]
	if !ok {
		ttl = 2 * time.Minute
	}
	tok, err := s.sealer.SealSP(token.SP{
		ID: token.NewID(), AccountID: sess.AccountID, Scheme: sess.Scheme, Kind: string(kind),
		Operator: string(op), Adapter: s.cfg.Carrier.Name(), Ticket: ticket, Masked: masked,
		Issued: now.UnixMilli(), Expires: now.Add(ttl).UnixMilli(),
	})
	if err != nil {
		return SPResult{}, err
	}
	return SPResult{SPToken: tok, Operator: op, Masked: masked}, nil
}

// H5VerifyToken runs the carrier's front leg for local-number verification
// and returns a verification spToken.
func (s *Service) H5VerifyToken(ctx context.Context, sessionID, origin string, front carrier.FrontRequest) (SPResult, error) {
	sess, err := s.getSession(ctx, sessionID, origin, carrier.KindVerify)
	if err != nil {
		return SPResult{}, err
	}
	front.Kind = carrier.KindVerify
	line, err := s.cfg.Carrier.Identify(ctx, front)
	if err != nil {
		return SPResult{}, fmt.Errorf("carrier front leg: %w", err)
	}
	return s.mintSP(ctx, sess, carrier.KindVerify, line.Operator, line.Ticket, "")
}

// H5LoginMask runs the carrier's front leg for one-click login and returns
// the masked number to show the user.
func (s *Service) H5LoginMask(ctx context.Context, sessionID, origin string, front carrier.FrontRequest) (SPResult, error) {
	sess, err := s.getSession(ctx, sessionID, origin, carrier.KindLogin)
	if err != nil {
		return SPResult{}, err
	}
	front.Kind = carrier.KindLogin
	line, err := s.cfg.Carrier.Identify(ctx, front)
	if err != nil {
		return SPResult{}, fmt.Errorf("carrier front leg: %w", err)
	}
	phone, err := s.cfg.Carrier.Number(ctx, line.Ticket)
	if err != nil {
		return SPResult{}, fmt.Errorf("carrier: %w", err)
	}
	hash := s.PhoneHash(phone)
	if _, err := s.eph.Get(ctx, kMaskLock+hash); err == nil {
		return SPResult{}, ErrMaskLocked
	} else if !errors.Is(err, store.ErrNotFound) {
		return SPResult{}, storeErr("get mask lock", err)
	}
	sess.Operator, sess.Ticket, sess.Masked, sess.PhoneHash = string(line.Operator), line.Ticket, line.Masked, hash
	if err := s.putSession(ctx, sessionID, sess); err != nil {
		return SPResult{}, err
	}
	return SPResult{Operator: line.Operator, Masked: line.Masked}, nil
}

// H5LoginToken checks the middle four digits the user typed and returns a
// login spToken. Every attempt counts against the session's budget before
// the check, so parallel guesses cannot exceed it; the attempt that spends
// the budget kills the session and locks the number for login.
func (s *Service) H5LoginToken(ctx context.Context, sessionID, origin, mask string) (SPResult, error) {
	if len(mask) != 4 || strings.Trim(mask, "0123456789") != "" {
		return SPResult{}, fmt.Errorf("%w: mask must be the 4 middle digits", ErrBadArgument)
	}
	sess, err := s.getSession(ctx, sessionID, origin, carrier.KindLogin)
	if err != nil {
		return SPResult{}, err
	}
	if sess.Ticket == "" {
		return SPResult{}, ErrMaskNotRequested
	}
	if _, err := s.eph.Get(ctx, kMaskLock+sess.PhoneHash); err == nil {
		return SPResult{}, ErrMaskLocked
	}
	n, err := s.eph.Incr(ctx, kMaskTry+sessionID, time.Until(time.UnixMilli(sess.Expires))+time.Second)
	if err != nil {
		return SPResult{}, storeErr("count mask tries", err)
	}
	if n > int64(s.cfg.MaskTries) {
		return SPResult{}, ErrMaskLocked
	}
	ok, err := s.cfg.Carrier.MatchMask(ctx, sess.Ticket, mask)
	if err != nil {
		return SPResult{}, fmt.Errorf("carrier: %w", err)
	}
	if ok {
		return s.mintSP(ctx, sess, carrier.KindLogin, carrier.Operator(sess.Operator), sess.Ticket, sess.Masked)
	}
	if n < int64(s.cfg.MaskTries) {
		return SPResult{}, &MaskWrongError{TriesLeft: s.cfg.MaskTries - int(n)}
	}
	if err := s.eph.Put(ctx, kMaskLock+sess.PhoneHash, []byte("1"), s.cfg.MaskLockTTL); err != nil {
		return SPResult{}, storeErr("lock number", err)
	}
	if err := s.eph.Delete(ctx, kSession+sessionID); err != nil {
		return SPResult{}, storeErr("end session", err)
	}
	s.cfg.Logger.WarnContext(ctx, "login mask budget spent; number locked",
		"masked", sess.Masked, "scheme", sess.Scheme, "lock", s.cfg.MaskLockTTL.String())
	return SPResult{}, ErrMaskLocked
}

// VerifyResult is VerifyPhoneWithToken's answer.
type VerifyResult struct {
	VerifyID string
	Result   carrier.Verdict
}

// openSP opens a caller's spToken for an action of the given kind and
// consumes it (once, across instances).
func (s *Service) openSP(ctx context.Context, c Caller, spToken string, kind carrier.Kind, check func(token.SP) error) (token.SP, error) {
	sp, err := s.sealer.OpenSP(spToken)
	if err != nil {
		return token.SP{}, fmt.Errorf("%w: %w", ErrTokenInvalid, err)
	}
	if sp.AccountID != c.AccountID {
		return token.SP{}, fmt.Errorf("%w: token of another account", ErrTokenInvalid)
	}
	if sp.Kind != string(kind) {
		return token.SP{}, fmt.Errorf("%w: a %s token cannot be used here", ErrTokenUnauthorized, sp.Kind)
	}
	epoch, err := s.epoch.current(ctx)
	if err != nil {
		return token.SP{}, err
	}
	if sp.Issued < epoch {
		// Issued before the ephemeral store last lost its data: whether it
		// was spent is no longer known.
		return token.SP{}, fmt.Errorf("%w: token predates the ephemeral store's epoch", ErrTokenInvalid)
	}
	if sp.Adapter != s.cfg.Carrier.Name() {
		return token.SP{}, fmt.Errorf("%w: token of carrier adapter %q", ErrTokenInvalid, sp.Adapter)
	}
	if err := s.checkSource(ctx, c, sp.Scheme); err != nil {
		return token.SP{}, err
	}
	if check != nil {
		if err := check(sp); err != nil {
			return token.SP{}, err
		}
	}
	ttl := time.Until(time.UnixMilli(sp.Expires)) + time.Minute
	fresh, err := s.eph.PutIfAbsent(ctx, kSPUsed+sp.ID, []byte{1}, ttl)
	if err != nil {
		s.epoch.failed(err)
		return token.SP{}, storeErr("consume token", err)
	}
	if !fresh {
		return token.SP{}, fmt.Errorf("%w: token already used", ErrTokenInvalid)
	}
	return sp, nil
}

// VerifyPhoneWithToken tells whether phone is the number of the line the
// verification spToken came from.
func (s *Service) VerifyPhoneWithToken(ctx context.Context, c Caller, spToken, phone string) (VerifyResult, error) {
	p, err := carrier.NormalizePhone(phone)
	if err != nil {
		return VerifyResult{}, fmt.Errorf("%w: %w", ErrMobileIllegal, err)
	}
	sp, err := s.openSP(ctx, c, spToken, carrier.KindVerify, func(sp token.SP) error {
		if op, ok := carrier.OperatorOf(p); !ok || string(op) != sp.Operator {
			return fmt.Errorf("%w: the number is not a %s number", ErrParametersMismatch, sp.Operator)
		}
		return nil
	})
	if err != nil {
		return VerifyResult{}, err
	}
	start := time.Now()
	verdict, err := s.cfg.Carrier.Verify(ctx, sp.Ticket, p)
	switch {
	case errors.Is(err, carrier.ErrTicketInvalid):
		return VerifyResult{}, fmt.Errorf("%w: %w", ErrTokenInvalid, err)
	case err != nil:
		// The carrier could not tell: UNKNOWN, recorded and not billed.
		s.cfg.Logger.WarnContext(ctx, "carrier back leg failed", "err", err, "carrier", sp.Operator)
		verdict = carrier.Unknown
	}
	rec := store.Verification{
		ID: recordID(), AccountID: c.AccountID, SchemeCode: sp.Scheme, Kind: string(carrier.KindVerify),
		Carrier: sp.Operator, Result: string(verdict), MaskedPhone: carrier.Mask(p), PhoneHash: s.PhoneHash(p),
		Billable: verdict == carrier.Pass || verdict == carrier.Reject, LatencyUS: time.Since(start).Microseconds(),
		CreatedAt: s.cfg.Now().UTC(),
	}
	if err := s.rec.record(ctx, rec); err != nil {
		return VerifyResult{}, storeErr("record verification", err)
	}
	return VerifyResult{VerifyID: rec.ID, Result: verdict}, nil
}

// GetPhoneWithToken returns the number of the line a login spToken came from.
func (s *Service) GetPhoneWithToken(ctx context.Context, c Caller, spToken string) (string, error) {
	sp, err := s.openSP(ctx, c, spToken, carrier.KindLogin, nil)
	if err != nil {
		return "", err
	}
	start := time.Now()
	phone, err := s.cfg.Carrier.Number(ctx, sp.Ticket)
	if errors.Is(err, carrier.ErrTicketInvalid) {
		return "", fmt.Errorf("%w: %w", ErrTokenInvalid, err)
	}
	rec := store.Verification{
		ID: recordID(), AccountID: c.AccountID, SchemeCode: sp.Scheme, Kind: string(carrier.KindLogin),
		Carrier: sp.Operator, Result: string(carrier.Pass), LatencyUS: time.Since(start).Microseconds(), CreatedAt: s.cfg.Now().UTC(),
	}
	if err != nil {
		rec.Result = string(carrier.Unknown)
		if rerr := s.rec.record(ctx, rec); rerr != nil {
			return "", storeErr("record login", rerr)
		}
		return "", fmt.Errorf("%w: carrier: %w", ErrUnavailable, err)
	}
	rec.MaskedPhone, rec.PhoneHash, rec.Billable = carrier.Mask(phone), s.PhoneHash(phone), true
	if err := s.rec.record(ctx, rec); err != nil {
		return "", storeErr("record login", err)
	}
	return phone, nil
}

// recordID returns a verification record's id: a time-ordered UUID
// (version 7), so that the durable stores' unique index on ids grows at its
// right edge, one page per group commit, instead of touching a random page
// of an ever larger index for every record.
func recordID() string {
	id, err := uuid.NewV7()
	if err != nil {
		// Only if the system's randomness fails; a random id is still unique.
		id = uuid.New()
	}
	return strings.ToUpper(id.String())
}
