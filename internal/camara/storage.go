package camara

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/numauth/numauth/internal/auth"
	"github.com/numauth/numauth/internal/store"
	"github.com/numauth/numauth/internal/token"
)

// Ephemeral key prefixes of the provider (the others are listed in
// internal/auth/session.go).
const (
	kAuthRequest = "nv:ar:"   // an identified authorization, until its code is exchanged
	kCode        = "nv:code:" // SHA-256 of a code → its auth request's ID, taken once
	kAccessToken = "nv:at:"   // an access token's grant, taken by the one NV call it serves
	kAssertion   = "nv:jti:"  // client assertions seen (client ID and jti), until they expire
)

// Ephemeral is what the provider needs of the ephemeral store.
type Ephemeral interface {
	Put(ctx context.Context, key string, value []byte, ttl time.Duration) error
	PutIfAbsent(ctx context.Context, key string, value []byte, ttl time.Duration) (bool, error)
	Get(ctx context.Context, key string) ([]byte, error)
	Take(ctx context.Context, key string) ([]byte, error)
	Delete(ctx context.Context, key string) error
	Ping(ctx context.Context) error
}

// authRequest is one authorization that the carrier identified. It is
// created Done: numauth's authorization endpoint has no login step.
type authRequest struct {
	ID              string                   `json:"id"`
	ClientID        string                   `json:"cid"`
	AccountID       string                   `json:"acct"`
	RedirectURI     string                   `json:"ru"`
	State           string                   `json:"st,omitempty"`
	Nonce           string                   `json:"nonce,omitempty"`
	Scopes          []string                 `json:"sc"`
	Ops             []operation              `json:"ops"`
	ResponseMode    oidc.ResponseMode        `json:"rm,omitempty"`
	Challenge       string                   `json:"cc"`
	ChallengeMethod oidc.CodeChallengeMethod `json:"ccm"`
	Subject         string                   `json:"sub"`
	AuthTime        time.Time                `json:"at"`
	Grant           auth.NetworkGrant        `json:"g"`
	done            bool
}

// amrNetwork is the authentication method reference of network-based
// authentication, as CAMARA's flows name it.
const amrNetwork = "nba"

func (a *authRequest) GetID() string                      { return a.ID }
func (a *authRequest) GetACR() string                     { return "" }
func (a *authRequest) GetAMR() []string                   { return []string{amrNetwork} }
func (a *authRequest) GetAudience() []string              { return []string{a.ClientID} }
func (a *authRequest) GetAuthTime() time.Time             { return a.AuthTime }
func (a *authRequest) GetClientID() string                { return a.ClientID }
func (a *authRequest) GetNonce() string                   { return a.Nonce }
func (a *authRequest) GetRedirectURI() string             { return a.RedirectURI }
func (a *authRequest) GetResponseType() oidc.ResponseType { return oidc.ResponseTypeCode }
func (a *authRequest) GetResponseMode() oidc.ResponseMode { return a.ResponseMode }
func (a *authRequest) GetScopes() []string                { return a.Scopes }
func (a *authRequest) GetState() string                   { return a.State }
func (a *authRequest) GetSubject() string                 { return a.Subject }
func (a *authRequest) Done() bool                         { return a.done }
func (a *authRequest) GetCodeChallenge() *oidc.CodeChallenge {
	return &oidc.CodeChallenge{Challenge: a.Challenge, Method: a.ChallengeMethod}
}

// accessGrant is what an access token stands for.
type accessGrant struct {
	ClientID  string            `json:"cid"`
	AccountID string            `json:"acct"`
	Subject   string            `json:"sub"`
	Ops       []operation       `json:"ops"`
	Scopes    []string          `json:"sc"`
	Grant     auth.NetworkGrant `json:"g"`
	AuthTime  time.Time         `json:"auth"`
	Expires   time.Time         `json:"exp"`
}

// storage implements op.Storage over the ephemeral store, the clients and
// the OpenID keys.
type storage struct {
	eph       Ephemeral
	clients   clients
	keys      *token.OIDCKeys
	codeTTL   time.Duration
	accessTTL time.Duration
	now       func() time.Time
}

var _ op.Storage = (*storage)(nil)

// storageErr turns a store failure into the OAuth error the client sees:
// temporarily_unavailable (answered 503), never a bare 500.
func storageErr(what string, err error) error {
	return op.NewStatusError(&oidc.Error{ErrorType: "temporarily_unavailable", Description: "the authorization server is temporarily unavailable", Parent: fmt.Errorf("%s: %w", what, err)}, 503)
}

func (s *storage) putAuthRequest(ctx context.Context, a *authRequest) error {
	b, err := json.Marshal(a)
	if err != nil {
		return err
	}
	if err := s.eph.Put(ctx, kAuthRequest+a.ID, b, s.codeTTL); err != nil {
		return storageErr("store auth request", err)
	}
	return nil
}

// CreateAuthRequest stores a request that no login step will ever complete:
// numauth's authorization endpoint (server.Authorize) identifies the line
// itself and stores identified requests only. A request stored through
// here is never Done, so it never yields a code.
func (s *storage) CreateAuthRequest(ctx context.Context, r *oidc.AuthRequest, _ string) (op.AuthRequest, error) {
	a := &authRequest{ID: token.NewID(), ClientID: r.ClientID, RedirectURI: r.RedirectURI, State: r.State, Nonce: r.Nonce,
		Scopes: r.Scopes, ResponseMode: r.ResponseMode, Challenge: r.CodeChallenge, ChallengeMethod: r.CodeChallengeMethod}
	if err := s.putAuthRequest(ctx, a); err != nil {
		return nil, err
	}
	return a, nil
}

func (s *storage) AuthRequestByID(ctx context.Context, id string) (op.AuthRequest, error) {
	b, err := s.eph.Get(ctx, kAuthRequest+id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, oidc.ErrInvalidRequest().WithDescription("unknown or expired authorization request")
	}
	if err != nil {
		return nil, storageErr("read auth request", err)
	}
	var a authRequest
	if err := json.Unmarshal(b, &a); err != nil {
		return nil, oidc.ErrInvalidRequest().WithDescription("unknown or expired authorization request")
	}
	a.done = a.Subject != ""
	return &a, nil
}

func codeKey(code string) string {
	h := sha256.Sum256([]byte(code))
	return kCode + hex.EncodeToString(h[:])
}

// AuthRequestByCode takes the code: of many concurrent exchanges of one
// code, exactly one finds it.
func (s *storage) AuthRequestByCode(ctx context.Context, code string) (op.AuthRequest, error) {
	id, err := s.eph.Take(ctx, codeKey(code))
	if errors.Is(err, store.ErrNotFound) {
		return nil, oidc.ErrInvalidGrant().WithDescription("the code is invalid, expired or used")
	}
	if err != nil {
		return nil, storageErr("take code", err)
	}
	a, err := s.AuthRequestByID(ctx, string(id))
	if err != nil {
		var oe *oidc.Error
		if errors.As(err, &oe) && oe.ErrorType == oidc.InvalidRequest {
			return nil, oidc.ErrInvalidGrant().WithDescription("the code is invalid, expired or used")
		}
		return nil, err
	}
	return a, nil
}

func (s *storage) SaveAuthCode(ctx context.Context, id, code string) error {
	if err := s.eph.Put(ctx, codeKey(code), []byte(id), s.codeTTL); err != nil {
		return storageErr("store code", err)
	}
	return nil
}

func (s *storage) DeleteAuthRequest(ctx context.Context, id string) error {
	if err := s.eph.Delete(ctx, kAuthRequest+id); err != nil {
		return storageErr("delete auth request", err)
	}
	return nil
}

// CreateAccessToken stores the grant an access token stands for, for at
// most accessTTL; the NV call it serves takes it.
func (s *storage) CreateAccessToken(ctx context.Context, tr op.TokenRequest) (string, time.Time, error) {
	a, ok := tr.(*authRequest)
	if !ok || !a.done {
		return "", time.Time{}, oidc.ErrInvalidGrant().WithDescription("only the authorization code grant is offered")
	}
	exp := s.now().Add(s.accessTTL).Truncate(time.Second)
	g := accessGrant{ClientID: a.ClientID, AccountID: a.AccountID, Subject: a.Subject, Ops: a.Ops, Scopes: a.Scopes, Grant: a.Grant, AuthTime: a.AuthTime, Expires: exp}
	b, err := json.Marshal(g)
	if err != nil {
		return "", time.Time{}, err
	}
	id := token.NewID()
	if err := s.eph.Put(ctx, kAccessToken+id, b, s.accessTTL); err != nil {
		return "", time.Time{}, storageErr("store access token", err)
	}
	return id, exp, nil
}

func (s *storage) CreateAccessAndRefreshTokens(context.Context, op.TokenRequest, string) (string, string, time.Time, error) {
	return "", "", time.Time{}, oidc.ErrUnsupportedGrantType().WithDescription("refresh tokens are not offered")
}

func (s *storage) TokenRequestByRefreshToken(context.Context, string) (op.RefreshTokenRequest, error) {
	return nil, op.ErrInvalidRefreshToken
}

func (s *storage) GetRefreshTokenInfo(context.Context, string, string) (string, string, error) {
	return "", "", op.ErrInvalidRefreshToken
}

// TerminateSession has nothing to end: the provider keeps no login
// sessions (every authorization identifies the line anew).
func (s *storage) TerminateSession(context.Context, string, string) error { return nil }

// RevokeToken withdraws an access token (RFC 7009).
func (s *storage) RevokeToken(ctx context.Context, tokenID, _, clientID string) *oidc.Error {
	b, err := s.eph.Get(ctx, kAccessToken+tokenID)
	if errors.Is(err, store.ErrNotFound) {
		return nil // unknown tokens are revoked already (RFC 7009 §2.2)
	}
	if err != nil {
		return oidc.ErrServerError().WithParent(err)
	}
	var g accessGrant
	if json.Unmarshal(b, &g) == nil && g.ClientID != clientID {
		return oidc.ErrInvalidClient().WithDescription("the token was issued to another client")
	}
	if err := s.eph.Delete(ctx, kAccessToken+tokenID); err != nil {
		return oidc.ErrServerError().WithParent(err)
	}
	return nil
}

func (s *storage) SigningKey(context.Context) (op.SigningKey, error) {
	return signingKey{s.keys.Current()}, nil
}

func (s *storage) SignatureAlgorithms(context.Context) ([]jose.SignatureAlgorithm, error) {
	return []jose.SignatureAlgorithm{jose.RS256}, nil
}

func (s *storage) KeySet(context.Context) ([]op.Key, error) {
	all := s.keys.All()
	out := make([]op.Key, len(all))
	for i, k := range all {
		out[i] = publicKey{k}
	}
	return out, nil
}

type signingKey struct{ k token.OIDCKey }

func (k signingKey) SignatureAlgorithm() jose.SignatureAlgorithm { return jose.RS256 }
func (k signingKey) Key() any                                    { return k.k.Priv }
func (k signingKey) ID() string                                  { return k.k.ID }

type publicKey struct{ k token.OIDCKey }

func (k publicKey) ID() string                         { return k.k.ID }
func (k publicKey) Algorithm() jose.SignatureAlgorithm { return jose.RS256 }
func (k publicKey) Use() string                        { return "sig" }
func (k publicKey) Key() any                           { return k.k.Pub }

func (s *storage) GetClientByClientID(ctx context.Context, id string) (op.Client, error) {
	c, err := s.clients.LookupClient(ctx, id)
	if err != nil {
		return nil, clientErr(err)
	}
	return c, nil
}

func (s *storage) AuthorizeClientIDSecret(ctx context.Context, id, secret string) error {
	if err := s.clients.CheckClientSecret(ctx, id, secret); err != nil {
		return clientErr(err)
	}
	return nil
}

// clientErr maps a client lookup's failure: unknown or disabled clients are
// invalid_client; a store outage is temporarily_unavailable.
func clientErr(err error) error {
	if errors.Is(err, auth.ErrUnavailable) || errors.Is(err, store.ErrUnavailable) {
		return storageErr("read client", err)
	}
	return oidc.ErrInvalidClient().WithDescription("unknown client, disabled client, or wrong credentials").WithParent(err)
}

// The ID token and userinfo name the subject only: a one-time pseudonym of
// the authorization, never the number (the number is disclosed only
// through the share operation, to a client the line granted it to).
func (s *storage) SetUserinfoFromScopes(_ context.Context, u *oidc.UserInfo, userID, _ string, _ []string) error {
	u.Subject = userID
	return nil
}

func (s *storage) SetUserinfoFromToken(ctx context.Context, u *oidc.UserInfo, tokenID, subject, _ string) error {
	if _, err := s.accessGrant(ctx, tokenID); err != nil {
		return err
	}
	u.Subject = subject
	return nil
}

func (s *storage) SetIntrospectionFromToken(ctx context.Context, r *oidc.IntrospectionResponse, tokenID, subject, clientID string) error {
	g, err := s.accessGrant(ctx, tokenID)
	if err != nil {
		return err
	}
	if g.ClientID != clientID {
		return oidc.ErrInvalidClient().WithDescription("the token was issued to another client")
	}
	r.Active, r.Subject, r.ClientID, r.Scope = true, subject, g.ClientID, oidc.SpaceDelimitedArray(g.Scopes)
	r.Expiration, r.AuthTime = oidc.FromTime(g.Expires), oidc.FromTime(g.AuthTime)
	// The token stands for a network-based authentication (CAMARA's amr).
	r.AuthenticationMethodsReferences = []string{amrNetwork}
	return nil
}

func (s *storage) accessGrant(ctx context.Context, tokenID string) (accessGrant, error) {
	b, err := s.eph.Get(ctx, kAccessToken+tokenID)
	if errors.Is(err, store.ErrNotFound) {
		return accessGrant{}, oidc.ErrInvalidRequest().WithDescription("the access token is invalid, expired or used")
	}
	if err != nil {
		return accessGrant{}, storageErr("read access token", err)
	}
	var g accessGrant
	if err := json.Unmarshal(b, &g); err != nil || !s.now().Before(g.Expires) {
		return accessGrant{}, oidc.ErrInvalidRequest().WithDescription("the access token is invalid or expired")
	}
	return g, nil
}

func (s *storage) GetPrivateClaimsFromScopes(context.Context, string, string, []string) (map[string]any, error) {
	return nil, nil
}

// GetKeyByIDAndClientID returns one of a private_key_jwt client's public
// keys by its key ID.
func (s *storage) GetKeyByIDAndClientID(ctx context.Context, keyID, clientID string) (*jose.JSONWebKey, error) {
	c, err := s.clients.LookupClient(ctx, clientID)
	if err != nil {
		return nil, clientErr(err)
	}
	for _, k := range c.info.Keys {
		if k.KeyID == keyID {
			return &k, nil
		}
	}
	return nil, oidc.ErrInvalidClient().WithDescription("unknown key")
}

// ValidateJWTProfileScopes: the JWT bearer grant (RFC 7523 §2.1) is not
// offered; tokens are issued for network-authenticated lines only.
func (s *storage) ValidateJWTProfileScopes(context.Context, string, []string) ([]string, error) {
	return nil, oidc.ErrUnsupportedGrantType().WithDescription("the JWT bearer grant is not offered")
}

func (s *storage) Health(ctx context.Context) error { return s.eph.Ping(ctx) }
