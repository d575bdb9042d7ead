package auth

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/numauth/numauth/internal/carrier"
	"github.com/numauth/numauth/internal/store"
	"github.com/numauth/numauth/internal/token"
)

// SPResult is a carrier leg's answer to the page.
type SPResult struct {
	SPToken  string
	Operator carrier.Operator
	Masked   string
	// Origin is the page origin of the session (see SessionInfo.Origin).
	Origin string
	// Redirect, when set, is a redirect front leg the page runs first
	// (the other fields but Origin are then empty): see CompleteRedirect.
	Redirect *FrontRedirect
	// Kind is the flow of the answer (for CompleteRedirect's caller).
	Kind carrier.Kind
}

// DefaultSPTokenTTL is the spToken lifetime of an operator without one of
// its own in Config.SPTokenTTL: China Mobile's, the shortest of the three.
const DefaultSPTokenTTL = 2 * time.Minute

// mintSP mints an spToken for a line's ticket; a ticket that expires (a
// redirect front leg's operator token) bounds the token's lifetime.
func (s *Service) mintSP(ctx context.Context, sess session, kind carrier.Kind, op carrier.Operator, ticket, masked string, expires time.Time) (SPResult, error) {
	return s.mintToken(ctx, s.sealer.SealSP, sess, kind, op, ticket, masked, expires)
}

// mintToken is mintSP sealing with seal (an spToken's or an app token's).
func (s *Service) mintToken(ctx context.Context, seal func(token.SP) (string, error), sess session, kind carrier.Kind, op carrier.Operator, ticket, masked string, expires time.Time) (SPResult, error) {
	// A store that just came back empty gets its new epoch before this
	// token, and the token carries the epoch it was minted in.
	_, _, epoch, err := s.epoch.guard(ctx)
	if err != nil {
		return SPResult{}, err
	}
	now := s.cfg.Now()
	ttl, ok := s.cfg.SPTokenTTL[op]
	if !ok {
		ttl = DefaultSPTokenTTL
	}
	if !expires.IsZero() {
		if ttl = min(ttl, expires.Sub(now)); ttl <= 0 {
			return SPResult{}, fmt.Errorf("carrier front leg: %w: the line's ticket has expired", carrier.ErrTicketInvalid)
		}
	}
	sp := token.SP{
		ID: token.NewID(), AccountID: sess.AccountID, Scheme: sess.Scheme, Kind: string(kind),
		Operator: string(op), Adapter: s.cfg.Carrier.Name(), Ticket: ticket, Masked: masked,
		Issued: now.UnixMilli(), Expires: now.Add(ttl).UnixMilli(), Epoch: epoch,
	}
	if sess.Fusion != "" {
		// A fusion session's carrier leg ends in a VerifyToken, which only
		// VerifyWithFusionAuthToken takes (fusion.go).
		sp.Kind, seal = kindFusion, s.sealer.SealFusionVerify
	}
	tok, err := seal(sp)
	if err != nil {
		return SPResult{}, err
	}
	return SPResult{SPToken: tok, Operator: op, Masked: masked, Origin: sess.Origin, Kind: kind}, nil
}

// The outcome of an spToken is exactly-once. Its state lives under
// kSPUsed+id in the ephemeral store and moves only by atomic, epoch-guarded
// swaps (doc.go draws the machine):
//
//	absent ──claim──▶ P<lease> ──answered──▶ D
//	                     │
//	                     └──failed──▶ R ──retry──▶ P<lease>
//
// P<lease> is held by the call answering now, until the lease (unix ms)
// passes; R is a call that failed before answering, so the integrator's
// retry with the same spToken may take over; D means the caller got the
// answer, and every later use is isv.TOKEN_INVALID. A call that takes over
// (from R, or from a P whose lease passed because its instance died) first
// looks for the durable record the earlier call may have written under the
// token's own record id (recordIDFor): a verification answers that record
// instead of asking the carrier again, a login asks the carrier for the
// number again and checks it against the record. One token never yields
// two records.
const (
	stateDone     = 'D'
	stateReleased = 'R'
	statePending  = 'P'
	// leaseGrace is how long a claim outlives its call's deadline (the
	// record write is bounded by that deadline; this is slack for clocks
	// and scheduling).
	leaseGrace = time.Second
	// releaseTimeout bounds giving a claim back or settling it, on a
	// context of its own (the call's may be spent).
	releaseTimeout = 250 * time.Millisecond
	// stateSkew is how long a token's state outlives the token.
	stateSkew = 15 * time.Minute
	// noDeadlineLease bounds a claim whose call has no deadline.
	noDeadlineLease = 30 * time.Second
)

// claim is a call's hold on an spToken's outcome.
type claim struct {
	key    string
	held   []byte // the P<lease> value this call stored
	ttl    time.Duration
	retry  bool // taken over from an earlier call that did not answer
	record string
}

// recordIDFor is the verification record id of an spToken: time-ordered
// like recordID (a UUIDv7 with the token's issue time) and derived from the
// token's id, so that every call answering one token writes the same
// record id and the durable store's unique id turns a second record into
// ErrConflict.
func recordIDFor(sp token.SP) string {
	sum := sha256.Sum256([]byte("numauth record id v1\x00" + sp.ID))
	var u uuid.UUID
	ms := uint64(sp.Issued)
	for i := 0; i < 6; i++ {
		u[i] = byte(ms >> (40 - 8*i))
	}
	copy(u[6:], sum[:10])
	u[6] = 0x70 | u[6]&0x0f // version 7
	u[8] = 0x80 | u[8]&0x3f // RFC 4122 variant
	return strings.ToUpper(u.String())
}

// openSP opens a caller's spToken for an action of the given kind and
// claims its outcome (once, across instances).
func (s *Service) openSP(ctx context.Context, c Caller, spToken string, kind carrier.Kind, check func(token.SP) error) (token.SP, *claim, error) {
	return s.openToken(ctx, c, s.sealer.OpenSP, spToken, kind, check)
}

// openToken is openSP for a token that open unseals: an spToken, or an
// app token (app.go), whose outcome is claimed by the same machine.
func (s *Service) openToken(ctx context.Context, c Caller, open func(string) (token.SP, error), spToken string, kind carrier.Kind, check func(token.SP) error) (token.SP, *claim, error) {
	sp, err := open(spToken)
	if err != nil {
		return token.SP{}, nil, fmt.Errorf("%w: %w", ErrTokenInvalid, err)
	}
	if sp.AccountID != c.AccountID {
		return token.SP{}, nil, hint(ErrTokenInvalid, "token of another account")
	}
	if sp.Kind != string(kind) {
		return token.SP{}, nil, hint(ErrTokenUnauthorized, "a %s token cannot be used here", sp.Kind)
	}
	if sp.Adapter != s.cfg.Carrier.Name() {
		return token.SP{}, nil, hint(ErrTokenInvalid, "token of carrier adapter %q", sp.Adapter)
	}
	if err := s.schemeAlive(ctx, sp.AccountID, sp.Scheme); errors.Is(err, ErrSchemeGone) {
		return token.SP{}, nil, hint(ErrTokenInvalid, "the token's scheme was deleted")
	} else if err != nil {
		return token.SP{}, nil, err
	}
	if err := s.checkSource(ctx, c, sp.Scheme); err != nil {
		return token.SP{}, nil, err
	}
	if check != nil {
		if err := check(sp); err != nil {
			return token.SP{}, nil, err
		}
	}
	cl, err := s.claimSP(ctx, sp)
	if err != nil {
		return token.SP{}, nil, err
	}
	return sp, cl, nil
}

func leaseValue(ctx context.Context) []byte {
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(noDeadlineLease)
	}
	return strconv.AppendInt([]byte{statePending}, deadline.Add(leaseGrace).UnixMilli(), 10)
}

// errInFlight: another call holds the token's claim right now: a replay
// racing the first use, a client that retried before its first call ended,
// or a call that failed and could not give its claim back (the store
// blipped). Only an answered token is final, so this is ServiceUnavailable:
// a retry after the claim's lease (that call's deadline plus leaseGrace)
// takes the claim over and gets the recorded answer, or a fresh one.
var errInFlight = hint(ErrUnavailable, "the token is being answered by another call; retry")

// claimSP moves the token's state from absent, R or an expired P to this
// call's P, in one guarded swap.
func (s *Service) claimSP(ctx context.Context, sp token.SP) (*claim, error) {
	cl := &claim{
		key: kSPUsed + sp.ID, held: leaseValue(ctx), record: recordIDFor(sp),
		// Outlives the token on every instance whose clock is within the
		// signature window's 15 minutes of this one's: a state that expired
		// while a slow instance still accepts the token would reopen it.
		ttl: max(time.Until(time.UnixMilli(sp.Expires)), 0) + stateSkew,
	}
	var old []byte // absent
	for attempt := 0; ; attempt++ {
		prev, ok, err := s.guardedSwap(ctx, stampOf(sp), cl.key, old, cl.held, cl.ttl)
		if err != nil {
			return nil, tokenState(err)
		}
		if ok {
			cl.retry = old != nil
			return cl, nil
		}
		if attempt > 0 && old != nil {
			// Another call took over the same abandoned claim first.
			return nil, errInFlight
		}
		switch {
		case len(prev) > 0 && prev[0] == stateReleased:
		case len(prev) > 1 && prev[0] == statePending:
			lease, perr := strconv.ParseInt(string(prev[1:]), 10, 64)
			if perr == nil && time.Now().UnixMilli() < lease {
				return nil, errInFlight
			}
		default: // D, or the plain mark of an older numauth
			return nil, hint(ErrTokenInvalid, "token already used")
		}
		old = prev
	}
}

// errBeforeEpoch: issued (or signed) before the ephemeral store last lost
// its data, so whether it was spent (or seen) is no longer known.
var errBeforeEpoch = errors.New("predates the ephemeral store's epoch")

// tokenState wraps a token state error: one that predates the epoch is an
// invalid token.
func tokenState(err error) error {
	if errors.Is(err, errBeforeEpoch) {
		return fmt.Errorf("%w: token %w", ErrTokenInvalid, err)
	}
	return err
}

// stamp names the epoch something was issued or signed in: by the epoch
// marker it carries (spTokens since the marker is in them; no clock is
// involved), or else by its time (older spTokens, signed requests).
type stamp struct {
	epoch int64 // the marker's value; 0: unknown, compare at
	at    int64 // unix ms
}

func stampOf(sp token.SP) stamp { return stamp{epoch: sp.Epoch, at: sp.Issued} }

// predates reports whether something with stamp st may have been consumed
// before the epoch whose marker holds mark and which began at epochMS.
func (st stamp) predates(mark, epochMS int64) bool {
	if st.epoch != 0 {
		return st.epoch != mark
	}
	return st.at < epochMS
}

// guardedSwap is Swap under the epoch guard. When the guard fails the store
// has forgotten (or another instance started a new epoch): the marker is
// read again, and the swap retried once under the new epoch unless what is
// being consumed (st) predates it.
func (s *Service) guardedSwap(ctx context.Context, st stamp, key string, old, val []byte, ttl time.Duration) ([]byte, bool, error) {
	for attempt := 0; ; attempt++ {
		g, epoch, mark, err := s.epoch.guard(ctx)
		if err != nil {
			return nil, false, err
		}
		if st.predates(mark, epoch) {
			return nil, false, errBeforeEpoch
		}
		prev, ok, err := s.eph.Swap(ctx, g, key, old, val, ttl)
		if errors.Is(err, store.ErrGuard) && attempt == 0 {
			s.epoch.invalidate()
			continue
		}
		if errors.Is(err, store.ErrGuard) {
			return nil, false, storeErr("token state", fmt.Errorf("%w: %w", store.ErrUnavailable, err))
		}
		if err != nil {
			s.epoch.failed(err)
			return nil, false, storeErr("token state", err)
		}
		return prev, ok, nil
	}
}

// settle marks the claimed token answered: later uses are TOKEN_INVALID.
// If that cannot be written the caller must not answer, or a replay could
// take the claim over once its lease passed and be answered too; the
// integrator's retry gets the recorded answer instead.
func (s *Service) settle(ctx context.Context, sp token.SP, cl *claim) error {
	// On a context of its own: a record committed just before the call's
	// deadline must still be settled, or the client is told 503 for it.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), releaseTimeout)
	defer cancel()
	_, ok, err := s.guardedSwap(ctx, stampOf(sp), cl.key, cl.held, []byte{stateDone}, cl.ttl)
	if err != nil {
		return tokenState(err)
	}
	if !ok {
		return hint(ErrTokenInvalid, "token claim lost to another call")
	}
	return nil
}

// release gives the claim up after a failure, so that the integrator's
// retry with the same spToken can take over at once. It runs on its own
// short deadline (the call's may be spent); if it fails, the claim's lease
// runs out instead.
func (s *Service) release(sp token.SP, cl *claim) {
	// A few tries within one short bound: a blip passes, a hung store
	// costs the caller no more than releaseTimeout.
	ctx, cancel := context.WithTimeout(context.Background(), releaseTimeout)
	defer cancel()
	var err error
	for try := 0; try < 3 && ctx.Err() == nil; try++ {
		_, _, err = s.guardedSwap(ctx, stampOf(sp), cl.key, cl.held, []byte{stateReleased}, cl.ttl)
		if err == nil || errors.Is(err, errBeforeEpoch) {
			return
		}
	}
	s.cfg.Logger.Warn("could not release an spToken claim; it frees itself when its lease ends", "err", err)
}

// recorded returns the record an earlier call wrote for the claimed token,
// or store.ErrNotFound.
func (s *Service) recorded(ctx context.Context, cl *claim) (store.Verification, error) {
	v, err := s.durable.GetVerification(ctx, cl.record)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return v, storeErr("read earlier record", err)
	}
	return v, err
}

// recordOnce writes the token's one record. If an earlier call for the same
// token wrote it first, that record is returned and is the answer.
func (s *Service) recordOnce(ctx context.Context, rec store.Verification) (store.Verification, error) {
	err := s.writes.Write(ctx, store.Batch{Verifications: []store.Verification{rec}})
	if errors.Is(err, store.ErrConflict) {
		earlier, gerr := s.durable.GetVerification(ctx, rec.ID)
		if gerr != nil {
			return store.Verification{}, storeErr("read earlier record", gerr)
		}
		return earlier, nil
	}
	if err != nil {
		return store.Verification{}, storeErr("record", err)
	}
	return rec, nil
}

// recordID returns the id of a record that belongs to no single token's
// outcome: a time-ordered UUID (version 7), so that the durable stores'
// unique index on ids grows at its right edge, one page per group commit,
// instead of touching a random page of an ever larger index for every record.
func recordID() string {
	id, err := uuid.NewV7()
	if err != nil {
		// Only if the system's randomness fails; a random id is still unique.
		id = uuid.New()
	}
	return strings.ToUpper(id.String())
}
