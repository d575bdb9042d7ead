package auth

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// cleanText checks and normalises a free-text field that numauth stores and
// shows again (a scheme's name, its app name, package name …): it must be
// UTF-8 without control characters (C0, DEL, C1) and without the
// characters that reorder or break text when it is shown (bidirectional
// marks, embeddings, overrides and isolates; line and paragraph
// separators), so that a stored value can neither drive a terminal nor
// display as something else. The value is trimmed and normalised to NFC,
// so that the composed and decomposed spellings of a name are one name,
// and max counts its characters (code points) after that.
func cleanText(field, v string, max int, required bool) (string, error) {
	if !utf8.ValidString(v) {
		return "", hint(ErrInvalidParameters, "%s must be UTF-8 text", field)
	}
	v = strings.TrimSpace(norm.NFC.String(v))
	if required && v == "" {
		return "", hint(ErrInvalidParameters, "%s is required", field)
	}
	n := 0
	for _, r := range v {
		n++
		if what := forbiddenRune(r); what != "" {
			return "", hint(ErrInvalidParameters, "%s must not contain %s (U+%04X, character %d)", field, what, r, n)
		}
	}
	if n > max {
		return "", hint(ErrInvalidParameters, "%s is %d characters long, at most %d are allowed", field, n, max)
	}
	return v, nil
}

// forbiddenRune says what r is if free text must not hold it, else "".
func forbiddenRune(r rune) string {
	switch {
	case unicode.IsControl(r): // C0, DEL and C1: escape sequences, NUL, CR, LF, tabs
		return "a control character"
	case r == '\u061c', r == '\u200e', r == '\u200f', // ALM, LRM, RLM
		r >= '\u202a' && r <= '\u202e', // LRE, RLE, PDF, LRO, RLO
		r >= '\u2066' && r <= '\u2069': // LRI, RLI, FSI, PDI
		return "a bidirectional formatting character"
	case r == '\u2028', r == '\u2029':
		return "a line or paragraph separator"
	}
	return ""
}
