package auth

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/numauth/numauth/internal/carrier"
	"github.com/numauth/numauth/internal/limit"
	"github.com/numauth/numauth/internal/store"
	"github.com/numauth/numauth/internal/token"
)

// maskCharges are the budgets one login mask attempt spends: the number's
// budget with this account (Config.MaskTries per MaskLockTTL) and its
// budget across all accounts (Config.MaskTriesGlobal), both counted per
// phone number in the shared store, whatever session, token pair or
// instance the attempt comes through. One account's wrong masks lock the
// number for that account only; many accounts together still cannot
// enumerate the 10⁴ masks.
func (s *Service) maskCharges(account, phoneHash string) []limit.Charge {
	return []limit.Charge{
		s.budgets.mask.For(account + ":" + phoneHash),
		s.budgets.maskGlobal.For(phoneHash),
	}
}

// LoginMask runs the carrier's front leg for one-click login and returns
// the masked number to show the user. A number whose mask budget is spent
// is refused before any digits are asked for.
func (s *Service) LoginMask(ctx context.Context, sessionID, origin string, front carrier.FrontRequest) (SPResult, error) {
	sess, line, redirect, err := s.frontLeg(ctx, sessionID, origin, carrier.KindLogin, front)
	if err != nil || redirect != nil {
		return SPResult{Redirect: redirect, Origin: sess.Origin, Kind: carrier.KindLogin}, err
	}
	return s.loginLine(ctx, sessionID, sess, line)
}

// loginLine keeps a login front leg's line in its session and returns the
// masked number to show the user.
func (s *Service) loginLine(ctx context.Context, sessionID string, sess session, line carrier.Line) (SPResult, error) {
	phone, err := s.cfg.Carrier.Number(ctx, line.Ticket)
	if err != nil {
		return SPResult{}, fmt.Errorf("carrier: %w", err)
	}
	hash := s.PhoneHash(phone)
	if err := s.limits.Check(ctx, s.maskCharges(sess.AccountID, hash)...); errors.Is(err, limit.ErrExhausted) {
		return SPResult{}, fmt.Errorf("%w: %w", ErrMaskLocked, err)
	} else if err != nil {
		return SPResult{}, storeErr("read mask budget", err)
	}
	sess.Operator, sess.Ticket, sess.Masked, sess.PhoneHash = string(line.Operator), line.Ticket, line.Masked, hash
	if err := s.putSession(ctx, sessionID, sess); err != nil {
		return SPResult{}, err
	}
	return SPResult{Operator: line.Operator, Masked: line.Masked, Origin: sess.Origin, Kind: carrier.KindLogin}, nil
}

// MintLoginToken checks the middle four digits the user typed and returns a
// login spToken. Every attempt reserves a unit of the number's mask budgets
// before the check, so parallel guesses can never exceed them; a correct
// mask gives its unit back, a wrong one keeps it, and the wrong mask that
// spends a budget ends the session: the number is locked for login (for
// this account, or for all when the global budget is spent) until the
// budget's window ends.
func (s *Service) MintLoginToken(ctx context.Context, sessionID, origin, mask string) (SPResult, error) {
	if len(mask) != 4 || strings.Trim(mask, "0123456789") != "" {
		return SPResult{}, hint(ErrBadArgument, "mask must be the 4 middle digits")
	}
	sess, err := s.getSession(ctx, sessionID, origin, carrier.KindLogin)
	if err != nil {
		return SPResult{}, err
	}
	if sess.Ticket == "" {
		return SPResult{}, ErrMaskNotRequested
	}
	res, err := s.reserveMask(ctx, sess)
	if err != nil {
		return SPResult{}, err
	}
	// The unit is kept or given back whatever becomes of this call's
	// context (a page that went away must not leave it reserved).
	settleCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), releaseTimeout)
	defer cancel()
	ok, err := s.cfg.Carrier.MatchMask(ctx, sess.Ticket, mask)
	if err != nil {
		res.Refund(settleCtx) // no answer: the attempt does not count
		return SPResult{}, fmt.Errorf("carrier: %w", err)
	}
	if ok {
		if err := res.Refund(settleCtx); err != nil {
			s.cfg.Logger.WarnContext(ctx, "could not give back a correct mask's budget unit", "err", err)
		}
		return s.mintSP(ctx, sess, carrier.KindLogin, carrier.Operator(sess.Operator), sess.Ticket, sess.Masked, time.Time{})
	}
	left, err := res.Keep(settleCtx)
	if err != nil {
		return SPResult{}, storeErr("count a wrong mask", err)
	}
	if left > 0 {
		return SPResult{}, &MaskWrongError{TriesLeft: left}
	}
	if err := s.eph.Delete(ctx, kSession+sessionID); err != nil {
		return SPResult{}, storeErr("end session", err)
	}
	s.cfg.Logger.WarnContext(ctx, "login mask budget spent; number locked",
		"masked", sess.Masked, "scheme", sess.Scheme, "window", s.cfg.MaskLockTTL.String())
	return SPResult{}, ErrMaskLocked
}

// reserveMask reserves a unit of the session's number's mask budgets,
// waiting a moment for parallel attempts on the number to settle.
func (s *Service) reserveMask(ctx context.Context, sess session) (*limit.Reservation, error) {
	return s.reserveWaiting(ctx, "mask tries", ErrMaskLocked, s.maskCharges(sess.AccountID, sess.PhoneHash)...)
}

// LoginNumber returns the number (E.164) of the line a login spToken
// came from, once per token; a call that failed may be retried with the same
// token (see VerifyPhoneWithToken).
func (s *Service) LoginNumber(ctx context.Context, c Caller, spToken string) (string, error) {
	return s.loginNumber(ctx, c, s.sealer.OpenSP, spToken)
}

func (s *Service) loginNumber(ctx context.Context, c Caller, open func(string) (token.SP, error), spToken string) (string, error) {
	sp, cl, err := s.openToken(ctx, c, open, spToken, carrier.KindLogin, nil)
	if err != nil {
		return "", err
	}
	phone, err := s.loginOnce(ctx, c, sp, cl)
	if err == nil {
		err = s.settle(ctx, sp, cl)
	}
	if err != nil {
		s.release(sp, cl)
		return "", err
	}
	return phone, nil
}

func (s *Service) loginOnce(ctx context.Context, c Caller, sp token.SP, cl *claim) (string, error) {
	var earlier *store.Verification
	if cl.retry {
		v, err := s.recorded(ctx, cl)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return "", err
		}
		if err == nil {
			earlier = &v
		}
	}
	start := time.Now()
	phone, err := s.cfg.Carrier.Number(ctx, sp.Ticket)
	if err == nil {
		phone, err = carrier.ParseE164(phone) // the adapter's E.164, checked
	}
	if errors.Is(err, carrier.ErrTicketInvalid) {
		return "", fmt.Errorf("%w: %w", ErrTokenInvalid, err)
	}
	if err != nil {
		if ctx.Err() == nil {
			// The carrier failed: counted as UNKNOWN under an id of its own,
			// not billed, and the token stays good for a retry.
			fail := store.Verification{
				ID: recordID(), AccountID: c.AccountID, SchemeCode: sp.Scheme, Kind: string(carrier.KindLogin),
				Carrier: sp.Operator, Result: string(carrier.Unknown), LatencyUS: time.Since(start).Microseconds(),
				CreatedAt: s.cfg.Now().UTC(),
			}
			if rerr := s.writes.Write(ctx, store.Batch{Verifications: []store.Verification{fail}}); rerr != nil {
				return "", storeErr("record login", rerr)
			}
		}
		return "", fmt.Errorf("%w: carrier: %w", ErrUnavailable, err)
	}
	if earlier != nil {
		if earlier.PhoneHash != s.PhoneHash(phone) {
			return "", hint(ErrTokenInvalid, "the carrier's number differs from the recorded one")
		}
		return phone, nil // answered before, recorded and billed once
	}
	rec, err := s.recordOnce(ctx, store.Verification{
		ID: cl.record, AccountID: c.AccountID, SchemeCode: sp.Scheme, Kind: string(carrier.KindLogin),
		Carrier: sp.Operator, Result: string(carrier.Pass), MaskedPhone: carrier.Mask(phone), PhoneHash: s.PhoneHash(phone),
		Billable: true, LatencyUS: time.Since(start).Microseconds(), CreatedAt: s.cfg.Now().UTC(),
	})
	if err != nil {
		return "", err
	}
	if rec.PhoneHash != s.PhoneHash(phone) {
		return "", hint(ErrTokenInvalid, "the carrier's number differs from the recorded one")
	}
	return phone, nil
}
