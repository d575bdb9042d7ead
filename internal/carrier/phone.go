package carrier

import (
	"errors"
	"fmt"
	"strings"
)

// ErrBadPhone: the input is not a mainland China mobile number. Errors that
// wrap it never repeat the input, which may be a phone number.
var ErrBadPhone = errors.New("carrier: not a mainland China mobile number")

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
	if len(s) > maxPhoneInput {
		return "", fmt.Errorf("%w: longer than %d characters", ErrBadPhone, maxPhoneInput)
	}
	var buf [maxPhoneInput]byte
	n, plus := 0, false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case '0' <= c && c <= '9':
			buf[n] = c
			n++
		case c == ' ' || c == '-':
		case c == '+' && n == 0 && !plus:
			plus = true
		default:
			return "", fmt.Errorf("%w: unexpected character at offset %d", ErrBadPhone, i)
		}
	}
	d := string(buf[:n])
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

// OperatorOf returns the operator a number's prefix is allocated to. phone
// must be in the 11-digit form NormalizePhone returns; anything else, and a
// prefix allocated to no operator, reports false. Ported numbers keep their
// original prefix, so the answer is the allocation, not necessarily the
// operator the subscriber is with today.
func OperatorOf(phone string) (Operator, bool) {
	if !isPhone(phone) {
		return "", false
	}
	op := operatorByPrefix[atoi(phone[1:4])]
	return op, op != ""
}

// maskedInvalid is what Mask returns for input that is not a number.
const maskedInvalid = "***********"

// Mask returns the number with its 4th to 7th digits hidden, as carriers
// show it for one-click login and as numauth writes it to logs:
// "13812345678" → "138****5678". It accepts whatever NormalizePhone accepts;
// for anything else it returns "***********", revealing nothing.
func Mask(phone string) string {
	p, err := NormalizePhone(phone)
	if err != nil {
		return maskedInvalid
	}
	return p[:3] + "****" + p[7:]
}

// E164 returns the number in E.164 form: "13812345678" → "+8613812345678".
// It accepts whatever NormalizePhone accepts; for anything else it returns "".
func E164(phone string) string {
	p, err := NormalizePhone(phone)
	if err != nil {
		return ""
	}
	return "+86" + p
}
