package aliyun

import (
	"strings"
	"testing"
)

func TestPhoneNumbers(t *testing.T) {
	cases := []struct {
		to, want string
		ok       bool
	}{
		{"+8613800138000", "13800138000", true},
		{"+8617000000001", "17000000001", true},
		{"+85212345678", "85212345678", true},
		{"+85366123456", "85366123456", true},
		{"+886912345678", "886912345678", true},
		{"+14155550123", "14155550123", true},
		{"+447911123456", "447911123456", true},
		{"+8601012345678", "", false}, // a mainland landline
		{"+861380013800", "", false},  // 10 digits
		{"+86138001380001", "", false},
		{"+8623800138000", "", false}, // 11 digits not starting with 1
		{"13800138000", "", false},    // not E.164
		{"8613800138000", "", false},
		{"+", "", false},
		{"+123456", "", false},           // too short
		{"+1234567890123456", "", false}, // 16 digits
		{"+0123456789", "", false},
		{"+86 138 0013 8000", "", false},
		{"+8613800138000\n", "", false},
		{"+８613800138000", "", false}, // a full-width digit
		{"", "", false},
	}
	for _, tc := range cases {
		got, err := phoneNumbers(tc.to)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("phoneNumbers(%q) = %q, %v; want %q, ok %v", tc.to, got, err, tc.want, tc.ok)
		}
		if err != nil && len(tc.to) > 1 && strings.Contains(err.Error(), strings.TrimPrefix(tc.to, "+")) {
			t.Errorf("phoneNumbers(%q): the error repeats the number: %v", tc.to, err)
		}
	}
}

// FuzzPhoneNumbers: what phoneNumbers accepts is digits only, and gives the
// E.164 number back when the rule is undone; what it refuses, it refuses
// without repeating.
func FuzzPhoneNumbers(f *testing.F) {
	for _, s := range []string{"+8613800138000", "+85212345678", "+14155550123", "+8601012345678", "+86", "+", "", "+86138001380001", "+８6"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, to string) {
		got, err := phoneNumbers(to)
		if err != nil {
			if got != "" {
				t.Fatalf("phoneNumbers(%q) = %q with an error", to, got)
			}
			if len(to) > 8 && strings.Contains(err.Error(), to[1:]) {
				t.Fatalf("the error repeats the input: %v", err)
			}
			return
		}
		if strings.Trim(got, "0123456789") != "" || len(got) < 7 || len(got) > 15 {
			t.Fatalf("phoneNumbers(%q) = %q: not 7 to 15 digits", to, got)
		}
		back := "+" + got
		if len(got) == 11 && got[0] == '1' && strings.HasPrefix(to, "+86") {
			back = "+86" + got
		}
		if back != to {
			t.Fatalf("phoneNumbers(%q) = %q, which stands for %q", to, got, back)
		}
	})
}
