package security

import (
	"testing"
)

// Finding 13: non-ASCII origin hosts were stored in Unicode and never
// matched the punycode Origin that browsers send. Whichever form the
// scheme and GetAuthToken use, the page's gateway calls (punycode, as a
// browser sends them) must pass the identity check.
func TestInternationalisedOrigins(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := testContext(t)
		s := startServer(t, b, serverOptions{})
		for _, tc := range []struct {
			name                    string
			schemeOrigin, schemeURL string // as registered
			origin, url             string // as GetAuthToken gets them
			browserOrigin           string // what the page's browser sends
		}{
			{"Unicode stored, punycode sent",
				"https://bücher.example", "https://bücher.example/login",
				"https://xn--bcher-kva.example", "https://xn--bcher-kva.example/login",
				"https://xn--bcher-kva.example"},
			{"punycode stored, Unicode sent",
				"https://xn--mnchen-3ya.example", "https://xn--mnchen-3ya.example/login",
				"https://München.example", "https://münchen.example/login",
				"https://xn--mnchen-3ya.example"},
			{"Chinese host, Unicode everywhere but the browser",
				"https://例え.テスト", "https://例え.テスト/",
				"https://例え.テスト", "https://例え.テスト/",
				"https://xn--r8jz45g.xn--zckzah"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				scheme := s.scheme(ctx, tc.schemeOrigin, tc.schemeURL, nil)
				d := s.mustCall(ctx, "DescribeVerifyScheme", map[string]string{"SchemeCode": scheme})
				if got := d.Get("SchemeQueryResultDTO", "Origin"); got != tc.browserOrigin {
					t.Errorf("stored Origin %q, want %q (the form browsers send)", got, tc.browserOrigin)
				}
				if _, err := s.session(ctx, "", scheme, tc.origin, tc.url, tc.browserOrigin, "verify"); err != nil {
					t.Fatal(err)
				}
			})
		}
		// A host that IDNA refuses is refused, not stored.
		r, err := s.call(ctx, "CreateVerifyScheme", map[string]string{"SchemeName": "bad host", "AppName": "a", "OsType": "H5",
			"Origin": "https://a\u200db.example", "Url": "https://a\u200db.example/"})
		if err != nil || r.Code != "isv.INVALID_PARAMETERS" {
			t.Fatalf("CreateVerifyScheme with a joiner in the host = %d %s, %v; want isv.INVALID_PARAMETERS", r.Status, r.Code, err)
		}
	})
}
