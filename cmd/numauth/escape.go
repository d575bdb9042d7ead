package main

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// termSafe returns s as the operator's terminal may be given it: every rune
// that is not graphic (control characters C0, DEL and C1, which make escape
// sequences; bidirectional and other format characters, which reorder what
// is shown; line and paragraph separators; tabs, which would shift
// tabwriter's columns) is written as a Go-style escape (\x1b, \u202e,
// \U000e0001), a byte that is not UTF-8 as \xNN, and a backslash as \\, so
// that an escape in the output always means an escaped rune. numauth
// refuses such runes in what it stores now, but a database may hold values
// from before, and the description of an AccessKey is free text.
func termSafe(s string) string {
	clean := true
	for _, r := range s {
		if r == '\\' || r == utf8.RuneError || !unicode.IsGraphic(r) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, w := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && w == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\\':
			b.WriteString(`\\`)
		case unicode.IsGraphic(r):
			b.WriteRune(r)
		case r < 0x80:
			fmt.Fprintf(&b, `\x%02x`, r)
		case r <= 0xffff:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			fmt.Fprintf(&b, `\U%08x`, r)
		}
		i += w
	}
	return b.String()
}

// termSafeAll applies termSafe to each of vs, for one table row.
func termSafeAll(vs ...string) []any {
	out := make([]any, len(vs))
	for i, v := range vs {
		out[i] = termSafe(v)
	}
	return out
}
