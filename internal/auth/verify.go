package auth

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/numauth/numauth/internal/carrier"
	"github.com/numauth/numauth/internal/store"
	"github.com/numauth/numauth/internal/token"
)

// MintVerifyToken runs the carrier's front leg for local-number verification
// and returns a verification spToken.
func (s *Service) MintVerifyToken(ctx context.Context, sessionID, origin string, front carrier.FrontRequest) (SPResult, error) {
	sess, line, redirect, err := s.frontLeg(ctx, sessionID, origin, carrier.KindVerify, front)
	if err != nil || redirect != nil {
		return SPResult{Redirect: redirect, Origin: sess.Origin, Kind: carrier.KindVerify}, err
	}
	return s.mintSP(ctx, sess, carrier.KindVerify, line.Operator, line.Ticket, "", line.Expires)
}

// VerifyResult is VerifyPhoneWithToken's answer.
type VerifyResult struct {
	VerifyID string
	Result   carrier.Verdict
}

// VerifyNumber tells whether phone is the number of the line the
// verification spToken came from. The answer is given once per token: a
// call that failed (ErrUnavailable) may be retried with the same token and
// gets the one recorded answer if one was recorded, or a fresh verdict if
// none was (sptoken.go).
func (s *Service) VerifyNumber(ctx context.Context, c Caller, spToken, phone string) (VerifyResult, error) {
	return s.verifyNumber(ctx, c, s.sealer.OpenSP, spToken, phone)
}

func (s *Service) verifyNumber(ctx context.Context, c Caller, open func(string) (token.SP, error), spToken, phone string) (VerifyResult, error) {
	p, err := carrier.ParseE164(phone)
	if err != nil {
		return VerifyResult{}, fmt.Errorf("%w: %w", ErrNumberInvalid, err)
	}
	sp, cl, err := s.openToken(ctx, c, open, spToken, carrier.KindVerify, func(sp token.SP) error {
		if !operatorMayHave(carrier.Operator(sp.Operator), p) {
			return hint(ErrOperatorMismatch, "the number is not a %s number", sp.Operator)
		}
		return nil
	})
	if err != nil {
		return VerifyResult{}, err
	}
	rec, err := s.verifyOnce(ctx, c, sp, cl, p)
	if err == nil {
		err = s.settle(ctx, sp, cl)
	}
	if err != nil {
		s.release(sp, cl)
		return VerifyResult{}, err
	}
	return VerifyResult{VerifyID: rec.ID, Result: carrier.Verdict(rec.Result)}, nil
}

func (s *Service) verifyOnce(ctx context.Context, c Caller, sp token.SP, cl *claim, p string) (store.Verification, error) {
	if cl.retry {
		earlier, err := s.recorded(ctx, cl)
		if err == nil {
			if earlier.PhoneHash != s.PhoneHash(p) {
				// The retry asks about another number than the recorded
				// answer: that is a second verification, and the token
				// serves one.
				return store.Verification{}, hint(ErrTokenInvalid, "token already used for another number")
			}
			return earlier, nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return store.Verification{}, err
		}
	}
	start := time.Now()
	verdict, err := s.cfg.Carrier.Verify(ctx, sp.Ticket, p)
	switch {
	case errors.Is(err, carrier.ErrTicketInvalid):
		return store.Verification{}, fmt.Errorf("%w: %w", ErrTokenInvalid, err)
	case err != nil && ctx.Err() != nil:
		// Our own deadline, not the carrier's verdict: nothing is recorded,
		// and the caller may retry.
		return store.Verification{}, storeErr("carrier back leg", ctx.Err())
	case err != nil:
		// The carrier could not tell: UNKNOWN, recorded and not billed.
		s.cfg.Logger.WarnContext(ctx, "carrier back leg failed", "err", err, "carrier", sp.Operator)
		verdict = carrier.Unknown
	}
	rec, err := s.recordOnce(ctx, store.Verification{
		ID: cl.record, AccountID: c.AccountID, SchemeCode: sp.Scheme, Kind: string(carrier.KindVerify),
		Carrier: sp.Operator, Result: string(verdict), MaskedPhone: carrier.Mask(p), PhoneHash: s.PhoneHash(p),
		Billable: verifyBillable(verdict), LatencyUS: time.Since(start).Microseconds(),
		CreatedAt: s.cfg.Now().UTC(),
	})
	if err == nil && rec.PhoneHash != s.PhoneHash(p) {
		// An earlier call's record landed first, about another number.
		return store.Verification{}, hint(ErrTokenInvalid, "token already used for another number")
	}
	return rec, err
}

// operatorMayHave reports whether a line of op can have number p (E.164):
// a mainland number is its block's operator's, and a line of one of the
// mainland operators has a mainland number; numbers of other countries are
// not told apart by operator.
func operatorMayHave(op carrier.Operator, p string) bool {
	alloc, ok := carrier.OperatorOf(p)
	switch {
	case carrier.IsMainland(p):
		return ok && alloc == op
	case op == carrier.ChinaMobile || op == carrier.ChinaUnicom || op == carrier.ChinaTelecom:
		return false
	}
	return true
}

// verifyBillable is the billing rule of a verification, as Alibaba's: an
// answer the carrier gave (PASS or REJECT) is billed, UNKNOWN is not.
func verifyBillable(v carrier.Verdict) bool { return v == carrier.Pass || v == carrier.Reject }
