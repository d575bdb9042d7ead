package auth

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/go-jose/go-jose/v4"

	"github.com/numauth/numauth/internal/store"
)

// OAuthClient is a client of the CAMARA northbound API (an OpenID Connect
// relying party), as stored.
type OAuthClient = store.OAuthClient

// How an OAuth client authenticates at the token endpoint.
const (
	AuthPrivateKeyJWT     = "private_key_jwt"     // RFC 7523 client assertions, signed with a key of the client's JWKS
	AuthClientSecretBasic = "client_secret_basic" // HTTP Basic with the generated secret (for development)
)

// The scopes of CAMARA Number Verification an OAuth client may be allowed:
// OpenID Connect's, the purpose-based (dpv:) scopes and the technical ones.
const (
	ScopeOpenID         = "openid"
	ScopeNVVerifyDPV    = "dpv:FraudPreventionAndDetection#number-verification-verify-read"
	ScopeNVShareDPV     = "dpv:FraudPreventionAndDetection#number-verification-share-read"
	ScopeNVVerify       = "number-verification:verify"
	ScopeNVDevicePhone  = "number-verification:device-phone-number:read"
	oauthClientIDPrefix = "nv-"
)

// NVScopes are every scope an OAuth client may be allowed, in this order;
// a client whose Scopes are empty is allowed all of them.
var NVScopes = []string{ScopeOpenID, ScopeNVVerifyDPV, ScopeNVShareDPV, ScopeNVVerify, ScopeNVDevicePhone}

// OAuthClientInput is what CreateOAuthClient accepts.
type OAuthClientInput struct {
	AccountID    string   // owner; "" is DefaultAccount
	Name         string   // free text, at most 128 characters
	RedirectURIs []string // at least one; matched exactly, so stored as given
	AuthMethod   string   // AuthPrivateKeyJWT or AuthClientSecretBasic
	JWKS         []byte   // AuthPrivateKeyJWT: the client's public keys, a JWK Set (JSON)
	Scopes       []string // a subset of NVScopes; empty: all of them
}

// Bounds of an OAuth client's registration.
const (
	maxRedirectURIs   = 16
	maxRedirectURILen = 2048
	maxJWKSBytes      = 64 << 10
	maxJWKSKeys       = 32
	clientSecretBytes = 32
)

// CreateOAuthClient registers an OAuth client with a generated client_id
// ("nv-" and 24 letters and digits). A client_secret_basic client's secret
// (32 random bytes, base64url without padding) is returned once and only
// its SHA-256 is stored; for private_key_jwt the secret is "". Invalid
// input is ErrInvalidParameters with the reason; an account that does not
// exist is ErrAccountNotFound.
func (s *Service) CreateOAuthClient(ctx context.Context, in OAuthClientInput) (OAuthClient, string, error) {
	c, err := s.checkOAuthClientInput(ctx, in)
	if err != nil {
		return OAuthClient{}, "", err
	}
	var secret string
	if c.AuthMethod == AuthClientSecretBasic {
		var raw [clientSecretBytes]byte
		if _, err := rand.Read(raw[:]); err != nil {
			return OAuthClient{}, "", err
		}
		secret = base64.RawURLEncoding.EncodeToString(raw[:])
		sum := sha256.Sum256([]byte(secret))
		c.SecretHash = sum[:]
	}
	c.ID = oauthClientIDPrefix + randomAlnum(24)
	c.Status, c.CreatedAt = store.KeyActive, s.cfg.Now().UTC()
	if err := s.durable.CreateOAuthClient(ctx, c); err != nil {
		return OAuthClient{}, "", storeErr("create OAuth client", err)
	}
	return c, secret, nil
}

// checkOAuthClientInput validates in and returns the client it describes
// (without ID, secret, status and time).
func (s *Service) checkOAuthClientInput(ctx context.Context, in OAuthClientInput) (OAuthClient, error) {
	account, err := s.existingAccount(ctx, in.AccountID)
	if err != nil {
		return OAuthClient{}, err
	}
	name, err := cleanText("Name", in.Name, 128, false)
	if err != nil {
		return OAuthClient{}, err
	}
	uris, err := checkRedirectURIs(in.RedirectURIs)
	if err != nil {
		return OAuthClient{}, err
	}
	scopes, err := checkScopes(in.Scopes)
	if err != nil {
		return OAuthClient{}, err
	}
	c := OAuthClient{AccountID: account, Name: name, RedirectURIs: uris, AuthMethod: in.AuthMethod, Scopes: scopes}
	switch in.AuthMethod {
	case AuthPrivateKeyJWT:
		if c.JWKS, err = CheckJWKS(in.JWKS); err != nil {
			return OAuthClient{}, err
		}
	case AuthClientSecretBasic:
		if len(in.JWKS) != 0 {
			return OAuthClient{}, hint(ErrInvalidParameters, "a %s client has no JWKS (its secret is generated)", AuthClientSecretBasic)
		}
	default:
		return OAuthClient{}, hint(ErrInvalidParameters, "the authentication method must be %s or %s", AuthPrivateKeyJWT, AuthClientSecretBasic)
	}
	return c, nil
}

// existingAccount returns the account named (DefaultAccount for ""), which
// must be well-formed and exist: DefaultAccount always does, any other
// account once an AccessKey of it does (accounts are made by their keys).
func (s *Service) existingAccount(ctx context.Context, id string) (string, error) {
	if id == "" {
		id = DefaultAccount
	}
	if !accountPattern.MatchString(id) {
		return "", hint(ErrInvalidParameters, "account must be 1-64 of [A-Za-z0-9._-]")
	}
	if id == DefaultAccount {
		return id, nil
	}
	ks, err := s.ListAccessKeys(ctx)
	if err != nil {
		return "", err
	}
	if !slices.ContainsFunc(ks, func(k store.AccessKey) bool { return k.AccountID == id }) {
		return "", hint(ErrAccountNotFound, "%q (an account exists once it has an AccessKey)", id)
	}
	return id, nil
}

// hostName is a DNS host name as a redirect URI may name it (no wildcards,
// no empty labels, no underscores).
var hostName = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$`)

// checkRedirectURIs checks a client's redirect URIs: 1 to 16 absolute
// http(s) URLs of printable ASCII without a fragment or user info, https
// unless the host is a loopback one (localhost, 127.0.0.0/8, ::1: a native
// app's local callback, RFC 8252 §7.3), none listed twice. They are
// returned as given, because an authorization request's redirect_uri is
// compared with them byte for byte.
func checkRedirectURIs(uris []string) ([]string, error) {
	if len(uris) == 0 {
		return nil, hint(ErrInvalidParameters, "at least one redirect URI is required")
	}
	if len(uris) > maxRedirectURIs {
		return nil, hint(ErrInvalidParameters, "%d redirect URIs, at most %d are allowed", len(uris), maxRedirectURIs)
	}
	for i, raw := range uris {
		if err := checkRedirectURI(raw); err != nil {
			return nil, fmt.Errorf("%w: redirect URI %d %s", ErrInvalidParameters, i+1, err)
		}
		if slices.Contains(uris[:i], raw) {
			return nil, hint(ErrInvalidParameters, "redirect URI %d is listed twice", i+1)
		}
	}
	return slices.Clone(uris), nil
}

// checkRedirectURI says what is wrong with one redirect URI, for
// checkRedirectURIs' message; nil if nothing.
func checkRedirectURI(raw string) error {
	if len(raw) > maxRedirectURILen {
		return fmt.Errorf("is %d bytes long, at most %d are allowed", len(raw), maxRedirectURILen)
	}
	for i := 0; i < len(raw); i++ {
		if raw[i] <= ' ' || raw[i] >= 0x7f {
			return fmt.Errorf("must be printable ASCII without spaces (percent-encode the rest), byte %d is %#x", i+1, raw[i])
		}
	}
	if strings.Contains(raw, "#") {
		return errors.New("must not have a fragment (#…)")
	}
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Opaque != "" {
		return errors.New("must be an absolute URL like https://app.example.com/callback")
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		return fmt.Errorf("must be an http or https URL, not %s:", u.Scheme)
	}
	if u.User != nil {
		return errors.New("must not hold a user name or password")
	}
	host := u.Hostname()
	ip := net.ParseIP(host)
	switch {
	case host == "":
		return errors.New("has no host")
	case ip == nil && !hostName.MatchString(host):
		return fmt.Errorf("has a host that is not a host name or IP address: %q", host)
	case u.Scheme == "http" && !(strings.EqualFold(host, "localhost") || (ip != nil && ip.IsLoopback())):
		return errors.New("must use https unless its host is a loopback one (localhost, 127.0.0.1, [::1])")
	}
	return nil
}

// checkScopes returns the scopes without repeats, each of which must be one
// of NVScopes; none (nil) means all of them.
func checkScopes(scopes []string) ([]string, error) {
	var out []string
	for _, sc := range scopes {
		if !slices.Contains(NVScopes, sc) {
			return nil, hint(ErrInvalidParameters, "scope %q is not one of %s", sc, strings.Join(NVScopes, ", "))
		}
		if !slices.Contains(out, sc) {
			out = append(out, sc)
		}
	}
	return out, nil
}

// privateJWKMembers are the JWK members that carry private or symmetric
// key material (RFC 7518 §6.2.2, §6.3.2, §6.4; "priv" of RFC 9964).
var privateJWKMembers = []string{"d", "p", "q", "dp", "dq", "qi", "oth", "k", "priv"}

// CheckJWKS checks a private_key_jwt client's JSON Web Key Set and returns
// it compacted: a JSON object {"keys": [...]} of at most 32 keys and 64 KiB
// in which no key has private or symmetric parts, no two keys share a
// "kid", every key that numauth understands is valid, and at least one is
// a public signing key that numauth verifies client assertions with (see
// SigningJWKs). Keys of other kinds (an encryption key, a curve numauth
// does not use) may stand beside them and are never used. A bad set is
// ErrInvalidParameters with the reason.
func CheckJWKS(b []byte) ([]byte, error) {
	bad := func(format string, args ...any) ([]byte, error) {
		return nil, fmt.Errorf("%w: JWKS "+format, append([]any{ErrInvalidParameters}, args...)...)
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return bad("is required for %s", AuthPrivateKeyJWT)
	}
	if len(b) > maxJWKSBytes {
		return bad("is %d bytes, at most %d are allowed", len(b), maxJWKSBytes)
	}
	var set struct {
		Keys []map[string]json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(b, &set); err != nil {
		return bad("is not a JSON Web Key Set ({\"keys\": [...]}): %v", err)
	}
	if len(set.Keys) > maxJWKSKeys {
		return bad("has %d keys, at most %d are allowed", len(set.Keys), maxJWKSKeys)
	}
	kids := map[string]int{}
	for i, members := range set.Keys {
		for _, m := range privateJWKMembers {
			if _, ok := members[m]; ok {
				return bad("key %d has the private or symmetric member %q: register the public keys only", i+1, m)
			}
		}
		var kid string
		if raw, ok := members["kid"]; ok && json.Unmarshal(raw, &kid) == nil && kid != "" {
			if j, dup := kids[kid]; dup {
				return bad("keys %d and %d have the same kid %q", j, i+1, kid)
			}
			kids[kid] = i + 1
		}
	}
	keys, err := SigningJWKs(b)
	if err != nil {
		return bad("%v", err)
	}
	if len(keys) == 0 {
		return bad("has no public signing key numauth can verify with (RSA of 2048 bits or more for RS256 or PS256, EC P-256 for ES256, Ed25519 for EdDSA; \"use\" absent or \"sig\")")
	}
	var out bytes.Buffer
	if err := json.Compact(&out, b); err != nil {
		return bad("is not JSON: %v", err)
	}
	return out.Bytes(), nil
}

// SigningJWKs returns the keys of a stored JWKS that client assertions may
// be verified with, each with its Algorithm set: public keys whose "use" is
// absent or "sig" and whose kind and "alg" are one of RS256 or PS256 (RSA of
// at least 2048 bits), ES256 (EC P-256) or EdDSA (Ed25519). A key without
// "alg" is returned once per algorithm its kind allows. Keys of kinds
// go-jose does not know are skipped (RFC 7517 §5); a key it knows but
// cannot read is an error.
func SigningJWKs(jwks []byte) ([]jose.JSONWebKey, error) {
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(jwks, &set); err != nil {
		return nil, err
	}
	var out []jose.JSONWebKey
	for i, raw := range set.Keys {
		var k jose.JSONWebKey
		if err := k.UnmarshalJSON(raw); errors.Is(err, jose.ErrUnsupportedKeyType) {
			continue
		} else if err != nil {
			return nil, fmt.Errorf("key %d: %v", i+1, strings.TrimPrefix(err.Error(), "go-jose/go-jose: "))
		}
		if !k.IsPublic() || !k.Valid() || (k.Use != "" && k.Use != "sig") {
			continue
		}
		for _, alg := range jwkAlgs(k.Key) {
			if k.Algorithm == "" || k.Algorithm == alg {
				kk := k
				kk.Algorithm = alg
				out = append(out, kk)
			}
		}
	}
	return out, nil
}

// jwkAlgs are the signature algorithms numauth verifies with a public key
// of this kind.
func jwkAlgs(key any) []string {
	switch key := key.(type) {
	case *rsa.PublicKey:
		if key.N.BitLen() >= 2048 {
			return []string{string(jose.RS256), string(jose.PS256)}
		}
	case *ecdsa.PublicKey:
		if key.Curve == elliptic.P256() {
			return []string{string(jose.ES256)}
		}
	case ed25519.PublicKey:
		return []string{string(jose.EdDSA)}
	}
	return nil
}

// GetOAuthClient returns an OAuth client; ErrOAuthClientNotFound if there
// is none. A disabled client is returned too, with ErrOAuthClientInactive.
// Reads are cached for CacheTTL, as AccessKeys are; SetOAuthClientActive
// drops this instance's copy at once.
func (s *Service) GetOAuthClient(ctx context.Context, id string) (OAuthClient, error) {
	now := s.cfg.Now()
	if c, ok := s.clientCache.get(id, now); ok {
		return cloneClient(c), clientActiveErr(c)
	}
	gen := s.clientCache.begin()
	c, err := s.durable.GetOAuthClient(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return OAuthClient{}, ErrOAuthClientNotFound
	}
	if err != nil {
		return OAuthClient{}, storeErr("get OAuth client", err)
	}
	s.clientCache.put(id, c, now, gen)
	return cloneClient(c), clientActiveErr(c)
}

// cloneClient copies c's slices, so that the cache's copy stays the cache's
// whatever a caller does with what it got.
func cloneClient(c OAuthClient) OAuthClient {
	c.RedirectURIs, c.Scopes = slices.Clone(c.RedirectURIs), slices.Clone(c.Scopes)
	c.JWKS, c.SecretHash = bytes.Clone(c.JWKS), bytes.Clone(c.SecretHash)
	return c
}

func clientActiveErr(c OAuthClient) error {
	if c.Status != store.KeyActive {
		return ErrOAuthClientInactive
	}
	return nil
}

// CheckOAuthClientSecret authenticates a client_secret_basic client: the
// client, if secret is its secret (compared as SHA-256 hashes in constant
// time). A wrong secret, and a client that has no secret, are
// ErrOAuthClientSecret; an unknown client ErrOAuthClientNotFound; a
// disabled one, with the right secret only, ErrOAuthClientInactive.
func (s *Service) CheckOAuthClientSecret(ctx context.Context, id, secret string) (OAuthClient, error) {
	c, err := s.GetOAuthClient(ctx, id)
	if err != nil && !errors.Is(err, ErrOAuthClientInactive) {
		return OAuthClient{}, err
	}
	sum := sha256.Sum256([]byte(secret))
	if c.AuthMethod != AuthClientSecretBasic || subtle.ConstantTimeCompare(sum[:], c.SecretHash) != 1 {
		return OAuthClient{}, ErrOAuthClientSecret
	}
	if err != nil {
		return OAuthClient{}, err
	}
	return c, nil
}

// ListOAuthClients lists the OAuth clients of one account, or of every
// account for "", by creation time.
func (s *Service) ListOAuthClients(ctx context.Context, accountID string) ([]OAuthClient, error) {
	cs, err := s.durable.ListOAuthClients(ctx, accountID)
	if err != nil {
		return nil, storeErr("list OAuth clients", err)
	}
	return cs, nil
}

// SetOAuthClientActive enables or disables an OAuth client; other
// instances notice within CacheTTL.
func (s *Service) SetOAuthClientActive(ctx context.Context, id string, active bool) error {
	err := s.durable.SetOAuthClientActive(ctx, id, active)
	s.clientCache.drop(id)
	return notFoundAs(ErrOAuthClientNotFound, "set OAuth client status", err)
}
