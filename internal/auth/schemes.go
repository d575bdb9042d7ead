package auth

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"math/big"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/net/idna"

	"github.com/numauth/numauth/internal/ipset"
	"github.com/numauth/numauth/internal/store"
	"github.com/numauth/numauth/internal/token"
)

// SchemeInput is what CreateVerifyScheme / CreateSchemeConfig accept.
type SchemeInput struct {
	Name, AppName, OsType string
	Origin, URL           string
	PackName, PackSign    string
	BundleID, SmsSignName string
	IPWhiteList, Email    string
	// FusionStrategy is the scheme's fusion authentication strategy
	// (FusionCarrierFirst or FusionSMSOnly); "": the deployment's
	// --fusion-strategy for the scheme's platform.
	FusionStrategy string
}

// OS types of a scheme.
const (
	OsIOS     = "iOS"
	OsAndroid = "Android"
	OsH5      = "H5"
)

// NormalizeOsType accepts the spellings the SDKs and consoles use.
func NormalizeOsType(s string) (string, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "ios":
		return OsIOS, true
	case "android":
		return OsAndroid, true
	case "h5", "web":
		return OsH5, true
	}
	return "", false
}

// NormalizeOrigin returns scheme://host[:port] in lower case with default
// ports dropped and an internationalised host name in its ASCII form
// (punycode, as browsers send it in Origin), or an error for anything that
// is not an http(s) origin.
func NormalizeOrigin(s string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil ||
		(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return "", hint(ErrInvalidParameters, "Origin must be an http(s) origin like https://www.example.com")
	}
	return canonicalOrigin(u)
}

func canonicalOrigin(u *url.URL) (string, error) {
	host, err := asciiHost(u.Hostname())
	if err != nil {
		return "", err
	}
	port := u.Port()
	if (u.Scheme == "http" && port == "80") || (u.Scheme == "https" && port == "443") {
		port = ""
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port != "" {
		host += ":" + port
	}
	return strings.ToLower(u.Scheme) + "://" + host, nil
}

// hostIDNA converts internationalised host names as browsers do before they
// send Origin: UTS #46 mapping (case folding, full-width forms, the
// ideographic full stop), non-transitional, the IDNA 2008 label rules and
// the bidi rule; and it refuses empty labels and over-long names.
var hostIDNA = idna.New(idna.MapForLookup(), idna.BidiRule(), idna.VerifyDNSLength(true))

// asciiHost returns host in lower case, a name with non-ASCII characters
// converted to ASCII by hostIDNA: "Bücher.example" is
// "xn--bcher-kva.example". A name that IDNA refuses is an error.
func asciiHost(host string) (string, error) {
	if isASCII(host) {
		return strings.ToLower(host), nil
	}
	a, err := hostIDNA.ToASCII(host)
	if err != nil {
		return "", hint(ErrInvalidParameters, "host %q is not a valid internationalised domain name", host)
	}
	return a, nil
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// normalizeURL returns the page URL without query and fragment, its origin
// canonical, and the origin on its own.
func normalizeURL(s string) (full, origin string, err error) {
	u, perr := url.Parse(strings.TrimSpace(s))
	if perr != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return "", "", hint(ErrInvalidParameters, "Url must be an http(s) URL like https://www.example.com/login")
	}
	if origin, err = canonicalOrigin(u); err != nil {
		return "", "", err
	}
	path := u.EscapedPath()
	if path == "" {
		path = "/"
	}
	return origin + path, origin, nil
}

// pageAllowed reports whether the page at origin and u (both normalized)
// is the H5 scheme sc's. A scheme stored before hosts were normalized to
// ASCII may hold a Unicode host; it is normalized here, so it matches too.
func pageAllowed(sc *store.Scheme, origin, u string) bool {
	so, su := sc.Origin, sc.URL
	if !isASCII(so) || !isASCII(su) {
		so, _ = NormalizeOrigin(so)
		su, _, _ = normalizeURL(su)
	}
	return so != "" && so == origin && urlAllowed(su, u)
}

// urlAllowed reports whether page URL u (normalized) is within the scheme's
// registered URL: the same origin, and the registered path is a prefix of
// the page's path at a segment boundary.
func urlAllowed(registered, u string) bool {
	if u == registered {
		return true
	}
	if !strings.HasPrefix(u, registered) {
		return false
	}
	return strings.HasSuffix(registered, "/") || u[len(registered)] == '/'
}

// textField is one of a scheme's free-text fields: its parameter name, the
// value, its limit in characters and whether it is required.
type textField struct {
	name string
	v    *string
	max  int
	req  bool
}

func (in *SchemeInput) textFields() []textField {
	return []textField{
		{"SchemeName", &in.Name, 128, true}, {"AppName", &in.AppName, 128, false},
		{"PackName", &in.PackName, 256, false}, {"PackSign", &in.PackSign, 256, false},
		{"BundleId", &in.BundleID, 256, false}, {"SmsSignName", &in.SmsSignName, 64, false},
		{"Email", &in.Email, 256, false},
	}
}

// maxIPWhiteList bounds IpWhiteList, in bytes (it is ASCII).
const maxIPWhiteList = 1024

// CreateScheme registers a scheme for the caller's account.
func (s *Service) CreateScheme(ctx context.Context, c Caller, in SchemeInput) (store.Scheme, error) {
	os, ok := NormalizeOsType(in.OsType)
	if !ok {
		return store.Scheme{}, hint(ErrInvalidParameters, "OsType must be iOS, Android or H5")
	}
	for _, f := range in.textFields() {
		v, err := cleanText(f.name, *f.v, f.max, f.req)
		if err != nil {
			return store.Scheme{}, err
		}
		*f.v = v
	}
	if len(in.IPWhiteList) > maxIPWhiteList {
		return store.Scheme{}, hint(ErrInvalidParameters, "IpWhiteList is longer than %d characters", maxIPWhiteList)
	}
	allow, err := ipset.Parse(in.IPWhiteList)
	if err != nil {
		return store.Scheme{}, fmt.Errorf("%w: IpWhiteList: %w", ErrInvalidParameters, err)
	}
	sc := store.Scheme{
		Code: newSchemeCode(), AccountID: c.AccountID, Name: in.Name, AppName: in.AppName,
		OsType: os, PackName: in.PackName, PackSign: in.PackSign, BundleID: in.BundleID,
		SmsSignName: in.SmsSignName, IPWhiteList: allow.String(), Email: in.Email, CreatedAt: s.cfg.Now().UTC(),
		FusionStrategy: in.FusionStrategy,
	}
	if in.FusionStrategy != "" && !ValidFusionStrategy(in.FusionStrategy) {
		return store.Scheme{}, hint(ErrInvalidParameters, "FusionStrategy must be %s or %s", FusionCarrierFirst, FusionSMSOnly)
	}
	if os == OsH5 {
		if in.Origin == "" || in.URL == "" {
			return store.Scheme{}, hint(ErrInvalidParameters, "an H5 scheme needs Origin and Url")
		}
		origin, err := NormalizeOrigin(in.Origin)
		if err != nil {
			return store.Scheme{}, err
		}
		u, uOrigin, err := normalizeURL(in.URL)
		if err != nil {
			return store.Scheme{}, err
		}
		if uOrigin != origin {
			return store.Scheme{}, hint(ErrInvalidParameters, "Url must be on Origin %s", origin)
		}
		sc.Origin, sc.URL = origin, u
	}
	// The durable store holds names unique per account, atomically: of
	// concurrent creations of one name exactly one succeeds.
	if err := s.durable.CreateScheme(ctx, sc); errors.Is(err, store.ErrNameConflict) {
		return store.Scheme{}, s.nameTaken(ctx, sc)
	} else if err != nil {
		return store.Scheme{}, storeErr("create scheme", err)
	}
	s.schemeCache.drop(c.AccountID)
	return sc, nil
}

// nameTaken is the ErrSchemeConflict for sc's name, naming the scheme that
// holds it when it can be read.
func (s *Service) nameTaken(ctx context.Context, sc store.Scheme) error {
	if all, err := s.schemes(ctx, sc.AccountID, true); err == nil {
		for _, e := range all {
			if e.Name == sc.Name {
				return hint(ErrSchemeConflict, "%q is scheme %s", sc.Name, e.Code)
			}
		}
	}
	return hint(ErrSchemeConflict, "the account has a scheme named %q", sc.Name)
}

// newSchemeCode returns a code shaped like Alibaba's: "FC" and 15 digits.
func newSchemeCode() string {
	n, err := rand.Int(rand.Reader, big.NewInt(1e14))
	if err != nil {
		panic(err)
	}
	return fmt.Sprintf("FC1%014d", n)
}

// schemes returns the account's schemes, from the cache unless fresh is set.
func (s *Service) schemes(ctx context.Context, account string, fresh bool) ([]store.Scheme, error) {
	now := s.cfg.Now()
	if !fresh {
		if v, ok := s.schemeCache.get(account, now); ok {
			return v, nil
		}
	}
	gen := s.schemeCache.begin()
	v, err := s.durable.ListSchemes(ctx, account)
	if err != nil {
		return nil, storeErr("list schemes", err)
	}
	s.schemeCache.put(account, v, now, gen)
	return v, nil
}

// ListSchemes lists the schemes of an account, or of all accounts for "".
func (s *Service) ListSchemes(ctx context.Context, account string) ([]store.Scheme, error) {
	return s.schemes(ctx, account, true)
}

// DescribeScheme returns one of the caller's schemes.
func (s *Service) DescribeScheme(ctx context.Context, c Caller, code string) (store.Scheme, error) {
	sc, err := s.durable.GetScheme(ctx, code)
	if errors.Is(err, store.ErrNotFound) || (err == nil && sc.AccountID != c.AccountID) {
		return store.Scheme{}, hint(ErrSchemeNotExist, "%s", code)
	}
	if err != nil {
		return store.Scheme{}, storeErr("get scheme", err)
	}
	return sc, nil
}

// DeleteScheme deletes one of the caller's schemes. Tokens minted for it
// stop working (at once on this instance, within CacheTTL on others).
func (s *Service) DeleteScheme(ctx context.Context, c Caller, code string) error {
	if _, err := s.DescribeScheme(ctx, c, code); err != nil {
		return err
	}
	err := s.durable.DeleteScheme(ctx, code)
	s.schemeCache.drop(c.AccountID)
	if errors.Is(err, store.ErrNotFound) {
		return hint(ErrSchemeNotExist, "%s", code)
	}
	if err != nil {
		return storeErr("delete scheme", err)
	}
	return nil
}

// PageTokenRequest is GetAuthToken's request.
type PageTokenRequest struct {
	URL, Origin string
	SceneCode   string    // optional: the scheme code
	Biz         token.Biz // BizAny when BizType is absent
}

// PageTokens is GetAuthToken's answer.
type PageTokens struct {
	AccessToken string
	JwtToken    string
	Scheme      string
}

// IssuePageTokens mints the AccessToken/JwtToken pair a page hands to the web
// SDK, bound to the caller, the scheme, the page's origin and URL, and the
// flow.
func (s *Service) IssuePageTokens(ctx context.Context, c Caller, in PageTokenRequest) (PageTokens, error) {
	origin, err := NormalizeOrigin(in.Origin)
	if err != nil {
		return PageTokens{}, err
	}
	u, uOrigin, err := normalizeURL(in.URL)
	if err != nil {
		return PageTokens{}, err
	}
	if uOrigin != origin {
		return PageTokens{}, hint(ErrNoMatchingScheme, "Url is not on Origin")
	}
	if in.Biz != token.BizAny && in.Biz != token.BizVerify && in.Biz != token.BizLogin {
		return PageTokens{}, hint(ErrInvalidParameters, "BizType must be 0 (verification) or 1 (login)")
	}
	all, err := s.schemes(ctx, c.AccountID, false)
	if err != nil {
		return PageTokens{}, err
	}
	var match *store.Scheme
	for i := range all {
		sc := &all[i]
		if sc.OsType != OsH5 || (in.SceneCode != "" && sc.Code != in.SceneCode) {
			continue
		}
		if pageAllowed(sc, origin, u) {
			if match != nil {
				return PageTokens{}, hint(ErrNoMatchingScheme, "several H5 schemes match Origin and Url; pass SceneCode")
			}
			match = sc
		}
	}
	if match == nil {
		if in.SceneCode != "" {
			return PageTokens{}, hint(ErrNoMatchingScheme, "scheme %s does not exist or does not allow this Origin and Url", in.SceneCode)
		}
		return PageTokens{}, hint(ErrNoMatchingScheme, "no H5 scheme allows this Origin and Url")
	}
	if err := sourceAllowed(c, match); err != nil {
		return PageTokens{}, err
	}
	now := s.cfg.Now()
	id, jwtExpires := token.NewID(), now.Add(s.cfg.JwtTokenTTL)
	claims := token.Claims{Origin: origin, URL: u, Biz: in.Biz}
	claims.ID, claims.Subject, claims.Audience = id, c.AccountID, jwt.ClaimStrings{match.Code}
	claims.IssuedAt = jwt.NewNumericDate(now)
	claims.ExpiresAt = jwt.NewNumericDate(jwtExpires)
	_ = s.keys.Refresh(ctx) // learn of a rotation; on failure sign with the keys known
	jt, err := s.keys.Sign(claims)
	if err != nil {
		return PageTokens{}, err
	}
	// The AccessToken binds the JwtToken (its digest and expiry), so the
	// gateway checks the pair without a second Ed25519 operation.
	at, err := s.sealer.SealAccess(token.Access{
		ID: id, AccountID: c.AccountID, Scheme: match.Code, Origin: origin, URL: u,
		Biz: in.Biz, Expires: now.Add(s.cfg.AccessTokenTTL).Unix(),
		JWT: token.JWTDigest(jt), JWTExpires: jwtExpires.Unix(),
	})
	if err != nil {
		return PageTokens{}, err
	}
	return PageTokens{AccessToken: at, JwtToken: jt, Scheme: match.Code}, nil
}
