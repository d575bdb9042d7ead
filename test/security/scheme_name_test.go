package security

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/numauth/numauth/internal/store"
	"github.com/numauth/numauth/internal/store/postgres"
	"github.com/numauth/numauth/internal/store/sqlite"
)

// Finding 8: SchemeName validation. Terminal escape sequences were stored
// and printed raw by numauth schemes list; the limit counted bytes while
// the docs say characters; the NFC and NFD spellings of a name were two
// names.
func TestSchemeNameValidation(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := testContext(t)
		s := startServer(t, b, serverOptions{})
		create := func(name, app string) string {
			t.Helper()
			r, err := s.call(ctx, "CreateVerifyScheme", map[string]string{"SchemeName": name, "AppName": app, "OsType": "Android"})
			if err != nil {
				t.Fatal(err)
			}
			return r.Code
		}
		for _, tc := range []struct {
			what, name, app, want string
		}{
			{"terminal escapes in SchemeName", "shop\x1b[2J\x1b]0;owned\x07", "app", "isv.INVALID_PARAMETERS"},
			{"C1 control (CSI) in SchemeName", "shop\u009b2J", "app", "isv.INVALID_PARAMETERS"},
			{"DEL in SchemeName", "shop\x7f", "app", "isv.INVALID_PARAMETERS"},
			{"right-to-left override in SchemeName", "invoice\u202egnp.exe", "app", "isv.INVALID_PARAMETERS"},
			{"isolate in SchemeName", "a\u2067b\u2069", "app", "isv.INVALID_PARAMETERS"},
			{"right-to-left mark in SchemeName", "a\u200fb", "app", "isv.INVALID_PARAMETERS"},
			{"Arabic letter mark in SchemeName", "a\u061cb", "app", "isv.INVALID_PARAMETERS"},
			{"escape in AppName", "escaped app", "app\x1b[31m", "isv.INVALID_PARAMETERS"},
			{"129 characters", strings.Repeat("码", 129), "app", "isv.INVALID_PARAMETERS"},
			// 128 Chinese characters are 384 bytes: the limit counts characters.
			{"128 characters", strings.Repeat("码", 128), "app", "OK"},
			{"NFD name", "Cafe\u0301 login", "app", "OK"},
			{"the same name in NFC", "Caf\u00e9 login", "app", "isv.VERIFY_SCHEME_CONFLICT"},
		} {
			if got := create(tc.name, tc.app); got != tc.want {
				t.Errorf("%s: CreateVerifyScheme = %s, want %s", tc.what, got, tc.want)
			}
		}

		// A database may hold a name stored before it was checked, and an
		// AccessKey's description is free text: the CLI prints them escaped.
		storeRawScheme(ctx, t, s, "legacy\x1b[2J\x1b[31mred\u202e")
		if _, err := s.cli(ctx, "keys", "create", "--description", "ops\x1b]0;owned\x07"); err != nil {
			t.Fatal(err)
		}
		for _, args := range [][]string{{"schemes", "list"}, {"keys", "list"}} {
			out, err := s.cli(ctx, args...)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range out {
				if r != '\n' && !unicode.IsGraphic(r) {
					t.Fatalf("numauth %s printed U+%04X raw:\n%q", strings.Join(args, " "), r, out)
				}
			}
			if want := map[string]string{"schemes": `legacy\x1b[2J\x1b[31mred\u202e`, "keys": `ops\x1b]0;owned\x07`}[args[0]]; !strings.Contains(out, want) {
				t.Fatalf("numauth %s does not show %s:\n%s", strings.Join(args, " "), want, out)
			}
		}
	})
}

// storeRawScheme writes a scheme named name straight into the server's
// durable store, as an older numauth could have stored it.
func storeRawScheme(ctx context.Context, t *testing.T, s *server, name string) {
	t.Helper()
	var d store.Durable
	var err error
	if s.stores.postgresDSN != "" {
		d, err = postgres.Open(ctx, s.stores.postgresDSN)
	} else {
		d, err = sqlite.Open(ctx, filepath.Join(s.DataDir, "numauth.db"))
	}
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := d.CreateScheme(ctx, store.Scheme{Code: "FC1" + strings.Repeat("0", 13) + "7", AccountID: "default",
		Name: name, OsType: "Android", CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
}
