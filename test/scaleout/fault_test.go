package scaleout

import (
	"context"
	"net/http"
	"net/url"
	"runtime"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"

	goredis "github.com/redis/go-redis/v9"

	"github.com/numauth/numauth/internal/openapi/sign"
	"github.com/numauth/numauth/test/harness"
)

// Bounds of the fault tests. When a store crashes, a call must answer well
// within the client timeout (clientTimeout, 10 s): a tenth of it at the 99th
// percentile. When a store hangs, nothing tells a slow answer from none but
// a deadline: a call must answer within its deadline (Redis: the client's
// 500 ms read timeout; PostgreSQL: --request-timeout) and a small margin.
// An instance must serve again within recoverWithin of its store's return,
// with no restart.
const (
	failFastP99   = clientTimeout / 10
	recoverWithin = 10 * time.Second
	warmFor       = 700 * time.Millisecond // load before the fault
)

// fault is a way for a store to go away and come back.
type fault struct {
	store    string // "Redis" or "PostgreSQL"
	down, up func()
	downFor  time.Duration // how long the store stays away; longer than bound
	bound    time.Duration // on the 99th percentile of calls under way meanwhile
}

// TestRedisOutage kills the Redis that two instances share while they are
// under load, then starts it again on the same port.
func TestRedisOutage(t *testing.T) {
	rs := startPrivateRedis(t)
	c := newCluster(t, 2, freshDatabase(t), rs.URL())
	outage(t, c, fault{"Redis", rs.kill, rs.start, 1500 * time.Millisecond, failFastP99})
}

// TestRedisHang freezes (SIGSTOP) the Redis that two instances share: its
// connections stay open and nothing answers, as in a network partition.
func TestRedisHang(t *testing.T) {
	rs := startPrivateRedis(t)
	c := newCluster(t, 2, freshDatabase(t), rs.URL())
	t.Cleanup(func() { rs.signal(syscall.SIGCONT) })
	outage(t, c, fault{"Redis", func() { rs.signal(syscall.SIGSTOP) }, func() { rs.signal(syscall.SIGCONT) },
		2500 * time.Millisecond, failFastP99})
}

// TestPostgresOutage crashes (pg_ctl stop -m immediate) the PostgreSQL that
// two instances share while they are under load, then starts it again.
func TestPostgresOutage(t *testing.T) {
	pg := startPrivatePostgres(t)
	c := newCluster(t, 2, pg.DSN(), sharedRedis(t))
	calls := outage(t, c, fault{"PostgreSQL", func() {
		if err := pg.stop("immediate"); err != nil {
			t.Fatal(err)
		}
	}, func() {
		if err := pg.start(); err != nil {
			t.Fatal(err)
		}
	}, 1500 * time.Millisecond, failFastP99})
	// Nothing was acknowledged that the store does not hold, across the
	// crash and the outage.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	checkStored(ctx, t, pg.DSN(), calls)
}

// TestPostgresHang freezes (SIGSTOP) every process of the PostgreSQL that
// two instances share: connections stay open and nothing answers. Calls
// that need it answer ServiceUnavailable at --request-timeout (default 5 s;
// short here to keep the test short).
func TestPostgresHang(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("finds the server's processes in /proc")
	}
	const requestTimeout = 750 * time.Millisecond
	pg := startPrivatePostgres(t)
	c := newCluster(t, 2, pg.DSN(), sharedRedis(t), "--request-timeout", requestTimeout.String())
	var pids []int
	t.Cleanup(func() { signalAll(pids, syscall.SIGCONT) })
	calls := outage(t, c, fault{"PostgreSQL", func() {
		pids = pg.pids(t)
		signalAll(pids, syscall.SIGSTOP)
	}, func() { signalAll(pids, syscall.SIGCONT) }, 2500 * time.Millisecond, requestTimeout + 250*time.Millisecond})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	checkStored(ctx, t, pg.DSN(), calls)
}

// outage runs load on c, takes a store away and brings it back, checks
// what the clients saw in between, and returns every call.
func outage(t *testing.T, c *cluster, f fault) []call {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	scheme := c.scheme(ctx, t)
	l := startLoad(c, scheme, 6)
	defer l.finish()
	time.Sleep(warmFor)

	f.down()
	wentDown := time.Now()
	var wg sync.WaitGroup
	for i, in := range c.ins {
		wg.Go(func() {
			if !eventually(ctx, 3*time.Second, func() bool { return getStatus(ctx, c.hc, in.URL+"/readyz") == http.StatusServiceUnavailable }) {
				t.Errorf("instance %d: /readyz did not answer 503 within 3 s of %s going away", i, f.store)
			}
		})
	}
	wg.Wait()
	time.Sleep(time.Until(wentDown.Add(f.downFor)))

	cameBack := time.Now()
	f.up()
	for i := range c.ins {
		ok := eventually(ctx, recoverWithin, func() bool {
			sess, err := session(ctx, c.clients[i], c.clients[i], scheme, "verify")
			if err != nil {
				return false
			}
			sp, err := spToken(ctx, c.clients[i], sess)
			if err != nil {
				return false
			}
			_, result, err := verify(ctx, c.clients[i], sp)
			return err == nil && result == "PASS"
		})
		if !ok {
			t.Errorf("instance %d: no whole flow succeeded within %v of %s's return", i, recoverWithin, f.store)
		}
		if s := getStatus(ctx, c.hc, c.ins[i].URL+"/readyz"); s != http.StatusOK {
			t.Errorf("instance %d: /readyz = %d after %s's return", i, s, f.store)
		}
	}
	recovered := time.Now()
	t.Logf("%s back at +%v; every instance served a whole flow %v later", f.store,
		cameBack.Sub(wentDown).Round(time.Millisecond), recovered.Sub(cameBack).Round(time.Millisecond))
	time.Sleep(500 * time.Millisecond) // load on the recovered cluster
	calls := l.finish()

	if n := len(acknowledged(window(calls, time.Time{}, wentDown))); n == 0 {
		t.Errorf("no verification succeeded before %s went away: %s", f.store, tally(calls))
	}
	// Calls answered while the store was away: ServiceUnavailable (RPC) or
	// UNAVAILABLE (gateway, whose SDK shows 600010). Calls the store's absence
	// does not concern may succeed (AccessKeys and schemes are cached for
	// 5 s, so GetAuthToken can outlive PostgreSQL for a while), but no
	// verification: one that cannot be recorded is not acknowledged.
	during := window(calls, wentDown, cameBack)
	failed := 0
	for _, cl := range during {
		switch {
		case cl.code == "OK" && cl.step == stepVerifyPhone:
			t.Errorf("VerifyPhoneWithToken answered OK (VerifyId %s) while %s was away", cl.verifyID, f.store)
		case cl.code == "OK":
		case cl.status == 0:
			failed++
			t.Errorf("%s on instance %d got no answer while %s was away (%s after %v)", cl.step, cl.instance, f.store, cl.code, cl.elapsed)
		case cl.step == stepCheck || cl.step == stepVerifyToken:
			failed++
			if cl.code != "UNAVAILABLE" {
				t.Errorf("gateway %s answered %s while %s was away; want UNAVAILABLE", cl.step, cl.code, f.store)
			}
		default:
			failed++
			if cl.code != "ServiceUnavailable" || cl.status != http.StatusServiceUnavailable {
				t.Errorf("%s answered %s (HTTP %d) while %s was away; want ServiceUnavailable (503)", cl.step, cl.code, cl.status, f.store)
			}
		}
	}
	if failed == 0 {
		t.Errorf("no call failed while %s was away:%s", f.store, tally(during))
	}
	// Every call under way while the store was away answered fast: a call
	// that started before the fault counts from the fault, and one waiting
	// for a hung store counts until it ends, whenever that is.
	var affected []call
	for _, cl := range calls {
		if cl.end().After(wentDown) && cl.start.Before(cameBack.Add(-f.bound)) {
			if cl.start.Before(wentDown) {
				cl.elapsed, cl.start = cl.end().Sub(wentDown), wentDown
			}
			affected = append(affected, cl)
		}
	}
	n, p50, p99, maxD := latencies(affected)
	t.Logf("%d calls under way while %s was away (%v), timed from the fault: p50 %v, p99 %v, max %v:%s", n, f.store,
		cameBack.Sub(wentDown).Round(time.Millisecond), p50.Round(time.Microsecond), p99.Round(time.Microsecond), maxD.Round(time.Microsecond), tally(affected))
	if p99 > f.bound {
		t.Errorf("calls took %v at p99 while %s was away; want under %v", p99, f.store, f.bound)
	}
	// Once every instance has served a whole flow again, all calls succeed.
	if bad := slices.DeleteFunc(window(calls, recovered, time.Time{}), func(c call) bool { return c.code == "OK" }); len(bad) > 0 {
		t.Errorf("%d calls failed after recovery:%s", len(bad), tally(bad))
	}
	return calls
}

// TestKillUnderLoad kills one of three instances with SIGKILL under load and
// checks that every verification a client saw acknowledged is stored.
func TestKillUnderLoad(t *testing.T) {
	dsn := freshDatabase(t)
	c := newCluster(t, 3, dsn, sharedRedis(t))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	scheme := c.scheme(ctx, t)
	const victim = 1
	l := startLoad(c, scheme, 9)
	defer l.finish()
	time.Sleep(time.Second)
	c.ins[victim].Kill()
	killed := time.Now()
	// A load balancer notices within a health-check interval.
	time.Sleep(200 * time.Millisecond)
	l.takeOut(victim)
	time.Sleep(800 * time.Millisecond)
	calls := l.finish()

	acks := acknowledged(calls)
	byVictim, after := 0, 0
	for _, in := range acks {
		if in == victim {
			byVictim++
		}
	}
	after = len(acknowledged(window(calls, killed.Add(200*time.Millisecond), time.Time{})))
	t.Logf("%d verifications acknowledged, %d of them by the killed instance; %d after the kill; calls:%s", len(acks), byVictim, after, tally(calls))
	if byVictim == 0 || after == 0 {
		t.Fatalf("the load did not exercise the kill: %d acknowledged by the victim, %d after the kill", byVictim, after)
	}
	checkStored(ctx, t, dsn, calls)
}

// checkStored checks that every VerifyId acknowledged in calls is in the
// verifications table of dsn.
func checkStored(ctx context.Context, t *testing.T, dsn string, calls []call) {
	t.Helper()
	acks := acknowledged(calls)
	ids := make([]string, 0, len(acks))
	for id := range acks {
		ids = append(ids, id)
	}
	stored, err := storedIDs(ctx, dsn, ids)
	if err != nil {
		t.Fatalf("read verifications: %v", err)
	}
	lost := 0
	for _, id := range ids {
		if !stored[id] {
			lost++
			t.Errorf("verification %s was acknowledged by instance %d but is not stored", id, acks[id])
		}
	}
	t.Logf("%d acknowledged verifications, %d stored, %d lost", len(ids), len(ids)-lost, lost)
}

// eventually polls cond until it holds or within has passed.
func eventually(ctx context.Context, within time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(within)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestRedisRestartForgetsSpent restarts a Redis without persistence (as the
// store tests and many deployments run it) between two uses of one spToken
// and of one signed request: Redis held the only record that they were used,
// so numauth must refuse everything issued or signed before Redis forgot.
func TestRedisRestartForgetsSpent(t *testing.T) {
	for _, tc := range []struct {
		name   string
		settle time.Duration // after every instance is ready again
	}{
		{"AfterEpochPoll", time.Second},
		// Right after /readyz turns 200, before any epoch poll: the epoch
		// guard inside every consumption refuses the replay.
		{"AsSoonAsReady", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			replayAfterRedisRestart(t, tc.settle)
		})
	}
}

func replayAfterRedisRestart(t *testing.T, settle time.Duration) {
	rs := startPrivateRedis(t)
	replayAfterForget(t, settle, rs.URL(), func(context.Context) {
		rs.kill()
		rs.start()
	})
}

// TestRedisClusterMasterForgetsSpent is TestRedisRestartForgetsSpent on a
// 3-master Redis Cluster where only the master holding the spent token's
// state restarts empty: the other two remember everything, the epoch marker
// included, yet nothing issued or signed before the loss is accepted again,
// since that master's copies of the marker went with it.
func TestRedisClusterMasterForgetsSpent(t *testing.T) {
	dsn := freshDatabase(t)
	rc := harness.StartRedisCluster(t, 3, 0)
	replayAfterForgetOn(t, 0, dsn, rc.Seeds(), func(ctx context.Context) {
		var holder string
		for _, addr := range rc.Addrs() {
			cl := goredis.NewClient(&goredis.Options{Addr: addr, DisableIdentity: true})
			keys, _, err := cl.Scan(ctx, 0, redisPrefix+"*spu:*", 10000).Result()
			cl.Close()
			if err != nil {
				t.Fatalf("scan %s: %v", addr, err)
			}
			if len(keys) > 0 {
				holder = addr
			}
		}
		if holder == "" {
			t.Fatal("no master holds the spent token's state")
		}
		if err := rc.Kill(holder); err != nil {
			t.Fatal(err)
		}
		if err := rc.Restart(holder); err != nil {
			t.Fatal(err)
		}
		if err := rc.WaitHealthy(ctx, 3, 0); err != nil {
			t.Fatal(err)
		}
	})
}

func replayAfterForget(t *testing.T, settle time.Duration, redis string, forget func(context.Context)) {
	replayAfterForgetOn(t, settle, freshDatabase(t), redis, forget)
}

// replayAfterForgetOn spends a spToken and makes a signed call on two
// instances, has Redis forget (forget), and requires both refused on every
// instance afterwards.
func replayAfterForgetOn(t *testing.T, settle time.Duration, dsn, redis string, forget func(context.Context)) {
	c := newCluster(t, 2, dsn, redis)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	scheme := c.scheme(ctx, t)
	sess, err := session(ctx, c.clients[0], c.clients[0], scheme, "verify")
	if err != nil {
		t.Fatal(err)
	}
	sp, err := spToken(ctx, c.clients[0], sess)
	if err != nil {
		t.Fatal(err)
	}
	if _, result, err := verify(ctx, c.clients[0], sp); err != nil || result != "PASS" {
		t.Fatalf("first use of the spToken = %q, %v", result, err)
	}
	// A captured signed request, which an attacker replays later, well
	// inside the 15-minute timestamp window (but more than the second of
	// slack numauth allows for the timestamp's precision).
	v := url.Values{"Action": {"DescribeVerifyScheme"}, "Version": {"2017-05-25"}, "Format": {"JSON"}, "SchemeCode": {scheme}}
	signed := sign.SignV1(http.MethodPost, v, c.keyID, harness.AccessKeySecret, time.Now().UTC(), uuid.NewString())
	if _, code, err := postForm(ctx, c.hc, c.ins[0].URL, signed); err != nil || code != "OK" {
		t.Fatalf("first signed call = %s, %v", code, err)
	}
	time.Sleep(2 * time.Second)

	forget(ctx)
	for i, in := range c.ins {
		if !eventually(ctx, recoverWithin, func() bool { return getStatus(ctx, c.hc, in.URL+"/readyz") == http.StatusOK }) {
			t.Fatalf("instance %d not ready after Redis came back", i)
		}
	}
	time.Sleep(settle)
	for i, cl := range c.clients {
		// In the second the new epoch began, every signed call is refused
		// (InvalidTimeStamp.Expired: it may be a replay of one seen just
		// before the loss); after it, the spent token is TOKEN_INVALID.
		// Never, at any moment, a PASS.
		deadline := time.Now().Add(3 * time.Second)
		for {
			_, result, err := verify(ctx, cl, sp)
			code := codeOf(err)
			if code == "InvalidTimeStamp.Expired" && time.Now().Before(deadline) {
				time.Sleep(100 * time.Millisecond)
				continue
			}
			if code != "isv.TOKEN_INVALID" {
				t.Errorf("the spent spToken on instance %d after a Redis restart = %s %q; want isv.TOKEN_INVALID", i, code, result)
			}
			break
		}
		if _, code, err := postForm(ctx, c.hc, c.ins[i].URL, signed); err != nil || code == "OK" {
			t.Errorf("the replayed signed call on instance %d after a Redis restart = %s, %v; want a refusal", i, code, err)
		}
	}
}
