package carrier

import (
	"errors"
	"strings"
	"testing"
)

func TestNormalizePhone(t *testing.T) {
	const want = "13812345678"
	for _, in := range []string{
		"13812345678",
		"+8613812345678",
		"8613812345678",
		"008613812345678",
		"+86 138 1234 5678",
		"+86-138-1234-5678",
		"0086 138-1234-5678",
		" 138 1234 5678 ",
		"86 13812345678",
		"+ 86 13812345678",
	} {
		got, err := NormalizePhone(in)
		if err != nil || got != want {
			t.Errorf("NormalizePhone(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{
		"",
		"1381234567",             // 10 digits
		"138123456789",           // 12 digits
		"23812345678",            // not 1
		"12812345678",            // 12x is not mobile
		"10012345678",            // 10x is not mobile
		"+8513812345678",         // other country
		"+13812345678",           // + without 86
		"+008613812345678",       // + and 00
		"0013812345678",          // 00 without 86
		"08613812345678",         // 086
		"013812345678",           // trunk 0
		"138.1234.5678",          // dots
		"(138)12345678",          // parentheses
		"１３８１２３４５６７８",            // full-width digits
		"13812345678\n",          // newline
		"138 1234 5678 x",        // trailing junk
		"86+13812345678",         // + in the middle
		"++8613812345678",        // two +
		"8613812345678 86",       // extra digits
		strings.Repeat("1", 100), // long
		"+86" + strings.Repeat(" ", 40) + "13812345678",
	} {
		got, err := NormalizePhone(in)
		if err == nil {
			t.Errorf("NormalizePhone(%q) = %q, want error", in, got)
			continue
		}
		if !errors.Is(err, ErrBadPhone) {
			t.Errorf("NormalizePhone(%q) error %v does not wrap ErrBadPhone", in, err)
		}
		if digits := onlyDigits(in); len(digits) >= 7 && strings.Contains(err.Error(), digits) {
			t.Errorf("NormalizePhone(%q) error %q repeats the input", in, err)
		}
	}
}

func onlyDigits(s string) string {
	var b strings.Builder
	for _, c := range s {
		if '0' <= c && c <= '9' {
			b.WriteRune(c)
		}
	}
	return b.String()
}

func TestNormalizePhoneNoAllocNormalized(t *testing.T) {
	if n := testing.AllocsPerRun(100, func() { _, _ = NormalizePhone("13812345678") }); n != 0 {
		t.Errorf("NormalizePhone of the 11-digit form allocates %v times", n)
	}
}

func TestOperatorOf(t *testing.T) {
	blocks := []struct {
		op       Operator
		prefixes string
	}{
		{ChinaMobile, "134 135 136 137 138 139 147 148 150 151 152 157 158 159 165 172 178 182 183 184 187 188 195 197 198 192"},
		{ChinaUnicom, "130 131 132 145 146 155 156 166 167 171 175 176 185 186 196"},
		{ChinaTelecom, "133 149 153 162 173 174 177 180 181 189 190 191 193 199"},
	}
	for _, b := range blocks {
		for _, p := range strings.Fields(b.prefixes) {
			for _, tail := range []string{"00000000", "12345678", "99999999"} {
				phone := p + tail
				if p == "134" && tail[0] == '9' {
					continue // 1349 is China Telecom's, checked below
				}
				if got, ok := OperatorOf(phone); !ok || got != b.op {
					t.Errorf("OperatorOf(%s) = %q, %v; want %q", phone, got, ok, b.op)
				}
			}
		}
	}
	for _, c := range []struct {
		phone string
		want  Operator
	}{
		{"17001234567", ChinaTelecom},
		{"17011234567", ChinaTelecom},
		{"17021234567", ChinaTelecom},
		{"17031234567", ChinaMobile},
		{"17041234567", ChinaUnicom},
		{"17051234567", ChinaMobile},
		{"17061234567", ChinaMobile},
		{"17071234567", ChinaUnicom},
		{"17081234567", ChinaUnicom},
		{"17091234567", ChinaUnicom},
		{"13481234567", ChinaMobile},
		{"13491234567", ChinaTelecom}, // satellite block inside CM's 134
		{"17401234567", ChinaTelecom},
	} {
		if got, ok := OperatorOf(c.phone); !ok || got != c.want {
			t.Errorf("OperatorOf(%s) = %q, %v; want %q", c.phone, got, ok, c.want)
		}
	}
	// Blocks allocated to no operator, and inputs that are not 11-digit numbers.
	for _, phone := range []string{
		"14012345678", "14112345678", "14212345678", "14312345678", "14412345678",
		"15412345678", "16012345678", "16112345678", "16312345678", "16412345678",
		"16812345678", "16912345678", "17912345678", "19412345678",
		"", "1381234567", "+447700900123", "138 1234 5678", "12012345678", "1381234567x",
	} {
		if got, ok := OperatorOf(phone); ok || got != "" {
			t.Errorf("OperatorOf(%q) = %q, %v; want no operator", phone, got, ok)
		}
	}
}

func TestMaskAndE164(t *testing.T) {
	for _, c := range []struct{ in, mask, e164 string }{
		{"13812345678", "138****5678", "+8613812345678"},
		{"+86 186-0000-1111", "186****1111", "+8618600001111"},
		{"008619912345678", "199****5678", "+8619912345678"},
		{"", "***********", ""},
		{"1381234567", "***********", ""},
		{"not a number", "***********", ""},
	} {
		if got := Mask(c.in); got != c.mask {
			t.Errorf("Mask(%q) = %q, want %q", c.in, got, c.mask)
		}
		if got := E164(c.in); got != c.e164 {
			t.Errorf("E164(%q) = %q, want %q", c.in, got, c.e164)
		}
	}
}

func TestIsMaskDigits(t *testing.T) {
	for s, want := range map[string]bool{
		"1234": true, "0000": true, "": false, "123": false, "12345": false,
		"12a4": false, "１２３４": false, " 123": false, "-123": false,
	} {
		if got := IsMaskDigits(s); got != want {
			t.Errorf("IsMaskDigits(%q) = %v, want %v", s, got, want)
		}
	}
}

func FuzzNormalizePhone(f *testing.F) {
	for _, s := range []string{
		"13812345678", "+86 138-1234-5678", "008613812345678", "8613812345678",
		"", "+", "86", "0086", "+8", "１３８", "138\x00", strings.Repeat("-", 40),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := NormalizePhone(s)
		if err != nil {
			if !errors.Is(err, ErrBadPhone) {
				t.Fatalf("error %v does not wrap ErrBadPhone", err)
			}
			if got != "" {
				t.Fatalf("error with a result %q", got)
			}
			// Not a mainland number: either another country's E.164 number,
			// which Mask and E164 take, or nothing, of which they reveal nothing.
			if e, perr := ParseE164(s); perr == nil {
				if IsMainland(e) || E164(s) != e || Mask(s) == maskedInvalid || strings.Contains(Mask(s), e[1:]) {
					t.Fatalf("non-mainland %q: E164 %q, Mask %q", s, E164(s), Mask(s))
				}
				return
			}
			if Mask(s) != maskedInvalid || E164(s) != "" {
				t.Fatalf("Mask/E164 of a rejected input reveal something")
			}
			return
		}
		if !isPhone(got) {
			t.Fatalf("NormalizePhone(%q) = %q, not 11 digits starting with 13-19", s, got)
		}
		if again, err := NormalizePhone(got); err != nil || again != got {
			t.Fatalf("not idempotent: %q → %q → %q, %v", s, got, again, err)
		}
		if m := Mask(s); len(m) != 11 || m[3:7] != "****" || m[:3] != got[:3] || m[7:] != got[7:] {
			t.Fatalf("Mask(%q) = %q", s, m)
		}
		if e := E164(s); e != "+86"+got {
			t.Fatalf("E164(%q) = %q", s, e)
		}
		if op, ok := OperatorOf(got); ok != (op != "") {
			t.Fatalf("OperatorOf(%q) = %q, %v", got, op, ok)
		}
	})
}
