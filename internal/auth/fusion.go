package auth

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/numauth/numauth/internal/carrier"
	"github.com/numauth/numauth/internal/limit"
	"github.com/numauth/numauth/internal/store"
	"github.com/numauth/numauth/internal/token"
)

// Fusion authentication (SPEC §1.4): GetFusionAuthToken mints a token bound
// to a scheme, its account and a platform; the client runs the strategy
// (the carrier's one-click login first, an SMS code when the carrier cannot
// answer) and ends with a VerifyToken; VerifyWithFusionAuthToken answers it
// once, through the spToken exactly-once machinery (sptoken.go).

// kindFusion is the Kind of a fusion VerifyToken (a token.SP sealed under
// the VerifyToken's own associated data).
const kindFusion = "fusion"

// operatorSMS is the Operator of a VerifyToken whose number an SMS code
// confirmed; its Ticket is that number (E.164), sealed.
const operatorSMS = "SMS"

// Fusion strategies: which method a platform's clients try first. SMS is
// always the fallback.
const (
	FusionCarrierFirst = "carrier" // one-click login through the carrier, SMS when it cannot answer
	FusionSMSOnly      = "sms"     // an SMS code straight away
)

// FusionDurationMin and FusionDurationMax bound DurationSeconds, as Alibaba's.
const (
	FusionDurationMin = 900
	FusionDurationMax = 43200
)

// Phone scores of a PASS (0 to 100, higher is riskier): the carrier
// identified the line and the user confirmed its masked digits, or the
// user only showed they receive texts at the number (a forwarded or
// swapped SIM passes that too).
const (
	PhoneScoreCarrier = 0
	PhoneScoreSMS     = 30
)

// FusionTokenInput is GetFusionAuthToken's request.
type FusionTokenInput struct {
	SchemeCode, Platform     string
	DurationSeconds          int
	PackageName, PackageSign string
	BundleID                 string
}

// FusionStrategy returns the strategy of a platform (Config.FusionStrategy).
func (s *Service) FusionStrategy(platform string) string {
	if st, ok := s.cfg.FusionStrategy[platform]; ok {
		return st
	}
	return FusionCarrierFirst
}

// ValidFusionStrategy reports whether st names a strategy.
func ValidFusionStrategy(st string) bool { return st == FusionCarrierFirst || st == FusionSMSOnly }

// MintFusionToken is GetFusionAuthToken.
func (s *Service) MintFusionToken(ctx context.Context, c Caller, in FusionTokenInput) (string, error) {
	platform, ok := NormalizeOsType(in.Platform)
	if !ok {
		return "", hint(ErrInvalidParameters, "Platform must be Android, iOS or H5")
	}
	if in.DurationSeconds < FusionDurationMin || in.DurationSeconds > FusionDurationMax {
		return "", hint(ErrInvalidParameters, "DurationSeconds must be %d to %d", FusionDurationMin, FusionDurationMax)
	}
	sc, err := s.ownScheme(ctx, c.AccountID, strings.TrimSpace(in.SchemeCode))
	if err != nil {
		return "", err
	}
	if sc.OsType != platform {
		return "", hint(ErrInvalidParameters, "the scheme is for %s, not %s", sc.OsType, platform)
	}
	app := ""
	switch platform {
	case OsAndroid:
		if in.PackageName == "" || in.PackageSign == "" {
			return "", hint(ErrInvalidParameters, "PackageName and PackageSign are required for Android")
		}
		if in.PackageName != sc.PackName || !strings.EqualFold(in.PackageSign, sc.PackSign) {
			return "", hint(ErrInvalidParameters, "PackageName or PackageSign is not the scheme's")
		}
		app = in.PackageName
	case OsIOS:
		if in.BundleID == "" {
			return "", hint(ErrInvalidParameters, "BundleId is required for iOS")
		}
		if in.BundleID != sc.BundleID {
			return "", hint(ErrInvalidParameters, "BundleId is not the scheme's")
		}
		app = in.BundleID
	}
	if err := s.checkSource(ctx, c, sc.Code); err != nil {
		return "", err
	}
	now := s.cfg.Now()
	return s.sealer.SealFusion(token.Fusion{
		ID: token.NewID(), AccountID: c.AccountID, Scheme: sc.Code, Platform: platform, App: app,
		Issued: now.UnixMilli(), Expires: now.Add(time.Duration(in.DurationSeconds) * time.Second).UnixMilli(),
	})
}

func (s *Service) ownScheme(ctx context.Context, account, code string) (store.Scheme, error) {
	if code == "" {
		return store.Scheme{}, hint(ErrInvalidParameters, "SchemeCode is required")
	}
	all, err := s.schemes(ctx, account, false)
	if err != nil {
		return store.Scheme{}, err
	}
	for _, sc := range all {
		if sc.Code == code {
			return sc, nil
		}
	}
	return store.Scheme{}, ErrSchemeNotExist
}

// FusionSession is an H5 fusion flow's gateway session.
type FusionSession struct {
	SessionInfo
	Strategy string
}

// OpenFusionSession opens a gateway session for an H5 fusion flow: the
// page's fusion token, from the scheme's origin. The session is a one-click
// login session whose carrier leg ends in a VerifyToken (mintSP), and the
// SMS path's operations take it too.
func (s *Service) OpenFusionSession(ctx context.Context, fusionToken, origin, source string) (FusionSession, error) {
	if fusionToken == "" {
		return FusionSession{}, hint(ErrBadArgument, "fusionToken is required")
	}
	f, err := s.sealer.OpenFusion(fusionToken)
	if err != nil {
		return FusionSession{}, fmt.Errorf("%w: fusion token: %w", ErrIdentity, err)
	}
	if f.Platform != OsH5 {
		return FusionSession{}, hint(ErrIdentity, "a fusion token of platform %s", f.Platform)
	}
	sc, err := s.ownScheme(ctx, f.AccountID, f.Scheme)
	if errors.Is(err, ErrSchemeNotExist) {
		return FusionSession{}, ErrSchemeGone
	} else if err != nil {
		return FusionSession{}, err
	}
	o, err := NormalizeOrigin(origin)
	if err != nil || o != sc.Origin {
		return FusionSession{}, hint(ErrIdentity, "origin %q is not the scheme's", origin)
	}
	// The seed flows' session budgets: per token (the fusion token's id)
	// and per address.
	charges := []limit.Charge{s.budgets.sessionsPerToken.For("fusion:" + f.ID)}
	if source != "" {
		charges = append(charges, s.budgets.sessionsPerSource.For(source))
	}
	if err := s.limits.Spend(ctx, charges...); errors.Is(err, limit.ErrExhausted) {
		return FusionSession{}, fmt.Errorf("%w: %w", ErrTooManySessions, err)
	} else if err != nil {
		return FusionSession{}, storeErr("count sessions", err)
	}
	now := s.cfg.Now()
	ttl := min(s.cfg.SessionTTL, time.UnixMilli(f.Expires).Sub(now))
	sess := session{AccountID: f.AccountID, Scheme: f.Scheme, Origin: o, Kind: carrier.KindLogin,
		Expires: now.Add(ttl).UnixMilli(), Fusion: f.ID}
	id := token.NewID()
	if err := s.putSession(ctx, id, sess); err != nil {
		return FusionSession{}, err
	}
	strategy := sc.FusionStrategy // the scheme's own, from CreateSchemeConfig
	if strategy == "" {
		strategy = s.FusionStrategy(OsH5)
	}
	return FusionSession{SessionInfo: SessionInfo{ID: id, ExpiresIn: ttl, Origin: o}, Strategy: strategy}, nil
}

func (s *Service) fusionSession(ctx context.Context, sessionID, origin string) (session, error) {
	sess, err := s.getSession(ctx, sessionID, origin, carrier.KindLogin)
	if err != nil {
		return session{}, err
	}
	if sess.Fusion == "" {
		return session{}, hint(ErrSessionInvalid, "not a fusion session")
	}
	return sess, nil
}

// fusionSmsScheme is the SMS scheme name (the namespace of codes) of a
// fusion scheme's codes: within SchemeName's 20 characters for numauth's
// 17-character scheme codes.
func fusionSmsScheme(code string) string { return "F:" + code }

// fusionTemplate is the sign and template of the codes a fusion flow sends:
// the default ones when configured, else the first of each (by name). The
// template's variables must be ${code} and, optionally, ${min}.
func (s *Service) fusionTemplate() (sign, tpl string) {
	cfg := &s.cfg.SMS
	sign = DefaultSmsSign
	if !slices.Contains(cfg.Signs, sign) && len(cfg.Signs) > 0 {
		sign = cfg.Signs[0]
	}
	tpl = DefaultSmsTemplate
	if _, ok := cfg.Templates[tpl]; !ok {
		names := make([]string, 0, len(cfg.Templates))
		for n := range cfg.Templates {
			names = append(names, n)
		}
		sort.Strings(names)
		if len(names) > 0 {
			tpl = names[0]
		}
	}
	return sign, tpl
}

// FusionSendSms sends the SMS path's code to phone (a mainland number or
// E.164) under the session's account: SendSmsVerifyCode's rules and the
// per-number budgets apply.
// It returns the session's origin (SessionInfo.Origin).
func (s *Service) FusionSendSms(ctx context.Context, sessionID, origin, phone string) (string, error) {
	sess, err := s.fusionSession(ctx, sessionID, origin)
	if err != nil {
		return "", err
	}
	e164, err := carrier.ParseE164(phone)
	if err != nil {
		return "", hint(ErrBadArgument, "phoneNumber is not a mainland mobile or E.164 number")
	}
	sign, tpl := s.fusionTemplate()
	_, err = s.SendSmsCode(ctx, Caller{AccountID: sess.AccountID}, SmsSendInput{
		PhoneNumber: e164, SignName: sign, TemplateCode: tpl, TemplateArg: `{"code":"##code##"}`, SchemeName: fusionSmsScheme(sess.Scheme),
		CodeLength: SmsDefaultCodeLength, ValidTime: SmsDefaultValidTime, Interval: SmsDefaultInterval,
		DuplicatePolicy: SmsDefaultDuplicate, CodeType: SmsDefaultCodeType,
	})
	if errors.Is(err, ErrInvalidParameters) {
		return "", fmt.Errorf("%w: %w", ErrBadArgument, err)
	}
	if err != nil {
		return "", err
	}
	return sess.Origin, nil
}

// FusionCheckSms checks the SMS path's code and, when it is right, mints
// the flow's VerifyToken. A wrong code is ErrSmsCodeWrong (the check
// budget of SMS codes applies).
func (s *Service) FusionCheckSms(ctx context.Context, sessionID, origin, phone, code string) (SPResult, error) {
	sess, err := s.fusionSession(ctx, sessionID, origin)
	if err != nil {
		return SPResult{}, err
	}
	e164, err := carrier.ParseE164(phone)
	if err != nil {
		return SPResult{}, hint(ErrBadArgument, "phoneNumber is not a mainland mobile or E.164 number")
	}
	ok, err := s.CheckSmsCode(ctx, Caller{AccountID: sess.AccountID}, SmsCheckInput{
		PhoneNumber: e164, Code: code, SchemeName: fusionSmsScheme(sess.Scheme),
	})
	if errors.Is(err, ErrInvalidParameters) {
		return SPResult{}, fmt.Errorf("%w: %w", ErrBadArgument, err)
	}
	if err != nil {
		return SPResult{}, err
	}
	if !ok {
		return SPResult{}, ErrSmsCodeWrong
	}
	res, err := s.mintSP(ctx, sess, carrier.KindLogin, operatorSMS, e164, carrier.Mask(e164), time.Time{})
	if err != nil {
		return SPResult{}, err
	}
	// The session served its flow: a second code check mints nothing.
	if err := s.eph.Delete(ctx, kSession+sessionID); err != nil {
		return SPResult{}, storeErr("end session", err)
	}
	return res, nil
}

// FusionResult is VerifyWithFusionAuthToken's answer.
type FusionResult struct {
	Phone      string // E.164; empty unless PASS
	Result     carrier.Verdict
	PhoneScore int
}

// VerifyFusion answers a fusion VerifyToken, once: PASS with the number
// and its score, or UNKNOWN when the carrier cannot name the line's number
// any more. A token used before, expired, forged, of another account, or of
// a scheme that is gone is ErrTokenInvalid.
func (s *Service) VerifyFusion(ctx context.Context, c Caller, verifyToken string) (FusionResult, error) {
	sp, err := s.sealer.OpenFusionVerify(verifyToken)
	if err != nil {
		return FusionResult{}, fmt.Errorf("%w: %w", ErrTokenInvalid, err)
	}
	if sp.AccountID != c.AccountID {
		return FusionResult{}, hint(ErrTokenInvalid, "token of another account")
	}
	if sp.Kind != kindFusion {
		return FusionResult{}, hint(ErrTokenInvalid, "not a fusion VerifyToken")
	}
	if sp.Operator != operatorSMS && sp.Adapter != s.cfg.Carrier.Name() {
		return FusionResult{}, hint(ErrTokenInvalid, "token of carrier adapter %q", sp.Adapter)
	}
	if err := s.schemeAlive(ctx, sp.AccountID, sp.Scheme); errors.Is(err, ErrSchemeGone) {
		return FusionResult{}, hint(ErrTokenInvalid, "the token's scheme was deleted")
	} else if err != nil {
		return FusionResult{}, err
	}
	if err := s.checkSource(ctx, c, sp.Scheme); err != nil {
		return FusionResult{}, err
	}
	cl, err := s.claimSP(ctx, sp)
	if err != nil {
		return FusionResult{}, err
	}
	res, err := s.fusionOnce(ctx, c, sp, cl)
	if err == nil {
		err = s.settle(ctx, sp, cl)
	}
	if err != nil {
		s.release(sp, cl)
		return FusionResult{}, err
	}
	return res, nil
}

func (s *Service) fusionOnce(ctx context.Context, c Caller, sp token.SP, cl *claim) (FusionResult, error) {
	if cl.retry {
		earlier, err := s.recorded(ctx, cl)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return FusionResult{}, err
		}
		if err == nil && earlier.Result != string(carrier.Pass) {
			return FusionResult{Result: carrier.Verdict(earlier.Result)}, nil
		}
		// A PASS recorded earlier: the number is asked again below (the
		// record keeps only its hash) and must be the recorded one.
		if err == nil && sp.Operator == operatorSMS {
			if earlier.PhoneHash != s.PhoneHash(sp.Ticket) {
				return FusionResult{}, hint(ErrTokenInvalid, "the recorded number differs")
			}
			return FusionResult{Phone: sp.Ticket, Result: carrier.Pass, PhoneScore: PhoneScoreSMS}, nil
		}
	}
	start := time.Now()
	phone, score := sp.Ticket, PhoneScoreSMS
	if sp.Operator != operatorSMS {
		score = PhoneScoreCarrier
		var err error
		phone, err = s.cfg.Carrier.Number(ctx, sp.Ticket)
		if err == nil {
			phone, err = carrier.ParseE164(phone)
		}
		switch {
		case errors.Is(err, carrier.ErrTicketInvalid):
			return FusionResult{}, fmt.Errorf("%w: %w", ErrTokenInvalid, err)
		case err != nil && ctx.Err() != nil:
			return FusionResult{}, storeErr("carrier back leg", ctx.Err())
		case err != nil:
			// The carrier cannot tell: UNKNOWN, recorded, not billed.
			s.cfg.Logger.WarnContext(ctx, "carrier back leg failed", "err", err, "carrier", sp.Operator)
			_, rerr := s.recordOnce(ctx, store.Verification{
				ID: cl.record, AccountID: c.AccountID, SchemeCode: sp.Scheme, Kind: kindFusion,
				Carrier: sp.Operator, Result: string(carrier.Unknown), LatencyUS: time.Since(start).Microseconds(),
				CreatedAt: s.cfg.Now().UTC(),
			})
			if rerr != nil {
				return FusionResult{}, rerr
			}
			return FusionResult{Result: carrier.Unknown}, nil
		}
	}
	rec, err := s.recordOnce(ctx, store.Verification{
		ID: cl.record, AccountID: c.AccountID, SchemeCode: sp.Scheme, Kind: kindFusion,
		Carrier: sp.Operator, Result: string(carrier.Pass), MaskedPhone: carrier.Mask(phone), PhoneHash: s.PhoneHash(phone),
		Billable: true, LatencyUS: time.Since(start).Microseconds(), CreatedAt: s.cfg.Now().UTC(),
	})
	if err != nil {
		return FusionResult{}, err
	}
	if rec.PhoneHash != s.PhoneHash(phone) {
		return FusionResult{}, hint(ErrTokenInvalid, "the recorded number differs")
	}
	return FusionResult{Phone: phone, Result: carrier.Pass, PhoneScore: score}, nil
}
