package scaleout

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/numauth/numauth/test/harness"
)

// cost is the most one flow may cost: Redis commands, Redis round trips
// waited for one after another, PostgreSQL round trips. Each bound leaves
// room for a connection opened during the run (HELLO, SELECT), for a
// goroutine a loaded machine starts so late that two commands sent
// together happen one after the other, and for the error of subtracting
// the health checks' PostgreSQL writes behind HAProxy.
type cost struct{ redisCmds, redisWaits, pgTrips float64 }

// TestRoundTripsPerFlow counts what one whole flow asks of Redis and
// PostgreSQL, through counting proxies in front of both (wireCounter), on
// one instance and through HAProxy in front of three with every call on
// another instance: a verification (GetAuthToken → check → verify-token →
// VerifyPhoneWithToken), a one-click login (GetAuthToken → check →
// login-mask → login-token → GetPhoneWithToken) and an SMS code
// (SendSmsVerifyCode → CheckSmsVerifyCode). The counts are the ones
// docs/scaleout.md gives; the test fails when a change makes a flow cost
// more than they say.
func TestRoundTripsPerFlow(t *testing.T) {
	kinds := []struct {
		name string
		max  cost
		flow func(ctx context.Context, c *cluster, scheme string, k int) error
	}{
		// 7 commands, 6 waits (main: 7); check's two go out together.
		{"verify", cost{7.2, 6.5, 1.3}, func(ctx context.Context, c *cluster, scheme string, k int) error {
			l := &load{c: c, scheme: scheme, out: make([]atomic.Bool, len(c.ins))}
			return l.flow(0, k)
		}},
		// 15 commands, 11 waits (main: 15); check's two, login-mask's two
		// budget reads, login-token's two reservations and their two
		// refunds each go out together.
		{"login", cost{15.2, 12.5, 1.3}, loginFlow},
		// 18 commands, 12 waits (main: 18); the send's four budgets and
		// their four kept units each go out together. One PostgreSQL
		// round trip (main: 2): the sandbox outbox entry waits for the
		// send's record and shares its commit.
		{"sms", cost{18.2, 14, 1.3}, smsFlow},
	}
	for _, tc := range []struct {
		name      string
		instances int
		haproxy   bool
	}{
		{name: "OneInstance", instances: 1},
		// Behind HAProxy the PostgreSQL count is logged, not held to its
		// bound: the health checks' writes, subtracted as measured while
		// idle, come at their own pace, and on a loaded machine the
		// estimate is off by more than the bound's room.
		{name: "ThreeBehindHAProxy", instances: 3, haproxy: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.haproxy {
				haproxyBinary(t)
			}
			dsn := harness.FreshDatabase(t, "numauth_trips")
			ru := harness.RedisURL(t, "NUMAUTH_TEST_SCALEOUT_REDIS", "redis://127.0.0.1:6379/13")
			prefix := harness.FreshRedisPrefix(t, ru, "numauth-trips")
			pg := startWireCounter(t, hostOf(t, dsn), false, nil)
			rd := startWireCounter(t, hostOf(t, ru), true, func(cmd []string) bool {
				// Background polls, not the flow's: the epoch watch and
				// the readiness probe.
				return len(cmd) == 2 && strings.EqualFold(cmd[0], "GET") && cmd[1] == prefix+"epoch" ||
					len(cmd) == 1 && strings.EqualFold(cmd[0], "PING")
			})
			c := newCluster(t, tc.instances, viaCounter(t, dsn, pg), viaCounter(t, ru, rd), "--redis-prefix", prefix)
			front := c
			if tc.haproxy {
				addrs := make([]string, len(c.ins))
				for i, in := range c.ins {
					addrs[i] = in.Addr
				}
				front = c.behind(startHAProxy(t, addrs).URL, &servedLog{})
			}
			ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
			defer cancel()
			scheme := front.scheme(ctx, t)
			for _, kind := range kinds {
				t.Run(kind.name, func(t *testing.T) {
					run := func(from, n int) {
						for k := from; k < from+n; k++ {
							if err := kind.flow(ctx, front, scheme, k); err != nil {
								t.Fatalf("flow %d: %v", k, err)
							}
						}
					}
					run(0, 5) // connections open, statements prepared, caches filled
					// PostgreSQL round trips that are not the flows'
					// (HAProxy's health checks make each instance probe a
					// write once a second) are measured while idle and
					// subtracted.
					idle := time.Second
					pg0, _, _ := pg.snapshot()
					time.Sleep(idle)
					pg1, pgw1, _ := pg.snapshot()
					const flows = 30
					trips0, waits0, cmds0 := rd.snapshot()
					t0 := time.Now()
					run(5, flows)
					elapsed := time.Since(t0)
					pg2, pgw2, _ := pg.snapshot()
					trips1, waits1, cmds1 := rd.snapshot()
					background := float64(pg1-pg0) * elapsed.Seconds() / idle.Seconds()
					per := func(d int64, minus float64) float64 { return (float64(d) - minus) / flows }
					got := cost{redisWaits: per(waits1-waits0, 0), pgTrips: per(pg2-pg1, background)}
					var by []string
					for _, name := range slices.Sorted(maps.Keys(cmds1)) {
						if d := per(cmds1[name]-cmds0[name], 0); d > 0 {
							got.redisCmds += d
							by = append(by, fmt.Sprintf("%s %.2f", name, d))
						}
					}
					t.Logf("per %s flow (%d flows in %v): Redis %.2f commands (%s) in %.2f round trips, %.2f waited for one after another; "+
						"PostgreSQL %.2f round trips, %.2f waited for (%.1f background subtracted)",
						kind.name, flows, elapsed.Round(time.Millisecond), got.redisCmds, strings.Join(by, ", "), per(trips1-trips0, 0), got.redisWaits,
						got.pgTrips, per(pgw2-pgw1, background), background)
					if tc.haproxy {
						got.pgTrips = 0
					}
					if got.redisCmds > kind.max.redisCmds || got.redisWaits > kind.max.redisWaits || got.pgTrips > kind.max.pgTrips {
						t.Errorf("a %s flow costs %.2f Redis commands, %.2f Redis round trips waited for and %.2f PostgreSQL round trips; want at most %.1f, %.1f and %.1f (docs/scaleout.md)",
							kind.name, got.redisCmds, got.redisWaits, got.pgTrips, kind.max.redisCmds, kind.max.redisWaits, kind.max.pgTrips)
					}
				})
			}
		})
	}
}

// loginFlow is one one-click login through c.
func loginFlow(ctx context.Context, c *cluster, scheme string, _ int) error {
	cl := c.clients[0]
	sess, err := session(ctx, cl, cl, scheme, "login")
	if err != nil {
		return err
	}
	if _, err := h5(ctx, cl, "login-mask", map[string]string{"session": sess}); err != nil {
		return err
	}
	m, err := h5(ctx, cl, "login-token", map[string]string{"session": sess, "mask": rightMask})
	if err != nil {
		return err
	}
	r, err := rpc(ctx, cl, "GetPhoneWithToken", map[string]string{"SpToken": str(m, "spToken")})
	if err == nil && r.Get("Data", "Mobile") != phone {
		err = fmt.Errorf("GetPhoneWithToken returned %q", r.Get("Data", "Mobile"))
	}
	return err
}

// smsFlow sends a code to a fresh number of the 173 block through c and
// checks it.
func smsFlow(ctx context.Context, c *cluster, _ string, k int) error {
	cl := c.clients[0]
	number := fmt.Sprintf("173%04d%04d", time.Now().UnixNano()%10_000, k)
	r, err := rpc(ctx, cl, "SendSmsVerifyCode", map[string]string{
		"PhoneNumber": number, "SignName": "numauth", "TemplateCode": "100001",
		"TemplateParam": `{"code":"##code##"}`, "ReturnVerifyCode": "true",
	})
	if err != nil {
		return err
	}
	model, _ := r.Body["Model"].(map[string]any)
	code, _ := model["VerifyCode"].(string)
	r, err = rpc(ctx, cl, "CheckSmsVerifyCode", map[string]string{"PhoneNumber": number, "VerifyCode": code})
	if err != nil {
		return err
	}
	model, _ = r.Body["Model"].(map[string]any)
	if res, _ := model["VerifyResult"].(string); res != "PASS" {
		return errors.New("CheckSmsVerifyCode with the code sent: " + res)
	}
	return nil
}
