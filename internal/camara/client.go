package camara

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// Client authentication methods.
const (
	MethodPrivateKeyJWT = "private_key_jwt"
	MethodSecretBasic   = "client_secret_basic"
)

// ClientInfo is a registered client as the provider needs it.
type ClientInfo struct {
	ID           string
	AccountID    string
	RedirectURIs []string
	AuthMethod   string   // MethodPrivateKeyJWT or MethodSecretBasic
	JWKS         []byte   // private_key_jwt: the client's public keys
	Scopes       []string // allowed scopes; empty: every NV scope
	Active       bool
}

// Clients is where the provider finds its clients.
type Clients interface {
	// Client returns an active or inactive client; an unknown one is an
	// error (any), a store outage one wrapping auth.ErrUnavailable.
	Client(ctx context.Context, id string) (ClientInfo, error)
	// CheckSecret checks a client_secret_basic client's secret.
	CheckSecret(ctx context.Context, id, secret string) error
}

// clients wraps Clients: only active clients exist for the provider, and a
// private_key_jwt client's key set is parsed once per lookup.
type clients struct{ Clients }

var errInactive = errors.New("the client is disabled")

func (c clients) LookupClient(ctx context.Context, id string) (*client, error) {
	info, err := c.Client(ctx, id)
	if err != nil {
		return nil, err
	}
	if !info.Active {
		return nil, errInactive
	}
	cl := &client{info: info}
	if info.AuthMethod == MethodPrivateKeyJWT {
		if err := json.Unmarshal(info.JWKS, &cl.keys); err != nil {
			return nil, fmt.Errorf("the client's key set is unreadable: %w", err)
		}
	}
	return cl, nil
}

func (c clients) CheckClientSecret(ctx context.Context, id, secret string) error {
	cl, err := c.LookupClient(ctx, id)
	if err != nil {
		return err
	}
	if cl.info.AuthMethod != MethodSecretBasic {
		return errors.New("the client authenticates with private_key_jwt")
	}
	return c.CheckSecret(ctx, id, secret)
}

// client is a ClientInfo as zitadel's op.Client.
type client struct {
	info ClientInfo
	keys jose.JSONWebKeySet
}

var _ op.Client = (*client)(nil)

func (c *client) GetID() string                       { return c.info.ID }
func (c *client) RedirectURIs() []string              { return c.info.RedirectURIs }
func (c *client) PostLogoutRedirectURIs() []string    { return nil }
func (c *client) ApplicationType() op.ApplicationType { return op.ApplicationTypeWeb }
func (c *client) AuthMethod() oidc.AuthMethod {
	if c.info.AuthMethod == MethodPrivateKeyJWT {
		return oidc.AuthMethodPrivateKeyJWT
	}
	return oidc.AuthMethodBasic
}
func (c *client) ResponseTypes() []oidc.ResponseType {
	return []oidc.ResponseType{oidc.ResponseTypeCode}
}
func (c *client) GrantTypes() []oidc.GrantType        { return []oidc.GrantType{oidc.GrantTypeCode} }
func (c *client) LoginURL(string) string              { return "" } // no login step: see server.Authorize
func (c *client) AccessTokenType() op.AccessTokenType { return op.AccessTokenTypeBearer }
func (c *client) IDTokenLifetime() time.Duration      { return 5 * time.Minute }
func (c *client) DevMode() bool                       { return false }
func (c *client) RestrictAdditionalIdTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}
func (c *client) RestrictAdditionalAccessTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}

// IsScopeAllowed lets every scope through zitadel's filter: grantedOps
// refuses the unknown and the disallowed ones with invalid_scope, which
// CAMARA asks for, instead of dropping them.
func (c *client) IsScopeAllowed(string) bool           { return true }
func (c *client) IDTokenUserinfoClaimsAssertion() bool { return false }
func (c *client) ClockSkew() time.Duration             { return 0 }

// Client assertion rules (CAMARA-Security-Interoperability, "Client
// Authentication"; RFC 7523 §3).
const (
	maxAssertionLife = 300 * time.Second
	assertionLeeway  = 5 * time.Second
	maxAssertionLen  = 8 << 10
)

// assertionAlgs are the signature algorithms accepted in client assertions.
var assertionAlgs = []jose.SignatureAlgorithm{jose.RS256, jose.PS256, jose.ES256, jose.EdDSA}

// verifyAssertion checks a private_key_jwt client assertion and returns its
// client: signed by one of the client's keys, iss = sub = client_id, aud
// naming one of audiences (the token endpoint or the issuer), exp in the
// future and at most 300 s ahead, iat (if present) not in the future and
// at most 300 s before exp, and a jti not seen before (remembered until
// the assertion expires, across instances). Every failure is invalid_client.
func (p *Provider) verifyAssertion(ctx context.Context, assertion string, audiences []string) (*client, error) {
	bad := func(why string) error { return oidc.ErrInvalidClient().WithDescription("client assertion: %s", why) }
	if len(assertion) > maxAssertionLen {
		return nil, bad("too long")
	}
	tok, err := jwt.ParseSigned(assertion, assertionAlgs)
	if err != nil {
		return nil, bad("not a signed JWT with an accepted algorithm")
	}
	var unverified jwt.Claims
	if err := tok.UnsafeClaimsWithoutVerification(&unverified); err != nil {
		return nil, bad("unreadable claims")
	}
	if unverified.Issuer == "" || unverified.Subject != unverified.Issuer {
		return nil, bad("iss and sub must both be the client_id")
	}
	cl, err := p.storage.clients.LookupClient(ctx, unverified.Issuer)
	if err != nil {
		if e := clientErr(err); !errors.As(e, new(*oidc.Error)) {
			return nil, e
		}
		return nil, bad("unknown or disabled client")
	}
	if cl.info.AuthMethod != MethodPrivateKeyJWT {
		return nil, bad("the client authenticates with client_secret_basic")
	}
	var claims jwt.Claims
	verified := false
	for _, h := range tok.Headers {
		keys := cl.keys.Keys
		if h.KeyID != "" {
			keys = cl.keys.Key(h.KeyID)
		}
		for _, k := range keys {
			if k.Use != "" && k.Use != "sig" {
				continue
			}
			if tok.Claims(k.Key, &claims) == nil {
				verified = true
				break
			}
		}
	}
	if !verified {
		return nil, bad("the signature is not by one of the client's keys")
	}
	now := p.now()
	if !slices.ContainsFunc(audiences, func(a string) bool { return claims.Audience.Contains(a) }) {
		return nil, bad("aud must name the token endpoint or the issuer")
	}
	if claims.Expiry == nil {
		return nil, bad("exp is required")
	}
	exp := claims.Expiry.Time()
	switch {
	case !now.Before(exp.Add(assertionLeeway)):
		return nil, bad("expired")
	case exp.Sub(now) > maxAssertionLife+assertionLeeway:
		return nil, bad("exp is more than 300 s ahead")
	}
	if claims.IssuedAt != nil {
		iat := claims.IssuedAt.Time()
		if iat.After(now.Add(assertionLeeway)) {
			return nil, bad("iat is in the future")
		}
		if exp.Sub(iat) > maxAssertionLife {
			return nil, bad("exp is more than 300 s after iat")
		}
	}
	if claims.ID == "" || len(claims.ID) > 256 {
		return nil, bad("jti is required")
	}
	ttl := exp.Sub(now) + assertionLeeway
	fresh, err := p.storage.eph.PutIfAbsent(ctx, kAssertion+cl.info.ID+":"+claims.ID, []byte{1}, ttl)
	if err != nil {
		return nil, storageErr("remember client assertion", err)
	}
	if !fresh {
		return nil, bad("jti was used before (a replayed assertion)")
	}
	return cl, nil
}
