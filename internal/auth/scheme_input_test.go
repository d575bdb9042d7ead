package auth_test

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/numauth/numauth/internal/auth"
	"github.com/numauth/numauth/internal/carrier"
	"github.com/numauth/numauth/internal/store"
	"github.com/numauth/numauth/internal/token"
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

// TestOriginIDNA: an internationalised host is stored and matched in its
// ASCII (punycode) form, whichever form the scheme and the request use.
func TestOriginIDNA(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	unicodeStored, err := e.svc.CreateScheme(ctx, e.caller, auth.SchemeInput{Name: "bücher", OsType: "H5",
		Origin: "https://Bücher.example", URL: "https://bücher.example/login"})
	if err != nil {
		t.Fatal(err)
	}
	if unicodeStored.Origin != "https://xn--bcher-kva.example" || unicodeStored.URL != "https://xn--bcher-kva.example/login" {
		t.Fatalf("stored %s %s, want the punycode host", unicodeStored.Origin, unicodeStored.URL)
	}
	punyStored, err := e.svc.CreateScheme(ctx, e.caller, auth.SchemeInput{Name: "münchen", OsType: "H5",
		Origin: "https://XN--MNCHEN-3YA.example", URL: "https://xn--mnchen-3ya.example/"})
	if err != nil {
		t.Fatal(err)
	}
	// A scheme an older numauth stored with its Unicode host still matches.
	legacy := store.Scheme{Code: "FC100000000000001", AccountID: e.caller.AccountID, Name: "legacy", OsType: auth.OsH5,
		Origin: "https://例え.テスト", URL: "https://例え.テスト/", CreatedAt: time.Now().UTC()}
	if err := e.durable.CreateScheme(ctx, legacy); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name          string
		scheme        string
		origin, url   string // GetAuthToken's
		gatewayOrigin string // the Origin header the page's browser sends
	}{
		{"Unicode stored, punycode sent", unicodeStored.Code, "https://xn--bcher-kva.example", "https://xn--bcher-kva.example/login", "https://xn--bcher-kva.example"},
		{"Unicode stored, Unicode sent", unicodeStored.Code, "https://bücher.example", "https://BÜCHER.example/login/x", "https://bücher.example"},
		{"punycode stored, Unicode sent", punyStored.Code, "https://münchen.example", "https://münchen.example/", "https://xn--mnchen-3ya.example"},
		{"punycode stored, Unicode Origin at the gateway", punyStored.Code, "https://xn--mnchen-3ya.example", "https://xn--mnchen-3ya.example/a", "https://MÜNCHEN.example"},
		{"stored by an older numauth in Unicode", legacy.Code, "https://xn--r8jz45g.xn--zckzah", "https://xn--r8jz45g.xn--zckzah/", "https://xn--r8jz45g.xn--zckzah"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ti, err := e.svc.IssuePageTokens(ctx, e.caller, auth.PageTokenRequest{URL: tt.url, Origin: tt.origin})
			if err != nil || ti.Scheme != tt.scheme {
				t.Fatalf("GetAuthToken = %+v, %v, want scheme %s", ti, err, tt.scheme)
			}
			if _, err := e.svc.OpenSession(ctx, auth.SessionRequest{AccessToken: ti.AccessToken, JwtToken: ti.JwtToken,
				Origin: tt.gatewayOrigin, Kind: carrier.KindVerify}); err != nil {
				t.Fatalf("OpenSession with Origin %s: %v", tt.gatewayOrigin, err)
			}
		})
	}
	for _, bad := range []string{"https://a\u200db.example", "https://\u0661a.example", "https://a..例.example", "https://-a.例"} {
		if _, err := e.svc.CreateScheme(ctx, e.caller, auth.SchemeInput{Name: "bad " + bad, OsType: "H5", Origin: bad, URL: bad + "/"}); !errors.Is(err, auth.ErrInvalidParameters) {
			t.Errorf("CreateScheme with Origin %q = %v, want ErrInvalidParameters", bad, err)
		}
		if _, err := auth.NormalizeOrigin(bad); err == nil {
			t.Errorf("NormalizeOrigin(%q) accepted a host IDNA refuses", bad)
		}
	}
}

// TestIPWhiteList: a scheme's IpWhiteList is parsed at creation and
// restricts the calls that mint and redeem its tokens to those addresses.
func TestIPWhiteList(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	const ipOrigin, ipURL = "https://ip.example.com", "https://ip.example.com/login"
	for _, bad := range []string{"10.0.0.*", "example.com", "10.0.0.0/33", "10.0.0.1:80", "10.0.0.1\n\x1b[31m", strings.Repeat("10.0.0.1,", 114)} {
		if _, err := e.svc.CreateScheme(ctx, e.caller, auth.SchemeInput{Name: "bad list", OsType: "Android", IPWhiteList: bad}); !errors.Is(err, auth.ErrInvalidParameters) {
			t.Errorf("IpWhiteList %q: %v, want ErrInvalidParameters", bad, err)
		}
	}
	// An older numauth stored lists unchecked (before the first CreateScheme
	// below, which refreshes the scheme cache).
	garbled := store.Scheme{Code: "FC100000000000002", AccountID: e.caller.AccountID, Name: "garbled", OsType: auth.OsH5,
		Origin: "https://garbled.example.com", URL: "https://garbled.example.com/", IPWhiteList: "office", CreatedAt: time.Now().UTC()}
	if err := e.durable.CreateScheme(ctx, garbled); err != nil {
		t.Fatal(err)
	}
	sc, err := e.svc.CreateScheme(ctx, e.caller, auth.SchemeInput{Name: "ip", OsType: "H5", Origin: ipOrigin, URL: ipURL,
		IPWhiteList: "198.51.100.0/24\n2001:db8::7\r\n192.0.2.7/32"})
	if err != nil {
		t.Fatal(err)
	}
	if sc.IPWhiteList != "198.51.100.0/24,2001:db8::7,192.0.2.7" {
		t.Fatalf("stored IpWhiteList %q, want the canonical list", sc.IPWhiteList)
	}
	from := func(ip string) auth.Caller {
		c := e.caller
		if ip != "" {
			c.SourceIP = netip.MustParseAddr(ip)
		}
		return c
	}
	allowed, refused := from("198.51.100.9"), from("203.0.113.1")
	mint := func(c auth.Caller, biz token.Biz) (auth.PageTokens, error) {
		return e.svc.IssuePageTokens(ctx, c, auth.PageTokenRequest{URL: ipURL, Origin: ipOrigin, SceneCode: sc.Code, Biz: biz})
	}
	for _, tt := range []struct {
		name string
		c    auth.Caller
		want error
	}{
		{"in a listed prefix", allowed, nil},
		{"a listed address", from("192.0.2.7"), nil},
		{"IPv6", from("2001:db8::7"), nil},
		{"IPv4-mapped", from("::ffff:198.51.100.1"), nil},
		{"not listed", refused, auth.ErrSourceNotAllowed},
		{"next to a listed address", from("192.0.2.8"), auth.ErrSourceNotAllowed},
		{"unknown address", from(""), auth.ErrSourceNotAllowed},
	} {
		t.Run("GetAuthToken "+tt.name, func(t *testing.T) {
			if _, err := mint(tt.c, token.BizAny); !errors.Is(err, tt.want) {
				t.Fatalf("GetAuthToken = %v, want %v", err, tt.want)
			}
		})
	}
	// A scheme without a list allows every address.
	if _, err := e.svc.IssuePageTokens(ctx, refused, auth.PageTokenRequest{URL: pageURL, Origin: origin}); err != nil {
		t.Fatalf("GetAuthToken for a scheme without IpWhiteList from %s: %v", refused.SourceIP, err)
	}

	session := func(kind carrier.Kind, biz token.Biz) string {
		t.Helper()
		ti, err := mint(allowed, biz)
		if err != nil {
			t.Fatal(err)
		}
		s, err := e.svc.OpenSession(ctx, auth.SessionRequest{AccessToken: ti.AccessToken, JwtToken: ti.JwtToken, Origin: ipOrigin, Kind: kind})
		if err != nil {
			t.Fatal(err)
		}
		return s.ID
	}
	// Verification: refused from outside, and the refusal does not spend the token.
	res, err := e.svc.MintVerifyToken(ctx, session(carrier.KindVerify, token.BizVerify), ipOrigin, carrier.FrontRequest{Source: lineAddr})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.VerifyNumber(ctx, refused, res.SPToken, phone); !errors.Is(err, auth.ErrSourceNotAllowed) {
		t.Fatalf("VerifyPhoneWithToken from %s: %v, want ErrSourceNotAllowed", refused.SourceIP, err)
	}
	if v, err := e.svc.VerifyNumber(ctx, allowed, res.SPToken, phone); err != nil || v.Result != carrier.Pass {
		t.Fatalf("VerifyPhoneWithToken from %s after a refusal = %+v, %v, want PASS", allowed.SourceIP, v, err)
	}
	// Login: the same for GetPhoneWithToken.
	sid := session(carrier.KindLogin, token.BizLogin)
	if _, err := e.svc.LoginMask(ctx, sid, ipOrigin, carrier.FrontRequest{Source: lineAddr}); err != nil {
		t.Fatal(err)
	}
	lt, err := e.svc.MintLoginToken(ctx, sid, ipOrigin, phone[3:7])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.LoginNumber(ctx, refused, lt.SPToken); !errors.Is(err, auth.ErrSourceNotAllowed) {
		t.Fatalf("GetPhoneWithToken from %s: %v, want ErrSourceNotAllowed", refused.SourceIP, err)
	}
	if got, err := e.svc.LoginNumber(ctx, allowed, lt.SPToken); err != nil || got != "+86"+phone {
		t.Fatalf("GetPhoneWithToken from %s after a refusal = %q, %v", allowed.SourceIP, got, err)
	}

	// A list stored by an older numauth that cannot be read allows nobody.
	if _, err := e.svc.IssuePageTokens(ctx, allowed, auth.PageTokenRequest{URL: garbled.URL, Origin: garbled.Origin}); !errors.Is(err, auth.ErrSourceNotAllowed) {
		t.Fatalf("GetAuthToken for a scheme with an unreadable IpWhiteList: %v, want ErrSourceNotAllowed", err)
	}
}
