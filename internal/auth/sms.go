package auth

// SMS verification codes: SendSmsVerifyCode, CheckSmsVerifyCode and
// QuerySendDetails (doc.go has the state machine).

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/numauth/numauth/internal/carrier"
	"github.com/numauth/numauth/internal/groupcommit"
	"github.com/numauth/numauth/internal/limit"
	"github.com/numauth/numauth/internal/sms"
	"github.com/numauth/numauth/internal/store"
)

// SMSConfig configures SMS codes. Zero values take the defaults; a
// negative limit means no limit.
type SMSConfig struct {
	// Provider delivers the texts; ProviderName is recorded with each send.
	Provider     sms.Provider
	ProviderName string
	// Signs are the accepted SignName values (default "numauth"); Templates
	// map TemplateCode to text with ${name} variables (default 100001).
	Signs     []string
	Templates map[string]string
	// CheckTries is how many checks one code takes (default 5); a PASS
	// spends the code, and so does the last wrong check.
	CheckTries int
	// PerHour and PerDay bound the codes one account sends to one number
	// (default 5 and 10); PerDayGlobal the codes one number is sent by all
	// accounts together (default 20); AccountPerDay one account's sends to
	// all numbers (default 10000).
	PerHour, PerDay, PerDayGlobal, AccountPerDay int
	// Countries are the country codes codes may be sent to (default "86").
	Countries []string
	// TestNumbers map E.164 numbers to a fixed code: they never reach the
	// provider and no limit applies to them (app-store review, CI).
	TestNumbers map[string]string
}

// Defaults of SendSmsVerifyCode's parameters, as Alibaba's.
const (
	SmsDefaultScheme      = "默认方案"
	SmsDefaultCountry     = "86"
	SmsDefaultCodeLength  = 4
	SmsDefaultValidTime   = 300
	SmsDefaultInterval    = 60
	SmsDefaultDuplicate   = 1
	SmsDefaultCodeType    = 1
	DefaultSmsSign        = "numauth"
	DefaultSmsTemplate    = "100001"
	DefaultSmsTemplateTxt = "验证码${code}，${min}分钟内有效，请勿泄露。"
)

func (c *SMSConfig) defaults() {
	if len(c.Signs) == 0 {
		c.Signs = []string{DefaultSmsSign}
	}
	if len(c.Templates) == 0 {
		c.Templates = map[string]string{DefaultSmsTemplate: DefaultSmsTemplateTxt}
	}
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&c.CheckTries, 5)
	def(&c.PerHour, 5)
	def(&c.PerDay, 10)
	def(&c.PerDayGlobal, 20)
	def(&c.AccountPerDay, 10000)
	if len(c.Countries) == 0 {
		c.Countries = []string{SmsDefaultCountry}
	}
}

// smsBudgets are the SMS limits (internal/limit).
type smsBudgets struct {
	perHour, perDay, perDayGlobal, accountPerDay, check limit.Budget
}

func newSmsBudgets(c SMSConfig) smsBudgets {
	return smsBudgets{
		perHour:       limit.Budget{Name: "sms-hour", Limit: c.PerHour, Window: time.Hour},
		perDay:        limit.Budget{Name: "sms-day", Limit: c.PerDay, Window: 24 * time.Hour},
		perDayGlobal:  limit.Budget{Name: "sms-day-all", Limit: c.PerDayGlobal, Window: 24 * time.Hour},
		accountPerDay: limit.Budget{Name: "sms-acct-day", Limit: c.AccountPerDay, Window: 24 * time.Hour},
		check:         limit.Budget{Name: "sms-check", Limit: c.CheckTries},
	}
}

// SmsSendInput is SendSmsVerifyCode's request, with Alibaba's defaults
// filled in by the protocol.
type SmsSendInput struct {
	PhoneNumber, CountryCode            string
	SignName, TemplateCode, TemplateArg string // TemplateArg: the TemplateParam JSON object
	SchemeName, OutID                   string
	CodeLength, ValidTime, Interval     int
	DuplicatePolicy, CodeType           int
	ReturnCode                          bool
}

// SmsSendResult is SendSmsVerifyCode's answer.
type SmsSendResult struct {
	BizID, OutID string
	Code         string // only when ReturnCode was asked for
}

// SmsCheckInput is CheckSmsVerifyCode's request.
type SmsCheckInput struct {
	PhoneNumber, CountryCode, Code string
	SchemeName, OutID              string
	CaseSensitive                  bool // CaseAuthPolicy 2
}

// SmsQueryInput is QuerySendDetails' request.
type SmsQueryInput struct {
	PhoneNumber, CountryCode string
	SendDate                 string // yyyyMMdd, UTC, within the last 30 days
	BizID                    string
	PageSize, CurrentPage    int
}

// smsNumber is a parsed recipient.
type smsNumber struct {
	e164, country, masked string
}

var countryPattern = regexp.MustCompile(`^[1-9][0-9]{0,2}$`)

// parseSmsNumber reads PhoneNumber and CountryCode. Mainland numbers take
// every form carrier.NormalizePhone does; others are national digits
// (or the whole number with "+" and the country code), at most 15 digits
// with the country code, as E.164 allows.
func parseSmsNumber(phone, country string) (smsNumber, error) {
	country = strings.TrimPrefix(strings.TrimSpace(country), "+")
	if country == "" {
		country = SmsDefaultCountry
	}
	if !countryPattern.MatchString(country) {
		return smsNumber{}, hint(ErrInvalidParameters, "CountryCode must be 1 to 3 digits")
	}
	if country == SmsDefaultCountry {
		d, err := carrier.NormalizePhone(phone)
		if err != nil {
			return smsNumber{}, fmt.Errorf("%w: %w", ErrNumberInvalid, err)
		}
		return smsNumber{e164: carrier.E164(d), country: country, masked: carrier.Mask(d)}, nil
	}
	if len(phone) > 32 {
		return smsNumber{}, hint(ErrNumberInvalid, "PhoneNumber is too long")
	}
	d := strings.NewReplacer(" ", "", "-", "").Replace(phone)
	if rest, ok := strings.CutPrefix(d, "+"); ok {
		if !strings.HasPrefix(rest, country) {
			return smsNumber{}, hint(ErrNumberInvalid, "the number's country code is not CountryCode")
		}
		d = rest[len(country):]
	}
	if len(d) < 4 || len(country)+len(d) > 15 || strings.Trim(d, "0123456789") != "" || d[0] == '0' {
		return smsNumber{}, hint(ErrNumberInvalid, "want the national number's digits, at most 15 with the country code")
	}
	show := min(len(d)/4, 2) // at least half of the digits starred
	masked := "+" + country + " " + d[:show] + strings.Repeat("*", len(d)-2*show) + d[len(d)-show:]
	return smsNumber{e164: "+" + country + d, country: country, masked: masked}, nil
}

// smsScheme checks a SchemeName (the SMS scheme is a namespace of codes:
// a code sent under one name is checked under the same name).
func smsScheme(name string) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return SmsDefaultScheme, nil
	}
	if utf8.RuneCountInString(name) > 20 || !utf8.ValidString(name) || strings.IndexFunc(name, unicode.IsControl) >= 0 {
		return "", hint(ErrInvalidParameters, "SchemeName must be at most 20 characters of text")
	}
	return name, nil
}

const maxOutID = 64

func checkOutID(id string) error {
	if len(id) > maxOutID || !utf8.ValidString(id) || strings.IndexFunc(id, unicode.IsControl) >= 0 {
		return hint(ErrInvalidParameters, "OutId must be at most %d bytes of text", maxOutID)
	}
	return nil
}

// codeAlphabets are CodeType's alphabets.
var codeAlphabets = [...]string{
	1: "0123456789",
	2: "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
	3: "abcdefghijklmnopqrstuvwxyz",
	4: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
	5: "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ",
	6: "0123456789abcdefghijklmnopqrstuvwxyz",
	7: "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
}

// newCode draws a code of n characters of CodeType typ, uniformly.
func newCode(n, typ int) string {
	alpha := codeAlphabets[typ]
	max := big.NewInt(int64(len(alpha)))
	b := make([]byte, n)
	for i := range b {
		v, err := rand.Int(rand.Reader, max)
		if err != nil {
			panic(err) // crypto/rand does not fail
		}
		b[i] = alpha[v.Int64()]
	}
	return string(b)
}

// validateSend checks the integer parameters' ranges.
func validateSend(in *SmsSendInput) error {
	checks := []struct {
		name     string
		v, lo, h int
	}{
		{"CodeLength", in.CodeLength, 4, 8},
		{"ValidTime", in.ValidTime, 1, 86400},
		{"Interval", in.Interval, 1, 86400},
		{"DuplicatePolicy", in.DuplicatePolicy, 1, 2},
		{"CodeType", in.CodeType, 1, 7},
	}
	for _, c := range checks {
		if c.v < c.lo || c.v > c.h {
			return hint(ErrInvalidParameters, "%s must be %d to %d", c.name, c.lo, c.h)
		}
	}
	return checkOutID(in.OutID)
}

// smsCodeState is what the ephemeral store keeps for one account, scheme
// and number: the live codes (keyed hashes only) and the generation whose
// check budget they share. DuplicatePolicy 1 starts a new generation with
// each send; 2 adds the new code to the current one.
type smsCodeState struct {
	Gen string `json:"g"`
	// Horizon (Unix ms) is when the generation's check budget ends; no
	// code of the generation outlives it, so its codes share one budget
	// for their whole lives (a DuplicatePolicy 2 code that would outlive it
	// starts a new generation).
	Horizon int64     `json:"h"`
	Codes   []smsCode `json:"c"`
}

type smsCode struct {
	Exact string `json:"e"` // keyed hash of the code as sent
	Fold  string `json:"f"` // keyed hash of the code in lower case
	Exp   int64  `json:"x"` // Unix ms
	Out   string `json:"o"` // the send's OutId
}

func (st *smsCodeState) live(now time.Time) []smsCode {
	ms := now.UnixMilli()
	return slices.DeleteFunc(slices.Clone(st.Codes), func(c smsCode) bool { return c.Exp <= ms })
}

// smsGenerationSpan is the least life of a generation's check budget.
const smsGenerationSpan = 24 * time.Hour

func (st *smsCodeState) end() time.Time {
	var e int64
	for _, c := range st.Codes {
		e = max(e, c.Exp)
	}
	return time.UnixMilli(e)
}

// readSmsCodes reads the codes under key: raw is the stored value (nil
// when absent), for the Swap that changes it; a value that does not decode
// (the short-lived "{}" of ended codes included) reads as no codes.
func (s *Service) readSmsCodes(ctx context.Context, key string) (raw []byte, st smsCodeState, err error) {
	raw, err = s.eph.Get(ctx, key)
	if errors.Is(err, store.ErrNotFound) {
		return nil, smsCodeState{}, nil
	}
	if err != nil {
		return nil, smsCodeState{}, storeErr("read SMS codes", err)
	}
	if json.Unmarshal(raw, &st) != nil {
		st = smsCodeState{}
	}
	return raw, st, nil
}

// codeHash is the keyed hash of a code for one account, scheme and number.
func (s *Service) codeHash(key, code string) string {
	m := hmac.New(sha256.New, s.smsKey)
	m.Write([]byte(key))
	m.Write([]byte{0})
	m.Write([]byte(code))
	return hex.EncodeToString(m.Sum(nil))
}

func smsStateKey(account, scheme, phoneHash string) string {
	sh := sha256.Sum256([]byte(scheme))
	return kSmsCode + account + ":" + hex.EncodeToString(sh[:8]) + ":" + phoneHash
}

// SendSmsCode makes a code, renders the template and hands the text to the
// provider. Limits are charged only for a text the provider accepted.
func (s *Service) SendSmsCode(ctx context.Context, c Caller, in SmsSendInput) (SmsSendResult, error) {
	cfg := &s.cfg.SMS
	if cfg.Provider == nil {
		return SmsSendResult{}, hint(ErrSmsProviderDown, "no SMS provider is configured")
	}
	if err := validateSend(&in); err != nil {
		return SmsSendResult{}, err
	}
	scheme, err := smsScheme(in.SchemeName)
	if err != nil {
		return SmsSendResult{}, err
	}
	if !slices.Contains(cfg.Signs, in.SignName) {
		return SmsSendResult{}, hint(ErrInvalidParameters, "unknown SignName")
	}
	tpl, ok := cfg.Templates[in.TemplateCode]
	if !ok {
		return SmsSendResult{}, hint(ErrInvalidParameters, "unknown TemplateCode")
	}
	params, err := parseTemplateParam(in.TemplateArg)
	if err != nil {
		return SmsSendResult{}, err
	}
	num, err := parseSmsNumber(in.PhoneNumber, in.CountryCode)
	if err != nil {
		return SmsSendResult{}, err
	}
	if !slices.Contains(cfg.Countries, num.country) {
		return SmsSendResult{}, hint(ErrSmsCountry, "+%s", num.country)
	}
	code := newCode(in.CodeLength, in.CodeType)
	if fixed, ok := cfg.TestNumbers[num.e164]; ok {
		code = fixed
	}
	text, redacted, checkable, err := renderSms(in.SignName, tpl, params, code, in.ValidTime)
	if err != nil {
		return SmsSendResult{}, err
	}
	res := SmsSendResult{BizID: uuid.Must(uuid.NewV7()).String(), OutID: in.OutID}
	if in.ReturnCode && checkable {
		res.Code = code
	}
	hash := s.PhoneHash(num.e164)
	stateKey := smsStateKey(c.AccountID, scheme, hash)
	if _, ok := cfg.TestNumbers[num.e164]; ok {
		// Never sent, never limited: the fixed code always checks.
		return res, nil
	}

	hold, err := s.limits.Claim(ctx, limit.Cooldown{Name: "sms-interval", Interval: time.Duration(in.Interval) * time.Second}, c.AccountID+":"+hash)
	if errors.Is(err, limit.ErrExhausted) {
		return SmsSendResult{}, fmt.Errorf("%w: %w", ErrSmsFrequency, err)
	} else if err != nil {
		return SmsSendResult{}, storeErr("SMS interval", err)
	}
	// Whatever happens to the caller's context from here, what was taken
	// is settled.
	settle, cancel := context.WithTimeout(context.WithoutCancel(ctx), releaseTimeout)
	defer cancel()
	sent, keepHold := false, false
	defer func() {
		if !sent && !keepHold {
			hold.Release(settle)
		}
	}()
	b := &s.smsBudgets
	charges := []limit.Charge{
		b.perHour.For(c.AccountID + ":" + hash), b.perDay.For(c.AccountID + ":" + hash),
		b.perDayGlobal.For(hash), b.accountPerDay.For(c.AccountID),
	}
	resv, err := s.reserveWaiting(ctx, "SMS send limits", ErrSmsLimit, charges...)
	if err != nil {
		return SmsSendResult{}, err
	}
	defer func() {
		if !sent {
			resv.Refund(settle)
		}
	}()

	var undo func()
	if checkable {
		if undo, err = s.addSmsCode(ctx, stateKey, code, in, res.BizID); err != nil {
			return SmsSendResult{}, err
		}
	}
	rec := store.SmsSend{
		ID: res.BizID, AccountID: c.AccountID, SchemeName: scheme, PhoneHash: hash, MaskedPhone: num.masked,
		CountryCode: num.country, SignName: in.SignName, Template: in.TemplateCode, Content: redacted,
		OutID: in.OutID, Provider: cfg.ProviderName, SentAt: s.cfg.Now().UTC(),
	}
	// The provider call is not cut short by a caller who hangs up (a text
	// may be on its way); it is bounded by the call's own deadline.
	pctx, pcancel := context.WithTimeout(context.WithoutCancel(ctx), providerTimeout(ctx))
	acc, perr := cfg.Provider.Send(pctx, sms.Message{
		ID: res.BizID, To: num.e164, SignName: in.SignName, TemplateCode: in.TemplateCode, Params: params.with(code), Text: text,
	})
	pcancel()
	// Records are written whatever becomes of the caller's context: a text
	// that went out is billed and queryable.
	rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), groupcommit.WriteTimeout)
	defer rcancel()
	if perr != nil {
		if undo != nil {
			undo()
		}
		rec.Status, rec.ErrCode = int(sms.StatusFailed), "PROVIDER_UNAVAILABLE"
		want := ErrSmsProviderDown
		if errors.Is(perr, sms.ErrRejected) {
			rec.ErrCode, want = "PROVIDER_REJECTED", ErrSmsRejected
		} else {
			// An outage or a timeout: the provider may have sent the text
			// after all. The Interval stays taken, so retries are paced;
			// the hourly and daily units are given back (numauth's own
			// failure must not lock the number for a day).
			keepHold = true
		}
		s.cfg.Logger.WarnContext(ctx, "SMS provider did not accept a code", "biz_id", res.BizID, "to", num.masked, "err", perr)
		// The refusal is recorded for QuerySendDetails; the caller learns
		// of the provider's answer whether or not the record is written.
		if err := s.writes.Write(rctx, store.Batch{SmsSends: []store.SmsSend{rec}}); err != nil {
			s.cfg.Logger.WarnContext(ctx, "could not record a refused SMS", "biz_id", res.BizID, "err", err)
		}
		return SmsSendResult{}, fmt.Errorf("%w: %w", want, perr)
	}
	sent = true
	if _, err := resv.Keep(settle); err != nil {
		s.cfg.Logger.WarnContext(ctx, "could not count a sent SMS against its limits", "biz_id", res.BizID, "err", err)
	}
	rec.ProviderID, rec.Status, rec.Billable = acc.ProviderID, int(acc.Status), true
	if acc.Status == sms.StatusDelivered {
		rec.ErrCode, rec.ReceivedAt = "DELIVERED", rec.SentAt
	}
	err = s.writes.Write(rctx, store.Batch{SmsSends: []store.SmsSend{rec}})
	if errors.Is(err, store.ErrConflict) {
		err = nil // a batch that timed out committed after all: the record is there
	}
	if err != nil {
		// The text is out and its code is live; only the record is
		// missing, and the caller is told so.
		return SmsSendResult{}, storeErr("record SMS send "+res.BizID, err)
	}
	return res, nil
}

// providerTimeout is how long a provider call may take: what is left of
// the call's deadline, or 10 s without one.
func providerTimeout(ctx context.Context) time.Duration {
	if d, ok := ctx.Deadline(); ok {
		return max(time.Until(d), time.Millisecond)
	}
	return 10 * time.Second
}

// addSmsCode stores a new code's hashes under the send's policy and returns
// how to take it back if the provider does not accept the text.
func (s *Service) addSmsCode(ctx context.Context, key, code string, in SmsSendInput, bizID string) (func(), error) {
	now := s.cfg.Now()
	nc := smsCode{
		Exact: s.codeHash(key, code), Fold: s.codeHash(key, strings.ToLower(code)),
		Exp: now.Add(time.Duration(in.ValidTime) * time.Second).UnixMilli(), Out: in.OutID,
	}
	for range 32 {
		prev, st, err := s.readSmsCodes(ctx, key)
		if err != nil {
			return nil, err
		}
		if in.DuplicatePolicy == 1 || st.Gen == "" || len(st.live(now)) == 0 || nc.Exp > st.Horizon {
			st = smsCodeState{Gen: bizID, Horizon: max(now.Add(smsGenerationSpan).UnixMilli(), nc.Exp)}
		}
		st.Codes = append(st.live(now), nc)
		next, _ := json.Marshal(st)
		ttl := st.end().Sub(now) + time.Second // the new code expires after now
		_, ok, err := s.eph.Swap(ctx, store.Guard{}, key, prev, next, ttl)
		if err != nil {
			return nil, storeErr("store SMS code", err)
		}
		if ok {
			undo := func() {
				uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), releaseTimeout)
				defer cancel()
				restore, rttl := []byte("{}"), time.Millisecond
				if prev != nil {
					var ps smsCodeState
					if json.Unmarshal(prev, &ps) == nil {
						if left := ps.end().Sub(s.cfg.Now()); left > 0 {
							restore, rttl = prev, left+time.Second
						}
					}
				}
				if _, _, err := s.eph.Swap(uctx, store.Guard{}, key, next, restore, rttl); err != nil {
					s.cfg.Logger.WarnContext(ctx, "could not withdraw the code of an SMS that was not sent", "err", err)
				}
			}
			return undo, nil
		}
	}
	return nil, fmt.Errorf("store SMS code: %w: too much contention", ErrUnavailable)
}

// CheckSmsCode checks a code. A wrong code takes one of the code's
// generation's CheckTries; the last one ends the generation; a PASS spends
// the code. Unknown, expired, spent or wrong codes answer false.
func (s *Service) CheckSmsCode(ctx context.Context, c Caller, in SmsCheckInput) (bool, error) {
	scheme, err := smsScheme(in.SchemeName)
	if err != nil {
		return false, err
	}
	if err := checkOutID(in.OutID); err != nil {
		return false, err
	}
	num, err := parseSmsNumber(in.PhoneNumber, in.CountryCode)
	if err != nil {
		return false, err
	}
	code := strings.TrimSpace(in.Code)
	if code == "" || len(code) > 8 {
		return false, hint(ErrInvalidParameters, "VerifyCode must be 1 to 8 characters")
	}
	if fixed, ok := s.cfg.SMS.TestNumbers[num.e164]; ok {
		return hmac.Equal([]byte(fold(code, in.CaseSensitive)), []byte(fold(fixed, in.CaseSensitive))), nil
	}
	key := smsStateKey(c.AccountID, scheme, s.PhoneHash(num.e164))
	_, st, err := s.readSmsCodes(ctx, key)
	if err != nil {
		return false, err
	}
	if st.Gen == "" || len(st.live(s.cfg.Now())) == 0 {
		return false, nil
	}
	horizon := time.UnixMilli(st.Horizon)
	if horizon.Before(st.end()) {
		horizon = st.end() // a state written without a horizon
	}
	resv, err := s.reserveWaiting(ctx, "SMS code checks", nil, s.smsBudgets.check.Until(key+":"+st.Gen, horizon))
	if errors.Is(err, limit.ErrExhausted) {
		return false, nil // the generation's checks are spent
	}
	if err != nil {
		return false, err
	}
	settle, cancel := context.WithTimeout(context.WithoutCancel(ctx), releaseTimeout)
	defer cancel()
	hash := s.codeHash(key, code)
	if !in.CaseSensitive {
		hash = s.codeHash(key, strings.ToLower(code))
	}
	pass, err := s.spendSmsCode(ctx, key, st.Gen, hash, in)
	if err != nil {
		resv.Refund(settle)
		return false, err
	}
	if pass {
		resv.Refund(settle)
		return true, nil
	}
	left, err := resv.Keep(settle)
	if err != nil {
		return false, storeErr("count an SMS check", err)
	}
	if left == 0 {
		// The last try is spent: the generation's codes die with it.
		if err := s.endSmsGeneration(settle, key, st.Gen); err != nil {
			s.cfg.Logger.WarnContext(ctx, "could not end spent SMS codes", "err", err)
		}
	}
	return false, nil
}

// endSmsGeneration ends the live codes of generation gen, and only those:
// a send that started a new generation meanwhile keeps its code.
func (s *Service) endSmsGeneration(ctx context.Context, key, gen string) error {
	for range 32 {
		raw, st, err := s.readSmsCodes(ctx, key)
		if err != nil || st.Gen != gen {
			return err
		}
		if _, ok, err := s.eph.Swap(ctx, store.Guard{}, key, raw, []byte("{}"), time.Millisecond); err != nil || ok {
			return err
		}
	}
	return hint(ErrUnavailable, "too much contention")
}

// spendSmsCode removes the live code of generation gen whose hash matches,
// in one atomic step, and reports whether there was one. Of parallel
// checks with the right code exactly one passes.
func (s *Service) spendSmsCode(ctx context.Context, key, gen, hash string, in SmsCheckInput) (bool, error) {
	for range 32 {
		raw, st, err := s.readSmsCodes(ctx, key)
		if err != nil {
			return false, err
		}
		if st.Gen != gen {
			return false, nil // gone, or a newer send replaced the codes this check was counted against
		}
		now := s.cfg.Now()
		live := st.live(now)
		i := slices.IndexFunc(live, func(c smsCode) bool {
			h := c.Fold
			if in.CaseSensitive {
				h = c.Exact
			}
			return hmac.Equal([]byte(h), []byte(hash)) && (in.OutID == "" || in.OutID == c.Out)
		})
		if i < 0 {
			return false, nil
		}
		st.Codes = slices.Delete(live, i, i+1)
		next, ttl := []byte("{}"), time.Millisecond
		if len(st.Codes) > 0 {
			next, _ = json.Marshal(st)
			ttl = st.end().Sub(now) + time.Second
		}
		_, ok, err := s.eph.Swap(ctx, store.Guard{}, key, raw, next, ttl)
		if err != nil {
			return false, storeErr("spend SMS code", err)
		}
		if ok {
			return true, nil
		}
	}
	return false, fmt.Errorf("spend SMS code: %w: too much contention", ErrUnavailable)
}

func fold(code string, caseSensitive bool) string {
	if caseSensitive {
		return code
	}
	return strings.ToLower(code)
}

// QuerySmsSends lists the caller's sends to one number on one UTC day.
func (s *Service) QuerySmsSends(ctx context.Context, c Caller, in SmsQueryInput) ([]store.SmsSend, int64, error) {
	num, err := parseSmsNumber(in.PhoneNumber, in.CountryCode)
	if err != nil {
		return nil, 0, err
	}
	day, err := time.Parse("20060102", in.SendDate)
	if err != nil {
		return nil, 0, hint(ErrInvalidParameters, "SendDate must be yyyyMMdd")
	}
	today := s.cfg.Now().UTC().Truncate(24 * time.Hour)
	// Days are UTC; "today" of a caller east of UTC may be tomorrow there.
	if day.After(today.AddDate(0, 0, 1)) || day.Before(today.AddDate(0, 0, -30)) {
		return nil, 0, hint(ErrInvalidParameters, "SendDate must be within the last 30 days")
	}
	if in.PageSize < 1 || in.PageSize > 50 {
		return nil, 0, hint(ErrInvalidParameters, "PageSize must be 1 to 50")
	}
	if in.CurrentPage < 1 || in.CurrentPage > 1_000_000 {
		return nil, 0, hint(ErrInvalidParameters, "CurrentPage must be 1 or more")
	}
	if len(in.BizID) > 64 {
		return nil, 0, hint(ErrInvalidParameters, "BizId is too long")
	}
	list, total, err := s.durable.ListSmsSends(ctx, store.SmsFilter{
		AccountID: c.AccountID, PhoneHash: s.PhoneHash(num.e164), ID: in.BizID,
		From: day, To: day.AddDate(0, 0, 1), Offset: (in.CurrentPage - 1) * in.PageSize, Limit: in.PageSize,
	})
	if err != nil {
		return nil, 0, storeErr("query SMS sends", err)
	}
	return list, total, nil
}

// SmsReceipt records a provider's delivery receipt. A receipt can come
// before its send's record is written (the record waits for the next group
// commit), so a receipt for an unknown message is tried again for a while.
func (s *Service) SmsReceipt(ctx context.Context, r sms.Receipt) {
	select {
	case s.receiptSlots <- struct{}{}:
	default:
		// A flood of receipts for unknown messages must not pile up
		// goroutines: this one stays pending in QuerySendDetails.
		s.cfg.Logger.Warn("too many SMS delivery receipts in flight; one is dropped", "provider_id", r.ProviderID)
		return
	}
	go func() {
		defer func() { <-s.receiptSlots }()
		for i := range 10 {
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), groupcommit.WriteTimeout)
			err := s.durable.SetSmsStatus(rctx, s.cfg.SMS.ProviderName, r.ProviderID, int(r.Status), r.ErrCode, r.At.UTC())
			cancel()
			if err == nil {
				return
			}
			if !errors.Is(err, store.ErrNotFound) || i == 9 {
				s.cfg.Logger.Warn("could not record an SMS delivery receipt", "provider_id", r.ProviderID, "err", err)
				return
			}
			time.Sleep(time.Duration(100<<min(i, 4)) * time.Millisecond)
		}
	}()
}

// templateParams are TemplateParam's variables; placeholder marks the
// values holding "##code##".
type templateParams map[string]string

const codePlaceholder = "##code##"

// with returns the variables with the code in place of the placeholder.
func (p templateParams) with(code string) map[string]string {
	out := make(map[string]string, len(p))
	for k, v := range p {
		out[k] = strings.ReplaceAll(v, codePlaceholder, code)
	}
	return out
}

var varName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,31}$`)

const (
	maxTemplateParam = 1024
	maxVarValue      = 64 // characters
	maxTemplateVars  = 16
)

// parseTemplateParam reads TemplateParam: a JSON object of variable names
// to strings or numbers.
func parseTemplateParam(s string) (templateParams, error) {
	if len(s) > maxTemplateParam {
		return nil, hint(ErrInvalidParameters, "TemplateParam is longer than %d bytes", maxTemplateParam)
	}
	var raw map[string]json.RawMessage
	dec := json.NewDecoder(strings.NewReader(s))
	if err := dec.Decode(&raw); err != nil || raw == nil || dec.More() {
		return nil, hint(ErrInvalidParameters, "TemplateParam must be a JSON object such as {\"code\":\"##code##\"}")
	}
	if len(raw) > maxTemplateVars {
		return nil, hint(ErrInvalidParameters, "TemplateParam has more than %d variables", maxTemplateVars)
	}
	p := make(templateParams, len(raw))
	for k, v := range raw {
		if !varName.MatchString(k) {
			return nil, hint(ErrInvalidParameters, "TemplateParam variable names are letters, digits and _")
		}
		var str string
		var num json.Number
		if json.Unmarshal(v, &str) != nil {
			d := json.NewDecoder(strings.NewReader(string(v)))
			d.UseNumber()
			if d.Decode(&num) != nil {
				return nil, hint(ErrInvalidParameters, "TemplateParam variable %s must be a string or a number", k)
			}
			str = num.String()
		}
		if utf8.RuneCountInString(str) > maxVarValue || strings.IndexFunc(str, unicode.IsControl) >= 0 {
			return nil, hint(ErrInvalidParameters, "TemplateParam variable %s must be at most %d characters on one line", k, maxVarValue)
		}
		p[k] = str
	}
	return p, nil
}

var templateVar = regexp.MustCompile(`\$\{([^{}]*)\}`)

// renderSms renders a template for one code: the text to send (sign
// first), the same text with the code starred out (for the record), and
// whether the text holds a numauth-made code (a TemplateParam without
// "##code##" sends the integrator's own value, which numauth cannot check,
// as Alibaba's). Every ${name} of the template must have a value and every
// variable must be used; ${min} defaults to ValidTime in whole minutes.
func renderSms(sign, tpl string, p templateParams, code string, validSeconds int) (text, redacted string, checkable bool, err error) {
	if strings.Contains(tpl, "${min}") {
		if _, ok := p["min"]; !ok {
			// The default travels with the other variables, so that a
			// provider that renders on its side gets it too.
			p["min"] = strconv.Itoa((validSeconds + 59) / 60)
		}
	}
	used := map[string]bool{}
	var missing string
	render := func(code string, redact bool) string {
		return templateVar.ReplaceAllStringFunc(tpl, func(m string) string {
			name := m[2 : len(m)-1]
			used[name] = true
			v, ok := p[name]
			if !ok {
				missing = name
				return m
			}
			if redact && name == "code" && !strings.Contains(v, codePlaceholder) {
				// The integrator's own code is not stored either.
				return strings.Repeat("*", utf8.RuneCountInString(v))
			}
			return strings.ReplaceAll(v, codePlaceholder, code)
		})
	}
	body := render(code, false)
	if missing != "" {
		return "", "", false, hint(ErrInvalidParameters, "TemplateParam has no value for the template's variable %s", missing)
	}
	for k, v := range p {
		if !used[k] {
			return "", "", false, hint(ErrInvalidParameters, "the template has no variable %s", k)
		}
		if strings.Contains(v, codePlaceholder) {
			checkable = true
		}
	}
	head := "【" + sign + "】"
	return head + body, head + render(strings.Repeat("*", len(code)), true), checkable, nil
}

// NormalizeE164 reads a number as operator tools take it: "+" and 7 to 15
// digits, or any mainland form carrier.NormalizePhone takes.
func NormalizeE164(s string) (string, error) {
	if rest, ok := strings.CutPrefix(s, "+"); ok && !strings.HasPrefix(rest, SmsDefaultCountry) {
		if len(rest) < 7 || len(rest) > 15 || strings.Trim(rest, "0123456789") != "" || rest[0] == '0' {
			return "", hint(ErrNumberInvalid, "want + and 7 to 15 digits")
		}
		return s, nil
	}
	n, err := parseSmsNumber(s, SmsDefaultCountry)
	return n.e164, err
}

// ValidCountryCode reports whether cc is a country calling code's form
// (1 to 3 digits, not starting with 0).
func ValidCountryCode(cc string) bool { return countryPattern.MatchString(cc) }
