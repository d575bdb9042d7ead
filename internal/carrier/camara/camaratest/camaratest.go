// Package camaratest runs numauth's own CAMARA provider (the northbound
// API, with a sandbox behind it) in process as the operator of the camara
// adapter's tests, and builds adapters registered at it.
package camaratest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/numauth/numauth/internal/auth/authtest"
	northbound "github.com/numauth/numauth/internal/camara"
	"github.com/numauth/numauth/internal/carrier"
	"github.com/numauth/numauth/internal/carrier/camara"
	"github.com/numauth/numauth/internal/carrier/sandbox"
	"github.com/numauth/numauth/internal/store"
	"github.com/numauth/numauth/internal/store/memory"
	"github.com/numauth/numauth/internal/token"
)

// CallbackURL is the gateway callback the suite's flows name.
const CallbackURL = "https://numauth.test/callback"

// Clients is the northbound provider's client table.
type Clients struct {
	mu      sync.Mutex
	m       map[string]northbound.ClientInfo
	secrets map[string]string
}

func (c *Clients) Client(_ context.Context, id string) (northbound.ClientInfo, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ci, ok := c.m[id]
	if !ok {
		return northbound.ClientInfo{}, store.ErrNotFound
	}
	return ci, nil
}

func (c *Clients) CheckSecret(_ context.Context, id, secret string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if want, ok := c.secrets[id]; !ok || subtle.ConstantTimeCompare([]byte(want), []byte(secret)) != 1 {
		return errors.New("wrong secret")
	}
	return nil
}

// Operator is numauth's own northbound CAMARA API, in process, with a
// sandbox behind it: the operator side of the adapter's tests. Lines are
// told apart by the loopback address the browser's request comes from.
type Operator struct {
	Server *httptest.Server
	Issuer string
	Stack  *authtest.Stack
	Keys   *token.OIDCKeys // the ID token signing keys

	mu    sync.Mutex
	addrs map[string]netip.Addr // phone → the browser's source address
	next  int
}

// WiFi is a source address no line is attached to.
var WiFi = netip.MustParseAddr("127.0.0.2")

// StartOperator starts an operator; wrap, if set, wraps its handler (to
// break it). Its client table starts empty.
func StartOperator(t testing.TB, wrap func(http.Handler) http.Handler) (*Operator, *Clients) {
	t.Helper()
	st := authtest.New(t, authtest.Options{})
	keys, err := token.LoadOIDCKeys(context.Background(), st.Durable, st.Box)
	if err != nil {
		t.Fatal(err)
	}
	cl := &Clients{m: map[string]northbound.ClientInfo{}, secrets: map[string]string{}}
	mux := http.NewServeMux()
	var h http.Handler = mux
	if wrap != nil {
		h = wrap(mux)
	}
	o := &Operator{Server: httptest.NewServer(h), Stack: st, Keys: keys, addrs: map[string]netip.Addr{}}
	t.Cleanup(o.Server.Close)
	o.Issuer = o.Server.URL + "/camara"
	var ck [32]byte
	copy(ck[:], st.Box.Derive("camara", 32))
	p, err := northbound.New(northbound.Config{Issuer: o.Issuer, Service: st.Svc, Clients: cl, Store: st.Eph, Keys: keys, CryptoKey: ck, AuthorizePerSource: -1})
	if err != nil {
		t.Fatal(err)
	}
	mux.Handle(p.BasePath()+"/", p.Handler())
	return o, cl
}

// Attach returns the source address phone's browser comes from, attaching
// the line on first use.
func (o *Operator) Attach(t testing.TB, phone string) netip.Addr {
	o.mu.Lock()
	defer o.mu.Unlock()
	if a, ok := o.addrs[phone]; ok {
		return a
	}
	o.next++
	a := netip.AddrFrom4([4]byte{127, 1, byte(o.next >> 8), byte(o.next)})
	if err := o.Stack.Sandbox.AddSubscriber(sandbox.Subscriber{Prefix: netip.PrefixFrom(a, 32), Phone: phone}); err != nil {
		t.Errorf("attach %s: %v", carrier.Mask(phone), err)
	}
	o.addrs[phone] = a
	return a
}

// Browser is an HTTP client from src that does not follow redirects.
func Browser(src netip.Addr) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: src.AsSlice()}}
	return &http.Client{
		Transport:     &http.Transport{DialContext: d.DialContext, DisableKeepAlives: true},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// Visit plays the phone's browser at the operator: it follows authURL from
// src and returns the query the operator sends it back to callback with.
func Visit(t testing.TB, authURL string, src netip.Addr, callback string) url.Values {
	t.Helper()
	res, err := Browser(src).Get(authURL)
	if err != nil {
		t.Errorf("authorize: %v", err)
		return url.Values{}
	}
	res.Body.Close()
	loc, err := url.Parse(res.Header.Get("Location"))
	// 302 or 303: providers differ (zitadel's and oidc-provider's).
	if (res.StatusCode != http.StatusFound && res.StatusCode != http.StatusSeeOther) || err != nil || !strings.HasPrefix(loc.String(), callback+"?") {
		t.Errorf("authorize answered %d, Location %q; want a redirect to the callback", res.StatusCode, res.Header.Get("Location"))
		return url.Values{}
	}
	return loc.Query()
}

// Clock is a settable offset on the real clock.
type Clock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.offset += d
	c.mu.Unlock()
}

// Fixture is an operator and an adapter registered at it as client
// "numauth-gw".
type Fixture struct {
	Op      *Operator
	Adapter *camara.Adapter
	Clock   *Clock
	Shared  store.Ephemeral
}

// New registers a client at a fresh operator (private_key_jwt with
// an EC key, or client_secret_basic) and builds an adapter for it; edit,
// if set, changes the adapter's configuration first (a RedirectURL it sets
// is registered too). wrap is StartOperator's.
func New(t testing.TB, secret bool, wrap func(http.Handler) http.Handler, edit func(*camara.Config)) *Fixture {
	t.Helper()
	op, cl := StartOperator(t, wrap)
	cfg := camara.Config{Issuer: op.Issuer, APIRoot: op.Issuer, ClientID: "numauth-gw"}
	info := northbound.ClientInfo{ID: "numauth-gw", AccountID: "acct", RedirectURIs: []string{CallbackURL}, Active: true}
	if secret {
		info.AuthMethod = northbound.MethodSecretBasic
		cl.secrets["numauth-gw"] = "gw-secret"
		cfg.ClientSecret = "gw-secret"
	} else {
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		info.AuthMethod = northbound.MethodPrivateKeyJWT
		info.Keys = []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: "gw-1", Algorithm: "ES256", Use: "sig"}}
		cfg.ClientKey, cfg.KeyID = key, "gw-1"
	}
	f := &Fixture{Op: op, Clock: &Clock{}, Shared: memory.New()}
	t.Cleanup(func() { f.Shared.Close() })
	cfg.Key = make([]byte, 32)
	rand.Read(cfg.Key)
	cfg.Shared, cfg.Now = f.Shared, f.Clock.Now
	if edit != nil {
		edit(&cfg)
	}
	if cfg.RedirectURL != "" {
		info.RedirectURIs = append(info.RedirectURIs, cfg.RedirectURL)
	}
	cl.mu.Lock()
	cl.m["numauth-gw"] = info
	cl.mu.Unlock()
	a, err := camara.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	f.Adapter = a
	return f
}
