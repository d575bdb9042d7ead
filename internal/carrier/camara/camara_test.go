package camara_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
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
	"github.com/numauth/numauth/internal/carrier/carriertest"
	"github.com/numauth/numauth/internal/carrier/sandbox"
	"github.com/numauth/numauth/internal/store"
	"github.com/numauth/numauth/internal/store/memory"
	"github.com/numauth/numauth/internal/token"
)

// callbackURL is the gateway callback the suite's flows name.
const callbackURL = "https://numauth.test/callback"

// clients is the northbound provider's client table.
type clients struct {
	mu      sync.Mutex
	m       map[string]northbound.ClientInfo
	secrets map[string]string
}

func (c *clients) Client(_ context.Context, id string) (northbound.ClientInfo, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ci, ok := c.m[id]
	if !ok {
		return northbound.ClientInfo{}, store.ErrNotFound
	}
	return ci, nil
}

func (c *clients) CheckSecret(_ context.Context, id, secret string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if want, ok := c.secrets[id]; !ok || subtle.ConstantTimeCompare([]byte(want), []byte(secret)) != 1 {
		return errors.New("wrong secret")
	}
	return nil
}

// operator is numauth's own northbound CAMARA API, in process, with a
// sandbox behind it: the operator side of the adapter's tests. Lines are
// told apart by the loopback address the browser's request comes from.
type operator struct {
	srv    *httptest.Server
	issuer string
	stack  *authtest.Stack

	mu    sync.Mutex
	addrs map[string]netip.Addr // phone → the browser's source address
	next  int
}

// wifi is a source address no line is attached to.
var wifi = netip.MustParseAddr("127.0.0.2")

func startOperator(t *testing.T, wrap func(http.Handler) http.Handler) (*operator, *clients) {
	t.Helper()
	st := authtest.New(t, authtest.Options{})
	keys, err := token.LoadOIDCKeys(context.Background(), st.Durable, st.Box)
	if err != nil {
		t.Fatal(err)
	}
	cl := &clients{m: map[string]northbound.ClientInfo{}, secrets: map[string]string{}}
	mux := http.NewServeMux()
	var h http.Handler = mux
	if wrap != nil {
		h = wrap(mux)
	}
	o := &operator{srv: httptest.NewServer(h), stack: st, addrs: map[string]netip.Addr{}}
	t.Cleanup(o.srv.Close)
	o.issuer = o.srv.URL + "/camara"
	var ck [32]byte
	copy(ck[:], st.Box.Derive("camara", 32))
	p, err := northbound.New(northbound.Config{Issuer: o.issuer, Service: st.Svc, Clients: cl, Store: st.Eph, Keys: keys, CryptoKey: ck, AuthorizePerSource: -1})
	if err != nil {
		t.Fatal(err)
	}
	mux.Handle(p.BasePath()+"/", p.Handler())
	return o, cl
}

// addr returns the source address phone's browser comes from, attaching
// the line on first use.
func (o *operator) addr(t *testing.T, phone string) netip.Addr {
	o.mu.Lock()
	defer o.mu.Unlock()
	if a, ok := o.addrs[phone]; ok {
		return a
	}
	o.next++
	a := netip.AddrFrom4([4]byte{127, 1, byte(o.next >> 8), byte(o.next)})
	if err := o.stack.Sandbox.AddSubscriber(sandbox.Subscriber{Prefix: netip.PrefixFrom(a, 32), Phone: phone}); err != nil {
		t.Errorf("attach %s: %v", carrier.Mask(phone), err)
	}
	o.addrs[phone] = a
	return a
}

// browser is an HTTP client from src that does not follow redirects.
func browser(src netip.Addr) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: src.AsSlice()}}
	return &http.Client{
		Transport:     &http.Transport{DialContext: d.DialContext, DisableKeepAlives: true},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// visit plays the phone's browser at the operator: it follows r.URL from
// src and returns the query the operator sends it back to the callback with.
func visit(t *testing.T, r carrier.Redirect, src netip.Addr) url.Values {
	res, err := browser(src).Get(r.URL)
	if err != nil {
		t.Errorf("authorize: %v", err)
		return url.Values{}
	}
	res.Body.Close()
	loc, err := url.Parse(res.Header.Get("Location"))
	if res.StatusCode != http.StatusFound || err != nil || !strings.HasPrefix(loc.String(), callbackURL+"?") {
		t.Errorf("authorize answered %d, Location %q; want a redirect to the callback", res.StatusCode, res.Header.Get("Location"))
		return url.Values{}
	}
	return loc.Query()
}

// clock is a settable offset on the real clock.
type clock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.offset += d
	c.mu.Unlock()
}

type fixture struct {
	op      *operator
	adapter *camara.Adapter
	clock   *clock
	shared  store.Ephemeral
}

// newFixture registers a client at a fresh operator (private_key_jwt with
// an EC key, or client_secret_basic) and builds an adapter for it.
func newFixture(t *testing.T, secret bool, wrap func(http.Handler) http.Handler, edit func(*camara.Config)) *fixture {
	t.Helper()
	op, cl := startOperator(t, wrap)
	cfg := camara.Config{Issuer: op.issuer, APIRoot: op.issuer, ClientID: "numauth-gw"}
	info := northbound.ClientInfo{ID: "numauth-gw", AccountID: "acct", RedirectURIs: []string{callbackURL}, Active: true}
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
	cl.m["numauth-gw"] = info
	f := &fixture{op: op, clock: &clock{}, shared: memory.New()}
	t.Cleanup(func() { f.shared.Close() })
	cfg.Key = make([]byte, 32)
	rand.Read(cfg.Key)
	cfg.Shared, cfg.Now = f.shared, f.clock.now
	if edit != nil {
		edit(&cfg)
	}
	a, err := camara.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	f.adapter = a
	return f
}

func (f *fixture) world(t *testing.T) carriertest.World {
	return carriertest.World{
		Adapter: f.adapter,
		Authorize: func(t *testing.T, r carrier.Redirect, phone string) url.Values {
			src := wifi
			if phone != "" {
				src = f.op.addr(t, phone)
			}
			return visit(t, r, src)
		},
		Advance: f.clock.advance,
		// numauth's northbound tokens serve one NV call.
		OneAnswerPerTicket: true,
		Operator:           "CAMARA",
	}
}

// The adapter passes the carrier suite against numauth's own CAMARA
// provider, with each client authentication.
func TestConformance(t *testing.T) {
	for _, secret := range []bool{false, true} {
		t.Run(fmt.Sprintf("secret=%v", secret), func(t *testing.T) {
			carriertest.Run(t, carriertest.Harness{New: func(t *testing.T) carriertest.World {
				return newFixture(t, secret, nil, nil).world(t)
			}})
		})
	}
}
