package camara

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/numauth/numauth/internal/auth"
	"github.com/numauth/numauth/internal/carrier"
	"github.com/numauth/numauth/internal/ipset"
	"github.com/numauth/numauth/internal/token"
)

// Service is what the provider needs of numauth's rules (internal/auth).
type Service interface {
	IdentifyNetwork(ctx context.Context, front carrier.FrontRequest, kinds ...carrier.Kind) (auth.NetworkGrant, error)
	NetworkVerify(ctx context.Context, c auth.NetworkCaller, g auth.NetworkGrant, phone string) (bool, error)
	NetworkVerifyHashed(ctx context.Context, c auth.NetworkCaller, g auth.NetworkGrant, hash string) (bool, error)
	NetworkNumber(ctx context.Context, c auth.NetworkCaller, g auth.NetworkGrant) (string, error)
	Throttle(ctx context.Context, keyID string, perSecond int) error
}

// Config configures the provider.
type Config struct {
	// Issuer is the provider's issuer URL as clients know it, e.g.
	// "https://nv.example.com/camara". The handler serves the paths under
	// the issuer's path.
	Issuer  string
	Service Service
	Clients Clients
	Store   Ephemeral
	Keys    *token.OIDCKeys
	// CryptoKey encrypts access tokens and codes (every instance of one
	// deployment needs the same key).
	CryptoKey [32]byte
	// AccessTokenTTL is an access token's lifetime: at most and by default
	// 300 s.
	AccessTokenTTL time.Duration
	// CodeTTL bounds the time from authorization to code exchange; default
	// 2 min.
	CodeTTL time.Duration
	// Throttle is the NV calls per second one client may make across all
	// instances (0: unlimited), as --throttle is for an AccessKey; it
	// bounds the client's authorizations per second too.
	Throttle int
	// AuthorizePerSource bounds the authorizations per second from one
	// address (each costs carrier front-leg calls); default 50 (one
	// carrier NAT address serves many phones), negative: none.
	AuthorizePerSource int
	// TrustedProxies are the proxies whose X-Forwarded-For names the
	// address AuthorizePerSource counts.
	TrustedProxies []netip.Prefix
	Logger         *slog.Logger
	Now            func() time.Time
}

// MaxAccessTokenTTL is the longest an access token lives (SPEC §7).
const MaxAccessTokenTTL = 300 * time.Second

// Provider is numauth's OpenID provider and NV API.
type Provider struct {
	cfg      Config
	storage  *storage
	op       *op.Provider
	handler  http.Handler
	basePath string
	now      func() time.Time
}

// New builds the provider.
func New(cfg Config) (*Provider, error) {
	if cfg.AccessTokenTTL <= 0 || cfg.AccessTokenTTL > MaxAccessTokenTTL {
		cfg.AccessTokenTTL = MaxAccessTokenTTL
	}
	if cfg.CodeTTL <= 0 {
		cfg.CodeTTL = 2 * time.Minute
	}
	if cfg.AuthorizePerSource == 0 {
		cfg.AuthorizePerSource = 50
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Service == nil || cfg.Clients == nil || cfg.Store == nil || cfg.Keys == nil {
		return nil, errors.New("camara: Service, Clients, Store and Keys are required")
	}
	iss := strings.TrimSuffix(cfg.Issuer, "/")
	base, err := issuerPath(iss)
	if err != nil {
		return nil, err
	}
	st := &storage{eph: cfg.Store, clients: clients{cfg.Clients}, keys: cfg.Keys,
		codeTTL: cfg.CodeTTL, accessTTL: cfg.AccessTokenTTL, now: cfg.Now}
	opCfg := &op.Config{
		CryptoKey:               cfg.CryptoKey,
		CodeMethodS256:          true,
		AuthMethodPrivateKeyJWT: true,
		SupportedScopes:         AllScopes,
		SupportedClaims:         []string{"sub", "aud", "exp", "iat", "iss", "auth_time", "nonce", "amr", "azp", "at_hash", "c_hash"},
	}
	var opts []op.Option
	if strings.HasPrefix(iss, "http://") {
		opts = append(opts, op.WithAllowInsecure())
	}
	o, err := op.NewProvider(opCfg, st, op.StaticIssuer(iss), opts...)
	if err != nil {
		return nil, fmt.Errorf("camara: %w", err)
	}
	p := &Provider{cfg: cfg, storage: st, op: o, basePath: base, now: cfg.Now}
	srv := &server{LegacyServer: op.NewLegacyServer(o, endpoints), p: p}
	oidcHandler := op.RegisterServer(srv, endpoints, op.WithHTTPMiddleware(op.NewIssuerInterceptor(o.IssuerFromRequest).Handler, withFront))
	mux := http.NewServeMux()
	p.routeNV(mux)
	mux.Handle("/", oidcHandler)
	p.handler = http.StripPrefix(base, mux)
	return p, nil
}

// endpoints are the provider's: zitadel's defaults without the ones that
// serve nothing here (device authorization, end session: no sessions are
// kept; userinfo: it would say no more than the ID token, and accepts
// tokens in the query string).
var endpoints = op.Endpoints{
	Authorization: op.DefaultEndpoints.Authorization,
	Token:         op.DefaultEndpoints.Token,
	Introspection: op.DefaultEndpoints.Introspection,
	Revocation:    op.DefaultEndpoints.Revocation,
	JwksURI:       op.DefaultEndpoints.JwksURI,
}

// issuerPath is the path an issuer URL serves under ("" for a bare host).
func issuerPath(iss string) (string, error) {
	rest, ok := strings.CutPrefix(iss, "https://")
	if !ok {
		if rest, ok = strings.CutPrefix(iss, "http://"); !ok {
			return "", fmt.Errorf("camara: issuer %q is not an http(s) URL", iss)
		}
	}
	host, path, _ := strings.Cut(rest, "/")
	if host == "" || strings.ContainsAny(path, "?#") {
		return "", fmt.Errorf("camara: issuer %q is not a URL without query or fragment", iss)
	}
	if path == "" {
		return "", nil
	}
	return "/" + path, nil
}

// Handler serves the provider and the NV API under the issuer's path: mount
// it at that path ("/camara/" for the default issuer).
func (p *Provider) Handler() http.Handler { return p.handler }

// BasePath is the issuer's path, where Handler belongs.
func (p *Provider) BasePath() string { return p.basePath }

type frontKey struct{}

// withFront keeps what the carrier's front leg needs of the phone's request
// (its TCP peer and header) for server.Authorize, which sees only the
// parsed request.
func withFront(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f := carrier.FrontRequest{Source: ipset.PeerAddr(r.RemoteAddr), Header: r.Header}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), frontKey{}, f)))
	})
}

// server is zitadel's LegacyServer with numauth's authorization endpoint,
// client authentication and code exchange rules.
type server struct {
	*op.LegacyServer
	p *Provider
}

// Authorize runs after zitadel validated the client, the redirect URI (so
// every refusal from here on is sent back to it), prompt, response type
// and code challenge method. It applies CAMARA's rules, identifies the line
// and answers with the code at once: there is no login page.
func (s *server) Authorize(ctx context.Context, r *op.ClientRequest[oidc.AuthRequest]) (*op.Redirect, error) {
	req, cl := r.Data, r.Client.(*client)
	if req.ResponseType != oidc.ResponseTypeCode {
		return nil, &oidc.Error{ErrorType: "unsupported_response_type", Description: "only response_type=code is offered"}
	}
	if req.ResponseMode != "" && req.ResponseMode != oidc.ResponseModeQuery {
		return nil, oidc.ErrInvalidRequest().WithDescription("only response_mode=query is offered")
	}
	if req.CodeChallenge == "" || req.CodeChallengeMethod != oidc.CodeChallengeMethodS256 {
		return nil, oidc.ErrInvalidRequest().WithDescription("PKCE is required: code_challenge with code_challenge_method=S256")
	}
	if len(req.CodeChallenge) != 43 {
		return nil, oidc.ErrInvalidRequest().WithDescription("code_challenge is not a base64url SHA-256")
	}
	for _, pr := range req.Prompt {
		if pr != oidc.PromptNone {
			// No page is ever shown: login, consent and select_account
			// cannot be honoured (OIDC Core §3.1.2.6).
			return nil, oidc.ErrInteractionRequired().WithDescription("this provider authenticates by the mobile network only; prompt=none is implied")
		}
	}
	if req.IDTokenHint != "" || req.RequestParam != "" {
		return nil, oidc.ErrRequestNotSupported().WithDescription("request objects and id_token_hint are not supported")
	}
	ops, err := grantedOps(req.Scopes, cl.info.Scopes)
	if err != nil {
		return nil, oidc.ErrInvalidScope().WithDescription("%s", err.Error())
	}
	hint, err := parseLoginHint(req.LoginHint)
	if err != nil {
		return nil, oidc.ErrInvalidRequest().WithDescription("%s", err.Error())
	}
	front, _ := ctx.Value(frontKey{}).(carrier.FrontRequest)
	if err := s.p.throttleAuthorize(ctx, cl.info.ID, front); err != nil {
		return nil, err
	}
	if hint.ip.IsValid() && front.Source.IsValid() && hint.ip.Unmap() != front.Source.Unmap() {
		// The hint names another device's address than the request's: the
		// request did not come over the line it is about.
		return nil, oidc.ErrAccessDenied().WithDescription("the request did not come from the address in login_hint")
	}
	grant, err := s.p.cfg.Service.IdentifyNetwork(ctx, front, kindsFor(ops)...)
	if err != nil {
		return nil, authorizeErr(err)
	}
	a := &authRequest{
		ID: token.NewID(), ClientID: cl.info.ID, AccountID: cl.info.AccountID, RedirectURI: req.RedirectURI,
		State: req.State, Nonce: req.Nonce, Scopes: req.Scopes, Ops: ops, ResponseMode: req.ResponseMode,
		Challenge: req.CodeChallenge, ChallengeMethod: req.CodeChallengeMethod,
		Subject: s.p.subject(), AuthTime: s.p.now().UTC(), Grant: grant, done: true,
	}
	if err := s.p.storage.putAuthRequest(ctx, a); err != nil {
		return nil, err
	}
	u, err := op.BuildAuthResponseCallbackURL(ctx, a, s.p.op)
	if err != nil {
		return nil, err
	}
	return op.NewRedirect(u), nil
}

// throttleAuthorize bounds the front-leg calls anyone can cause: per
// source address (the visitor behind trusted proxies) and per client.
func (p *Provider) throttleAuthorize(ctx context.Context, clientID string, front carrier.FrontRequest) error {
	src := ipset.Visitor(front.Source, front.Header.Values("X-Forwarded-For"), p.cfg.TrustedProxies)
	for _, b := range []struct {
		key string
		n   int
	}{{"nv-authorize-src/" + src.String(), p.cfg.AuthorizePerSource}, {"nv-authorize-client/" + clientID, p.cfg.Throttle}} {
		err := p.cfg.Service.Throttle(ctx, b.key, b.n)
		switch {
		case errors.Is(err, auth.ErrThrottled):
			return &oidc.Error{ErrorType: "temporarily_unavailable", Description: "too many authorizations; try again in a second"}
		case err != nil:
			return &oidc.Error{ErrorType: "temporarily_unavailable", Description: "the authorization server is temporarily unavailable", Parent: err}
		}
	}
	return nil
}

// kindsFor is the carrier tickets a grant needs for its operations: a
// verification also takes a login ticket, so that a hashed number can be
// compared with the line's.
func kindsFor(ops []operation) []carrier.Kind {
	var ks []carrier.Kind
	for _, o := range ops {
		switch o {
		case opVerify:
			ks = append(ks, carrier.KindVerify, carrier.KindLogin)
		case opShare:
			ks = append(ks, carrier.KindLogin)
		}
	}
	return ks
}

// authorizeErr is the authorization endpoint's table: how the front leg's
// failures reach the client's redirect URI.
func authorizeErr(err error) error {
	switch {
	case errors.Is(err, auth.ErrNotNetworkAuthenticated):
		return oidc.ErrAccessDenied().WithDescription("the request did not come over a mobile network connection the operator can authenticate").WithParent(err)
	case errors.Is(err, auth.ErrCarrierMaintenance), errors.Is(err, auth.ErrCarrierQuota), errors.Is(err, auth.ErrUnavailable):
		return &oidc.Error{ErrorType: "temporarily_unavailable", Description: "the operator cannot authenticate the line at the moment", Parent: err}
	default:
		return oidc.ErrServerError().WithDescription("the operator could not authenticate the line").WithParent(err)
	}
}

// subject is a one-time pseudonym for one authorization: the ID token tells
// the client that the network authenticated a line, not which one.
func (p *Provider) subject() string {
	b := make([]byte, 18)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// VerifyClient authenticates the client at the token, introspection and
// revocation endpoints: private_key_jwt by numauth's own assertion rules
// (CAMARA's are stricter than zitadel's: aud, lifetime, jti replay), and
// client_secret_basic by zitadel's. A private_key_jwt client cannot fall
// back to a secret, nor the reverse.
func (s *server) VerifyClient(ctx context.Context, r *op.Request[op.ClientCredentials]) (op.Client, error) {
	c, err := s.verifyClient(ctx, r)
	var oe *oidc.Error
	if err != nil && errors.As(err, &oe) && oe.ErrorType == oidc.InvalidClient && !errors.As(err, new(op.StatusError)) {
		// RFC 6749 §5.2 and CAMARA: a failed client authentication is 401.
		return nil, op.NewStatusError(oe, http.StatusUnauthorized)
	}
	return c, err
}

func (s *server) verifyClient(ctx context.Context, r *op.Request[op.ClientCredentials]) (op.Client, error) {
	cc := r.Data
	if cc.ClientAssertion != "" || cc.ClientAssertionType != "" {
		if cc.ClientAssertionType != oidc.ClientAssertionTypeJWTAssertion {
			return nil, oidc.ErrInvalidClient().WithDescription("client_assertion_type must be " + oidc.ClientAssertionTypeJWTAssertion)
		}
		iss := s.p.op.IssuerFromRequest(&http.Request{URL: r.URL, Header: r.Header})
		auds := []string{iss, s.p.op.TokenEndpoint().Absolute(iss)}
		if strings.HasSuffix(r.URL.Path, "/revoke") || strings.HasSuffix(r.URL.Path, "/introspect") {
			auds = append(auds, iss+strings.TrimPrefix(r.URL.Path, s.p.basePath))
		}
		cl, err := s.p.verifyAssertion(ctx, cc.ClientAssertion, auds)
		if err != nil {
			return nil, err
		}
		if cc.ClientID != "" && cc.ClientID != cl.info.ID {
			return nil, oidc.ErrInvalidClient().WithDescription("client_id is not the assertion's client")
		}
		return cl, nil
	}
	if cc.ClientID == "" {
		return nil, oidc.ErrInvalidClient().WithDescription("client authentication is required (private_key_jwt or client_secret_basic)")
	}
	if cc.ClientSecret == "" {
		return nil, oidc.ErrInvalidClient().WithDescription("client authentication is required (private_key_jwt or client_secret_basic)")
	}
	if _, _, basic := (&http.Request{Header: r.Header}).BasicAuth(); !basic {
		return nil, oidc.ErrInvalidClient().WithDescription("a client secret is accepted in the Authorization header only (client_secret_basic)")
	}
	cl, err := s.p.storage.clients.LookupClient(ctx, cc.ClientID)
	if err != nil {
		return nil, clientErr(err)
	}
	if cl.info.AuthMethod != MethodSecretBasic {
		return nil, oidc.ErrInvalidClient().WithDescription("this client authenticates with private_key_jwt")
	}
	if err := s.p.storage.clients.CheckSecret(ctx, cc.ClientID, cc.ClientSecret); err != nil {
		return nil, clientErr(err)
	}
	return cl, nil
}

// Discovery advertises what the provider does, not zitadel's defaults.
func (s *server) Discovery(ctx context.Context, r *op.Request[struct{}]) (*op.Response, error) {
	res, err := s.LegacyServer.Discovery(ctx, r)
	if err != nil {
		return nil, err
	}
	d, ok := res.Data.(*oidc.DiscoveryConfiguration)
	if !ok {
		return nil, oidc.ErrServerError().WithDescription("discovery document of an unexpected type")
	}
	auth := []oidc.AuthMethod{oidc.AuthMethodPrivateKeyJWT, oidc.AuthMethodBasic}
	algs := make([]string, len(assertionAlgs))
	for i, a := range assertionAlgs {
		algs[i] = string(a)
	}
	d.ResponseTypesSupported = []string{string(oidc.ResponseTypeCode)}
	d.ResponseModesSupported = []string{string(oidc.ResponseModeQuery)}
	d.GrantTypesSupported = []oidc.GrantType{oidc.GrantTypeCode}
	d.TokenEndpointAuthMethodsSupported = auth
	d.TokenEndpointAuthSigningAlgValuesSupported = algs
	d.IntrospectionEndpointAuthMethodsSupported = auth
	d.IntrospectionEndpointAuthSigningAlgValuesSupported = algs
	d.RevocationEndpointAuthMethodsSupported = auth
	d.RevocationEndpointAuthSigningAlgValuesSupported = algs
	d.CodeChallengeMethodsSupported = []oidc.CodeChallengeMethod{oidc.CodeChallengeMethodS256}
	d.RequestObjectSigningAlgValuesSupported = nil
	d.RequestParameterSupported = false
	d.SubjectTypesSupported = []string{"public"}
	return res, nil
}

// Introspect answers RFC 7662 introspection for the client that got the
// token, after the same client authentication as the token endpoint's
// (zitadel's own would skip numauth's assertion rules).
func (s *server) Introspect(ctx context.Context, r *op.Request[op.IntrospectionRequest]) (*op.Response, error) {
	var cc op.ClientCredentials
	if r.Data.ClientCredentials != nil {
		cc = *r.Data.ClientCredentials
	}
	cl, err := s.VerifyClient(ctx, &op.Request[op.ClientCredentials]{Method: r.Method, URL: r.URL, Header: r.Header, Form: r.Form, PostForm: r.PostForm, Data: &cc})
	if err != nil {
		return nil, err
	}
	res := new(oidc.IntrospectionResponse)
	if r.Data.IntrospectionRequest == nil {
		return op.NewResponse(res), nil
	}
	id, sub, ok := s.p.tokenID(r.Data.Token)
	if !ok {
		return op.NewResponse(res), nil
	}
	if err := s.p.storage.SetIntrospectionFromToken(ctx, res, id, sub, cl.GetID()); err != nil {
		var se op.StatusError
		if errors.As(err, &se) {
			return nil, err // a store outage: 503, not "inactive"
		}
		return op.NewResponse(new(oidc.IntrospectionResponse)), nil
	}
	return op.NewResponse(res), nil
}

// CodeExchange requires the PKCE verifier: zitadel checks it only when
// given, and every authorization here carries a challenge.
func (s *server) CodeExchange(ctx context.Context, r *op.ClientRequest[oidc.AccessTokenRequest]) (*op.Response, error) {
	if r.Data.CodeVerifier == "" {
		return nil, oidc.ErrInvalidGrant().WithDescription("code_verifier is required (PKCE)")
	}
	return s.LegacyServer.CodeExchange(ctx, r)
}
