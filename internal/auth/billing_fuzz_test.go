package auth

import (
	"errors"
	"testing"
)

// Month is untrusted input: any string either parses to the first instant
// of that month in China time, or is ErrInvalidParameters; never a panic.
func FuzzParseMonth(f *testing.F) {
	for _, s := range []string{"202606", "197001", "999912", "202613", "2026-6", "", "２０２６０６", "-20261"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := parseMonth(s)
		if err != nil {
			if !errors.Is(err, ErrInvalidParameters) {
				t.Fatalf("parseMonth(%q) = %v", s, err)
			}
			return
		}
		if got := m.In(billingZone).Format("200601"); got != s || m.Day() != 1 || m.Hour() != 0 {
			t.Fatalf("parseMonth(%q) = %v (%s)", s, m, got)
		}
	})
}
