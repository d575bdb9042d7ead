package carrier

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"strings"

	"github.com/numauth/numauth/internal/sms"
)

// ErrBadPhone: the input is not a number numauth takes: an E.164 number, or
// a mainland China mobile number in one of the forms NormalizePhone reads.
// Errors that wrap it never repeat the input, which may be a phone number.
var ErrBadPhone = errors.New("carrier: not an E.164 or mainland China mobile number")

// ErrBadMask: the digits given to MatchMask are not four ASCII digits.
var ErrBadMask = errors.New("carrier: mask is not four digits")

// maxPhoneInput bounds what NormalizePhone reads: "+86 138-1234-5678" and its
// variants fit with room to spare.
const maxPhoneInput = 32

// NormalizePhone returns the 11-digit form of a mainland China mobile number
// ("13812345678"). It accepts that form optionally preceded by "+86", "86" or
// "0086", with spaces and dashes anywhere ("+86 138-1234-5678"). The number
// must start with 13-19; whether its prefix is allocated to an operator is
// OperatorOf's question, not this one's. Anything else is an error wrapping
// ErrBadPhone. The 11-digit form is returned as is, without allocating.
func NormalizePhone(s string) (string, error) {
	if isPhone(s) {
		return s, nil
	}
	d, plus, err := scanDigits(s)
	if err != nil {
		return "", err
	}
	n := len(d)
	switch {
	case plus:
		if !strings.HasPrefix(d, "86") {
			return "", fmt.Errorf("%w: country code is not +86", ErrBadPhone)
		}
		d = d[2:]
	case n == 15 && strings.HasPrefix(d, "0086"):
		d = d[4:]
	case n == 13 && strings.HasPrefix(d, "86"):
		d = d[2:]
	}
	if !isPhone(d) {
		return "", fmt.Errorf("%w: want 11 digits starting with 13-19, got %d digits", ErrBadPhone, len(d))
	}
	return d, nil
}

// scanDigits returns the digits of s (at most maxPhoneInput characters),
// which may hold spaces and dashes anywhere and one "+" before its first
// digit, and whether it had that "+".
func scanDigits(s string) (digits string, plus bool, err error) {
	if len(s) > maxPhoneInput {
		return "", false, fmt.Errorf("%w: longer than %d characters", ErrBadPhone, maxPhoneInput)
	}
	var buf [maxPhoneInput]byte
	n := 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case '0' <= c && c <= '9':
			buf[n] = c
			n++
		case c == ' ' || c == '-':
		case c == '+' && n == 0 && !plus:
			plus = true
		default:
			return "", false, fmt.Errorf("%w: unexpected character at offset %d", ErrBadPhone, i)
		}
	}
	return string(buf[:n]), plus, nil
}

// isPhone reports whether s is in the 11-digit form NormalizePhone returns.
func isPhone(s string) bool {
	return len(s) == 11 && s[0] == '1' && '3' <= s[1] && s[1] <= '9' && isDigits(s[2:])
}

// IsMaskDigits reports whether s is a well-formed mask answer: exactly four
// ASCII digits, the 4th to 7th digits of a number.
func IsMaskDigits(s string) bool {
	return len(s) == 4 && isDigits(s)
}

// allocations is the operator of each number block: three digits, or four
// where a block is split (170 among the three operators' MVNOs, 1349 for
// China Telecom's satellite service). A four-digit entry overrides its
// three-digit block. Source: MIIT allocations as recorded in libphonenumber's
// carrier data (resources/carrier/zh/86.txt), plus 192, China Broadnet,
// which runs on China Mobile's network and is identified there. See
// docs/carriers.md.
var allocations = [...]struct {
	op       Operator
	prefixes string
}{
	{ChinaMobile, "134 135 136 137 138 139 147 148 150 151 152 157 158 159 165 172 178 " +
		"182 183 184 187 188 192 195 197 198 1703 1705 1706"},
	{ChinaUnicom, "130 131 132 145 146 155 156 166 167 171 175 176 185 186 196 " +
		"1704 1707 1708 1709"},
	{ChinaTelecom, "133 149 153 162 173 174 177 180 181 189 190 191 193 199 " +
		"1349 1700 1701 1702"},
}

// operatorByPrefix maps the 2nd to 4th digits of a number to its operator.
var operatorByPrefix = buildOperatorTable()

func buildOperatorTable() *[1000]Operator {
	var t [1000]Operator
	for _, width := range []int{3, 4} { // blocks first, then their splits
		for _, a := range allocations {
			for _, p := range strings.Fields(a.prefixes) {
				if len(p) != width {
					continue
				}
				if p[0] != '1' || !isDigits(p) {
					panic("carrier: bad allocation prefix " + p)
				}
				i := atoi(p[1:])
				if width == 3 {
					for j := i * 10; j < i*10+10; j++ {
						t[j] = a.op
					}
				} else {
					t[i] = a.op
				}
			}
		}
	}
	return &t
}

// isDigits reports whether s is one or more ASCII digits.
func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func atoi(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		n = n*10 + int(s[i]-'0')
	}
	return n
}

// OperatorOf returns the mainland operator a number's prefix is allocated
// to. phone must be in the 11-digit form NormalizePhone returns or the
// E.164 form of such a number ("+8613812345678"); anything else (a number
// of another country included), and a prefix allocated to no operator,
// reports false. Ported numbers keep their original prefix, so the answer
// is the allocation, not necessarily the operator the subscriber is with
// today.
func OperatorOf(phone string) (Operator, bool) {
	phone = strings.TrimPrefix(phone, "+86")
	if !isPhone(phone) {
		return "", false
	}
	op := operatorByPrefix[atoi(phone[1:4])]
	return op, op != ""
}

// ParseE164 returns a number in E.164 form, "+" and 7 to 15 digits, the
// first not 0: the form numbers take inside numauth ("+8613812345678",
// "+447700900123"). It reads
//
//   - a mainland China mobile number in every form NormalizePhone reads
//     ("13812345678", "8613812345678", "008613812345678", "+86 138-1234-5678"),
//     and "+86" numbers must be such numbers (numauth knows no mainland
//     landlines);
//   - "+" and the digits of any other country's number, with spaces and
//     dashes anywhere after the "+" ("+44 7700 900123").
//
// Anything else is an error wrapping ErrBadPhone that does not repeat the
// input. A number already in E.164 form is returned as is, without
// allocating. Whether the country code is assigned is not checked
// ([CountryCode] splits it off).
func ParseE164(s string) (string, error) {
	if len(s) > 0 && s[0] == '+' && len(s) >= 8 && len(s) <= 16 && s[1] != '0' && isDigits(s[1:]) {
		if !strings.HasPrefix(s, "+86") || isPhone(s[3:]) {
			return s, nil
		}
	}
	d, plus, err := scanDigits(s)
	if err != nil {
		return "", err
	}
	if plus {
		n := len(d)
		if !strings.HasPrefix(d, "86") {
			if n < 7 || n > 15 || d[0] == '0' {
				return "", fmt.Errorf("%w: want + and 7 to 15 digits, the first not 0, got %d digits", ErrBadPhone, n)
			}
			return "+" + d, nil
		}
	}
	p, err := NormalizePhone(s)
	if err != nil {
		return "", err
	}
	return "+86" + p, nil
}

// IsE164 reports whether s is in the form ParseE164 returns.
func IsE164(s string) bool {
	e, err := ParseE164(s)
	return err == nil && e == s
}

// IsMainland reports whether e164 (ParseE164's form) is a mainland China
// number: those take the 11-digit form on the Alibaba-style API and the web
// SDK, and their operator is their block's allocation (OperatorOf).
func IsMainland(e164 string) bool { return strings.HasPrefix(e164, "+86") }

// AlibabaForm is the form the Alibaba-style API and the web SDK answer a
// number in: the 11 digits of a mainland number ("13812345678"), the E.164
// form of any other ("+447700900123"). e164 is in ParseE164's form.
func AlibabaForm(e164 string) string {
	if IsMainland(e164) {
		return e164[3:]
	}
	return e164
}

// CountryCode returns the country calling code of e164 (ParseE164's form)
// without the "+", or "" for anything else. Country codes are prefix-free:
// 1 (NANP) and 7 are one digit; 20, 27, 30-34, 36, 39, 40, 41, 43-49,
// 51-58, 60-66, 81, 82, 84, 86, 90-95 and 98 are two; every other code is
// three digits (ITU-T E.164 assignments). Unassigned three-digit codes are
// not told apart from assigned ones.
func CountryCode(e164 string) string {
	if !IsE164(e164) {
		return ""
	}
	d := e164[1:]
	if d[0] == '1' || d[0] == '7' {
		return d[:1]
	}
	if strings.Contains(twoDigitCountryCodes, " "+d[:2]+" ") {
		return d[:2]
	}
	return d[:3]
}

const twoDigitCountryCodes = " 20 27 30 31 32 33 34 36 39 40 41 43 44 45 46 47 48 49 51 52 53 54 55 56 57 58 " +
	"60 61 62 63 64 65 66 81 82 84 86 90 91 92 93 94 95 98 "

// maskedInvalid is what Mask returns for input that is not a number.
const maskedInvalid = "***********"

// Mask returns a number with four digits hidden, as one-click login shows
// it and as numauth writes numbers to logs and records. A mainland number
// is shown in its 11-digit form with its 4th to 7th digits hidden
// ("+8613812345678" → "138****5678"), as carriers show it; any other
// number as sms.Mask writes it, E.164 with the four digits before the last
// four hidden ("+447700900123" → "+4477****0123"; a number of 7 or 8 digits
// keeps only its last two). In both, the four hidden digits nearest the
// visible end are [MaskDigits]. Mask accepts whatever ParseE164 accepts;
// for anything else it returns "***********", revealing nothing.
func Mask(phone string) string {
	p, err := ParseE164(phone)
	if err != nil {
		return maskedInvalid
	}
	if IsMainland(p) {
		return p[3:6] + "****" + p[10:]
	}
	return sms.Mask(p)
}

// MaskDigits returns the four digits a user types to answer a masked
// number in one-click login: the four hidden digits nearest the visible end
// of Mask's answer. For a mainland number they are its 4th to 7th digits
// ("+8613812345678" → "1234"); for another number of 9 or more digits the
// four before its last four ("+447700900123" → "0090"); for one of 7 or 8
// digits the four before its last two. phone is in any form ParseE164
// accepts; for anything else MaskDigits reports false.
func MaskDigits(phone string) (string, bool) {
	p, err := ParseE164(phone)
	if err != nil {
		return "", false
	}
	d := p[1:]
	if len(d) < 9 {
		return d[len(d)-6 : len(d)-2], true
	}
	return d[len(d)-8 : len(d)-4], true
}

// MatchMaskDigits is the one mask rule of every adapter's MatchMask:
// whether digits are phone's MaskDigits, compared in constant time; digits
// that are not four ASCII digits are ErrBadMask.
func MatchMaskDigits(phone, digits string) (bool, error) {
	if !IsMaskDigits(digits) {
		return false, ErrBadMask
	}
	want, ok := MaskDigits(phone)
	return ok && subtle.ConstantTimeCompare([]byte(digits), []byte(want)) == 1, nil
}

// E164 returns the number in E.164 form: "13812345678" → "+8613812345678".
// It accepts whatever ParseE164 accepts; for anything else it returns "".
func E164(phone string) string {
	p, err := ParseE164(phone)
	if err != nil {
		return ""
	}
	return p
}

// ValidOperator reports whether op is an operator code numauth accepts from
// configuration: 2 to 8 characters of A-Z and 0-9, starting with a letter
// ("CM", "DT", "VF"). Codes are compared as they are.
func ValidOperator(op Operator) bool {
	if len(op) < 2 || len(op) > 8 || op[0] < 'A' || op[0] > 'Z' {
		return false
	}
	for i := 1; i < len(op); i++ {
		if c := op[i]; !('A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}
