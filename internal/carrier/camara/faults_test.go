package camara_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/numauth/numauth/internal/carrier"
	"github.com/numauth/numauth/internal/carrier/camara"
	"github.com/numauth/numauth/internal/carrier/camara/camaratest"
)

const ukLine = "+447700900123"

// faults breaks the operator's answers on paths ending with a suffix.
type faults struct {
	mu sync.Mutex
	m  map[string]fault
}

type fault struct {
	status int
	body   string
	delay  time.Duration
}

func (f *faults) set(suffix string, ft fault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.m[suffix] = ft
}

func (f *faults) clear() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.m = map[string]fault{}
}

func (f *faults) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		var ft *fault
		for s, v := range f.m {
			if strings.HasSuffix(r.URL.Path, s) {
				ft = &v
			}
		}
		f.mu.Unlock()
		if ft != nil {
			if ft.delay > 0 {
				select {
				case <-time.After(ft.delay):
				case <-r.Context().Done():
					return
				}
			}
			if ft.status != 0 {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(ft.status)
				w.Write([]byte(ft.body))
				return
			}
		}
		h.ServeHTTP(w, r)
	})
}

func newFaulty(t *testing.T, edit func(*camara.Config)) (*camaratest.Fixture, *faults) {
	f := &faults{m: map[string]fault{}}
	return camaratest.New(t, false, f.wrap, edit), f
}

// flow runs the front leg for phone and returns the line, or the error.
func flow(t *testing.T, fx *camaratest.Fixture, kind carrier.Kind, phone string) (carrier.Line, error) {
	t.Helper()
	ctx := context.Background()
	r, err := fx.Adapter.Begin(ctx, carrier.BeginRequest{Kind: kind, SessionBinding: "s", RedirectURL: camaratest.CallbackURL})
	if err != nil {
		return carrier.Line{}, err
	}
	src := camaratest.WiFi
	if phone != "" {
		src = fx.Op.Attach(t, phone)
	}
	q := camaratest.Visit(t, r.URL, src, camaratest.CallbackURL)
	return fx.Adapter.Complete(ctx, carrier.CallbackRequest{State: r.State, Query: q, SessionBinding: "s"})
}

// Every operator failure maps to its carrier error, through the one table.
func TestOperatorFaults(t *testing.T) {
	fx, f := newFaulty(t, func(c *camara.Config) { c.Timeout = 300 * time.Millisecond })
	ctx := context.Background()
	for _, c := range []struct {
		name, path string
		fault      fault
		kind       carrier.Kind
		want       error
	}{
		{"token 503", "/oauth/token", fault{status: 503, body: `{"error":"temporarily_unavailable"}`}, carrier.KindVerify, carrier.ErrMaintenance},
		{"token 429", "/oauth/token", fault{status: 429, body: `{"error":"slow_down"}`}, carrier.KindVerify, carrier.ErrQuota},
		{"token 500", "/oauth/token", fault{status: 500, body: `{"error":"server_error"}`}, carrier.KindVerify, carrier.ErrFailed},
		{"token slow", "/oauth/token", fault{delay: 2 * time.Second}, carrier.KindVerify, carrier.ErrFailed},
		{"device-phone-number 503", "/device-phone-number", fault{status: 503, body: `{"status":503,"code":"UNAVAILABLE","message":"down"}`}, carrier.KindLogin, carrier.ErrMaintenance},
		{"device-phone-number 429", "/device-phone-number", fault{status: 429, body: `{"status":429,"code":"QUOTA_EXCEEDED","message":"no"}`}, carrier.KindLogin, carrier.ErrQuota},
		{"device-phone-number not network-authenticated", "/device-phone-number", fault{status: 403, body: `{"status":403,"code":"NUMBER_VERIFICATION.USER_NOT_AUTHENTICATED_BY_MOBILE_NETWORK","message":"no"}`}, carrier.KindLogin, carrier.ErrNotCellular},
		{"device-phone-number garbage", "/device-phone-number", fault{status: 200, body: `{"devicePhoneNumber":"12"}`}, carrier.KindLogin, carrier.ErrFailed},
	} {
		t.Run(c.name, func(t *testing.T) {
			f.set(c.path, c.fault)
			defer f.clear()
			start := time.Now()
			if l, err := flow(t, fx, c.kind, ukLine); !errors.Is(err, c.want) || l.Ticket != "" {
				t.Errorf("front leg = %+v, %v; want %v", l, err, c.want)
			}
			if d := time.Since(start); d > 1500*time.Millisecond {
				t.Errorf("took %v; the adapter's 300 ms bound per call did not hold", d)
			}
		})
	}
	for _, c := range []struct {
		name  string
		fault fault
		want  error
	}{
		{"503", fault{status: 503, body: `{"status":503,"code":"UNAVAILABLE","message":"down"}`}, carrier.ErrMaintenance},
		{"429", fault{status: 429, body: `{"status":429,"code":"TOO_MANY_REQUESTS","message":"no"}`}, carrier.ErrQuota},
		{"500", fault{status: 500, body: `<html>oops</html>`}, carrier.ErrFailed},
		{"401", fault{status: 401, body: `{"status":401,"code":"UNAUTHENTICATED","message":"no"}`}, carrier.ErrTicketInvalid},
		{"403 not network-authenticated", fault{status: 403, body: `{"status":403,"code":"NUMBER_VERIFICATION.USER_NOT_AUTHENTICATED_BY_MOBILE_NETWORK","message":"no"}`}, carrier.ErrNotCellular},
		{"200 without a verdict", fault{status: 200, body: `{}`}, carrier.ErrFailed},
		{"slow", fault{delay: 2 * time.Second}, carrier.ErrFailed},
	} {
		t.Run("verify "+c.name, func(t *testing.T) {
			l, err := flow(t, fx, carrier.KindVerify, ukLine)
			if err != nil {
				t.Fatal(err)
			}
			f.set("/verify", c.fault)
			defer f.clear()
			if v, err := fx.Adapter.Verify(ctx, l.Ticket, ukLine); !errors.Is(err, c.want) || v != "" {
				t.Errorf("Verify = %q, %v; want %v", v, err, c.want)
			}
		})
	}
	// Everything works again once the faults are gone.
	l, err := flow(t, fx, carrier.KindVerify, ukLine)
	if err != nil {
		t.Fatal(err)
	}
	if v, err := fx.Adapter.Verify(ctx, l.Ticket, ukLine); err != nil || v != carrier.Pass {
		t.Fatalf("Verify after the faults = %q, %v", v, err)
	}
}

func TestOperatorAnswers(t *testing.T) {
	fx, _ := newFaulty(t, nil)
	ctx := context.Background()
	for _, c := range []struct {
		name  string
		query map[string]string
		want  error
	}{
		{"temporarily_unavailable", map[string]string{"error": "temporarily_unavailable"}, carrier.ErrMaintenance},
		{"server_error", map[string]string{"error": "server_error"}, carrier.ErrFailed},
		{"no code", map[string]string{}, carrier.ErrFailed},
		{"another issuer", map[string]string{"iss": "https://evil.example", "code": "x"}, carrier.ErrTicketInvalid},
	} {
		t.Run(c.name, func(t *testing.T) {
			r, err := fx.Adapter.Begin(ctx, carrier.BeginRequest{Kind: carrier.KindVerify, SessionBinding: "s", RedirectURL: camaratest.CallbackURL})
			if err != nil {
				t.Fatal(err)
			}
			q := map[string][]string{"state": {r.State}}
			for k, v := range c.query {
				q[k] = []string{v}
			}
			if l, err := fx.Adapter.Complete(ctx, carrier.CallbackRequest{State: r.State, Query: q, SessionBinding: "s"}); !errors.Is(err, c.want) || l.Ticket != "" {
				t.Errorf("Complete = %+v, %v; want %v", l, err, c.want)
			}
		})
	}
}

// The operator refuses a client assertion signed with a key it does not
// know: a carrier error, not a line.
func TestOperatorRefusesTheClient(t *testing.T) {
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	fx, _ := newFaulty(t, func(c *camara.Config) { c.ClientKey = other })
	if l, err := flow(t, fx, carrier.KindVerify, ukLine); !errors.Is(err, carrier.ErrFailed) || l.Ticket != "" {
		t.Fatalf("front leg with an unknown client key = %+v, %v; want ErrFailed", l, err)
	}
}

// The operator down: at the first flow (discovery) and after it.
func TestOperatorDown(t *testing.T) {
	fx, _ := newFaulty(t, func(c *camara.Config) { c.Timeout = 300 * time.Millisecond })
	ctx := context.Background()
	l, err := flow(t, fx, carrier.KindVerify, ukLine)
	if err != nil {
		t.Fatal(err)
	}
	r, err := fx.Adapter.Begin(ctx, carrier.BeginRequest{Kind: carrier.KindVerify, SessionBinding: "s", RedirectURL: camaratest.CallbackURL})
	if err != nil {
		t.Fatal(err)
	}
	q := camaratest.Visit(t, r.URL, fx.Op.Attach(t, ukLine), camaratest.CallbackURL)
	fx.Op.Server.Close()
	if _, err := fx.Adapter.Verify(ctx, l.Ticket, ukLine); !errors.Is(err, carrier.ErrFailed) {
		t.Errorf("Verify with the operator down = %v; want ErrFailed", err)
	}
	if _, err := fx.Adapter.Complete(ctx, carrier.CallbackRequest{State: r.State, Query: q, SessionBinding: "s"}); !errors.Is(err, carrier.ErrFailed) {
		t.Errorf("Complete with the operator down = %v; want ErrFailed", err)
	}
	// A fresh adapter cannot even discover it.
	cold, _ := newFaulty(t, nil)
	cold.Op.Server.Close()
	if _, err := cold.Adapter.Begin(ctx, carrier.BeginRequest{Kind: carrier.KindVerify, SessionBinding: "s", RedirectURL: camaratest.CallbackURL}); !errors.Is(err, carrier.ErrFailed) {
		t.Errorf("Begin with the operator never reached = %v; want ErrFailed", err)
	}
}

// The operator changes its signing key: the adapter finds the new key in
// the JWKS the discovery document names and goes on.
func TestOperatorRotatesKeys(t *testing.T) {
	fx, _ := newFaulty(t, nil)
	if _, err := flow(t, fx, carrier.KindVerify, ukLine); err != nil {
		t.Fatal(err)
	}
	if _, err := fx.Op.Keys.Rotate(context.Background()); err != nil {
		t.Fatal(err)
	}
	l, err := flow(t, fx, carrier.KindLogin, ukLine)
	if err != nil {
		t.Fatalf("front leg after the operator's key rotation: %v", err)
	}
	if n, err := fx.Adapter.Number(context.Background(), l.Ticket); err != nil || n != ukLine {
		t.Fatalf("Number = %q, %v", carrier.Mask(n), err)
	}
}

// A ticket expires with the operator's token inside it.
func TestTicketExpiresWithTheToken(t *testing.T) {
	fx, _ := newFaulty(t, nil)
	l, err := flow(t, fx, carrier.KindVerify, ukLine)
	if err != nil {
		t.Fatal(err)
	}
	if l.Expires.IsZero() || l.Expires.After(time.Now().Add(301*time.Second)) {
		t.Fatalf("Expires = %v; want at most the operator token's 300 s", l.Expires)
	}
	fx.Clock.Advance(time.Until(l.Expires) + time.Second)
	if _, err := fx.Adapter.Verify(context.Background(), l.Ticket, ukLine); !errors.Is(err, carrier.ErrTicketInvalid) {
		t.Fatalf("Verify after the token expired = %v; want ErrTicketInvalid", err)
	}
}

// A state begun for one flow does not complete a session of the other, and
// is not spent by trying.
func TestStateKind(t *testing.T) {
	fx, _ := newFaulty(t, nil)
	ctx := context.Background()
	r, err := fx.Adapter.Begin(ctx, carrier.BeginRequest{Kind: carrier.KindVerify, SessionBinding: "s", RedirectURL: camaratest.CallbackURL})
	if err != nil {
		t.Fatal(err)
	}
	q := camaratest.Visit(t, r.URL, fx.Op.Attach(t, ukLine), camaratest.CallbackURL)
	if _, err := fx.Adapter.Complete(ctx, carrier.CallbackRequest{State: r.State, Query: q, SessionBinding: "s", Kind: carrier.KindLogin}); !errors.Is(err, carrier.ErrTicketInvalid) {
		t.Fatalf("Complete for the other kind = %v; want ErrTicketInvalid", err)
	}
	if _, err := fx.Adapter.Complete(ctx, carrier.CallbackRequest{State: r.State, Query: q, SessionBinding: "s", Kind: carrier.KindVerify}); err != nil {
		t.Fatalf("Complete for its kind after that = %v", err)
	}
}

// An operator (or a path to it) that answers a code exchange with the ID
// token of another flow, validly signed, is not believed: the nonce is not
// this flow's.
func TestIDTokenOfAnotherFlow(t *testing.T) {
	var mu sync.Mutex
	var first string // the first exchange's ID token
	swap := func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !strings.HasSuffix(r.URL.Path, "/oauth/token") {
				h.ServeHTTP(w, r)
				return
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			var body map[string]any
			json.Unmarshal(rec.Body.Bytes(), &body)
			mu.Lock()
			if first == "" {
				first, _ = body["id_token"].(string)
			} else {
				body["id_token"] = first
			}
			mu.Unlock()
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(rec.Code)
			json.NewEncoder(w).Encode(body)
		})
	}
	fx := camaratest.New(t, false, swap, nil)
	if _, err := flow(t, fx, carrier.KindVerify, ukLine); err != nil {
		t.Fatalf("first flow: %v", err)
	}
	if l, err := flow(t, fx, carrier.KindVerify, ukLine); !errors.Is(err, carrier.ErrFailed) || l.Ticket != "" {
		t.Fatalf("a flow answered with another flow's ID token = %+v, %v; want ErrFailed", l, err)
	}
}
