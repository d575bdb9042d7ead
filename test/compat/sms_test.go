package compat

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/dypnsapi"

	"github.com/numauth/numauth/test/harness"
)

// SMS verification codes (docs/sms.md) through every SDK flavour: the
// three actions, every documented refusal, the checks' rules, the limits,
// the provider's refusals and test numbers.

// The default sign and template, and the text the template makes.
const (
	smsSign     = "numauth"
	smsTemplate = "100001"
	codeParam   = `{"code":"##code##"}`
	textHead    = "【numauth】验证码"
	textTail    = "，5分钟内有效，请勿泄露。" // ${min} from the default ValidTime, 300 s
)

// smsNumbers hands out the mainland numbers of one subtest: 170, the
// test's block, the flavour's index and a serial, so that no two subtests
// share a number's Interval or limits.
type smsNumbers struct {
	prefix string
	n      int
}

func numbersFor(block int, s sdk) *smsNumbers {
	return &smsNumbers{prefix: fmt.Sprintf("170%02d%02d", block, flavourIndex(s))}
}

func (n *smsNumbers) next() string {
	n.n++
	return fmt.Sprintf("%s%04d", n.prefix, n.n)
}

func flavourIndex(s sdk) int {
	for i, f := range flavours {
		if f.name == s.Name() {
			return i
		}
	}
	panic("no flavour named " + s.Name())
}

// Blocks of numbers: one per test, and the numbers the limited instance
// treats apart.
const (
	blockCodes = iota + 1
	blockErrors
	blockChecks
	blockTwoCodes
	blockLimits
	blockTestNumbers = 98
	blockRejected    = 99 // --sms-sandbox-reject +8617099
)

// codeSend is a valid SendSmsVerifyCode to phone with the default sign and
// template, asking for the code back.
func codeSend(phone string) smsSend {
	return smsSend{PhoneNumber: phone, SignName: smsSign, TemplateCode: smsTemplate, TemplateParam: codeParam, ReturnVerifyCode: "true"}
}

// send sends p and fails the test unless it is accepted, with the code
// when p asked for it.
func send(t testing.TB, s sdk, p smsSend) dypnsapi.Model {
	t.Helper()
	m, o := s.SendSmsVerifyCode(t, p)
	o.ok(t, "SendSmsVerifyCode to "+p.PhoneNumber)
	if m.BizId == "" || m.RequestId != o.RequestID || m.OutId != p.OutId {
		t.Errorf("SendSmsVerifyCode: Model = %+v, want a BizId, RequestId %s and OutId %q", m, o.RequestID, p.OutId)
	}
	if (m.VerifyCode != "") != (p.ReturnVerifyCode == "true") {
		t.Errorf("SendSmsVerifyCode with ReturnVerifyCode %q: VerifyCode %q", p.ReturnVerifyCode, m.VerifyCode)
	}
	return m
}

// check checks a code and returns VerifyResult.
func check(t testing.TB, s sdk, p smsCheck) string {
	t.Helper()
	m, o := s.CheckSmsVerifyCode(t, p)
	o.ok(t, "CheckSmsVerifyCode")
	if m.OutId != p.OutId {
		t.Errorf("CheckSmsVerifyCode: OutId %q, want %q echoed", m.OutId, p.OutId)
	}
	return m.VerifyResult
}

// wantCheck fails the test unless checking code for phone (CaseAuthPolicy
// policy, "" for the default) answers want.
func wantCheck(t testing.TB, s sdk, phone, code, policy, want string) {
	t.Helper()
	if got := check(t, s, smsCheck{PhoneNumber: phone, VerifyCode: code, CaseAuthPolicy: policy}); got != want {
		t.Errorf("CheckSmsVerifyCode(%s, %q, CaseAuthPolicy %q) = %s, want %s", phone, code, policy, got, want)
	}
}

// outboxCode returns the code of the newest text the sandbox delivered to
// phone, and fails the test unless the text is the default template's.
func outboxCode(t testing.TB, in *harness.Instance, phone string) string {
	t.Helper()
	msgs := in.Outbox(t, phone)
	if len(msgs) == 0 {
		t.Fatalf("outbox of %s is empty", phone)
	}
	m := msgs[0]
	code, ok := strings.CutPrefix(m.Text, textHead)
	code, ok2 := strings.CutSuffix(code, textTail)
	if !ok || !ok2 || code == "" || m.To != "+86"+phone || m.SignName != smsSign || m.TemplateCode != smsTemplate {
		t.Fatalf("outbox message %+v, want %s<code>%s to +86%s", m, textHead, textTail, phone)
	}
	return code
}

// query lists phone's sends of today.
func query(t testing.TB, s sdk, phone, pageSize, page, bizID string) ([]dypnsapi.ModelItem, int64) {
	t.Helper()
	list, total, o := s.QuerySendDetails(t, smsQuery{PhoneNumber: phone, SendDate: today(), PageSize: pageSize, CurrentPage: page, BizId: bizID})
	o.ok(t, "QuerySendDetails")
	return list, total
}

// afterInterval waits out an Interval of 1 s begun by a send that
// returned at since.
func afterInterval(since time.Time) {
	time.Sleep(time.Until(since.Add(time.Second + 100*time.Millisecond)))
}

// inTwoPhases runs first for every flavour as parallel subtests, waits
// out an Interval of 1 s once after all of them, and runs second with each
// flavour's result of first. One wait serves all flavours however few run
// at a time (-parallel is the number of cores: 2 in CI).
func inTwoPhases[R any](t *testing.T, in *harness.Instance, first func(t *testing.T, s sdk) R, second func(t *testing.T, s sdk, r R)) {
	sdks := allSDKs(t, in)
	results, done := make([]R, len(sdks)), make([]bool, len(sdks))
	t.Run("first", func(t *testing.T) {
		runEach(t, sdks, func(t *testing.T, s sdk) {
			results[flavourIndex(s)] = first(t, s)
			done[flavourIndex(s)] = true
		})
	})
	afterInterval(time.Now())
	t.Run("second", func(t *testing.T) {
		runEach(t, sdks, func(t *testing.T, s sdk) {
			if !done[flavourIndex(s)] {
				t.Skip("the first phase failed")
			}
			second(t, s, results[flavourIndex(s)])
		})
	})
}

func masked(phone string) string { return phone[:3] + "****" + phone[7:] }

// eachOwnAccount runs fn as eachSDK does, but each flavour's client signs
// with a key of an account of its own, created with the CLI first, so that
// per-account counts (statistics) are the subtest's alone.
func eachOwnAccount(t *testing.T, in *harness.Instance, fn func(t *testing.T, s sdk)) {
	var sdks []sdk
	for i, f := range flavours {
		id, secret := fmt.Sprintf("LTAI5tCompatSms%02d", i), fmt.Sprintf("compat-sms-secret-%02d-0123456789", i)
		cli(t, in, "keys", "create", "--account", fmt.Sprintf("sms-%02d", i), "--id", id, "--secret", secret)
		sdks = append(sdks, f.new(t, in.Addr, id, secret))
	}
	runEach(t, sdks, fn)
}

// TestSmsCodes is the SMS code's life: sent, delivered into the sandbox
// outbox, checked once, listed by QuerySendDetails and counted by the
// statistics; then sent without ReturnVerifyCode, read from the outbox.
func TestSmsCodes(t *testing.T) {
	in := start(t)
	eachOwnAccount(t, in, func(t *testing.T, s sdk) {
		day := today()
		nums := numbersFor(blockCodes, s)
		phone := nums.next()
		p := codeSend(phone)
		p.OutId = "order-" + s.Name()
		m := send(t, s, p)
		if len(m.VerifyCode) != 4 || strings.Trim(m.VerifyCode, "0123456789") != "" {
			t.Errorf("VerifyCode %q, want 4 digits (the default CodeLength and CodeType)", m.VerifyCode)
		}
		if code := outboxCode(t, in, phone); code != m.VerifyCode {
			t.Errorf("the outbox has code %q, the answer %q", code, m.VerifyCode)
		}
		// The number as people type it is the same number.
		typed := "+86 " + phone[:3] + "-" + phone[3:7] + "-" + phone[7:]
		if got := check(t, s, smsCheck{PhoneNumber: typed, VerifyCode: m.VerifyCode, OutId: p.OutId}); got != "PASS" {
			t.Errorf("CheckSmsVerifyCode(%s) with the code = %s, want PASS", typed, got)
		}
		wantCheck(t, s, phone, m.VerifyCode, "", "UNKNOWN") // a PASS spent it

		list, total := query(t, s, phone, "10", "1", "")
		if total != 1 || len(list) != 1 {
			t.Fatalf("QuerySendDetails: %d of %d items %+v, want the one send", len(list), total, list)
		}
		want := dypnsapi.ModelItem{
			PhoneNum: masked(phone), SendStatus: 3, Content: textHead + "****" + textTail, TemplateCode: smsTemplate,
			OutId: p.OutId, ErrCode: "DELIVERED", SendDate: list[0].SendDate, ReceiveDate: list[0].ReceiveDate,
		}
		if list[0] != want {
			t.Errorf("QuerySendDetails item %+v, want %+v", list[0], want)
		}
		sent, err := time.Parse("2006-01-02 15:04:05", list[0].SendDate)
		if err != nil || time.Since(sent) > time.Minute || list[0].ReceiveDate < list[0].SendDate {
			t.Errorf("SendDate %q, ReceiveDate %q: want yyyy-MM-dd HH:mm:ss of now, received after sent", list[0].SendDate, list[0].ReceiveDate)
		}
		if list, total := query(t, s, phone, "10", "1", m.BizId); total != 1 || len(list) != 1 {
			t.Errorf("QuerySendDetails with its BizId: %d of %d items", len(list), total)
		}
		if list, total := query(t, s, phone, "10", "1", "no-such-biz-id"); total != 0 || len(list) != 0 {
			t.Errorf("QuerySendDetails with another BizId: %d of %d items", len(list), total)
		}

		// Without ReturnVerifyCode (absent, or false) the code is only in the text.
		for _, rv := range []string{"", "false"} {
			phone := nums.next()
			p := codeSend(phone)
			p.ReturnVerifyCode = rv
			send(t, s, p)
			wantCheck(t, s, phone, outboxCode(t, in, phone), "", "PASS")
		}

		st, o := s.Statistics(t, 3, day, today(), "")
		o.ok(t, "QueryGateVerifyStatisticPublic AuthenticationType=3 (SMS)")
		checkStats(t, st, day, 3, 0)
	})
}

// TestSmsErrors sends every documented refusal through each SDK: business
// codes with HTTP 200 and Success false, missing parameters with HTTP 400,
// never a 500 (want checks the exact status).
func TestSmsErrors(t *testing.T) {
	in := start(t)
	withSend := func(mod func(*smsSend)) func(testing.TB, sdk, string) outcome {
		return func(t testing.TB, s sdk, phone string) outcome {
			p := codeSend(phone)
			mod(&p)
			_, o := s.SendSmsVerifyCode(t, p)
			return o
		}
	}
	withCheck := func(mod func(*smsCheck)) func(testing.TB, sdk, string) outcome {
		return func(t testing.TB, s sdk, phone string) outcome {
			p := smsCheck{PhoneNumber: phone, VerifyCode: "1234"}
			mod(&p)
			_, o := s.CheckSmsVerifyCode(t, p)
			return o
		}
	}
	withQuery := func(mod func(*smsQuery)) func(testing.TB, sdk, string) outcome {
		return func(t testing.TB, s sdk, phone string) outcome {
			p := smsQuery{PhoneNumber: phone, SendDate: today(), PageSize: "10", CurrentPage: "1"}
			mod(&p)
			_, _, o := s.QuerySendDetails(t, p)
			return o
		}
	}
	const invalid, illegal = "INVALID_PARAMETERS", "MOBILE_NUMBER_ILLEGAL"
	cases := []struct {
		what   string
		call   func(t testing.TB, s sdk, phone string) outcome
		status int
		code   string
	}{
		{"CodeLength 3", withSend(func(p *smsSend) { p.CodeLength = "3" }), 200, invalid},
		{"CodeLength 9", withSend(func(p *smsSend) { p.CodeLength = "9" }), 200, invalid},
		{"CodeType 8", withSend(func(p *smsSend) { p.CodeType = "8" }), 200, invalid},
		{"ValidTime 0", withSend(func(p *smsSend) { p.ValidTime = "0" }), 200, invalid},
		{"Interval abc", withSend(func(p *smsSend) { p.Interval = "abc" }), 200, invalid},
		{"DuplicatePolicy 3", withSend(func(p *smsSend) { p.DuplicatePolicy = "3" }), 200, invalid},
		{"unknown SignName", withSend(func(p *smsSend) { p.SignName = "nobody" }), 200, invalid},
		{"unknown TemplateCode", withSend(func(p *smsSend) { p.TemplateCode = "999999" }), 200, invalid},
		{"TemplateParam not JSON", withSend(func(p *smsSend) { p.TemplateParam = "code=##code##" }), 200, invalid},
		{"TemplateParam with an unknown variable", withSend(func(p *smsSend) { p.TemplateParam = `{"code":"##code##","name":"x"}` }), 200, invalid},
		{"ReturnVerifyCode maybe", withSend(func(p *smsSend) { p.ReturnVerifyCode = "maybe" }), 200, invalid},
		{"CaseAuthPolicy 3", withCheck(func(p *smsCheck) { p.CaseAuthPolicy = "3" }), 200, invalid},
		{"VerifyCode of 9 characters", withCheck(func(p *smsCheck) { p.VerifyCode = "123456789" }), 200, invalid},
		{"PageSize 51", withQuery(func(p *smsQuery) { p.PageSize = "51" }), 200, invalid},
		{"CurrentPage 0", withQuery(func(p *smsQuery) { p.CurrentPage = "0" }), 200, invalid},
		{"SendDate malformed", withQuery(func(p *smsQuery) { p.SendDate = time.Now().UTC().Format("2006-01-02") }), 200, invalid},
		{"SendDate 31 days ago", withQuery(func(p *smsQuery) { p.SendDate = time.Now().UTC().AddDate(0, 0, -31).Format("20060102") }), 200, invalid},

		{"send, 5 digits", withSend(func(p *smsSend) { p.PhoneNumber = "12345" }), 200, illegal},
		{"send, 12 prefix", withSend(func(p *smsSend) { p.PhoneNumber = "12012345678" }), 200, illegal},
		{"send, a letter", withSend(func(p *smsSend) { p.PhoneNumber = p.PhoneNumber[:10] + "x" }), 200, illegal},
		{"send, 12 digits", withSend(func(p *smsSend) { p.PhoneNumber += "0" }), 200, illegal},
		{"check, malformed", withCheck(func(p *smsCheck) { p.PhoneNumber = "12345" }), 200, illegal},
		{"query, malformed", withQuery(func(p *smsQuery) { p.PhoneNumber = "12345" }), 200, illegal},
		{"CountryCode 44", withSend(func(p *smsSend) { p.CountryCode, p.PhoneNumber = "44", "7700900123" }), 200, "FUNCTION_NOT_OPENED"},

		{"send without PhoneNumber", withSend(func(p *smsSend) { p.PhoneNumber = "" }), 400, "MissingPhoneNumber"},
		{"send without SignName", withSend(func(p *smsSend) { p.SignName = "" }), 400, "MissingSignName"},
		{"send without TemplateCode", withSend(func(p *smsSend) { p.TemplateCode = "" }), 400, "MissingTemplateCode"},
		{"send without TemplateParam", withSend(func(p *smsSend) { p.TemplateParam = "" }), 400, "MissingTemplateParam"},
		{"check without PhoneNumber", withCheck(func(p *smsCheck) { p.PhoneNumber = "" }), 400, "MissingPhoneNumber"},
		{"check without VerifyCode", withCheck(func(p *smsCheck) { p.VerifyCode = "" }), 400, "MissingVerifyCode"},
		{"query without PhoneNumber", withQuery(func(p *smsQuery) { p.PhoneNumber = "" }), 400, "MissingPhoneNumber"},
		{"query without SendDate", withQuery(func(p *smsQuery) { p.SendDate = "" }), 400, "MissingSendDate"},
		{"query without PageSize", withQuery(func(p *smsQuery) { p.PageSize = "" }), 400, "MissingPageSize"},
		{"query without CurrentPage", withQuery(func(p *smsQuery) { p.CurrentPage = "" }), 400, "MissingCurrentPage"},
	}
	eachSDK(t, in, func(t *testing.T, s sdk) {
		nums := numbersFor(blockErrors, s)
		first := nums.next()
		for i, c := range cases {
			phone := first
			if i > 0 {
				phone = nums.next()
			}
			t.Run(c.what, func(t *testing.T) { c.call(t, s, phone).want(t, c.what, c.status, c.code) })
		}
		// The refused sends to first started no Interval; an accepted one does.
		send(t, s, codeSend(first))
		_, o := s.SendSmsVerifyCode(t, codeSend(first))
		o.want(t, "a second send within the Interval", http.StatusOK, "FREQUENCY_FAIL")
	})
}

// TestSmsChecks covers the checks' rules: a code takes 5 checks, a code
// is checked under the SchemeName it was sent under, and CaseAuthPolicy
// compares letters without case (1, the default) or exactly (2) for the
// letter CodeTypes.
func TestSmsChecks(t *testing.T) {
	in := start(t)
	eachSDK(t, in, func(t *testing.T, s sdk) {
		nums := numbersFor(blockChecks, s)
		for _, c := range []struct {
			wrong int
			want  string
		}{{4, "PASS"}, {5, "UNKNOWN"}} {
			phone := nums.next()
			code := send(t, s, codeSend(phone)).VerifyCode
			wrongCode := fmt.Sprintf("%04d", (toInt(t, code)+1)%10000)
			for range c.wrong {
				wantCheck(t, s, phone, wrongCode, "", "UNKNOWN")
			}
			wantCheck(t, s, phone, code, "", c.want)
		}

		// SchemeName is the codes' namespace; a Chinese one survives every
		// SDK's encoding and signature.
		phone := nums.next()
		p := codeSend(phone)
		p.SchemeName = "登录 方案"
		code := send(t, s, p).VerifyCode
		for _, c := range []struct{ scheme, want string }{{"", "UNKNOWN"}, {"默认方案", "UNKNOWN"}, {"登录 方案", "PASS"}} {
			if got := check(t, s, smsCheck{PhoneNumber: phone, VerifyCode: code, SchemeName: c.scheme}); got != c.want {
				t.Errorf("a code sent under SchemeName %q, checked under %q: %s, want %s", p.SchemeName, c.scheme, got, c.want)
			}
		}

		swapCase := func(s string) string { // of ASCII letters
			b := []byte(s)
			for i := range b {
				b[i] ^= 0x20
			}
			return string(b)
		}
		for _, c := range []struct {
			codeType, alphabet string
			typed              func(string) string // what the user types
			policy, want       string
		}{
			{"2", "ABCDEFGHIJKLMNOPQRSTUVWXYZ", strings.ToLower, "", "PASS"},
			{"2", "ABCDEFGHIJKLMNOPQRSTUVWXYZ", strings.ToLower, "1", "PASS"},
			{"2", "ABCDEFGHIJKLMNOPQRSTUVWXYZ", strings.ToLower, "2", "UNKNOWN"},
			{"3", "abcdefghijklmnopqrstuvwxyz", strings.ToUpper, "1", "PASS"},
			{"3", "abcdefghijklmnopqrstuvwxyz", strings.ToUpper, "2", "UNKNOWN"},
			{"4", "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", swapCase, "1", "PASS"},
			{"4", "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", swapCase, "2", "UNKNOWN"},
		} {
			phone := nums.next()
			p := codeSend(phone)
			p.CodeType, p.CodeLength = c.codeType, "6"
			code := send(t, s, p).VerifyCode
			if len(code) != 6 || strings.Trim(code, c.alphabet) != "" {
				t.Errorf("CodeType %s: VerifyCode %q, want 6 of %s", c.codeType, code, c.alphabet)
			}
			wantCheck(t, s, phone, c.typed(code), c.policy, c.want)
			if c.want == "UNKNOWN" {
				wantCheck(t, s, phone, code, c.policy, "PASS") // exactly as sent
			}
		}
	})
}

// TestSmsTwoCodes sends two codes to the same numbers, an Interval of 1 s
// apart: DuplicatePolicy 2 keeps both valid, 1 replaces the first. The two
// sends then page through QuerySendDetails' Model list (XML too, with the
// V1-XML flavour).
func TestSmsTwoCodes(t *testing.T) {
	type pair struct{ phone, policy, first, second string }
	inTwoPhases(t, start(t), func(t *testing.T, s sdk) []*pair {
		nums := numbersFor(blockTwoCodes, s)
		pairs := []*pair{{phone: nums.next(), policy: "2"}, {phone: nums.next(), policy: "1"}}
		for _, pr := range pairs {
			p := codeSend(pr.phone)
			p.Interval, p.CodeLength, p.OutId = "1", "8", "first" // 8 digits: the two codes differ
			pr.first = send(t, s, p).VerifyCode
		}
		return pairs
	}, func(t *testing.T, s sdk, pairs []*pair) {
		bizIDs := map[string]string{}
		for _, pr := range pairs {
			p := codeSend(pr.phone)
			p.DuplicatePolicy, p.CodeLength, p.OutId = pr.policy, "8", "second"
			m := send(t, s, p)
			pr.second, bizIDs[pr.phone] = m.VerifyCode, m.BizId
		}

		keep, replace := pairs[0], pairs[1]
		if got := check(t, s, smsCheck{PhoneNumber: keep.phone, VerifyCode: keep.first, OutId: "second"}); got != "UNKNOWN" {
			t.Errorf("the first code with the second send's OutId: %s, want UNKNOWN", got)
		}
		if got := check(t, s, smsCheck{PhoneNumber: keep.phone, VerifyCode: keep.first, OutId: "first"}); got != "PASS" {
			t.Errorf("DuplicatePolicy 2, the first code: %s, want PASS", got)
		}
		wantCheck(t, s, keep.phone, keep.second, "", "PASS")
		wantCheck(t, s, replace.phone, replace.first, "", "UNKNOWN")
		wantCheck(t, s, replace.phone, replace.second, "", "PASS")

		// Newest first, TotalCount over all pages.
		for _, c := range []struct {
			pageSize, page, bizID string
			outIDs                []string
			total                 int64
		}{
			{"10", "1", "", []string{"second", "first"}, 2},
			{"1", "1", "", []string{"second"}, 2},
			{"1", "2", "", []string{"first"}, 2},
			{"1", "3", "", nil, 2},
			{"10", "1", bizIDs[keep.phone], []string{"second"}, 1},
		} {
			list, total := query(t, s, keep.phone, c.pageSize, c.page, c.bizID)
			var got []string
			for _, item := range list {
				got = append(got, item.OutId)
				if item.PhoneNum != masked(keep.phone) || item.SendStatus != 3 {
					t.Errorf("QuerySendDetails item %+v", item)
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(c.outIDs) || total != c.total {
				t.Errorf("QuerySendDetails PageSize %s CurrentPage %s BizId %q: OutIds %v of %d, want %v of %d",
					c.pageSize, c.page, c.bizID, got, total, c.outIDs, c.total)
			}
		}
	})
}

// TestSmsLimitsAndProviders runs an instance with low limits (one code an
// hour per number), a sandbox that refuses the numbers of one block, and
// a test number per flavour; the hourly limit shows once a 1 s Interval is
// over.
func TestSmsLimitsAndProviders(t *testing.T) {
	args := []string{"--sms-per-hour", "1", "--sms-sandbox-reject", fmt.Sprintf("+86170%02d", blockRejected)}
	testNumber := func(i int) string { return fmt.Sprintf("170%02d%02d0001", blockTestNumbers, i) }
	testCode := func(i int) string { return fmt.Sprintf("24681%d", i) }
	for i := range flavours {
		args = append(args, "--sms-test-number", "+86"+testNumber(i)+"="+testCode(i))
	}
	in := harness.Start(t, harness.Options{Args: args})
	type limited struct {
		p     smsSend
		other string
	}
	inTwoPhases(t, in, func(t *testing.T, s sdk) limited {
		nums := numbersFor(blockLimits, s)
		p := codeSend(nums.next())
		p.Interval = "1"
		send(t, s, p)

		// A refused text charges nothing: refused again, not FREQUENCY_FAIL
		// nor BUSINESS_LIMIT_CONTROL; both refusals are recorded.
		rejected := numbersFor(blockRejected, s).next()
		for range 2 {
			_, o := s.SendSmsVerifyCode(t, codeSend(rejected))
			o.want(t, "a number the provider refuses", http.StatusOK, "PROVIDER_REJECTED")
		}
		list, total := query(t, s, rejected, "10", "1", "")
		if total != 2 || len(list) != 2 {
			t.Fatalf("QuerySendDetails of the refused number: %d of %d items, want 2", len(list), total)
		}
		for _, item := range list {
			if item.SendStatus != 2 || item.ErrCode != "PROVIDER_REJECTED" || item.ReceiveDate != "" {
				t.Errorf("refused send's item %+v, want SendStatus 2 and ErrCode PROVIDER_REJECTED", item)
			}
		}
		if msgs := in.Outbox(t, rejected); len(msgs) != 0 {
			t.Errorf("refused number's outbox: %+v", msgs)
		}

		// A test number: never limited, never sent, its fixed code always checks.
		i := flavourIndex(s)
		for range 2 {
			if m := send(t, s, codeSend(testNumber(i))); m.VerifyCode != testCode(i) {
				t.Errorf("test number: VerifyCode %q, want the fixed %q", m.VerifyCode, testCode(i))
			}
		}
		wantCheck(t, s, testNumber(i), "000000", "", "UNKNOWN")
		wantCheck(t, s, testNumber(i), testCode(i), "", "PASS")
		wantCheck(t, s, testNumber(i), testCode(i), "", "PASS")
		if msgs := in.Outbox(t, testNumber(i)); len(msgs) != 0 {
			t.Errorf("test number's outbox: %+v", msgs)
		}
		if _, total := query(t, s, testNumber(i), "10", "1", ""); total != 0 {
			t.Errorf("QuerySendDetails of a test number: %d sends, want none", total)
		}
		return limited{p, nums.next()}
	}, func(t *testing.T, s sdk, l limited) {
		// The Interval is over; the hour's one code is spent.
		_, o := s.SendSmsVerifyCode(t, l.p)
		o.want(t, "a second send in the hour, --sms-per-hour 1", http.StatusOK, "BUSINESS_LIMIT_CONTROL")
		send(t, s, codeSend(l.other)) // another number has its own limit
	})
}
