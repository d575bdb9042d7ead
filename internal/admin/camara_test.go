package admin_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"

	"github.com/numauth/numauth/internal/store"
)

func TestCamaraClientsCreate(t *testing.T) {
	e := newEnv(t, nil)
	c := e.tokenClient()
	a := c.do("POST", "/admin/v1/camara/clients", map[string]any{"name": "shop <b>", "authMethod": "client_secret_basic",
		"redirectUris": []string{"https://shop.example/cb"}, "scopes": []string{"number-verification:verify"}})
	mustStatus(t, a, 201, "create with a secret")
	id, _ := a.body["clientId"].(string)
	secret, _ := a.body["clientSecret"].(string)
	if !strings.HasPrefix(id, "nv-") || len(secret) < 20 || a.body["status"] != "Active" || a.body["authMethod"] != "client_secret_basic" {
		t.Fatalf("created = %s", a.raw)
	}
	list := c.do("GET", "/admin/v1/camara/clients", nil)
	if !strings.Contains(list.raw, id) || strings.Contains(list.raw, secret) {
		t.Fatalf("the list does not show the client, or shows its secret: %s", list.raw)
	}
	audit := c.do("GET", "/admin/v1/audit?action=camara-clients.create", nil)
	if !strings.Contains(audit.raw, id) || strings.Contains(audit.raw, secret) {
		t.Fatalf("the audit entry lacks the client, or holds its secret: %s", audit.raw)
	}

	pub, _, _ := ed25519.GenerateKey(rand.Reader)
	jwks := map[string]any{"keys": []any{map[string]string{"kty": "OKP", "crv": "Ed25519", "kid": "k1", "x": base64.RawURLEncoding.EncodeToString(pub)}}}
	a = c.do("POST", "/admin/v1/camara/clients", map[string]any{"authMethod": "private_key_jwt", "jwks": jwks,
		"redirectUris": []string{"http://127.0.0.1:9000/cb"}})
	mustStatus(t, a, 201, "create with a key set")
	if _, has := a.body["clientSecret"]; has || a.body["authMethod"] != "private_key_jwt" {
		t.Fatalf("created = %s", a.raw)
	}

	for _, tc := range []struct {
		name string
		body any
	}{
		{"no auth method", map[string]any{"redirectUris": []string{"https://a.example/cb"}}},
		{"unknown auth method", map[string]any{"authMethod": "none", "redirectUris": []string{"https://a.example/cb"}}},
		{"no redirect URI", map[string]any{"authMethod": "client_secret_basic"}},
		{"plain http elsewhere", map[string]any{"authMethod": "client_secret_basic", "redirectUris": []string{"http://a.example/cb"}}},
		{"a fragment", map[string]any{"authMethod": "client_secret_basic", "redirectUris": []string{"https://a.example/cb#x"}}},
		{"an unknown scope", map[string]any{"authMethod": "client_secret_basic", "redirectUris": []string{"https://a.example/cb"}, "scopes": []string{"admin"}}},
		{"a secret client with keys", map[string]any{"authMethod": "client_secret_basic", "jwks": jwks, "redirectUris": []string{"https://a.example/cb"}}},
		{"a key client without keys", map[string]any{"authMethod": "private_key_jwt", "redirectUris": []string{"https://a.example/cb"}}},
		{"a key set with a private key", map[string]any{"authMethod": "private_key_jwt", "redirectUris": []string{"https://a.example/cb"},
			"jwks": map[string]any{"keys": []any{map[string]string{"kty": "OKP", "crv": "Ed25519", "x": base64.RawURLEncoding.EncodeToString(pub), "d": "AAAA"}}}}},
		{"an unknown field", map[string]any{"authMethod": "client_secret_basic", "redirectUris": []string{"https://a.example/cb"}, "secret": "mine"}},
		{"not JSON", "{"},
	} {
		if a := c.do("POST", "/admin/v1/camara/clients", tc.body); a.status != 400 || a.code() != "InvalidParameter" {
			t.Errorf("%s: %d %s, want 400 InvalidParameter", tc.name, a.status, a.raw)
		}
	}

	viewer := e.browser()
	mustStatus(t, viewer.signIn("reader", createUser(t, e.stack.Durable, "reader", store.RoleViewer)), 200, "viewer sign-in")
	if a := viewer.do("POST", "/admin/v1/camara/clients", map[string]any{"authMethod": "client_secret_basic", "redirectUris": []string{"https://a.example/cb"}}); a.status != 403 || a.code() != "Forbidden" {
		t.Errorf("a viewer's create: %d %s, want 403 Forbidden", a.status, a.raw)
	}
	if a := e.browser().do("POST", "/admin/v1/camara/clients", map[string]any{}); a.status != 401 {
		t.Errorf("without a session: %d %s, want 401", a.status, a.raw)
	}
}

func TestAccounts(t *testing.T) {
	e := newEnv(t, nil)
	c := e.tokenClient()
	mustStatus(t, c.do("POST", "/admin/v1/keys", map[string]any{"account": "shop"}), 201, "a key of shop")
	k := c.do("POST", "/admin/v1/keys", map[string]any{"account": "shop"})
	mustStatus(t, k, 201, "another key of shop")
	mustStatus(t, c.do("POST", "/admin/v1/keys/"+k.body["accessKeyId"].(string)+"/disable", nil), 204, "disable it")
	mustStatus(t, c.do("POST", "/admin/v1/schemes", map[string]any{"account": "shop", "schemeName": "s", "appName": "a", "osType": "H5",
		"origin": "https://shop.example", "url": "https://shop.example/"}), 201, "a scheme of shop")
	mustStatus(t, c.do("POST", "/admin/v1/camara/clients", map[string]any{"account": "shop", "authMethod": "client_secret_basic",
		"redirectUris": []string{"https://shop.example/cb"}}), 201, "a client of shop")
	a := c.do("GET", "/admin/v1/accounts", nil)
	mustStatus(t, a, 200, "accounts")
	got := map[string]string{}
	for _, x := range a.body["accounts"].([]any) {
		m := x.(map[string]any)
		got[m["accountId"].(string)] = fmt.Sprint(m["keys"], m["activeKeys"], m["schemes"], m["camaraClients"])
	}
	if got["shop"] != "2 1 1 1" || got["default"] == "" || len(got) != 2 {
		t.Fatalf("accounts = %s", a.raw)
	}
	viewer := e.browser()
	mustStatus(t, viewer.signIn("reader", createUser(t, e.stack.Durable, "reader", store.RoleViewer)), 200, "viewer sign-in")
	mustStatus(t, viewer.do("GET", "/admin/v1/accounts", nil), 200, "a viewer lists accounts")
}
