package scaleout

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/numauth/numauth/internal/openapi/sign"
	"github.com/numauth/numauth/internal/rpcclient"
	"github.com/numauth/numauth/test/harness"
)

// TestMultiInstance starts three instances at once on an empty database and
// checks that they act as one service.
func TestMultiInstance(t *testing.T) { testMultiInstance(t, freshDatabase(t), sharedRedis(t)) }

// TestMultiInstanceOnRedisCluster is TestMultiInstance with the ephemeral
// store on a 3-master Redis Cluster the test starts: every single-use and
// budget rule holds with the keys spread over three servers.
func TestMultiInstanceOnRedisCluster(t *testing.T) {
	dsn := freshDatabase(t) // skips when PostgreSQL is absent, before the cluster starts
	testMultiInstance(t, dsn, harness.StartRedisCluster(t, 3, 0).Seeds())
}

func testMultiInstance(t *testing.T, dsn, redis string) {
	c := newCluster(t, 3, dsn, redis)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	scheme := c.scheme(ctx, t)

	t.Run("MigratedOnce", func(t *testing.T) {
		entries, err := os.ReadDir("../../internal/store/postgres/migrations")
		if err != nil {
			t.Fatal(err)
		}
		var want int64
		for _, e := range entries {
			if strings.HasSuffix(e.Name(), ".sql") {
				want++
			}
		}
		for _, q := range []struct {
			sql  string
			want int64
		}{
			{`SELECT count(*) FROM schema_migrations`, want},
			{`SELECT count(DISTINCT version) FROM schema_migrations WHERE version BETWEEN 1 AND ` + fmt.Sprint(want), want},
			// One JWT signing key, not one per instance: they all sign alike.
			{`SELECT count(*) FROM signing_keys WHERE use = 'jwt'`, 1},
			{`SELECT count(*) FROM access_keys`, 1},
		} {
			if n, err := queryInt(ctx, dsn, q.sql); err != nil || n != q.want {
				t.Errorf("%s = %d, %v; want %d", q.sql, n, err, q.want)
			}
		}
		for i, in := range c.ins {
			if s := getStatus(ctx, c.hc, in.URL+"/readyz"); s != http.StatusOK {
				t.Errorf("instance %d /readyz = %d", i, s)
			}
		}
	})

	t.Run("SchemeEverywhere", func(t *testing.T) {
		for i, cl := range c.clients {
			r, err := rpc(ctx, cl, "DescribeVerifyScheme", map[string]string{"SchemeCode": scheme})
			if err != nil {
				t.Fatalf("DescribeVerifyScheme through instance %d: %v", i, err)
			}
			if got, origin := r.Get("SchemeQueryResultDTO", "SchemeCode"), r.Get("SchemeQueryResultDTO", "Origin"); got != scheme || origin != pageOrigin {
				t.Errorf("instance %d describes scheme %q of %q, want %q of %q", i, got, origin, scheme, pageOrigin)
			}
			if _, err := rpc(ctx, cl, "GetAuthToken", map[string]string{"Url": pageURL, "Origin": pageOrigin, "SceneCode": scheme}); err != nil {
				t.Errorf("GetAuthToken with the scheme through instance %d: %v", i, err)
			}
		}
	})

	t.Run("FlowAcrossInstances", func(t *testing.T) {
		// Every step on another instance than the one before, in every rotation.
		for i := range c.ins {
			a, b, d := c.clients[i], c.clients[(i+1)%3], c.clients[(i+2)%3]
			sess, err := session(ctx, a, b, scheme, "verify")
			if err != nil {
				t.Fatalf("rotation %d: tokens from %d, check on %d: %v", i, i, (i+1)%3, err)
			}
			sp, err := spToken(ctx, d, sess)
			if err != nil {
				t.Fatalf("rotation %d: verify-token on %d: %v", i, (i+2)%3, err)
			}
			id, result, err := verify(ctx, a, sp)
			if err != nil || result != "PASS" {
				t.Fatalf("rotation %d: VerifyPhoneWithToken on %d = %q, %v; want PASS", i, i, result, err)
			}
			got, err := queryInt(ctx, dsn, `SELECT count(*) FROM verifications WHERE id = $1 AND result = 'PASS' AND masked_phone = '138****8000'`, id)
			if err != nil || got != 1 {
				t.Errorf("rotation %d: record %s stored %d times, %v", i, id, got, err)
			}
		}
	})

	t.Run("NonceOnce", func(t *testing.T) {
		v := url.Values{"Action": {"DescribeVerifyScheme"}, "Version": {"2017-05-25"}, "Format": {"JSON"}, "SchemeCode": {scheme}}
		signed := sign.SignV1(http.MethodPost, v, c.keyID, harness.AccessKeySecret, time.Now().UTC(), uuid.NewString())
		for i, in := range c.ins {
			status, code, err := postForm(ctx, c.hc, in.URL, signed)
			want, wantStatus := "SignatureNonceUsed", http.StatusBadRequest
			if i == 0 {
				want, wantStatus = "OK", http.StatusOK
			}
			if err != nil || code != want || status != wantStatus {
				t.Errorf("the same signed call on instance %d = %s (HTTP %d), %v; want %s (HTTP %d)", i, code, status, err, want, wantStatus)
			}
		}
	})

	t.Run("SpTokenSpentOnce", func(t *testing.T) {
		const rounds, callers = 3, 30
		for round := range rounds {
			before, err := queryInt(ctx, dsn, `SELECT count(*) FROM verifications`)
			if err != nil {
				t.Fatal(err)
			}
			sess, err := session(ctx, c.clients[round%3], c.clients[(round+1)%3], scheme, "verify")
			if err != nil {
				t.Fatal(err)
			}
			sp, err := spToken(ctx, c.clients[(round+2)%3], sess)
			if err != nil {
				t.Fatal(err)
			}
			count := race(callers, func(i int) error {
				_, result, err := verify(ctx, c.clients[i%3], sp)
				if err == nil && result != "PASS" {
					return &apiError{Step: stepVerifyPhone, Code: "VerifyResult:" + result}
				}
				return err
			})
			// The losers get isv.TOKEN_INVALID once the winner has answered,
			// or ServiceUnavailable while it is still answering (a retry then
			// gets the answer if the winner fails).
			if count["OK"] != 1 || count["isv.TOKEN_INVALID"]+count["ServiceUnavailable"] != callers-1 {
				t.Errorf("round %d: %d parallel uses of one spToken over 3 instances answered %v; want 1 OK and %d isv.TOKEN_INVALID or ServiceUnavailable", round, callers, count, callers-1)
			}
			after, err := queryInt(ctx, dsn, `SELECT count(*) FROM verifications`)
			if err != nil || after-before != 1 {
				t.Errorf("round %d: %d records stored, %v; want 1", round, after-before, err)
			}
		}
	})

	t.Run("MaskBudgetShared", func(t *testing.T) {
		sess, err := session(ctx, c.clients[0], c.clients[0], scheme, "login")
		if err != nil {
			t.Fatal(err)
		}
		m, err := h5(ctx, c.clients[1], "login-mask", map[string]string{"session": sess})
		if err != nil || str(m, "maskedPhone") != "138****8000" {
			t.Fatalf("login-mask on instance 1 = %v, %v", m, err)
		}
		// The three tries of the budget, each on another instance.
		for i, want := range []string{"MASK_WRONG", "MASK_WRONG", "MASK_LOCKED"} {
			m, err := h5(ctx, c.clients[i], "login-token", map[string]string{"session": sess, "mask": "9999"})
			if got := codeOf(err); got != want {
				t.Fatalf("wrong mask %d on instance %d = %s (%v); want %s", i+1, i, got, m, want)
			}
			if want == "MASK_WRONG" && fmt.Sprint(m["triesLeft"]) != fmt.Sprint(2-i) {
				t.Errorf("wrong mask %d: triesLeft %v, want %d", i+1, m["triesLeft"], 2-i)
			}
		}
		// The right digits are too late on any instance, and the number is
		// locked for new sessions everywhere.
		for i, cl := range c.clients {
			if _, err := h5(ctx, cl, "login-token", map[string]string{"session": sess, "mask": rightMask}); codeOf(err) == "OK" {
				t.Errorf("the right mask after a spent budget was accepted by instance %d", i)
			}
			fresh, err := session(ctx, cl, cl, scheme, "login")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := h5(ctx, cl, "login-mask", map[string]string{"session": fresh}); codeOf(err) != "MASK_LOCKED" {
				t.Errorf("login-mask for the locked number on instance %d = %v; want MASK_LOCKED", i, err)
			}
		}
	})

	t.Run("MaskBudgetUnderParallelGuesses", func(t *testing.T) {
		// The other subscriber (calls from 127.0.0.2), so the lock above does not matter.
		page := []*rpcclient.Client{c.sourceClient(0, otherSource), c.sourceClient(1, otherSource), c.sourceClient(2, otherSource)}
		sess, err := session(ctx, c.clients[2], page[2], scheme, "login")
		if err != nil {
			t.Fatal(err)
		}
		if m, err := h5(ctx, page[0], "login-mask", map[string]string{"session": sess}); err != nil || str(m, "maskedPhone") != "139****9000" {
			t.Fatalf("login-mask from %s = %v, %v", otherSource, m, err)
		}
		const guesses = 12
		count := race(guesses, func(i int) error {
			_, err := h5(ctx, page[i%3], "login-token", map[string]string{"session": sess, "mask": fmt.Sprintf("%04d", 1000+i)})
			return err
		})
		// Budget 3: two guesses learn they were wrong, the third locks;
		// the rest find the lock or the dead session.
		if count["MASK_WRONG"] != 2 || count["MASK_LOCKED"] < 1 || count["MASK_WRONG"]+count["MASK_LOCKED"]+count["SESSION_INVALID"] != guesses {
			t.Errorf("%d parallel wrong masks over 3 instances answered %v; want exactly 2 MASK_WRONG, the rest MASK_LOCKED or SESSION_INVALID", guesses, count)
		}
	})
}

// TestThrottleAcrossInstances checks that --throttle counts one AccessKey's
// calls on all instances together.
func TestThrottleAcrossInstances(t *testing.T) {
	const limit, perInstance = 8, 8 // per-instance counting would let all 24 through
	c := newCluster(t, 3, freshDatabase(t), sharedRedis(t), "--throttle", fmt.Sprint(limit))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// A window is one second of the shared clock; a burst that straddles a
	// second boundary is tried again.
	for attempt := 0; ; attempt++ {
		// Warm the connections, then start just after a second begins.
		for _, cl := range c.clients {
			rpc(ctx, cl, "DescribeVerifyScheme", map[string]string{"SchemeCode": "FC000"})
		}
		now := time.Now()
		time.Sleep(now.Truncate(time.Second).Add(time.Second + 20*time.Millisecond).Sub(now))
		second := time.Now().Unix()
		codes := make([]string, 3*perInstance)
		var wg sync.WaitGroup
		for i := range codes {
			wg.Go(func() {
				_, err := rpc(ctx, c.clients[i%3], "DescribeVerifyScheme", map[string]string{"SchemeCode": "FC000"})
				codes[i] = codeOf(err)
			})
		}
		wg.Wait()
		if time.Now().Unix() != second {
			if attempt < 3 {
				continue
			}
			t.Fatal("could not fit a burst of calls into one second")
		}
		count := map[string]int{}
		for _, code := range codes {
			count[code]++
		}
		// Calls within the limit reach the action, which knows no FC000.
		if count["isv.VERIFY_SCHEME_NOT_EXIST"] != limit || count["Throttling.User"] != len(codes)-limit {
			t.Errorf("%d calls in one second over 3 instances with --throttle %d answered %v; want %d through and the rest Throttling.User",
				len(codes), limit, count, limit)
		}
		return
	}
}

// race runs fn(0) … fn(n-1) at once, each on its own goroutine released at
// the same moment, and counts the answer codes.
func race(n int, fn func(i int) error) map[string]int {
	codes := make([]string, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			codes[i] = codeOf(fn(i))
		})
	}
	close(start)
	wg.Wait()
	count := map[string]int{}
	for _, code := range codes {
		count[code]++
	}
	return count
}

// postForm sends an already signed form and returns the answer's status and
// Code.
func postForm(ctx context.Context, hc *http.Client, endpoint string, form url.Values) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint+"/", strings.NewReader(form.Encode()))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := hc.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer res.Body.Close()
	var body struct{ Code string }
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		return res.StatusCode, "", err
	}
	if err := json.Unmarshal(raw, &body); err != nil {
		return res.StatusCode, "", fmt.Errorf("answer is not JSON: %.200s", raw)
	}
	return res.StatusCode, body.Code, nil
}
