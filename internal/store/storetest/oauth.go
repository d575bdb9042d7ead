package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/numauth/numauth/internal/store"
)

// oauthTests are the suite's tests of OAuth clients (the CAMARA
// northbound API's relying parties).
var oauthTests = []durableTest{
	{"OAuthClientRoundTrip", testOAuthClientRoundTrip},
	{"OAuthClientConflict", testOAuthClientConflict},
	{"OAuthClientNotFound", testOAuthClientNotFound},
	{"OAuthClientList", testOAuthClientList},
	{"OAuthClientActive", testOAuthClientActive},
	{"OAuthClientHostileText", testOAuthClientHostileText},
}

func oauthClient(id, account string, at time.Time) store.OAuthClient {
	return store.OAuthClient{
		ID:           id,
		AccountID:    account,
		Name:         "客户端 " + id,
		RedirectURIs: []string{"https://rp.example.com/cb", "http://127.0.0.1:8400/callback?x=1"},
		AuthMethod:   "private_key_jwt",
		JWKS:         []byte(`{"keys":[{"kty":"EC","crv":"P-256","x":"x","y":"y","use":"sig","alg":"ES256"}]}`),
		Scopes:       []string{"openid", "dpv:FraudPreventionAndDetection#number-verification-verify-read"},
		Status:       store.KeyActive,
		CreatedAt:    at,
	}
}

// checkOAuthClient compares as checkSame does, and also holds the backend
// to the contract that "none" reads back as nil.
func checkOAuthClient(t *testing.T, what string, got, want store.OAuthClient) {
	t.Helper()
	checkSame(t, what, got, want)
	for _, f := range []struct {
		name      string
		got, want bool
	}{
		{"RedirectURIs", got.RedirectURIs == nil, want.RedirectURIs == nil},
		{"JWKS", got.JWKS == nil, want.JWKS == nil},
		{"SecretHash", got.SecretHash == nil, want.SecretHash == nil},
		{"Scopes", got.Scopes == nil, want.Scopes == nil},
	} {
		if f.got != f.want {
			t.Errorf("%s: %s is nil: %v, want %v (an empty value reads back as nil, a set one as set)", what, f.name, f.got, f.want)
		}
	}
}

func testOAuthClientRoundTrip(t *testing.T, s store.Durable) {
	ctx := ctxFor(t)
	jwt := oauthClient("nv-jwt", "acct-1", base)

	basic := oauthClient("nv-basic", "acct-1", base.Add(time.Second))
	basic.AuthMethod, basic.JWKS, basic.Scopes = "client_secret_basic", nil, nil
	basic.SecretHash = []byte{0, 0xff, 0x10, 0, 'h', 0x80, 0x7f, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
	basic.Status, basic.Name = store.KeyInactive, ""

	// Empty but not nil: stored as "none", read back as nil.
	empty := oauthClient("nv-empty", "acct-1", base.Add(2*time.Second))
	empty.RedirectURIs, empty.JWKS, empty.SecretHash, empty.Scopes = []string{}, []byte{}, []byte{}, []string{}
	wantEmpty := empty
	wantEmpty.RedirectURIs, wantEmpty.JWKS, wantEmpty.SecretHash, wantEmpty.Scopes = nil, nil, nil, nil

	// One scope that is the empty string is a list of one, not none; the
	// order of a list is kept.
	odd := oauthClient("nv-odd", "acct-1", base.Add(3*time.Second))
	odd.Scopes = []string{""}
	odd.RedirectURIs = []string{"https://z.example/cb", "https://a.example/cb", "https://z.example/cb"}

	for _, tc := range []struct{ in, want store.OAuthClient }{{jwt, jwt}, {basic, basic}, {empty, wantEmpty}, {odd, odd}} {
		must(t, s.CreateOAuthClient(ctx, tc.in), "CreateOAuthClient "+tc.in.ID)
		got, err := s.GetOAuthClient(ctx, tc.in.ID)
		must(t, err, "GetOAuthClient "+tc.in.ID)
		checkOAuthClient(t, "OAuth client "+tc.in.ID, got, tc.want)
	}
	got, err := s.ListOAuthClients(ctx, "acct-1")
	must(t, err, "ListOAuthClients")
	if checkList(t, "ListOAuthClients", got, []store.OAuthClient{jwt, basic, wantEmpty, odd}) {
		checkOAuthClient(t, "listed "+basic.ID, got[1], basic)
		checkOAuthClient(t, "listed "+empty.ID, got[2], wantEmpty)
	}
}

func testOAuthClientConflict(t *testing.T, s store.Durable) {
	ctx := ctxFor(t)
	c := oauthClient("nv-1", "acct-1", base)
	must(t, s.CreateOAuthClient(ctx, c), "CreateOAuthClient")
	c2 := oauthClient("nv-1", "acct-2", base.Add(time.Hour))
	c2.AuthMethod, c2.JWKS, c2.SecretHash = "client_secret_basic", nil, []byte("other")
	mustIs(t, s.CreateOAuthClient(ctx, c2), store.ErrConflict, "CreateOAuthClient duplicate")
	got, err := s.GetOAuthClient(ctx, c.ID)
	must(t, err, "GetOAuthClient")
	checkOAuthClient(t, "OAuth client after conflict", got, c)
	// An AccessKey of the same id is another kind of record.
	must(t, s.CreateAccessKey(ctx, accessKey(c.ID, base)), "CreateAccessKey with an OAuth client's id")
}

func testOAuthClientNotFound(t *testing.T, s store.Durable) {
	ctx := ctxFor(t)
	_, err := s.GetOAuthClient(ctx, "nope")
	mustIs(t, err, store.ErrNotFound, "GetOAuthClient absent")
	mustIs(t, s.SetOAuthClientActive(ctx, "nope", false), store.ErrNotFound, "SetOAuthClientActive absent")
	mustIs(t, s.SetOAuthClientActive(ctx, "nope", true), store.ErrNotFound, "SetOAuthClientActive(true) absent")
	for _, account := range []string{"", "acct-1"} {
		cs, err := s.ListOAuthClients(ctx, account)
		must(t, err, "ListOAuthClients empty")
		if len(cs) != 0 {
			t.Fatalf("ListOAuthClients(%q) on an empty store: %d clients", account, len(cs))
		}
	}
	// An id that differs only in case is another client.
	must(t, s.CreateOAuthClient(ctx, oauthClient("nv-A", "acct-1", base)), "CreateOAuthClient")
	_, err = s.GetOAuthClient(ctx, "nv-a")
	mustIs(t, err, store.ErrNotFound, "GetOAuthClient of another case")
	_, err = s.GetOAuthClient(ctx, "nv-A ")
	mustIs(t, err, store.ErrNotFound, "GetOAuthClient with a trailing space")
}

func testOAuthClientList(t *testing.T, s store.Durable) {
	ctx := ctxFor(t)
	// Inserted out of order; two share a CreatedAt, so ID breaks the tie.
	// "acct-1%" and "ACCT-1" would match acct-1 under LIKE or a
	// case-insensitive collation.
	cs := []store.OAuthClient{
		oauthClient("nv-c", "acct-1", base),
		oauthClient("nv-a", "acct-2", base.Add(time.Microsecond)),
		oauthClient("nv-b", "acct-1", base.Add(time.Microsecond)),
		oauthClient("nv-0", "acct-1", base.Add(time.Hour)),
		oauthClient("nv-pct", "acct-1%", base.Add(2*time.Hour)),
		oauthClient("nv-upper", "ACCT-1", base.Add(3*time.Hour)),
	}
	for _, i := range []int{3, 1, 5, 0, 4, 2} {
		must(t, s.CreateOAuthClient(ctx, cs[i]), "CreateOAuthClient "+cs[i].ID)
	}
	for _, tc := range []struct {
		account string
		want    []store.OAuthClient
	}{
		{"", []store.OAuthClient{cs[0], cs[1], cs[2], cs[3], cs[4], cs[5]}},
		{"acct-1", []store.OAuthClient{cs[0], cs[2], cs[3]}},
		{"acct-2", []store.OAuthClient{cs[1]}},
		{"acct-1%", []store.OAuthClient{cs[4]}},
		{"acct-%", nil},
		{"acct", nil},
	} {
		got, err := s.ListOAuthClients(ctx, tc.account)
		must(t, err, "ListOAuthClients")
		checkList(t, fmt.Sprintf("ListOAuthClients(%q)", tc.account), got, tc.want)
	}
}

func testOAuthClientActive(t *testing.T, s store.Durable) {
	ctx := ctxFor(t)
	c := oauthClient("nv-1", "acct-1", base)
	other := oauthClient("nv-2", "acct-1", base)
	must(t, s.CreateOAuthClient(ctx, c), "CreateOAuthClient")
	must(t, s.CreateOAuthClient(ctx, other), "CreateOAuthClient other")
	for _, active := range []bool{false, false, true, true, false} {
		must(t, s.SetOAuthClientActive(ctx, c.ID, active), fmt.Sprintf("SetOAuthClientActive(%v)", active))
		c.Status = store.KeyInactive
		if active {
			c.Status = store.KeyActive
		}
		got, err := s.GetOAuthClient(ctx, c.ID)
		must(t, err, "GetOAuthClient")
		checkOAuthClient(t, fmt.Sprintf("OAuth client after SetOAuthClientActive(%v)", active), got, c)
		list, err := s.ListOAuthClients(ctx, "acct-1")
		must(t, err, "ListOAuthClients")
		checkList(t, "ListOAuthClients", list, []store.OAuthClient{c, other})
	}
}

// testOAuthClientHostileText stores text that breaks naive quoting (SQL,
// JSON, array literals) and checks that it comes back byte for byte.
func testOAuthClientHostileText(t *testing.T, s store.Durable) {
	ctx := ctxFor(t)
	hostile := []string{
		`'; DROP TABLE oauth_clients; --`,
		`"quoted", {braced}, [bracketed]`,
		`back\slash \" \\ \u0041`,
		`{"a,b",NULL}`,
		"NULL",
		"null",
		"%_*?",
		"tab\tnew\nline\r",
		"Ωmega 客户端 🔑 e\u0301",
		" leading and trailing ",
	}
	for i, h := range hostile {
		c := oauthClient(fmt.Sprintf("nv-%d-%s", i, h), "acct-"+h, base.Add(time.Duration(i)*time.Second))
		c.Name = h
		c.AuthMethod = h
		c.RedirectURIs = []string{h, "https://rp.example/cb?" + h, ""}
		c.Scopes = []string{h, h, "openid"}
		c.JWKS = []byte(h)
		c.SecretHash = []byte(h + "\x00\xff")
		must(t, s.CreateOAuthClient(ctx, c), fmt.Sprintf("CreateOAuthClient %q", c.ID))
		got, err := s.GetOAuthClient(ctx, c.ID)
		must(t, err, fmt.Sprintf("GetOAuthClient %q", c.ID))
		checkOAuthClient(t, fmt.Sprintf("OAuth client %q", c.ID), got, c)
		list, err := s.ListOAuthClients(ctx, c.AccountID)
		must(t, err, fmt.Sprintf("ListOAuthClients(%q)", c.AccountID))
		checkList(t, fmt.Sprintf("ListOAuthClients(%q)", c.AccountID), list, []store.OAuthClient{c})
	}
	all, err := s.ListOAuthClients(ctx, "")
	must(t, err, "ListOAuthClients all")
	if len(all) != len(hostile) {
		t.Fatalf("ListOAuthClients: %d clients, want %d", len(all), len(hostile))
	}
}
