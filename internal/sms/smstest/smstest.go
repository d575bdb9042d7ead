// Package smstest is the conformance suite every SMS provider passes.
//
// A provider's test builds a [Harness] that starts a fresh world (the
// provider and the peer it talks to: an outbox, an SMSC, an HTTP receiver)
// and lets the suite look at what the peer received and break the peer on
// purpose, then calls [Run]:
//
//	func TestConformance(t *testing.T) {
//		smstest.Run(t, smstest.Harness{
//			New: func(t *testing.T, env sms.Env) smstest.World {
//				peer := startPeer(t)
//				p := newProvider(t, peer.Addr(), env)
//				return smstest.World{Provider: p, Received: peer.Received, ...}
//			},
//		})
//	}
//
// The suite only sends to numbers of the +86 170 0000 xxxx test block and
// never asserts on timing beyond generous deadlines.
package smstest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/numauth/numauth/internal/sms"
)

// Harness tells the suite how to drive one provider.
type Harness struct {
	// New starts a fresh, independent world whose provider is built with
	// env (the suite's receipt collector and logger; New may fill Outbox
	// and Now). It registers its own clean-up with t.Cleanup, which must
	// close the provider.
	New func(t *testing.T, env sms.Env) World
}

// World is one provider and the peer it delivers to.
type World struct {
	Provider sms.Provider
	// Received returns what the peer has received so far for one number
	// (E.164), oldest first, one entry per message with its segments
	// joined. It does not block.
	Received func(t *testing.T, to string) []Delivered
	// Reject makes the peer refuse every later message to one number, for
	// good (a refusal ErrRejected must report).
	Reject func(t *testing.T, to string)
	// Outage makes the peer unreachable or failing (on) or healthy again
	// (off): while on, Send reports ErrUnavailable; after off, the provider
	// recovers by itself.
	Outage func(t *testing.T, on bool)
	// Receipts: the peer reports delivery, so the provider must hand a
	// StatusDelivered receipt for every accepted message to env.Receipts
	// (or answer StatusDelivered in Accepted).
	Receipts bool
	// Idempotent: a second Send of a message with the same ID delivers
	// nothing more.
	Idempotent bool
	// Templated: the provider hands the peer the sign, the template code
	// and the parameters (the peer renders the text), so the suite compares
	// those instead of the text.
	Templated bool
}

// Delivered is one message as the peer saw it.
type Delivered struct {
	Text string
	// SignName, TemplateCode and Params: what a templated peer received.
	SignName, TemplateCode string
	Params                 map[string]string
	// ID is the message's numauth ID where the peer's protocol carries it
	// (an idempotency key, an outbox key), else "".
	ID string
}

// Run runs the whole suite against the provider h describes.
func Run(t *testing.T, h Harness) {
	t.Helper()
	t.Run("Deliver", func(t *testing.T) { testDeliver(t, h) })
	t.Run("Reject", func(t *testing.T) { testReject(t, h) })
	t.Run("Outage", func(t *testing.T) { testOutage(t, h) })
	t.Run("Canceled", func(t *testing.T) { testCanceled(t, h) })
	t.Run("Parallel", func(t *testing.T) { testParallel(t, h) })
	t.Run("Idempotent", func(t *testing.T) { testIdempotent(t, h) })
}

// collector gathers receipts and log output of one world.
type collector struct {
	mu       sync.Mutex
	receipts []sms.Receipt
	log      bytes.Buffer
}

func (c *collector) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.log.Write(p)
}

func (c *collector) receipt(_ context.Context, r sms.Receipt) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.receipts = append(c.receipts, r)
}

func (c *collector) find(id string) (sms.Receipt, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, r := range c.receipts {
		if r.ProviderID == id {
			return r, true
		}
	}
	return sms.Receipt{}, false
}

func (c *collector) logText() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.log.String()
}

func start(t *testing.T, h Harness) (World, *collector) {
	t.Helper()
	c := &collector{}
	env := sms.Env{
		Logger:   slog.New(slog.NewTextHandler(c, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Receipts: c.receipt,
		Now:      time.Now,
	}
	w := h.New(t, env)
	if w.Provider == nil || w.Received == nil || w.Reject == nil || w.Outage == nil {
		t.Fatal("smstest: World needs Provider, Received, Reject and Outage")
	}
	return w, c
}

var seq struct {
	sync.Mutex
	n int
}

// number returns a fresh test number and a fresh message id.
func fresh() (to, id string) {
	seq.Lock()
	defer seq.Unlock()
	seq.n++
	return fmt.Sprintf("+86170%08d", 10000000+seq.n%90000000), fmt.Sprintf("smstest-%d-%d", time.Now().UnixNano(), seq.n)
}

func message(to, id, code, body string) sms.Message {
	return sms.Message{
		ID: id, To: to, SignName: "numauth", TemplateCode: "100001",
		Params: map[string]string{"code": code, "min": "5"},
		Text:   "【numauth】" + body,
	}
}

// same reports whether d is the delivery of m, as w's peer sees messages.
func same(w World, d Delivered, m sms.Message) bool {
	if w.Templated {
		return d.SignName == m.SignName && d.TemplateCode == m.TemplateCode && maps.Equal(d.Params, m.Params)
	}
	return d.Text == m.Text
}

// holds reports whether d carries code.
func holds(w World, d Delivered, code string) bool {
	if w.Templated {
		return d.Params["code"] == code
	}
	return strings.Contains(d.Text, code)
}

// waitFor polls until cond holds or the deadline passes.
func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("smstest: %s: not within %v", what, d)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func send(t *testing.T, p sms.Provider, m sms.Message) sms.Accepted {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	a, err := p.Send(ctx, m)
	if err != nil {
		t.Fatalf("Send(%s): %v", m.ID, err)
	}
	if a.ProviderID == "" {
		t.Fatalf("Send(%s): empty ProviderID", m.ID)
	}
	if a.Status != sms.StatusPending && a.Status != sms.StatusDelivered {
		t.Fatalf("Send(%s): Status %d, want pending or delivered", m.ID, a.Status)
	}
	return a
}

func testDeliver(t *testing.T, h Harness) {
	w, c := start(t, h)
	long := strings.Repeat("这是一条很长的中文短信，用来检验分段发送与重组。", 8) // > 70 UCS-2 characters: several segments
	cases := []struct{ name, code, body string }{
		{"chinese", "4821", "验证码4821，5分钟内有效，请勿泄露。"},
		{"ascii", "Ab3x9Q", "Your code is Ab3x9Q, valid for 5 minutes."},
		{"gsm-extension", "7310", "Code [7310] {valid} ~5 min | €"},
		{"long-chinese", "66120953", "验证码66120953。" + long},
		{"emoji", "5150", "验证码5150 ✅ 😀"},
	}
	type sent struct {
		to, id string
		m      sms.Message
		acc    sms.Accepted
	}
	var all []sent
	for _, tc := range cases {
		to, id := fresh()
		m := message(to, id, tc.code, tc.body)
		all = append(all, sent{to, id, m, send(t, w.Provider, m)})
	}
	for i, s := range all {
		t.Run(cases[i].name, func(t *testing.T) {
			waitFor(t, "the peer receives "+s.id, 15*time.Second, func() bool { return len(w.Received(t, s.to)) > 0 })
			got := w.Received(t, s.to)
			if len(got) != 1 {
				t.Fatalf("peer received %d messages for one send, want 1: %q", len(got), got)
			}
			if !same(w, got[0], s.m) {
				t.Fatalf("peer received %+v, want %+v", got[0], s.m)
			}
			if got[0].ID != "" && got[0].ID != s.id {
				t.Fatalf("peer saw id %q, want %q", got[0].ID, s.id)
			}
			if w.Receipts && s.acc.Status != sms.StatusDelivered {
				waitFor(t, "a delivery receipt for "+s.acc.ProviderID, 15*time.Second, func() bool {
					_, ok := c.find(s.acc.ProviderID)
					return ok
				})
				r, _ := c.find(s.acc.ProviderID)
				if r.Status != sms.StatusDelivered || r.ErrCode != "DELIVERED" || r.At.IsZero() {
					t.Fatalf("receipt %+v, want delivered with ErrCode DELIVERED and a time", r)
				}
			}
		})
	}
	// No provider writes a code or a whole number into its log. The
	// message ids and provider ids it may log are taken out first: they
	// are no secret, and their digits can hold a code's by chance.
	logs := c.logText()
	for _, s := range all {
		logs = strings.ReplaceAll(logs, s.id, "<id>")
		if s.acc.ProviderID != "" {
			logs = strings.ReplaceAll(logs, s.acc.ProviderID, "<provider-id>")
		}
	}
	for i, s := range all {
		if strings.Contains(logs, cases[i].code) || strings.Contains(logs, strings.TrimPrefix(s.to, "+")) {
			t.Errorf("the provider's log holds a code or a whole number (%s):\n%s", cases[i].name, logs)
		}
	}
}

func testReject(t *testing.T, h Harness) {
	w, _ := start(t, h)
	to, id := fresh()
	w.Reject(t, to)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, err := w.Provider.Send(ctx, message(to, id, "1234", "验证码1234"))
	if !errors.Is(err, sms.ErrRejected) {
		t.Fatalf("Send to a refused number: %v, want ErrRejected", err)
	}
	if errors.Is(err, sms.ErrUnavailable) {
		t.Fatalf("a refusal is not an outage: %v", err)
	}
	time.Sleep(100 * time.Millisecond)
	if got := w.Received(t, to); len(got) != 0 {
		t.Fatalf("the peer received %d messages it refused", len(got))
	}
	// Other numbers still go through.
	to2, id2 := fresh()
	send(t, w.Provider, message(to2, id2, "5678", "验证码5678"))
}

func testOutage(t *testing.T, h Harness) {
	w, _ := start(t, h)
	to, id := fresh()
	send(t, w.Provider, message(to, id, "1111", "验证码1111")) // connected and working first
	w.Outage(t, true)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	_, err := w.Provider.Send(ctx, message(to, id+"-down", "2222", "验证码2222"))
	cancel()
	if !errors.Is(err, sms.ErrUnavailable) {
		t.Fatalf("Send during an outage: %v, want ErrUnavailable", err)
	}
	w.Outage(t, false)
	// The provider recovers by itself: a Send within a few seconds succeeds.
	deadline := time.Now().Add(30 * time.Second)
	for n := 0; ; n++ {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, err := w.Provider.Send(ctx, message(to, fmt.Sprintf("%s-up-%d", id, n), "3333", "验证码3333"))
		cancel()
		if err == nil {
			break
		}
		if !errors.Is(err, sms.ErrUnavailable) {
			t.Fatalf("Send while recovering: %v, want nil or ErrUnavailable", err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("the provider did not recover within 30 s of the outage's end: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	waitFor(t, "the message after the outage arrives", 15*time.Second, func() bool {
		for _, d := range w.Received(t, to) {
			if holds(w, d, "3333") {
				return true
			}
		}
		return false
	})
	for _, d := range w.Received(t, to) {
		if holds(w, d, "2222") {
			t.Fatalf("a message reported unavailable was delivered: %+v", d)
		}
	}
}

func testCanceled(t *testing.T, h Harness) {
	w, _ := start(t, h)
	to, id := fresh()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	done := make(chan error, 1)
	go func() {
		_, err := w.Provider.Send(ctx, message(to, id, "9999", "验证码9999"))
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("Send with a canceled context succeeded")
		}
		if !errors.Is(err, context.Canceled) && !errors.Is(err, sms.ErrUnavailable) {
			t.Fatalf("Send with a canceled context: %v, want context.Canceled or ErrUnavailable", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Send ignored its canceled context")
	}
}

func testParallel(t *testing.T, h Harness) {
	w, _ := start(t, h)
	const workers, each = 8, 4
	type one struct {
		to, id string
		m      sms.Message
	}
	var (
		mu   sync.Mutex
		sent []one
		ids  = map[string]bool{}
		wg   sync.WaitGroup
		errc = make(chan error, workers*each)
	)
	for g := 0; g < workers; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				to, id := fresh()
				m := message(to, id, fmt.Sprintf("%04d", g*each+i), fmt.Sprintf("验证码%04d", g*each+i))
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				a, err := w.Provider.Send(ctx, m)
				cancel()
				if err != nil {
					errc <- err
					continue
				}
				mu.Lock()
				if ids[a.ProviderID] {
					errc <- fmt.Errorf("ProviderID %q given twice", a.ProviderID)
				}
				ids[a.ProviderID] = true
				sent = append(sent, one{to, id, m})
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
	for _, s := range sent {
		waitFor(t, "parallel message "+s.id, 20*time.Second, func() bool { return len(w.Received(t, s.to)) > 0 })
		if got := w.Received(t, s.to); len(got) != 1 || !same(w, got[0], s.m) {
			t.Fatalf("peer received %+v for %s, want exactly %+v", got, s.to, s.m)
		}
	}
}

func testIdempotent(t *testing.T, h Harness) {
	w, _ := start(t, h)
	if !w.Idempotent {
		t.Skip("the provider's peer has no idempotency key")
	}
	to, id := fresh()
	m := message(to, id, "4242", "验证码4242")
	a1 := send(t, w.Provider, m)
	a2 := send(t, w.Provider, m)
	if a1.ProviderID != a2.ProviderID {
		t.Errorf("a repeated Send answered ProviderID %q, then %q", a1.ProviderID, a2.ProviderID)
	}
	waitFor(t, "the peer receives the message", 15*time.Second, func() bool { return len(w.Received(t, to)) > 0 })
	time.Sleep(200 * time.Millisecond)
	if got := w.Received(t, to); len(got) != 1 {
		t.Fatalf("two Sends of one message delivered %d messages", len(got))
	}
}
