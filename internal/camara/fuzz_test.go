package camara

import (
	"net/http"
	"strings"
	"testing"
)

// The NV body and login_hint are read from untrusted clients: whatever
// they send, the readers answer without panicking, and what they accept
// is what the OpenAPI file's patterns allow.
func FuzzVerifyBody(f *testing.F) {
	for _, s := range []string{`{"phoneNumber":"+8613812345678"}`, `{"hashedPhoneNumber":"` + strings.Repeat("a", 64) + `"}`, `{}`, `[]`, `{"phoneNumber":null}`, `{"phoneNumber":"+1"}{}`, "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		r, _ := http.NewRequest("POST", "/", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		b, msg := readVerifyBody(r)
		if msg != "" {
			if b.PhoneNumber != nil || b.HashedPhoneNumber != nil {
				t.Fatalf("refused %q but kept a field", body)
			}
			return
		}
		switch {
		case b.PhoneNumber != nil && b.HashedPhoneNumber == nil:
			if !isNVPhone(*b.PhoneNumber) {
				t.Fatalf("accepted phoneNumber %q", *b.PhoneNumber)
			}
		case b.HashedPhoneNumber != nil && b.PhoneNumber == nil:
			if !hashPattern.MatchString(*b.HashedPhoneNumber) {
				t.Fatalf("accepted hash %q", *b.HashedPhoneNumber)
			}
		default:
			t.Fatalf("accepted %q with %v fields", body, b)
		}
	})
}

func FuzzLoginHint(f *testing.F) {
	for _, s := range []string{"tel:+34666666666", "ipport:80.90.34.2:16790", "ipport:[2001:db8::1]:8080", "ipport:[2001:db8::1]", "tel:", "ipport:", ":", "ipport:fe80::1%eth0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		h, err := parseLoginHint(s)
		if err != nil {
			return
		}
		switch {
		case s == "" || (!strings.HasPrefix(s, "tel:") && !strings.HasPrefix(s, "ipport:")):
			if h != (loginHint{}) {
				t.Fatalf("%q → %+v, want no hint", s, h)
			}
		case strings.HasPrefix(s, "tel:"):
			if !isNVPhone(h.phone) || "tel:"+h.phone != s {
				t.Fatalf("%q → %+v", s, h)
			}
		case strings.HasPrefix(s, "ipport:"):
			if !h.ip.IsValid() || h.ip.Zone() != "" {
				t.Fatalf("%q → %+v", s, h)
			}
		}
	})
}
