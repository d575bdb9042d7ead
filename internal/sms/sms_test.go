package sms_test

import (
	"strings"
	"testing"

	"github.com/numauth/numauth/internal/sms"
)

func TestMask(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"+8613812345678", "+86138****5678"},
		{"+85212345678", "+852****5678"},
		{"+14155550123", "+141****0123"},
		{"+12345678", "+******78"},
		{"13812345678", "+***"},
		{"+86138abc5678", "+***"},
		{"+1234567890123456", "+***"},
		{"", "+***"},
	} {
		if got := sms.Mask(tc.in); got != tc.want {
			t.Errorf("Mask(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// FuzzMask: a mask keeps an E.164 number's length, changes no digit it
// shows and hides at least four; it never shows what is not E.164.
func FuzzMask(f *testing.F) {
	for _, s := range []string{"+8613800138000", "+85212345678", "+1234567", "+", "", "8613800138000"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, to string) {
		m := sms.Mask(to)
		if m == "+***" {
			return
		}
		if len(m) != len(to) || strings.Count(m, "*") < 4 {
			t.Fatalf("Mask(%q) = %q", to, m)
		}
		for i := range m {
			if m[i] != '*' && m[i] != to[i] {
				t.Fatalf("Mask(%q) = %q changes a digit", to, m)
			}
		}
	})
}
