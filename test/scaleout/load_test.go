package scaleout

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Steps of a verification flow, in order.
const (
	stepAuthToken   = "GetAuthToken"
	stepCheck       = "check"
	stepVerifyToken = "verify-token"
	stepVerifyPhone = "VerifyPhoneWithToken"
)

var steps = []string{stepAuthToken, stepCheck, stepVerifyToken, stepVerifyPhone}

// call is one call the load made and what it got.
type call struct {
	step     string
	instance int
	start    time.Time
	elapsed  time.Duration
	code     string // "OK", an answer code, TRANSPORT or HTTP_<status>
	status   int    // HTTP status; 0 when there was no answer
	verifyID string // VerifyPhoneWithToken answered OK: the VerifyId
	msg      string // the error, when not OK
}

func (c call) end() time.Time { return c.start.Add(c.elapsed) }

// load drives whole verification flows on a cluster from several workers,
// each step of a flow on another instance than the step before, and keeps
// every call. Calls are bounded by the client timeout, not by the load's
// life: a call under way when the load stops runs to its answer.
type load struct {
	c      *cluster
	scheme string
	stop   chan struct{}
	wg     sync.WaitGroup
	once   sync.Once
	flows  atomic.Int64
	out    []atomic.Bool // instances taken out of rotation (as a load balancer would)

	mu    sync.Mutex
	calls []call
}

// startLoad starts workers flows at a time on c.
func startLoad(c *cluster, scheme string, workers int) *load {
	l := &load{c: c, scheme: scheme, stop: make(chan struct{}), out: make([]atomic.Bool, len(c.ins))}
	for w := range workers {
		l.wg.Go(func() {
			for {
				select {
				case <-l.stop:
					return
				default:
				}
				if err := l.flow(w, int(l.flows.Add(1))); err != nil {
					time.Sleep(10 * time.Millisecond) // no busy loop while a store is down
				}
			}
		})
	}
	return l
}

// takeOut stops sending calls to instance i.
func (l *load) takeOut(i int) { l.out[i].Store(true) }

// finish stops the load, waits for the calls under way and returns every call.
func (l *load) finish() []call {
	l.once.Do(func() { close(l.stop) })
	l.wg.Wait()
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.calls
}

// pick returns the instance for step s of flow k of worker w.
func (l *load) pick(w, k, s int) int {
	n := len(l.c.ins)
	for j := range n {
		i := (w + k + s + j) % n
		if !l.out[i].Load() {
			return i
		}
	}
	return (w + k + s) % n
}

// timed runs one call of a step on instance i and keeps it.
func (l *load) timed(step string, i int, fn func() (verifyID string, err error)) error {
	t0 := time.Now()
	id, err := fn()
	c := call{step: step, instance: i, start: t0, elapsed: time.Since(t0), code: "OK", status: http.StatusOK, verifyID: id}
	var ae *apiError
	switch {
	case errors.As(err, &ae):
		c.code, c.status, c.verifyID, c.msg = ae.Code, ae.Status, "", ae.Msg
	case err != nil:
		c.code, c.status, c.verifyID, c.msg = "ERROR", 0, "", err.Error()
	}
	l.mu.Lock()
	l.calls = append(l.calls, c)
	l.mu.Unlock()
	return err
}

// flow runs one verification flow: GetAuthToken → check → verify-token →
// VerifyPhoneWithToken.
func (l *load) flow(w, k int) error {
	ctx := context.Background()
	var access, jwt, sess, sp string
	i := l.pick(w, k, 0)
	err := l.timed(stepAuthToken, i, func() (string, error) {
		r, err := rpc(ctx, l.c.clients[i], "GetAuthToken", map[string]string{
			"Url": pageURL, "Origin": pageOrigin, "SceneCode": l.scheme, "BizType": "0"})
		access, jwt = r.Get("TokenInfo", "AccessToken"), r.Get("TokenInfo", "JwtToken")
		return "", err
	})
	if err != nil {
		return err
	}
	i = l.pick(w, k, 1)
	err = l.timed(stepCheck, i, func() (string, error) {
		m, err := h5(ctx, l.c.clients[i], "check", map[string]string{"accessToken": access, "jwtToken": jwt, "kind": "verify"})
		sess = str(m, "session")
		return "", err
	})
	if err != nil {
		return err
	}
	i = l.pick(w, k, 2)
	err = l.timed(stepVerifyToken, i, func() (string, error) {
		var err error
		sp, err = spToken(ctx, l.c.clients[i], sess)
		return "", err
	})
	if err != nil {
		return err
	}
	i = l.pick(w, k, 3)
	return l.timed(stepVerifyPhone, i, func() (string, error) {
		id, result, err := verify(ctx, l.c.clients[i], sp)
		if err == nil && result != "PASS" {
			return "", &apiError{Step: stepVerifyPhone, Code: "VerifyResult:" + result, Status: http.StatusOK}
		}
		return id, err
	})
}

// window returns the calls that started at or after from and ended by to
// (a zero bound is open).
func window(calls []call, from, to time.Time) []call {
	var out []call
	for _, c := range calls {
		if (from.IsZero() || !c.start.Before(from)) && (to.IsZero() || !c.end().After(to)) {
			out = append(out, c)
		}
	}
	return out
}

// acknowledged returns the VerifyIds the clients saw answered OK, by instance.
func acknowledged(calls []call) map[string]int {
	ids := map[string]int{}
	for _, c := range calls {
		if c.step == stepVerifyPhone && c.code == "OK" {
			ids[c.verifyID] = c.instance
		}
	}
	return ids
}

// tally counts calls by "step code (HTTP status)", for messages.
func tally(calls []call) string {
	n := map[string]int{}
	for _, c := range calls {
		n[fmt.Sprintf("%s %s (%d)", c.step, c.code, c.status)]++
	}
	keys := make([]string, 0, len(n))
	for k := range n {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "\n  %6d × %s", n[k], k)
	}
	return b.String()
}

// latencies summarises how long calls took: count, p50, p99, max.
func latencies(calls []call) (n int, p50, p99, maxD time.Duration) {
	ds := make([]time.Duration, len(calls))
	for i, c := range calls {
		ds[i] = c.elapsed
	}
	if len(ds) == 0 {
		return 0, 0, 0, 0
	}
	p50, p99 = quantile(ds, 0.50), quantile(ds, 0.99)
	return len(ds), p50, p99, ds[len(ds)-1]
}
