package carrier

import (
	"errors"
	"strings"
	"testing"

	"github.com/numauth/numauth/internal/sms"
)

func TestParseE164(t *testing.T) {
	for in, want := range map[string]string{
		"13812345678":         "+8613812345678",
		"8613812345678":       "+8613812345678",
		"008613812345678":     "+8613812345678",
		"+8613812345678":      "+8613812345678",
		"+86 138-1234-5678":   "+8613812345678",
		"+447700900123":       "+447700900123",
		"+44 7700 900123":     "+447700900123",
		"+1-202-555-0143":     "+12025550143",
		"+1234567":            "+1234567",
		"+123456789012345":    "+123456789012345",
		"+999 1234 5678 9012": "+999123456789012",
	} {
		got, err := ParseE164(in)
		if err != nil || got != want {
			t.Errorf("ParseE164(%q) = %q, %v; want %q", in, got, err, want)
		}
		if !IsE164(want) {
			t.Errorf("IsE164(%q) = false", want)
		}
	}
	for _, in := range []string{
		"", "+", "+86", "+123456", "+1234567890123456", "+0123456789", "+8612345678901", "+861381234567",
		"447700900123", "0044 7700 900123", "+44(0)7700900123", "+44 7700 900123x", "++447700900123",
		"１３８１２３４５６７８", strings.Repeat("1", 40), "+44\x007700900123",
	} {
		if got, err := ParseE164(in); !errors.Is(err, ErrBadPhone) || got != "" {
			t.Errorf("ParseE164(%q) = %q, %v; want ErrBadPhone", in, got, err)
		} else if len(in) > 6 && strings.Contains(err.Error(), in) {
			t.Errorf("ParseE164(%q): the error repeats the input: %v", in, err)
		}
	}
}

func TestE164Forms(t *testing.T) {
	for _, c := range []struct{ in, mask, digits, alibaba, cc string }{
		{"+8613812345678", "138****5678", "1234", "13812345678", "86"},
		{"13812345678", "138****5678", "1234", "13812345678", "86"},
		{"+447700900123", "+4477****0123", "0090", "+447700900123", "44"},
		{"+12025550143", "+120****0143", "2555", "+12025550143", "1"},
		{"+79161234567", "+791****4567", "6123", "+79161234567", "7"},
		{"+85291234567", "+852****4567", "9123", "+85291234567", "852"},
		{"+6831234", "+*****34", "8312", "+6831234", "683"},
		{"+68312345", "+******45", "3123", "+68312345", "683"},
	} {
		e := E164(c.in)
		if got := Mask(c.in); got != c.mask {
			t.Errorf("Mask(%q) = %q, want %q", c.in, got, c.mask)
		}
		if got, ok := MaskDigits(c.in); !ok || got != c.digits {
			t.Errorf("MaskDigits(%q) = %q, %v; want %q", c.in, got, ok, c.digits)
		}
		if got := AlibabaForm(e); got != c.alibaba {
			t.Errorf("AlibabaForm(%q) = %q, want %q", e, got, c.alibaba)
		}
		if got := CountryCode(e); got != c.cc {
			t.Errorf("CountryCode(%q) = %q, want %q", e, got, c.cc)
		}
		if !IsMainland(e) && Mask(e) != sms.Mask(e) {
			t.Errorf("Mask(%q) = %q differs from sms.Mask's %q", e, Mask(e), sms.Mask(e))
		}
	}
	if _, ok := MaskDigits("+123"); ok {
		t.Error("MaskDigits of a non-number reported true")
	}
	if got := CountryCode("13812345678"); got != "" {
		t.Errorf("CountryCode of a national form = %q", got)
	}
}

// FuzzParseE164: whatever the input, ParseE164 either fails with ErrBadPhone
// or returns a number in its own form, which it then returns unchanged; the
// forms derived from it agree, and no error text repeats a number.
func FuzzParseE164(f *testing.F) {
	for _, s := range []string{"13812345678", "+8613812345678", "008613812345678", "+44 7700 900123", "+1234567", "+0", "+86 1", "-+1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := ParseE164(s)
		if err != nil {
			if !errors.Is(err, ErrBadPhone) || e != "" {
				t.Fatalf("ParseE164(%q) = %q, %v", s, e, err)
			}
			if d := strings.Map(func(r rune) rune {
				if r >= '0' && r <= '9' {
					return r
				}
				return -1
			}, s); len(d) >= 7 && strings.Contains(err.Error(), d) {
				t.Fatalf("error %q repeats the input's digits", err)
			}
			if Mask(s) != maskedInvalid {
				t.Fatalf("Mask(%q) = %q for a non-number", s, Mask(s))
			}
			return
		}
		if again, err := ParseE164(e); err != nil || again != e || !IsE164(e) {
			t.Fatalf("ParseE164(%q) = %q, then %q, %v", s, e, again, err)
		}
		d := e[1:]
		if len(d) < 7 || len(d) > 15 || d[0] == '0' || !isDigits(d) {
			t.Fatalf("ParseE164(%q) = %q: not + and 7 to 15 digits", s, e)
		}
		if IsMainland(e) {
			if _, err := NormalizePhone(AlibabaForm(e)); err != nil {
				t.Fatalf("mainland %q: 11-digit form %q does not parse", e, AlibabaForm(e))
			}
		}
		m := Mask(e)
		digits, ok := MaskDigits(e)
		if !ok || !IsMaskDigits(digits) || strings.Count(m, "*") < 4 || strings.Contains(m, d) {
			t.Fatalf("Mask(%q) = %q, MaskDigits = %q, %v", e, m, digits, ok)
		}
		if cc := CountryCode(e); cc == "" || !strings.HasPrefix(d, cc) || len(cc) > 3 {
			t.Fatalf("CountryCode(%q) = %q", e, cc)
		}
	})
}

func TestParseRoute(t *testing.T) {
	for in, want := range map[string]Route{
		"CM=sandbox":     {Operator: "CM", Adapter: "sandbox"},
		" +44 = camara ": {Prefix: "+44", Adapter: "camara"},
		"+86138=sandbox": {Prefix: "+86138", Adapter: "sandbox"},
		"*=sandbox":      {Adapter: "sandbox"},
		"VF2=other-one":  {Operator: "VF2", Adapter: "other-one"},
	} {
		got, err := ParseRoute(in)
		if err != nil || got != want {
			t.Errorf("ParseRoute(%q) = %+v, %v; want %+v", in, got, err, want)
		}
		if again, err := ParseRoute(got.String()); err != nil || again != got {
			t.Errorf("ParseRoute(%q.String()) = %+v, %v", in, again, err)
		}
	}
	for _, in := range []string{"", "CM", "=sandbox", "CM=", "cm=sandbox", "CM=Sandbox", "+=sandbox", "+0=x", "+1234567890123456=x", "**=x", "C=x", "CM=sand box", "CM=a:b", strings.Repeat("A", 80)} {
		if r, err := ParseRoute(in); err == nil {
			t.Errorf("ParseRoute(%q) = %+v, want an error", in, r)
		}
	}
}

// FuzzParseRoute: a rule that parses prints back to itself.
func FuzzParseRoute(f *testing.F) {
	for _, s := range []string{"CM=sandbox", "+44=camara", "*=x", "=", "+=a"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRoute(s)
		if err != nil {
			return
		}
		if !ValidName(r.Adapter) || (r.Operator != "" && r.Prefix != "") {
			t.Fatalf("ParseRoute(%q) = %+v", s, r)
		}
		if again, err := ParseRoute(r.String()); err != nil || again != r {
			t.Fatalf("ParseRoute(%q) = %+v; its String %q parses to %+v, %v", s, r, r.String(), again, err)
		}
	})
}
