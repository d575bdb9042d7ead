package scaleout

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/numauth/numauth/test/harness"
)

// TestRoundTripsPerFlow counts what one whole verification flow
// (GetAuthToken → check → verify-token → VerifyPhoneWithToken) asks of
// Redis and PostgreSQL, through counting proxies in front of both
// (wireCounter): on one instance, and through HAProxy in front of three
// with every call on another instance. The counts are the ones
// docs/scaleout.md gives; the test fails when a change makes a flow cost
// more round trips than they say.
func TestRoundTripsPerFlow(t *testing.T) {
	for _, tc := range []struct {
		name      string
		instances int
		haproxy   bool
		// The most a flow may cost: Redis commands, Redis round trips
		// waited for one after another, PostgreSQL round trips. 7, 6
		// and 1 (the check call's two commands go out together), with
		// room for a connection opened during the run (HELLO, SELECT)
		// and for a goroutine that a loaded machine starts so late that
		// check's two commands happen one after the other.
		maxRedisCmds, maxRedisWaits, maxPGTrips float64
	}{
		{name: "OneInstance", instances: 1, maxRedisCmds: 7.2, maxRedisWaits: 6.5, maxPGTrips: 1.1},
		{name: "ThreeBehindHAProxy", instances: 3, haproxy: true, maxRedisCmds: 7.2, maxRedisWaits: 6.5, maxPGTrips: 1.1},
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
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			scheme := front.scheme(ctx, t)
			l := &load{c: front, scheme: scheme, out: make([]atomic.Bool, len(front.ins))}
			run := func(n int) {
				for k := range n {
					if err := l.flow(0, k); err != nil {
						t.Fatalf("flow %d: %v", k, err)
					}
				}
			}
			run(10) // connections open, statements prepared, caches filled
			// PostgreSQL round trips that are not the flows' (HAProxy's
			// health checks make each instance probe a write once a
			// second) are measured while idle and subtracted.
			idle := 2 * time.Second
			pg0, _, _ := pg.snapshot()
			time.Sleep(idle)
			pg1, pgw1, _ := pg.snapshot()
			const flows = 50
			trips0, waits0, cmds0 := rd.snapshot()
			t0 := time.Now()
			run(flows)
			elapsed := time.Since(t0)
			pg2, pgw2, _ := pg.snapshot()
			trips1, waits1, cmds1 := rd.snapshot()
			background := float64(pg1-pg0) * elapsed.Seconds() / idle.Seconds()
			per := func(d int64, minus float64) float64 { return (float64(d) - minus) / flows }
			pgTrips, pgWaits := per(pg2-pg1, background), per(pgw2-pgw1, background)
			redisTrips, redisWaits := per(trips1-trips0, 0), per(waits1-waits0, 0)
			var redisCmds float64
			var by []string
			for _, name := range slices.Sorted(maps.Keys(cmds1)) {
				if d := per(cmds1[name]-cmds0[name], 0); d > 0 {
					redisCmds += d
					by = append(by, fmt.Sprintf("%s %.2f", name, d))
				}
			}
			t.Logf("per flow (%d flows in %v): Redis %.2f commands (%s) in %.2f round trips, %.2f waited for one after another; "+
				"PostgreSQL %.2f round trips, %.2f waited for (%.1f background subtracted)",
				flows, elapsed.Round(time.Millisecond), redisCmds, strings.Join(by, ", "), redisTrips, redisWaits, pgTrips, pgWaits, background)
			if redisCmds > tc.maxRedisCmds || redisWaits > tc.maxRedisWaits || pgTrips > tc.maxPGTrips {
				t.Errorf("a flow costs %.2f Redis commands, %.2f Redis round trips waited for and %.2f PostgreSQL round trips; want at most %.1f, %.1f and %.1f (docs/scaleout.md)",
					redisCmds, redisWaits, pgTrips, tc.maxRedisCmds, tc.maxRedisWaits, tc.maxPGTrips)
			}
		})
	}
}
