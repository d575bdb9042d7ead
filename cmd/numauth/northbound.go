package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"strings"

	"github.com/numauth/numauth/internal/auth"
	camaraop "github.com/numauth/numauth/internal/camara"
	"github.com/numauth/numauth/internal/secret"
	"github.com/numauth/numauth/internal/store"
	"github.com/numauth/numauth/internal/token"
)

// publicURL is the URL clients reach this server at: --public-url, or
// http:// and --addr.
func (f serveFlags) publicURL() (string, error) {
	raw := f.publicURLFlag
	if raw == "" {
		// A listener on every interface has no one name: localhost is
		// right for a local run, and --public-url for anything else.
		addr := f.addr
		if addr == "" {
			addr = "127.0.0.1:8080"
		}
		host, port, err := net.SplitHostPort(addr)
		if err != nil {
			return "", fmt.Errorf("--addr %q: %w", addr, err)
		}
		if ip, err := netip.ParseAddr(host); host == "" || (err == nil && ip.IsUnspecified()) {
			host = "localhost"
		}
		return "http://" + net.JoinHostPort(host, port), nil
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", fmt.Errorf("--public-url %q: want an http(s) URL without query, fragment or user info", raw)
	}
	return strings.TrimSuffix(raw, "/"), nil
}

// newNorthbound builds numauth's CAMARA operator side: the OpenID provider
// and the NV API under PUBLIC_URL/camara (SPEC §7).
// trusted are the proxies whose X-Forwarded-For names the visitor that
// the per-address authorization budget counts (--trusted-proxy).
func newNorthbound(ctx context.Context, f serveFlags, svc *auth.Service, durable store.Durable, eph store.Ephemeral, box *secret.Box, trusted []netip.Prefix, log *slog.Logger) (*camaraop.Provider, error) {
	base, err := f.publicURL()
	if err != nil {
		return nil, err
	}
	if f.nvTokenTTL < 0 || f.nvTokenTTL > camaraop.MaxAccessTokenTTL {
		return nil, fmt.Errorf("--camara-access-token-ttl %s: want at most %s", f.nvTokenTTL, camaraop.MaxAccessTokenTTL)
	}
	keys, err := token.LoadOIDCKeys(ctx, durable, box)
	if err != nil {
		return nil, fmt.Errorf("camara: %w", err)
	}
	var ck [32]byte
	copy(ck[:], box.Derive("numauth camara token crypto v1", 32))
	return camaraop.New(camaraop.Config{
		Issuer: base + "/camara", Service: svc, Clients: camaraClients{svc}, Store: eph, Keys: keys,
		CryptoKey: ck, AccessTokenTTL: f.nvTokenTTL, Throttle: f.throttle, AuthorizePerSource: f.nvPerSource, TrustedProxies: trusted, Logger: log.With("api", "camara"),
	})
}

// camaraClients gives the provider the durable OAuth clients.
type camaraClients struct{ svc *auth.Service }

func (c camaraClients) Client(ctx context.Context, id string) (camaraop.ClientInfo, error) {
	oc, err := c.svc.GetOAuthClient(ctx, id)
	if err != nil && !errors.Is(err, auth.ErrOAuthClientInactive) { // a disabled client is returned, Active false
		return camaraop.ClientInfo{}, err
	}
	ci := camaraop.ClientInfo{
		ID: oc.ID, AccountID: oc.AccountID, RedirectURIs: oc.RedirectURIs, AuthMethod: oc.AuthMethod,
		Scopes: oc.Scopes, Active: oc.Status == store.KeyActive,
	}
	if oc.AuthMethod == camaraop.MethodPrivateKeyJWT {
		// Only the keys registration promises to use: strong enough, and
		// each for its own algorithm.
		if ci.Keys, err = auth.SigningJWKs(oc.JWKS); err != nil {
			return camaraop.ClientInfo{}, fmt.Errorf("client %s: its key set is unreadable: %w", oc.ID, err)
		}
	}
	return ci, nil
}

func (c camaraClients) CheckSecret(ctx context.Context, id, secret string) error {
	_, err := c.svc.CheckOAuthClientSecret(ctx, id, secret)
	return err
}
