package webhook_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/numauth/numauth/internal/sms/smstest"
)

// The test peer: a Standard Webhooks consumer over TLS. Every request is
// verified with the specification's own Go library (not this package's
// code), checked against the documented schema, and deduped by webhook-id
// as a well-behaved consumer does.

// payload is the request body as the package doc documents it, decoded
// strictly. It is written from the doc on purpose, not taken from the
// provider's own type, so a change to the wire format fails here.
type payload struct {
	Type      string `json:"type"`
	Timestamp string `json:"timestamp"`
	Data      struct {
		ID           string            `json:"id"`
		To           string            `json:"to"`
		SignName     string            `json:"sign_name"`
		TemplateCode string            `json:"template_code"`
		Params       map[string]string `json:"params"`
		Text         string            `json:"text"`
	} `json:"data"`
}

// fault is what the receiver does to one attempt instead of its usual
// answer (deliver once, 200 {"id":"rcv-N"}).
type fault struct {
	before     time.Duration // wait this long first; if the client gives up meanwhile, nothing happens
	hang       bool          // never answer: wait until the client gives up
	status     int           // answer this status (0: the usual answer)
	body       string        // with this body
	retryAfter string        // and this Retry-After
	location   string        // and this Location
	deliver    bool          // with status set: deliver (dedupe) before answering
	after      time.Duration // deliver, then wait this long before answering
}

// attempt is one request as the receiver saw it.
type attempt struct {
	ID, IdempotencyKey string
	Verified           bool
	Status             int // what the receiver answered (0: nothing, the client went away)
	At                 time.Time
}

type delivery struct {
	ProviderID string
	P          payload
}

type receiver struct {
	t      *testing.T
	srv    *httptest.Server
	wh     *standardwebhooks.Webhook
	secret string // what the provider is given

	mu       sync.Mutex
	attempts []attempt
	byID     map[string]*delivery
	order    []*delivery
	refused  map[string]bool
	outage   bool
	fault    func(n int) fault // n: this webhook-id's attempt number, from 1
	conflict bool              // answer 409 (no body) to a webhook-id already delivered
	wrongKey bool              // the receiver's secret is not the provider's: expect failed verification
	conns    int
}

type receiverOpts struct {
	secret string      // the receiver's secret (default: the provider's)
	cert   *tls.Config // the server's TLS (default: a leaf of the test CA for 127.0.0.1)
	plain  bool        // plain http instead of TLS
}

// newSecret returns a fresh whsec_ secret of 32 random bytes.
func newSecret(t testing.TB) string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return "whsec_" + base64.StdEncoding.EncodeToString(b)
}

func newReceiver(t *testing.T, o receiverOpts) *receiver {
	t.Helper()
	r := &receiver{t: t, secret: newSecret(t), byID: map[string]*delivery{}, refused: map[string]bool{}}
	verifyWith := r.secret
	if o.secret != "" {
		verifyWith, r.wrongKey = o.secret, true
	}
	wh, err := standardwebhooks.NewWebhook(verifyWith)
	if err != nil {
		t.Fatal(err)
	}
	r.wh = wh
	r.srv = httptest.NewUnstartedServer(http.HandlerFunc(r.serve))
	r.srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the TLS tests' handshake errors are expected
	r.srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			r.mu.Lock()
			r.conns++
			r.mu.Unlock()
		}
	}
	if o.plain {
		r.srv.Start()
	} else {
		r.srv.TLS = o.cert
		if r.srv.TLS == nil {
			c, k := testCA(t)
			r.srv.TLS = serverTLS(t, c, k, []string{"127.0.0.1"}, time.Now().Add(time.Hour))
		}
		r.srv.StartTLS()
	}
	t.Cleanup(r.srv.Close)
	t.Cleanup(r.checkAll) // runs before Close, after the provider's clean-up
	return r
}

// URL is where the provider posts.
func (r *receiver) URL() string { return r.srv.URL + "/sms" }

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	b, err := io.ReadAll(io.LimitReader(req.Body, 1<<20))
	if err != nil {
		http.Error(w, "read", http.StatusBadRequest)
		return
	}
	a := attempt{ID: req.Header.Get("webhook-id"), IdempotencyKey: req.Header.Get("Idempotency-Key"), At: time.Now()}
	a.Verified = r.wh.Verify(b, req.Header) == nil
	r.mu.Lock()
	n := 1
	for _, x := range r.attempts {
		if x.ID == a.ID {
			n++
		}
	}
	i := len(r.attempts)
	r.attempts = append(r.attempts, a)
	f := fault{}
	if r.fault != nil {
		f = r.fault(n)
	}
	outage := r.outage
	r.mu.Unlock()
	status := 0
	defer func() {
		r.mu.Lock()
		r.attempts[i].Status = status
		r.mu.Unlock()
	}()
	answer := func(code int, body, retryAfter string) {
		if retryAfter != "" {
			w.Header().Set("Retry-After", retryAfter)
		}
		if f.location != "" {
			w.Header().Set("Location", f.location)
		}
		if body != "" {
			w.Header().Set("Content-Type", "application/json")
		}
		w.WriteHeader(code)
		io.WriteString(w, body)
		status = code
	}

	if !a.Verified {
		answer(http.StatusUnauthorized, `{"error":"signature"}`, "")
		return
	}
	var p payload
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	switch {
	case req.Method != http.MethodPost || req.Header.Get("Content-Type") != "application/json":
		r.t.Errorf("receiver: %s with Content-Type %q, want POST application/json", req.Method, req.Header.Get("Content-Type"))
		answer(http.StatusBadRequest, "", "")
		return
	case dec.Decode(&p) != nil || dec.More():
		r.t.Errorf("receiver: the body is not the documented schema: %s", b)
		answer(http.StatusBadRequest, "", "")
		return
	case p.Type != "sms.message" || p.Data.ID != a.ID || p.Data.Params == nil:
		r.t.Errorf("receiver: type %q, data.id %q, params %v: want sms.message, the webhook-id %q and an object", p.Type, p.Data.ID, p.Data.Params, a.ID)
		answer(http.StatusBadRequest, "", "")
		return
	}
	if _, err := time.Parse(time.RFC3339, p.Timestamp); err != nil {
		r.t.Errorf("receiver: timestamp %q is not RFC 3339", p.Timestamp)
	}
	if outage {
		answer(http.StatusServiceUnavailable, "", "")
		return
	}
	// wait waits d, or gives the request up when its client went away:
	// then the connection is dropped without an answer (a handler that
	// merely returned would answer 200, which a client closing the
	// connection at that moment may still read).
	wait := func(d time.Duration) {
		select {
		case <-time.After(d):
		case <-req.Context().Done():
			panic(http.ErrAbortHandler)
		}
	}
	if f.before > 0 {
		wait(f.before)
	}
	if f.hang {
		<-req.Context().Done()
		panic(http.ErrAbortHandler)
	}
	if f.status != 0 {
		if f.deliver {
			r.deliver(p)
		}
		answer(f.status, f.body, f.retryAfter)
		return
	}
	r.mu.Lock()
	refused := r.refused[p.Data.To]
	r.mu.Unlock()
	if refused {
		answer(http.StatusUnprocessableEntity, `{"error":"number refused"}`, "")
		return
	}
	d, dup := r.deliver(p)
	if f.after > 0 {
		wait(f.after)
	}
	if dup && r.conflict {
		answer(http.StatusConflict, "", "")
		return
	}
	answer(http.StatusOK, fmt.Sprintf(`{"id":%q}`, d.ProviderID), "")
}

// deliver keeps p once per webhook-id; dup reports it was there already.
func (r *receiver) deliver(p payload) (d *delivery, dup bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if d, ok := r.byID[p.Data.ID]; ok {
		return d, true
	}
	d = &delivery{ProviderID: fmt.Sprintf("rcv-%d", len(r.order)+1), P: p}
	r.byID[p.Data.ID] = d
	r.order = append(r.order, d)
	return d, false
}

// Received is the World's view: deliveries to one number, oldest first.
func (r *receiver) Received(_ *testing.T, to string) []smstest.Delivered {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []smstest.Delivered
	for _, d := range r.order {
		if d.P.Data.To == to {
			out = append(out, smstest.Delivered{
				Text: d.P.Data.Text, SignName: d.P.Data.SignName, TemplateCode: d.P.Data.TemplateCode,
				Params: d.P.Data.Params, ID: d.P.Data.ID,
			})
		}
	}
	return out
}

func (r *receiver) Reject(_ *testing.T, to string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.refused[to] = true
}

func (r *receiver) Outage(_ *testing.T, on bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.outage = on
}

func (r *receiver) setFault(f func(n int) fault) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.fault = f
}

// since returns the attempts made after the first k.
func (r *receiver) since(k int) []attempt {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]attempt(nil), r.attempts[k:]...)
}

func (r *receiver) mark() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.attempts)
}

func (r *receiver) delivered(id string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, ok := r.byID[id]
	return ok
}

func (r *receiver) connections() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.conns
}

// checkAll holds for every world: each request was signed with the secret
// (unless the receiver was given another on purpose) and carried its
// webhook-id as its Idempotency-Key.
func (r *receiver) checkAll() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, a := range r.attempts {
		if a.IdempotencyKey != a.ID || a.ID == "" {
			r.t.Errorf("receiver: webhook-id %q with Idempotency-Key %q, want equal and set", a.ID, a.IdempotencyKey)
		}
		if a.Verified == r.wrongKey {
			r.t.Errorf("receiver: request %s verified=%v with the wrong key=%v", a.ID, a.Verified, r.wrongKey)
		}
	}
}

// The test CA: one per test binary, trusted through --sms-webhook-ca-file.
var ca struct {
	once sync.Once
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	file string
	err  error
}

func testCA(t *testing.T) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	ca.once.Do(func() {
		ca.cert, ca.key, ca.err = newCA("numauth webhook test CA")
		if ca.err != nil {
			return
		}
		dir, err := os.MkdirTemp("", "webhook-ca-")
		if err != nil {
			ca.err = err
			return
		}
		ca.file = filepath.Join(dir, "ca.pem")
		ca.err = os.WriteFile(ca.file, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.cert.Raw}), 0o600)
	})
	if ca.err != nil {
		t.Fatal(ca.err)
	}
	return ca.cert, ca.key
}

// caFile is the PEM file of the test CA.
func caFile(t *testing.T) string {
	testCA(t)
	return ca.file
}

func TestMain(m *testing.M) {
	code := m.Run()
	if ca.file != "" {
		os.RemoveAll(filepath.Dir(ca.file))
	}
	os.Exit(code)
}

func newCA(name string) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	return cert, key, err
}

// serverTLS is a server config with a leaf of (caCert, caKey) for hosts
// (IP addresses or names), valid until notAfter.
func serverTLS(t *testing.T, caCert *x509.Certificate, caKey *ecdsa.PrivateKey, hosts []string, notAfter time.Time) *tls.Config {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: hosts[0]},
		NotBefore: notAfter.Add(-48 * time.Hour), NotAfter: notAfter,
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
}
