package auth_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/numauth/numauth/internal/auth"
	"github.com/numauth/numauth/internal/auth/authtest"
	"github.com/numauth/numauth/internal/store"
)

var smsCaller = auth.Caller{AccessKeyID: "AK1", AccountID: "acct1"}

func smsStack(t *testing.T, cfg auth.SMSConfig) *authtest.Stack {
	t.Helper()
	return authtest.New(t, authtest.Options{Config: auth.Config{SMS: cfg}})
}

// sendIn is SendSmsVerifyCode's request with Alibaba's defaults.
func sendIn(phone string) auth.SmsSendInput {
	return auth.SmsSendInput{
		PhoneNumber: phone, SignName: "numauth", TemplateCode: "100001", TemplateArg: `{"code":"##code##"}`,
		CodeLength: 4, ValidTime: 300, Interval: 60, DuplicatePolicy: 1, CodeType: 1, ReturnCode: true,
	}
}

func mustSend(t *testing.T, st *authtest.Stack, c auth.Caller, in auth.SmsSendInput) auth.SmsSendResult {
	t.Helper()
	res, err := st.Svc.SendSmsCode(context.Background(), c, in)
	if err != nil {
		t.Fatalf("SendSmsCode: %v", err)
	}
	return res
}

func check(t *testing.T, st *authtest.Stack, c auth.Caller, phone, code string) bool {
	t.Helper()
	ok, err := st.Svc.CheckSmsCode(context.Background(), c, auth.SmsCheckInput{PhoneNumber: phone, Code: code})
	if err != nil {
		t.Fatalf("CheckSmsCode: %v", err)
	}
	return ok
}

// wrongCode is a code of the same shape that is not code.
func wrongCode(code string, i int) string {
	for {
		w := fmt.Sprintf("%0*d", len(code), i%10000)
		if w != code {
			return w
		}
		i++
	}
}

func TestSmsSendAndCheck(t *testing.T) {
	st := smsStack(t, auth.SMSConfig{})
	ctx := context.Background()
	res := mustSend(t, st, smsCaller, sendIn("13800138000"))
	if len(res.Code) != 4 || strings.Trim(res.Code, "0123456789") != "" || res.BizID == "" {
		t.Fatalf("answer %+v: want a 4-digit code and a BizId", res)
	}
	out, err := st.Durable.ListOutbox(ctx, "+8613800138000", 10)
	if err != nil || len(out) != 1 {
		t.Fatalf("outbox: %v, %d entries", err, len(out))
	}
	if want := "【numauth】验证码" + res.Code + "，5分钟内有效，请勿泄露。"; out[0].Text != want {
		t.Fatalf("outbox text %q, want %q", out[0].Text, want)
	}
	// The durable record holds neither the code nor the number.
	recs, total, err := st.Durable.ListSmsSends(ctx, store.SmsFilter{AccountID: smsCaller.AccountID, Limit: 10})
	if err != nil || total != 1 {
		t.Fatalf("records: %v, total %d", err, total)
	}
	r := recs[0]
	if strings.Contains(r.Content, res.Code) || strings.Contains(fmt.Sprintf("%+v", r), "13800138000") {
		t.Fatalf("the record holds the code or the number: %+v", r)
	}
	if r.ID != res.BizID || r.Status != 3 || !r.Billable || r.MaskedPhone != "138****8000" || r.ErrCode != "DELIVERED" {
		t.Fatalf("record %+v", r)
	}
	if !check(t, st, smsCaller, "+86 138-0013-8000", res.Code) {
		t.Fatal("the right code did not PASS")
	}
	if check(t, st, smsCaller, "13800138000", res.Code) {
		t.Fatal("a spent code passed again")
	}
}

func TestSmsCheckBudget(t *testing.T) {
	st := smsStack(t, auth.SMSConfig{CheckTries: 5})
	res := mustSend(t, st, smsCaller, sendIn("13800138001"))
	for i := 0; i < 5; i++ {
		if check(t, st, smsCaller, "13800138001", wrongCode(res.Code, i)) {
			t.Fatal("a wrong code passed")
		}
	}
	if check(t, st, smsCaller, "13800138001", res.Code) {
		t.Fatal("the right code passed after the code's five checks were spent")
	}
}

// TestSmsCheckBudgetParallel: parallel wrong guesses never get more than
// CheckTries checks between them, and of parallel right answers exactly
// one passes.
func TestSmsCheckBudgetParallel(t *testing.T) {
	st := smsStack(t, auth.SMSConfig{CheckTries: 5})
	ctx := context.Background()
	// 40 parallel guesses over the whole space of 4-digit codes but the
	// right one: afterwards the right code must be dead.
	res := mustSend(t, st, smsCaller, sendIn("13800138002"))
	var wg sync.WaitGroup
	var passes atomic.Int32
	for i := 0; i < 40; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok, err := st.Svc.CheckSmsCode(ctx, smsCaller, auth.SmsCheckInput{PhoneNumber: "13800138002", Code: wrongCode(res.Code, i)})
			if err != nil && !errors.Is(err, auth.ErrUnavailable) {
				t.Error(err)
			}
			if ok {
				passes.Add(1)
			}
		}()
	}
	wg.Wait()
	if passes.Load() != 0 || check(t, st, smsCaller, "13800138002", res.Code) {
		t.Fatal("the code survived 40 parallel wrong guesses")
	}

	res = mustSend(t, st, smsCaller, sendIn("13800138003"))
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok, err := st.Svc.CheckSmsCode(ctx, smsCaller, auth.SmsCheckInput{PhoneNumber: "13800138003", Code: res.Code})
			if err != nil && !errors.Is(err, auth.ErrUnavailable) {
				t.Error(err)
			}
			if ok {
				passes.Add(1)
			}
		}()
	}
	wg.Wait()
	if passes.Load() != 1 {
		t.Fatalf("%d of 20 parallel checks of the right code passed, want 1", passes.Load())
	}
}

func TestSmsInterval(t *testing.T) {
	st := smsStack(t, auth.SMSConfig{})
	ctx := context.Background()
	var wg sync.WaitGroup
	var ok, freq atomic.Int32
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := st.Svc.SendSmsCode(ctx, smsCaller, sendIn("13800138004"))
			switch {
			case err == nil:
				ok.Add(1)
			case errors.Is(err, auth.ErrSmsFrequency):
				freq.Add(1)
			default:
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if ok.Load() != 1 || freq.Load() != 49 {
		t.Fatalf("50 parallel sends: %d accepted, %d FREQUENCY_FAIL; want 1 and 49", ok.Load(), freq.Load())
	}
	if out, _ := st.Durable.ListOutbox(ctx, "+8613800138004", 100); len(out) != 1 {
		t.Fatalf("%d messages reached the outbox, want 1", len(out))
	}
	// Another account has its own interval.
	mustSend(t, st, auth.Caller{AccountID: "acct2"}, sendIn("13800138004"))
}

func TestSmsHourlyAndGlobalLimits(t *testing.T) {
	st := smsStack(t, auth.SMSConfig{PerHour: 2, PerDayGlobal: 3})
	in := sendIn("13800138005")
	in.Interval = 1
	for i := 0; i < 2; i++ {
		mustSend(t, st, smsCaller, in)
		time.Sleep(1050 * time.Millisecond)
	}
	if _, err := st.Svc.SendSmsCode(context.Background(), smsCaller, in); !errors.Is(err, auth.ErrSmsLimit) {
		t.Fatalf("third send in an hour: %v, want ErrSmsLimit", err)
	}
	// Another account may send once more, up to the number's global limit.
	other := auth.Caller{AccountID: "acct2"}
	mustSend(t, st, other, in)
	time.Sleep(1050 * time.Millisecond)
	if _, err := st.Svc.SendSmsCode(context.Background(), other, in); !errors.Is(err, auth.ErrSmsLimit) {
		t.Fatalf("send past the global limit: %v, want ErrSmsLimit", err)
	}
}

func TestSmsAccountLimit(t *testing.T) {
	st := smsStack(t, auth.SMSConfig{AccountPerDay: 2})
	mustSend(t, st, smsCaller, sendIn("13800138006"))
	mustSend(t, st, smsCaller, sendIn("13800138007"))
	if _, err := st.Svc.SendSmsCode(context.Background(), smsCaller, sendIn("13800138008")); !errors.Is(err, auth.ErrSmsLimit) {
		t.Fatalf("send past the account's daily limit: %v, want ErrSmsLimit", err)
	}
}

// TestSmsProviderFailureChargesNothing: a refused or failed send is not
// reported sent, leaves no live code and charges no limit; it is recorded
// as failed and not billable.
func TestSmsProviderFailureChargesNothing(t *testing.T) {
	st := smsStack(t, auth.SMSConfig{PerHour: 1})
	ctx := context.Background()
	st.SMS.SetOutage(true)
	in := sendIn("13800138009")
	in.Interval = 1
	if _, err := st.Svc.SendSmsCode(ctx, smsCaller, in); !errors.Is(err, auth.ErrSmsProviderDown) {
		t.Fatalf("send during an outage: %v, want ErrSmsProviderDown", err)
	}
	st.SMS.SetOutage(false)
	// An outage may have sent the text after all: the Interval stays
	// taken, the hourly unit is given back.
	if _, err := st.Svc.SendSmsCode(ctx, smsCaller, in); !errors.Is(err, auth.ErrSmsFrequency) {
		t.Fatalf("send right after an outage: %v, want ErrSmsFrequency", err)
	}
	time.Sleep(1050 * time.Millisecond)
	res := mustSend(t, st, smsCaller, in) // PerHour 1: the failed send took no hourly unit
	if !check(t, st, smsCaller, "13800138009", res.Code) {
		t.Fatal("code after an outage did not pass")
	}
	st.SMS.RejectPrefix("+8613900139")
	if _, err := st.Svc.SendSmsCode(ctx, smsCaller, sendIn("13900139000")); !errors.Is(err, auth.ErrSmsRejected) {
		t.Fatalf("send to a refused number: %v, want ErrSmsRejected", err)
	}
	day := time.Now().UTC().Format("20060102")
	list, total, err := st.Svc.QuerySmsSends(ctx, smsCaller, auth.SmsQueryInput{PhoneNumber: "13900139000", SendDate: day, PageSize: 10, CurrentPage: 1})
	if err != nil || total != 1 || list[0].Status != 2 || list[0].Billable || list[0].ErrCode != "PROVIDER_REJECTED" {
		t.Fatalf("refused send's record: %v %d %+v", err, total, list)
	}
}

func TestSmsTestNumbers(t *testing.T) {
	st := smsStack(t, auth.SMSConfig{TestNumbers: map[string]string{"+8613800138010": "2468"}, PerHour: 1})
	ctx := context.Background()
	for i := 0; i < 3; i++ { // never limited
		res := mustSend(t, st, smsCaller, sendIn("13800138010"))
		if res.Code != "2468" {
			t.Fatalf("test number's code %q, want the fixed 2468", res.Code)
		}
	}
	if out, _ := st.Durable.ListOutbox(ctx, "+8613800138010", 10); len(out) != 0 {
		t.Fatal("a test number reached the provider")
	}
	if !check(t, st, smsCaller, "13800138010", "2468") || !check(t, st, smsCaller, "13800138010", "2468") || check(t, st, smsCaller, "13800138010", "1357") {
		t.Fatal("the test number's fixed code does not check as it should")
	}
}

func TestSmsDuplicatePolicy(t *testing.T) {
	st := smsStack(t, auth.SMSConfig{})
	in := sendIn("13800138011")
	in.Interval = 1
	first := mustSend(t, st, smsCaller, in)
	time.Sleep(1050 * time.Millisecond)
	second := mustSend(t, st, smsCaller, in)
	if first.Code != second.Code && check(t, st, smsCaller, "13800138011", first.Code) {
		t.Fatal("DuplicatePolicy 1: the replaced code still passed")
	}
	in.PhoneNumber, in.DuplicatePolicy = "13800138012", 2
	first = mustSend(t, st, smsCaller, in)
	time.Sleep(1050 * time.Millisecond)
	second = mustSend(t, st, smsCaller, in)
	if !check(t, st, smsCaller, "13800138012", first.Code) || (first.Code != second.Code && !check(t, st, smsCaller, "13800138012", second.Code)) {
		t.Fatal("DuplicatePolicy 2: both codes must stay valid")
	}
}

func TestSmsCaseAndExpiry(t *testing.T) {
	st := smsStack(t, auth.SMSConfig{})
	ctx := context.Background()
	in := sendIn("13800138013")
	in.CodeType, in.CodeLength = 4, 6
	res := mustSend(t, st, smsCaller, in)
	if strings.ToLower(res.Code) == res.Code && strings.ToUpper(res.Code) == res.Code {
		t.Fatalf("CodeType 4 made %q", res.Code)
	}
	swapped := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' {
			return r - 32
		}
		return r + 32
	}, res.Code)
	if ok, _ := st.Svc.CheckSmsCode(ctx, smsCaller, auth.SmsCheckInput{PhoneNumber: in.PhoneNumber, Code: swapped, CaseSensitive: true}); ok {
		t.Fatal("CaseAuthPolicy 2 passed a code of the other case")
	}
	if ok, _ := st.Svc.CheckSmsCode(ctx, smsCaller, auth.SmsCheckInput{PhoneNumber: in.PhoneNumber, Code: swapped}); !ok {
		t.Fatal("CaseAuthPolicy 1 refused a code of the other case")
	}
	in.PhoneNumber, in.ValidTime = "13800138014", 1
	res = mustSend(t, st, smsCaller, in)
	time.Sleep(1100 * time.Millisecond)
	if check(t, st, smsCaller, in.PhoneNumber, res.Code) {
		t.Fatal("an expired code passed")
	}
}

func TestSmsSchemeAndAccountIsolation(t *testing.T) {
	st := smsStack(t, auth.SMSConfig{})
	ctx := context.Background()
	in := sendIn("13800138015")
	in.SchemeName = "店铺登录"
	res := mustSend(t, st, smsCaller, in)
	if check(t, st, smsCaller, "13800138015", res.Code) {
		t.Fatal("a code sent under one SchemeName passed under the default one")
	}
	if ok, _ := st.Svc.CheckSmsCode(ctx, auth.Caller{AccountID: "acct2"}, auth.SmsCheckInput{PhoneNumber: "13800138015", Code: res.Code, SchemeName: "店铺登录"}); ok {
		t.Fatal("another account's check passed")
	}
	day := time.Now().UTC().Format("20060102")
	if _, total, _ := st.Svc.QuerySmsSends(ctx, auth.Caller{AccountID: "acct2"}, auth.SmsQueryInput{PhoneNumber: "13800138015", SendDate: day, PageSize: 10, CurrentPage: 1}); total != 0 {
		t.Fatal("another account sees the send")
	}
	if ok, _ := st.Svc.CheckSmsCode(ctx, smsCaller, auth.SmsCheckInput{PhoneNumber: "13800138015", Code: res.Code, SchemeName: "店铺登录"}); !ok {
		t.Fatal("the code did not pass under its own scheme")
	}
}

func TestSmsBadInput(t *testing.T) {
	st := smsStack(t, auth.SMSConfig{Countries: []string{"86", "44"}})
	mod := func(f func(*auth.SmsSendInput)) auth.SmsSendInput {
		in := sendIn("13800138016")
		f(&in)
		return in
	}
	tests := []struct {
		name string
		in   auth.SmsSendInput
		want error
	}{
		{"unknown sign", mod(func(in *auth.SmsSendInput) { in.SignName = "other" }), auth.ErrInvalidParameters},
		{"unknown template", mod(func(in *auth.SmsSendInput) { in.TemplateCode = "999" }), auth.ErrInvalidParameters},
		{"unknown variable", mod(func(in *auth.SmsSendInput) { in.TemplateArg = `{"code":"##code##","x":"1"}` }), auth.ErrInvalidParameters},
		{"not JSON", mod(func(in *auth.SmsSendInput) { in.TemplateArg = `{"code":` }), auth.ErrInvalidParameters},
		{"JSON array", mod(func(in *auth.SmsSendInput) { in.TemplateArg = `["##code##"]` }), auth.ErrInvalidParameters},
		{"nested value", mod(func(in *auth.SmsSendInput) { in.TemplateArg = `{"code":{"a":1}}` }), auth.ErrInvalidParameters},
		{"newline in a value", mod(func(in *auth.SmsSendInput) { in.TemplateArg = `{"code":"##code##\n"}` }), auth.ErrInvalidParameters},
		{"code too short", mod(func(in *auth.SmsSendInput) { in.CodeLength = 3 }), auth.ErrInvalidParameters},
		{"code too long", mod(func(in *auth.SmsSendInput) { in.CodeLength = 9 }), auth.ErrInvalidParameters},
		{"valid time 0", mod(func(in *auth.SmsSendInput) { in.ValidTime = 0 }), auth.ErrInvalidParameters},
		{"interval negative", mod(func(in *auth.SmsSendInput) { in.Interval = -1 }), auth.ErrInvalidParameters},
		{"duplicate policy 3", mod(func(in *auth.SmsSendInput) { in.DuplicatePolicy = 3 }), auth.ErrInvalidParameters},
		{"code type 8", mod(func(in *auth.SmsSendInput) { in.CodeType = 8 }), auth.ErrInvalidParameters},
		{"scheme name too long", mod(func(in *auth.SmsSendInput) { in.SchemeName = strings.Repeat("方", 21) }), auth.ErrInvalidParameters},
		{"out id too long", mod(func(in *auth.SmsSendInput) { in.OutID = strings.Repeat("x", 65) }), auth.ErrInvalidParameters},
		{"not a mobile number", mod(func(in *auth.SmsSendInput) { in.PhoneNumber = "02012345678" }), auth.ErrNumberInvalid},
		{"letters", mod(func(in *auth.SmsSendInput) { in.PhoneNumber = "1380013800x" }), auth.ErrNumberInvalid},
		{"bad country code", mod(func(in *auth.SmsSendInput) { in.CountryCode = "0044" }), auth.ErrInvalidParameters},
		{"country not enabled", mod(func(in *auth.SmsSendInput) { in.CountryCode, in.PhoneNumber = "1", "2025550123" }), auth.ErrSmsCountry},
		{"foreign number too long", mod(func(in *auth.SmsSendInput) { in.CountryCode, in.PhoneNumber = "44", "7700900123456789" }), auth.ErrNumberInvalid},
		{"foreign number with another country", mod(func(in *auth.SmsSendInput) { in.CountryCode, in.PhoneNumber = "44", "+337700900123" }), auth.ErrNumberInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := st.Svc.SendSmsCode(context.Background(), smsCaller, tc.in)
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			if strings.Contains(fmt.Sprint(err), tc.in.PhoneNumber) && len(tc.in.PhoneNumber) > 6 {
				t.Fatalf("the error repeats the number: %v", err)
			}
		})
	}
	// An enabled foreign country works end to end.
	in := mod(func(in *auth.SmsSendInput) { in.CountryCode, in.PhoneNumber = "44", "7700900123" })
	res := mustSend(t, st, smsCaller, in)
	if ok, _ := st.Svc.CheckSmsCode(context.Background(), smsCaller, auth.SmsCheckInput{PhoneNumber: "+447700900123", CountryCode: "44", Code: res.Code}); !ok {
		t.Fatal("a code sent to +44 did not pass")
	}
}

func TestSmsTemplates(t *testing.T) {
	st := smsStack(t, auth.SMSConfig{Signs: []string{"店铺"}, Templates: map[string]string{
		"T1": "您的验证码是${code}，${min}分钟有效。", "T2": "${name}，验证码${code}",
	}})
	ctx := context.Background()
	in := sendIn("13800138017")
	in.SignName, in.TemplateCode, in.ValidTime = "店铺", "T1", 600
	res := mustSend(t, st, smsCaller, in)
	out, _ := st.Durable.ListOutbox(ctx, "+8613800138017", 1)
	if want := "【店铺】您的验证码是" + res.Code + "，10分钟有效。"; len(out) != 1 || out[0].Text != want {
		t.Fatalf("outbox %+v, want %q", out, want)
	}
	in.PhoneNumber, in.TemplateCode, in.TemplateArg = "13800138018", "T2", `{"code":"##code##"}`
	if _, err := st.Svc.SendSmsCode(ctx, smsCaller, in); !errors.Is(err, auth.ErrInvalidParameters) {
		t.Fatalf("a template variable without a value: %v", err)
	}
	// A literal code is sent as given, cannot be checked, and is not stored.
	in.TemplateArg = `{"code":"777888","name":"王"}`
	res = mustSend(t, st, smsCaller, in)
	if res.Code != "" || check(t, st, smsCaller, "13800138018", "777888") {
		t.Fatalf("a literal code was returned or checked: %+v", res)
	}
	recs, _, _ := st.Durable.ListSmsSends(ctx, store.SmsFilter{AccountID: smsCaller.AccountID, Limit: 1})
	if strings.Contains(recs[0].Content, "777888") {
		t.Fatalf("the record holds the literal code: %q", recs[0].Content)
	}
}

func TestSmsQueryPaging(t *testing.T) {
	st := smsStack(t, auth.SMSConfig{})
	ctx := context.Background()
	in := sendIn("13800138019")
	in.Interval = 1
	var ids []string
	for i := 0; i < 3; i++ {
		ids = append(ids, mustSend(t, st, smsCaller, in).BizID)
		time.Sleep(1020 * time.Millisecond)
	}
	day := time.Now().UTC().Format("20060102")
	q := auth.SmsQueryInput{PhoneNumber: "13800138019", SendDate: day, PageSize: 2, CurrentPage: 2}
	list, total, err := st.Svc.QuerySmsSends(ctx, smsCaller, q)
	if err != nil || total != 3 || len(list) != 1 || list[0].ID != ids[0] {
		t.Fatalf("page 2 of 2: %v %d %+v", err, total, list)
	}
	q.BizID, q.CurrentPage = ids[1], 1
	if list, total, _ = st.Svc.QuerySmsSends(ctx, smsCaller, q); total != 1 || list[0].ID != ids[1] {
		t.Fatalf("by BizId: %d %+v", total, list)
	}
	for _, bad := range []auth.SmsQueryInput{
		{PhoneNumber: "13800138019", SendDate: "2026-01-01", PageSize: 1, CurrentPage: 1},
		{PhoneNumber: "13800138019", SendDate: time.Now().AddDate(0, 0, -40).Format("20060102"), PageSize: 1, CurrentPage: 1},
		{PhoneNumber: "13800138019", SendDate: day, PageSize: 51, CurrentPage: 1},
		{PhoneNumber: "13800138019", SendDate: day, PageSize: 1, CurrentPage: 0},
	} {
		if _, _, err := st.Svc.QuerySmsSends(ctx, smsCaller, bad); !errors.Is(err, auth.ErrInvalidParameters) {
			t.Errorf("%+v: %v, want ErrInvalidParameters", bad, err)
		}
	}
}

// FuzzSmsCheck: no input but the code itself (in either case, under
// CaseAuthPolicy 1) passes a check, and no input makes the checker fail
// with anything but a parameter error.
func FuzzSmsCheck(f *testing.F) {
	st := authtest.New(f, authtest.Options{Config: auth.Config{SMS: auth.SMSConfig{CheckTries: 1 << 30}}})
	in := sendIn("13800138099")
	in.CodeType, in.CodeLength = 7, 6
	res, err := st.Svc.SendSmsCode(context.Background(), smsCaller, in)
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{"", res.Code[:5], res.Code + "0", strings.ToUpper(res.Code) + " ", "\x00", "验证码", "000000"} {
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, guess string, caseSensitive bool) {
		if strings.EqualFold(strings.TrimSpace(guess), res.Code) {
			return // the right code would spend it
		}
		ok, err := st.Svc.CheckSmsCode(context.Background(), smsCaller, auth.SmsCheckInput{PhoneNumber: in.PhoneNumber, Code: guess, CaseSensitive: caseSensitive})
		if err != nil && !errors.Is(err, auth.ErrInvalidParameters) {
			t.Fatalf("check %q: %v", guess, err)
		}
		if ok {
			t.Fatalf("check %q passed for code %q", guess, res.Code)
		}
	})
}
