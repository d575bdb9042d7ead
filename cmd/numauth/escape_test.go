package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/numauth/numauth/internal/store"
	"github.com/numauth/numauth/internal/store/sqlite"
)

func TestTermSafe(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Shop 登录方案", "Shop 登录方案"},
		{"تسجيل", "تسجيل"},
		{"a\u3000b\u00a0c", "a\u3000b\u00a0c"}, // spaces are graphic
		{"\x1b[2J\x1b]0;pwned\x07", `\x1b[2J\x1b]0;pwned\x07`},
		{"tab\there", `tab\x09here`},
		{"line\nbreak\r", `line\x0abreak\x0d`},
		{"del\x7f", `del\x7f`},
		{"csi\u009b2J", `csi\u009b2J`},
		{"invoice\u202egnp.exe", `invoice\u202egnp.exe`},
		{"iso\u2066late\u2069", `iso\u2066late\u2069`},
		{"sep\u2028", `sep\u2028`},
		{"tag\U000e0041", `tag\U000e0041`},
		{"bad\xffutf8", `bad\xffutf8`},
		{`back\slash`, `back\\slash`},
		{`\x1b`, `\\x1b`}, // a literal backslash-x cannot pass for an escape
		{"", ""},
	}
	for _, tt := range tests {
		if got := termSafe(tt.in); got != tt.want {
			t.Errorf("termSafe(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// FuzzTermSafe: the output is valid UTF-8 made of graphic runes only.
func FuzzTermSafe(f *testing.F) {
	for _, s := range []string{"", "Shop", "\x1b[31mred", "\u202e", "\xff\xfe", `\`, "\U0010ffff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := termSafe(s)
		if !utf8.ValidString(out) {
			t.Fatalf("termSafe(%q) = %q is not UTF-8", s, out)
		}
		for _, r := range out {
			if !unicode.IsGraphic(r) {
				t.Fatalf("termSafe(%q) = %q holds U+%04X", s, out, r)
			}
		}
	})
}

// TestListsEscape: keys list, schemes list and camara clients list print
// stored free text with its control and bidi characters escaped, whatever
// the database holds (a scheme stored before names were checked; an
// AccessKey description; an OAuth client written by another tool).
func TestListsEscape(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	t.Setenv("NUMAUTH_MASTER_KEY", "")
	var out, errOut bytes.Buffer
	if err := run(ctx, []string{"keys", "create", "--data-dir", dir, "--description", "ops\x1b]0;owned\x07 key\u202e"}, &out, &errOut); err != nil {
		t.Fatalf("keys create: %v: %s", err, errOut.String())
	}
	d, err := sqlite.Open(ctx, filepath.Join(dir, "numauth.db"))
	if err != nil {
		t.Fatal(err)
	}
	err = d.CreateScheme(ctx, store.Scheme{Code: "FC100000000000001", AccountID: "default", Name: "shop\x1b[2J\x1b[31m\ttab",
		OsType: "H5", Origin: "https://shop.example", URL: "https://shop.example/\u202e", CreatedAt: time.Now()})
	if err == nil {
		err = d.CreateOAuthClient(ctx, store.OAuthClient{ID: "nv-old\x1b[8m", AccountID: "default", Name: "rp\u202e\x07",
			RedirectURIs: []string{"https://rp.example/\x1b]0;x\x07"}, AuthMethod: "client_secret_basic", Status: store.KeyActive, CreatedAt: time.Now()})
	}
	d.Close()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"keys", "list"}, []string{`ops\x1b]0;owned\x07 key\u202e`}},
		{[]string{"schemes", "list"}, []string{`shop\x1b[2J\x1b[31m\x09tab`, `https://shop.example/\u202e`}},
		{[]string{"camara", "clients", "list"}, []string{`nv-old\x1b[8m`, `rp\u202e\x07`, `https://rp.example/\x1b]0;x\x07`}},
	} {
		out.Reset()
		if err := run(ctx, append(tc.args, "--data-dir", dir), &out, &errOut); err != nil {
			t.Fatalf("%v: %v: %s", tc.args, err, errOut.String())
		}
		for _, r := range out.String() {
			if r != '\n' && !unicode.IsGraphic(r) {
				t.Errorf("%v printed U+%04X raw:\n%q", tc.args, r, out.String())
			}
		}
		for _, w := range tc.want {
			if !strings.Contains(out.String(), w) {
				t.Errorf("%v output does not show %s:\n%s", tc.args, w, out.String())
			}
		}
	}
}
