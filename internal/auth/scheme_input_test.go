package auth_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/numauth/numauth/internal/auth"
)

// TestSchemeText: free-text scheme fields refuse control and bidi
// formatting characters, count characters rather than bytes, and are
// stored in NFC, so that NFC and NFD spellings are one name.
func TestSchemeText(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	tests := []struct {
		name  string
		in    auth.SchemeInput
		want  error  // nil: created
		name2 string // with want nil: the name as stored
	}{
		{"terminal escape", auth.SchemeInput{Name: "a\x1b[2J\x1b]0;pwned\x07", OsType: "Android"}, auth.ErrInvalidParameters, ""},
		{"NUL", auth.SchemeInput{Name: "a\x00b", OsType: "Android"}, auth.ErrInvalidParameters, ""},
		{"newline", auth.SchemeInput{Name: "a\nb", OsType: "Android"}, auth.ErrInvalidParameters, ""},
		{"tab", auth.SchemeInput{Name: "a\tb", OsType: "Android"}, auth.ErrInvalidParameters, ""},
		{"DEL", auth.SchemeInput{Name: "a\x7fb", OsType: "Android"}, auth.ErrInvalidParameters, ""},
		{"C1 CSI", auth.SchemeInput{Name: "a\u009b2Jb", OsType: "Android"}, auth.ErrInvalidParameters, ""},
		{"C1 NEL", auth.SchemeInput{Name: "a\u0085b", OsType: "Android"}, auth.ErrInvalidParameters, ""},
		{"RLO", auth.SchemeInput{Name: "invoice\u202egnp.exe", OsType: "Android"}, auth.ErrInvalidParameters, ""},
		{"LRE", auth.SchemeInput{Name: "a\u202ab", OsType: "Android"}, auth.ErrInvalidParameters, ""},
		{"PDF", auth.SchemeInput{Name: "a\u202cb", OsType: "Android"}, auth.ErrInvalidParameters, ""},
		{"LRI", auth.SchemeInput{Name: "a\u2066b", OsType: "Android"}, auth.ErrInvalidParameters, ""},
		{"PDI", auth.SchemeInput{Name: "a\u2069b", OsType: "Android"}, auth.ErrInvalidParameters, ""},
		{"LRM", auth.SchemeInput{Name: "a\u200eb", OsType: "Android"}, auth.ErrInvalidParameters, ""},
		{"RLM", auth.SchemeInput{Name: "a\u200fb", OsType: "Android"}, auth.ErrInvalidParameters, ""},
		{"ALM", auth.SchemeInput{Name: "a\u061cb", OsType: "Android"}, auth.ErrInvalidParameters, ""},
		{"line separator", auth.SchemeInput{Name: "a\u2028b", OsType: "Android"}, auth.ErrInvalidParameters, ""},
		{"not UTF-8", auth.SchemeInput{Name: "a\xffb", OsType: "Android"}, auth.ErrInvalidParameters, ""},
		{"blank", auth.SchemeInput{Name: " \u3000 ", OsType: "Android"}, auth.ErrInvalidParameters, ""},
		{"129 characters", auth.SchemeInput{Name: strings.Repeat("方", 129), OsType: "Android"}, auth.ErrInvalidParameters, ""},
		{"bad AppName", auth.SchemeInput{Name: "app", AppName: "x\x1b[31m", OsType: "Android"}, auth.ErrInvalidParameters, ""},
		{"bad PackName", auth.SchemeInput{Name: "pack", PackName: "com.\u202eexample", OsType: "Android"}, auth.ErrInvalidParameters, ""},
		{"bad SmsSignName", auth.SchemeInput{Name: "sms", SmsSignName: "a\rb", OsType: "Android"}, auth.ErrInvalidParameters, ""},
		{"bad Email", auth.SchemeInput{Name: "mail", Email: "a@b\x00", OsType: "Android"}, auth.ErrInvalidParameters, ""},
		// 128 CJK characters are 384 bytes: the limit counts characters.
		{"128 characters", auth.SchemeInput{Name: strings.Repeat("方", 128), OsType: "Android"}, nil, strings.Repeat("方", 128)},
		{"CJK, emoji and ideographic space", auth.SchemeInput{Name: "登录\u3000方案 👍🏽", OsType: "Android"}, nil, "登录\u3000方案 👍🏽"},
		{"right-to-left script", auth.SchemeInput{Name: "تسجيل الدخول", OsType: "Android"}, nil, "تسجيل الدخول"},
		{"trimmed", auth.SchemeInput{Name: "  padded  ", OsType: "Android"}, nil, "padded"},
		{"NFD is stored as NFC", auth.SchemeInput{Name: "Cafe\u0301", OsType: "Android"}, nil, "Caf\u00e9"},
		{"NFC of a stored NFD name is taken", auth.SchemeInput{Name: "Caf\u00e9", OsType: "Android"}, auth.ErrSchemeConflict, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sc, err := e.svc.CreateScheme(ctx, e.caller, tt.in)
			if !errors.Is(err, tt.want) {
				t.Fatalf("CreateScheme(%+q) = %v, want %v", tt.in.Name, err, tt.want)
			}
			if err != nil {
				if strings.ContainsAny(err.Error(), "\x00\x1b\x7f\u009b\u202e") {
					t.Fatalf("the error repeats the refused characters: %q", err)
				}
				return
			}
			got, err := e.svc.DescribeScheme(ctx, e.caller, sc.Code)
			if err != nil || got.Name != tt.name2 {
				t.Fatalf("stored name = %+q, %v, want %+q", got.Name, err, tt.name2)
			}
		})
	}
}
