package auth

import (
	"errors"
	"testing"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// FuzzCleanText: cleanText never panics, and what it accepts is valid
// UTF-8, NFC, trimmed, within the limit, free of every forbidden rune, and
// accepted again unchanged.
func FuzzCleanText(f *testing.F) {
	for _, s := range []string{"", "Shop", " 登录方案 ", "Cafe\u0301", "a\x1b[2Jb", "x\u202ey", "\u0085", "\xff\xfe", "\u3000", "a\u2028b"} {
		f.Add(s, 8)
	}
	f.Fuzz(func(t *testing.T, s string, max int) {
		max = max&0xff + 1
		got, err := cleanText("SchemeName", s, max, true)
		if err != nil {
			if !errors.Is(err, ErrInvalidParameters) {
				t.Fatalf("cleanText(%q) = %v, not ErrInvalidParameters", s, err)
			}
			return
		}
		if !utf8.ValidString(got) || !norm.NFC.IsNormalString(got) || got == "" || utf8.RuneCountInString(got) > max {
			t.Fatalf("cleanText(%q, %d) = %q: not valid, NFC, non-empty text within the limit", s, max, got)
		}
		for _, r := range got {
			if forbiddenRune(r) != "" {
				t.Fatalf("cleanText(%q) = %q holds U+%04X", s, got, r)
			}
		}
		if again, err := cleanText("SchemeName", got, max, true); err != nil || again != got {
			t.Fatalf("cleanText is not idempotent on %q: %q, %v", got, again, err)
		}
	})
}
