package token

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/numauth/numauth/internal/secret"
	"github.com/numauth/numauth/internal/store"
)

// Issuer is the "iss" of every JwtToken.
const Issuer = "numauth"

// Claims are a JwtToken's claims. The ID (jti) is the AccessToken's ID, so
// the two tokens of one GetAuthToken answer are a verifiable pair.
type Claims struct {
	jwt.RegisteredClaims
	Origin string `json:"origin"`
	URL    string `json:"url"`
	Biz    Biz    `json:"biz"`
}

// KeyStore is what the keyring needs of the durable store.
type KeyStore interface {
	PutSigningKey(ctx context.Context, k store.SigningKey) error
	ListSigningKeys(ctx context.Context, use string) ([]store.SigningKey, error)
	RetireSigningKey(ctx context.Context, id string, notAfter time.Time) error
}

type jwtKey struct {
	id   string
	priv ed25519.PrivateKey
}

// ringKey is one stored key as the keyring sees it.
type ringKey struct {
	id   string
	pub  ed25519.PublicKey
	priv ed25519.PrivateKey
	// start is when the key may begin to sign: the previous key's
	// NotAfter (zero for the first key, which always may). A key whose
	// previous key has no NotAfter has not started (farFuture).
	start    time.Time
	notAfter time.Time // zero: not retired
}

var farFuture = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)

// ringView is what the keyring serves at one time: the key that signs and
// the keys published (and accepted) in the JWKS. It holds from from until
// until.
type ringView struct {
	signer jwtKey
	public map[string]ed25519.PublicKey
	jwks   []byte
	from   time.Time
	until  time.Time
}

// Keyring signs and verifies JwtTokens with Ed25519 (JWS "EdDSA", RFC 8037) keys kept sealed in the
// durable store. Every instance sharing the store and the master key
// chooses the same signing key at the same time, from the stored keys and
// their times alone:
//
//   - Keys are ordered by creation. The first key may sign from the start;
//     every later key may sign from its predecessor's NotAfter on, and not
//     before its predecessor has one ([Keyring.Rotate] sets it). A key
//     stops signing at its own NotAfter.
//   - Of the keys that may sign now, the newest signs.
//   - Every key is published in the JWKS (and verifies) from the moment it
//     is stored until its NotAfter plus the longest token lifetime
//     ([Keyring.WithMaxTokenLifetime]): by then every token it signed has
//     expired.
//
// An instance reads the stored keys again at most every [RefreshInterval]
// (when it signs, serves the JWKS or verifies; see [Keyring.Refresh]) and
// at once when a token names a key it does not know.
type Keyring struct {
	ks  KeyStore
	box *secret.Box

	now         func() time.Time
	maxLifetime time.Duration
	reloading   sync.Mutex // one reload at a time; others go on with the old view

	mu         sync.RWMutex
	keys       []ringKey
	gen        uint64 // counts reloads
	view       ringView
	lastReload time.Time // by the real clock
	parser     *jwt.Parser
}

const useJWT = "jwt"

// RefreshInterval is how long an instance serves its view of the stored
// keys before it reads them again. A new key's publication delay must be
// longer than this plus the JWKS cache lifetime.
const RefreshInterval = time.Minute

// DefaultMaxTokenLifetime is the longest JwtToken lifetime a keyring
// assumes unless told otherwise (the default --jwt-token-ttl).
const DefaultMaxTokenLifetime = time.Hour

// initialKeyID is fixed so that instances starting at once against an empty
// store agree on one key: the first PutSigningKey wins, the others conflict
// and load the winner's.
const initialKeyID = "ed25519-1"

// WithClock makes the keyring judge expiry, and which key signs and which
// are published, by now (for tests and replays). Call it before the
// keyring is used.
func (k *Keyring) WithClock(now func() time.Time) *Keyring {
	k.parser = jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodEdDSA.Alg()}),
		jwt.WithIssuer(Issuer),
		jwt.WithExpirationRequired(),
		jwt.WithTimeFunc(now),
	)
	k.mu.Lock()
	k.now, k.view.until = now, time.Time{}
	k.mu.Unlock()
	return k
}

// WithMaxTokenLifetime sets the longest lifetime of a token the keyring
// signs: a retired key stays published that long after its NotAfter. Call
// it before the keyring is used.
func (k *Keyring) WithMaxTokenLifetime(d time.Duration) *Keyring {
	k.mu.Lock()
	if d > 0 {
		k.maxLifetime, k.view.until = d, time.Time{}
	}
	k.mu.Unlock()
	return k
}

// LoadKeyring loads the signing keys, creating the first one if there is none.
func LoadKeyring(ctx context.Context, ks KeyStore, box *secret.Box) (*Keyring, error) {
	k := &Keyring{ks: ks, box: box, maxLifetime: DefaultMaxTokenLifetime}
	k.WithClock(time.Now)
	keys, err := ks.ListSigningKeys(ctx, useJWT)
	if err != nil {
		return nil, fmt.Errorf("token: load signing keys: %w", err)
	}
	if len(keys) == 0 {
		if _, err := k.create(ctx, initialKeyID); err != nil && !errors.Is(err, store.ErrConflict) {
			return nil, err
		}
	}
	if err := k.reload(ctx); err != nil {
		return nil, err
	}
	if _, err := k.current(); err != nil {
		return nil, err
	}
	return k, nil
}

// Rotate creates a new signing key. It is published at once, and signs
// from delay on: that is when every key not yet retired gets its NotAfter.
// Until then the current key goes on signing, so that relying parties'
// caches of the JWKS learn the new key before they meet tokens it signed.
// It returns the new key's id and when it starts to sign.
//
// The new key is stored before the old ones are retired, so a Rotate that
// fails half way leaves the old key signing; running it again retires
// every key not yet retired, the one left over included.
func (k *Keyring) Rotate(ctx context.Context, delay time.Duration) (string, time.Time, error) {
	if delay < 0 {
		return "", time.Time{}, fmt.Errorf("token: publication delay %v is negative", delay)
	}
	k.mu.RLock()
	at := k.now().Add(delay).UTC().Truncate(time.Microsecond)
	k.mu.RUnlock()
	id := "ed25519-" + NewID()[:12]
	if _, err := k.create(ctx, id); err != nil {
		return "", time.Time{}, err
	}
	keys, err := k.ks.ListSigningKeys(ctx, useJWT)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("token: load signing keys: %w", err)
	}
	for _, sk := range keys {
		if sk.ID == id || !sk.NotAfter.IsZero() {
			continue
		}
		if err := k.ks.RetireSigningKey(ctx, sk.ID, at); err != nil {
			return "", time.Time{}, fmt.Errorf("token: retire signing key %s: %w", sk.ID, err)
		}
	}
	return id, at, k.reload(ctx)
}

func (k *Keyring) create(ctx context.Context, id string) (store.SigningKey, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return store.SigningKey{}, err
	}
	return storeKey(ctx, k.ks, k.box, store.SigningKey{ID: id, Use: useJWT, Alg: "EdDSA"}, priv, pub)
}

// storeKey seals priv (PKCS #8) under the master key and stores it as sk,
// with pub (PKIX) beside it.
func storeKey(ctx context.Context, ks KeyStore, box *secret.Box, sk store.SigningKey, priv, pub any) (store.SigningKey, error) {
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return store.SigningKey{}, err
	}
	if sk.Public, err = x509.MarshalPKIXPublicKey(pub); err != nil {
		return store.SigningKey{}, err
	}
	sk.Sealed, sk.CreatedAt = box.Seal(der, SigningKeyAAD(sk.ID)), time.Now().UTC()
	if err := ks.PutSigningKey(ctx, sk); err != nil {
		return store.SigningKey{}, fmt.Errorf("token: store signing key: %w", err)
	}
	return sk, nil
}

// openKey opens a stored key's private half.
func openKey(box *secret.Box, sk store.SigningKey) (any, error) {
	der, err := box.Open(sk.Sealed, SigningKeyAAD(sk.ID))
	if err != nil {
		return nil, fmt.Errorf("token: signing key %s: %w (is NUMAUTH_MASTER_KEY the one the store was created with?)", sk.ID, err)
	}
	priv, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("token: signing key %s: bad private key", sk.ID)
	}
	return priv, nil
}

func (k *Keyring) reload(ctx context.Context) error {
	sks, err := k.ks.ListSigningKeys(ctx, useJWT)
	if err != nil {
		return fmt.Errorf("token: load signing keys: %w", err)
	}
	if len(sks) == 0 {
		return errors.New("token: no signing key")
	}
	keys := make([]ringKey, 0, len(sks))
	for i, sk := range sks {
		p, err := x509.ParsePKIXPublicKey(sk.Public)
		pub, ok := p.(ed25519.PublicKey)
		if err != nil || !ok {
			return fmt.Errorf("token: signing key %s: bad public key", sk.ID)
		}
		rk := ringKey{id: sk.ID, pub: pub, notAfter: sk.NotAfter}
		if i > 0 {
			if rk.start = sks[i-1].NotAfter; rk.start.IsZero() {
				rk.start = farFuture
			}
		}
		// Every key is opened, retired ones too: the keyring's clock may
		// be set (tests, replays), so "past its NotAfter" is not final.
		priv, err := openKey(k.box, sk)
		if err != nil {
			return err
		}
		ep, ok := priv.(ed25519.PrivateKey)
		if !ok {
			return fmt.Errorf("token: signing key %s: bad private key", sk.ID)
		}
		rk.priv = ep
		keys = append(keys, rk)
	}
	k.mu.Lock()
	k.keys, k.gen, k.view.until, k.lastReload = keys, k.gen+1, time.Time{}, time.Now()
	k.mu.Unlock()
	return nil
}

// viewAt computes what keys serve at time t.
func viewAt(keys []ringKey, t time.Time, maxLifetime time.Duration) (ringView, error) {
	v := ringView{public: make(map[string]ed25519.PublicKey, len(keys)), from: t, until: farFuture}
	next := func(at time.Time) {
		if at.After(t) && at.Before(v.until) {
			v.until = at
		}
	}
	type jwk struct {
		Kty string `json:"kty"`
		Crv string `json:"crv"`
		X   string `json:"x"`
		Kid string `json:"kid"`
		Use string `json:"use"`
		Alg string `json:"alg"`
	}
	set := struct {
		Keys []jwk `json:"keys"`
	}{Keys: []jwk{}}
	for _, rk := range keys {
		next(rk.start)
		if !rk.notAfter.IsZero() {
			next(rk.notAfter)
			gone := rk.notAfter.Add(maxLifetime)
			next(gone)
			if !t.Before(gone) {
				continue // every token it signed has expired
			}
		}
		v.public[rk.id] = rk.pub
		set.Keys = append(set.Keys, jwk{Kty: "OKP", Crv: "Ed25519", Kid: rk.id, Use: "sig", Alg: "EdDSA",
			X: base64.RawURLEncoding.EncodeToString(rk.pub)})
		started := !t.Before(rk.start)
		retired := !rk.notAfter.IsZero() && !t.Before(rk.notAfter)
		if started && !retired && rk.priv != nil {
			v.signer = jwtKey{id: rk.id, priv: rk.priv} // ordered by creation: the newest wins
		}
	}
	jwks, err := json.Marshal(set)
	if err != nil {
		return ringView{}, err
	}
	v.jwks = jwks
	return v, nil
}

// currentView returns the view for now, computing it again when the one
// kept has run out.
func (k *Keyring) currentView() ringView {
	k.mu.RLock()
	now := k.now()
	if !now.Before(k.view.from) && now.Before(k.view.until) && k.view.jwks != nil {
		v := k.view
		k.mu.RUnlock()
		return v
	}
	keys, gen, maxLifetime := k.keys, k.gen, k.maxLifetime
	k.mu.RUnlock()
	v, err := viewAt(keys, now, maxLifetime)
	if err != nil {
		// json.Marshal of strings cannot fail; keep serving the last view.
		k.mu.RLock()
		defer k.mu.RUnlock()
		return k.view
	}
	k.mu.Lock()
	if k.gen == gen {
		k.view = v // not replaced by a reload meanwhile
	}
	k.mu.Unlock()
	return v
}

func (k *Keyring) current() (jwtKey, error) {
	cur := k.currentView().signer
	if cur.priv == nil {
		return jwtKey{}, errors.New("token: no signing key may sign now (every key is retired, or the next has not started)")
	}
	return cur, nil
}

// Refresh reads the stored keys again if this instance's view of them is
// older than RefreshInterval, so that it learns of a rotation another
// instance made. If a refresh is already under way it returns at once.
// On failure the keyring goes on with the keys it has.
func (k *Keyring) Refresh(ctx context.Context) error {
	k.mu.RLock()
	fresh := time.Since(k.lastReload) < RefreshInterval
	k.mu.RUnlock()
	if fresh || !k.reloading.TryLock() {
		return nil
	}
	defer k.reloading.Unlock()
	return k.reload(ctx)
}

// Sign mints a JwtToken with the key that signs now.
func (k *Keyring) Sign(c Claims) (string, error) {
	cur, err := k.current()
	if err != nil {
		return "", err
	}
	c.Issuer = Issuer
	t := jwt.NewWithClaims(jwt.SigningMethodEdDSA, c)
	t.Header["kid"] = cur.id
	s, err := t.SignedString(cur.priv)
	if err != nil {
		return "", fmt.Errorf("token: sign: %w", err)
	}
	return s, nil
}

// SigningKeyID is the id of the key that signs now ("" if none may).
func (k *Keyring) SigningKeyID() string { return k.currentView().signer.id }

// Verify checks a JwtToken's signature, issuer and expiry against the keys
// published now. A key id this instance does not know yet (another
// instance rotated) triggers one reload from the store, at most once a
// second.
func (k *Keyring) Verify(ctx context.Context, s string) (Claims, error) {
	if len(s) > 4096 {
		return Claims{}, ErrInvalid
	}
	_ = k.Refresh(ctx) // on failure, verify with the keys known
	var c Claims
	_, err := k.parser.ParseWithClaims(s, &c, func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		if pub := k.publicKey(ctx, kid); pub != nil {
			return pub, nil
		}
		return nil, ErrInvalid
	})
	switch {
	case err == nil:
		return c, nil
	case errors.Is(err, jwt.ErrTokenExpired):
		return c, ErrExpired
	default:
		return Claims{}, ErrInvalid
	}
}

func (k *Keyring) publicKey(ctx context.Context, kid string) ed25519.PublicKey {
	pub := k.currentView().public[kid]
	k.mu.RLock()
	last := k.lastReload
	k.mu.RUnlock()
	if pub != nil || kid == "" || time.Since(last) < time.Second {
		return pub
	}
	if err := k.reload(ctx); err != nil {
		return nil
	}
	return k.currentView().public[kid]
}

// JWKS returns the keys published now as a JSON Web Key Set.
func (k *Keyring) JWKS() []byte { return k.currentView().jwks }

// KeyInfo describes one JwtToken signing key at a time (see [Keyring.Keys]).
type KeyInfo struct {
	ID        string
	SignsFrom time.Time // zero: from the start; far future: not until its predecessor is retired
	NotAfter  time.Time // zero: not retired
	// PublishedUntil is when it leaves the JWKS (NotAfter + the longest
	// token lifetime); zero while it is not retired.
	PublishedUntil time.Time
	Signing        bool // it is the key that signs now
	Published      bool // it is in the JWKS now
}

// Keys describes every stored key, oldest first, as of the keyring's
// clock.
func (k *Keyring) Keys() []KeyInfo {
	v := k.currentView()
	k.mu.RLock()
	keys, maxLifetime := k.keys, k.maxLifetime
	k.mu.RUnlock()
	out := make([]KeyInfo, 0, len(keys))
	for _, rk := range keys {
		ki := KeyInfo{ID: rk.id, SignsFrom: rk.start, NotAfter: rk.notAfter,
			Signing: v.signer.id == rk.id, Published: v.public[rk.id] != nil}
		if !rk.notAfter.IsZero() {
			ki.PublishedUntil = rk.notAfter.Add(maxLifetime)
		}
		out = append(out, ki)
	}
	return out
}

// NotStarted reports whether SignsFrom means "not until the key before it
// is retired".
func (ki KeyInfo) NotStarted() bool { return !ki.SignsFrom.Before(farFuture) }
