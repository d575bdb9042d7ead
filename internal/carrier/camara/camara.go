// Package camara is the carrier adapter for mobile operators that offer
// CAMARA Number Verification (directly, or through an Open Gateway
// aggregator): numauth's Alibaba-style API and web SDK on a real operator.
//
// Its front leg is a redirect ([carrier.Redirector]): the phone's browser
// is sent to the operator's OpenID authorization endpoint (discovered from
// the issuer) with an authorization-code request (PKCE S256, a nonce,
// prompt=none), the operator recognises the line from the cellular
// connection (network-based authentication) and sends the browser back to
// numauth's callback with a code. Complete exchanges the code, with
// private_key_jwt or client_secret_basic, checks the ID token (signature,
// issuer, audience, nonce), and seals what the back leg needs in the
// ticket: the operator's access token for a verification, the number the
// operator's GET /device-phone-number gave (asked once) for a login.
//
// Its back leg is the NV API: Verify is POST /verify (phoneNumber, or
// hashedPhoneNumber when configured), Number and MatchMask read the sealed
// number. Every NV call carries an x-correlator. Operator answers map to
// carrier errors in one table (errors.go).
package camara

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/numauth/numauth/internal/carrier"
	"github.com/numauth/numauth/internal/secret"
)

// Name is the adapter's registered name.
const Name = "camara"

// Scopes the adapter asks for by default: CAMARA's technical scopes of the
// two operations. Operators that want purpose scopes get them by
// configuration (Config.VerifyScopes, Config.LoginScopes).
const (
	ScopeVerify      = "number-verification:verify"
	ScopeDevicePhone = "number-verification:device-phone-number:read"
)

// StateTTL is how long a redirect state lives: as long as a gateway
// session at most.
const StateTTL = 10 * time.Minute

// Config configures the adapter.
type Config struct {
	// Issuer is the operator's OpenID issuer; discovery is at
	// Issuer + "/.well-known/openid-configuration".
	Issuer string
	// APIRoot is where the operator serves CAMARA APIs: the NV API is at
	// APIRoot + "/number-verification/v2".
	APIRoot string
	// ClientID is numauth's client id at the operator.
	ClientID string
	// ClientKey signs private_key_jwt client assertions (RS256 for an RSA
	// key, ES256 for a P-256 key); KeyID is the kid the operator knows it
	// by ("" for none). Exactly one of ClientKey and ClientSecret is set.
	ClientKey crypto.Signer
	KeyID     string
	// ClientSecret authenticates with client_secret_basic instead.
	ClientSecret string
	// VerifyScopes and LoginScopes are the scopes asked for each flow,
	// "openid" added; defaults ScopeVerify and ScopeDevicePhone.
	VerifyScopes, LoginScopes []string
	// RedirectURL is numauth's callback as the operator knows it; ""
	// takes the one numauth gives Begin (its /h5/v1/camara/callback).
	RedirectURL string
	// Hashed makes Verify send hashedPhoneNumber (SHA-256 of the E.164
	// number, hex) instead of phoneNumber.
	Hashed bool
	// Operator is the code the adapter's lines carry (a ValidOperator:
	// "TEF", "DT", "OPGW" …); default "CAMARA". Mainland numbers a login
	// reveals carry their block's operator.
	Operator carrier.Operator
	// Window is how pages visit the operator: carrier.WindowFrame
	// (default) or carrier.WindowPopup.
	Window string
	// Key seals states and tickets (32 bytes, the same on every instance).
	Key []byte
	// Shared makes a state single use across instances.
	Shared carrier.Shared
	// HTTPClient calls the operator (discovery, JWKS, token, NV API); its
	// requests are bounded by Timeout. Default: a client of its own.
	HTTPClient *http.Client
	// Timeout bounds each call to the operator; default 5 s.
	Timeout time.Duration
	// MaxTicketTTL bounds a ticket when the operator gives a token no
	// lifetime (expires_in); default 5 minutes.
	MaxTicketTTL time.Duration
	Logger       *slog.Logger
	Now          func() time.Time
}

// Adapter is the camara carrier adapter.
type Adapter struct {
	cfg        Config
	box        *secret.Box
	client     *http.Client
	keysClient *http.Client // client with a Timeout, for the JWKS

	mu   sync.Mutex
	disc *discovered // nil until the first successful discovery
}

var _ carrier.Redirector = (*Adapter)(nil)

// discovered is what discovery gave: the endpoints and the ID token verifier.
type discovered struct {
	endpoint oauth2.Endpoint
	verifier *oidc.IDTokenVerifier
	at       time.Time
}

// rediscoverAfter is how long a discovery document is trusted before it is
// fetched again (the JWKS is refetched by the verifier whenever a token
// names a key it does not have); retryDiscovery is how long a document
// that could not be refetched is used before the next try.
const (
	rediscoverAfter = time.Hour
	retryDiscovery  = time.Minute
)

// New returns the adapter. It does not call the operator: discovery runs on
// the first flow, so numauth starts while an operator is down.
func New(cfg Config) (*Adapter, error) {
	if err := checkURL("issuer", cfg.Issuer); err != nil {
		return nil, err
	}
	if err := checkURL("API root", cfg.APIRoot); err != nil {
		return nil, err
	}
	// The issuer is compared as it is (discovery's, the ID token's, the
	// callback's iss); only the API root is a prefix to build URLs on.
	cfg.APIRoot = strings.TrimSuffix(cfg.APIRoot, "/")
	if cfg.RedirectURL != "" {
		if err := checkURL("redirect URL", cfg.RedirectURL); err != nil {
			return nil, err
		}
	}
	if cfg.ClientID == "" {
		return nil, errors.New("camara: a client id is required")
	}
	if (cfg.ClientKey == nil) == (cfg.ClientSecret == "") {
		return nil, errors.New("camara: give either a client key (private_key_jwt) or a client secret (client_secret_basic)")
	}
	if cfg.ClientKey != nil {
		if _, err := assertionAlg(cfg.ClientKey); err != nil {
			return nil, err
		}
	}
	if len(cfg.Key) != 32 {
		return nil, fmt.Errorf("camara: the sealing key must be 32 bytes, got %d", len(cfg.Key))
	}
	if cfg.Shared == nil {
		return nil, errors.New("camara: shared memory (numauth's ephemeral store) is required: a state is single use across instances")
	}
	if cfg.Operator == "" {
		cfg.Operator = "CAMARA"
	}
	if !carrier.ValidOperator(cfg.Operator) {
		return nil, fmt.Errorf("camara: operator code %q: want 2 to 8 of A-Z and 0-9", cfg.Operator)
	}
	switch cfg.Window {
	case "":
		cfg.Window = carrier.WindowFrame
	case carrier.WindowFrame, carrier.WindowPopup:
	default:
		return nil, fmt.Errorf("camara: window %q: want %s or %s", cfg.Window, carrier.WindowFrame, carrier.WindowPopup)
	}
	if len(cfg.VerifyScopes) == 0 {
		cfg.VerifyScopes = []string{ScopeVerify}
	}
	if len(cfg.LoginScopes) == 0 {
		cfg.LoginScopes = []string{ScopeDevicePhone}
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 5 * time.Second
	}
	if cfg.MaxTicketTTL <= 0 {
		cfg.MaxTicketTTL = 5 * time.Minute
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	box, err := secret.New(cfg.Key)
	if err != nil {
		return nil, fmt.Errorf("camara: %w", err)
	}
	client := cfg.HTTPClient
	if client == nil {
		client = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	}
	// The operator's answers are read, never followed elsewhere.
	c := *client
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	// The key set fetches the JWKS on a context of its own, which no call
	// bounds: its client does.
	keys := c
	keys.Timeout = cfg.Timeout
	return &Adapter{cfg: cfg, box: box, client: &c, keysClient: &keys}, nil
}

func checkURL(what, s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("camara: the %s must be an absolute http(s) URL without query, got %q", what, s)
	}
	return nil
}

// Name returns "camara".
func (a *Adapter) Name() string { return Name }

// callCtx bounds one call to the operator and gives the oauth2 and oidc
// packages the adapter's HTTP client.
func (a *Adapter) callCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithTimeout(ctx, a.cfg.Timeout)
	return oidc.ClientContext(ctx, a.client), cancel
}

// discovery returns the operator's endpoints, fetching them on first use
// and again after rediscoverAfter (keeping the last good document when a
// refetch fails).
func (a *Adapter) discovery(ctx context.Context) (*discovered, error) {
	a.mu.Lock()
	d := a.disc
	a.mu.Unlock()
	now := a.cfg.Now()
	if d != nil && now.Sub(d.at) < rediscoverAfter {
		return d, nil
	}
	cctx, cancel := a.callCtx(ctx)
	defer cancel()
	p, err := oidc.NewProvider(cctx, a.cfg.Issuer)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if d != nil {
			a.cfg.Logger.WarnContext(ctx, "camara: operator discovery failed; keeping the last document", "err", err)
			// Try again in a minute, not on every call.
			kept := *d
			kept.at = now.Add(retryDiscovery - rediscoverAfter)
			a.mu.Lock()
			a.disc = &kept
			a.mu.Unlock()
			return d, nil
		}
		return nil, fmt.Errorf("%w: operator discovery: %w", carrier.ErrFailed, err)
	}
	nd := &discovered{
		endpoint: p.Endpoint(),
		// The verifier's key set lives as long as this document and
		// refetches the JWKS when a token names a key it lacks. Its
		// context carries the adapter's client, not this call's deadline.
		verifier: oidc.NewVerifier(a.cfg.Issuer, oidc.NewRemoteKeySet(oidc.ClientContext(context.Background(), a.keysClient), jwksURL(p)),
			&oidc.Config{ClientID: a.cfg.ClientID, Now: a.cfg.Now, SupportedSigningAlgs: []string{"RS256", "PS256", "ES256", "EdDSA"}}),
		at: now,
	}
	if nd.endpoint.AuthURL == "" || nd.endpoint.TokenURL == "" {
		return nil, fmt.Errorf("%w: operator discovery names no authorization or token endpoint", carrier.ErrFailed)
	}
	if a.cfg.ClientKey != nil {
		nd.endpoint.AuthStyle = oauth2.AuthStyleInParams
	} else {
		nd.endpoint.AuthStyle = oauth2.AuthStyleInHeader
	}
	a.mu.Lock()
	a.disc = nd
	a.mu.Unlock()
	return nd, nil
}

func jwksURL(p *oidc.Provider) string {
	var c struct {
		JWKS string `json:"jwks_uri"`
	}
	p.Claims(&c)
	return c.JWKS
}

func (a *Adapter) oauth(d *discovered, kind carrier.Kind, redirectURL string) *oauth2.Config {
	scopes := a.cfg.VerifyScopes
	if kind == carrier.KindLogin {
		scopes = a.cfg.LoginScopes
	}
	return &oauth2.Config{
		ClientID:     a.cfg.ClientID,
		ClientSecret: a.cfg.ClientSecret,
		Endpoint:     d.endpoint,
		RedirectURL:  redirectURL,
		Scopes:       append([]string{oidc.ScopeOpenID}, scopes...),
	}
}
