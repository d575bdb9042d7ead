package scaleout

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	goredis "github.com/redis/go-redis/v9"

	"github.com/numauth/numauth/internal/rpcclient"
	"github.com/numauth/numauth/test/harness"
)

// The sandbox subscribers: gateway calls from 127.0.0.1 are this China
// Mobile line, calls from 127.0.0.2 (see sourceClient) the other one.
const (
	phone       = "13800138000"
	rightMask   = "0013" // the middle four digits of phone
	otherSource = "127.0.0.2"
	otherPhone  = "13900139000"
)

// The H5 page every scheme of these tests registers.
const (
	pageOrigin = "https://shop.example.com"
	pageURL    = "https://shop.example.com/login"
)

// clientTimeout bounds every call the tests make: the client timeout that
// "failing fast" is measured against.
const clientTimeout = 10 * time.Second

// redisPrefix is the prefix numauth puts on every Redis key.
const redisPrefix = "numauth:"

func postgresDSN() string {
	if v := os.Getenv("NUMAUTH_TEST_POSTGRES"); v != "" {
		return v
	}
	return "postgres://root@127.0.0.1:5432/test?sslmode=disable"
}

func redisURL() string {
	if v := os.Getenv("NUMAUTH_TEST_SCALEOUT_REDIS"); v != "" {
		return v
	}
	return "redis://127.0.0.1:6379/13"
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// connect opens a connection to dsn or skips the test when the server
// cannot be reached.
func connect(t testing.TB, dsn string) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Skipf("PostgreSQL not reachable at NUMAUTH_TEST_POSTGRES=%q (%v): start it or point the variable at a server (trust auth)", redactDSN(dsn), err)
	}
	return c
}

func redactDSN(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return "(unparsable DSN)"
	}
	return u.Redacted()
}

// freshDatabase creates an empty database on the test server, dropped when
// the test ends, and returns its DSN.
func freshDatabase(t testing.TB) string {
	t.Helper()
	return harness.FreshDatabase(t, "numauth_scaleout")
}

// sharedRedis returns the URL of the tests' Redis database, or skips the
// test when it is unreachable. numauth's keys in it are deleted now and
// again when the test ends, so no state (a login lock, a throttle window)
// outlives a test.
func sharedRedis(t testing.TB) string {
	t.Helper()
	u := redisURL()
	opt, err := goredis.ParseURL(u)
	if err != nil {
		t.Fatalf("NUMAUTH_TEST_SCALEOUT_REDIS: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	c := goredis.NewClient(opt)
	defer c.Close()
	if err := c.Ping(ctx).Err(); err != nil {
		t.Skipf("Redis not reachable at NUMAUTH_TEST_SCALEOUT_REDIS=%q (%v): start it or point the variable at a Redis database the tests may own", u, err)
	}
	flush := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return deletePrefix(ctx, opt)
	}
	if err := flush(); err != nil {
		t.Fatalf("clear %s*: %v", redisPrefix, err)
	}
	t.Cleanup(func() {
		if err := flush(); err != nil {
			t.Errorf("clear %s*: %v", redisPrefix, err)
		}
	})
	return u
}

// deletePrefix deletes numauth's keys (and only those) from a database.
func deletePrefix(ctx context.Context, opt *goredis.Options) error {
	c := goredis.NewClient(opt)
	defer c.Close()
	iter := c.Scan(ctx, 0, redisPrefix+"*", 1000).Iterator()
	var batch []string
	for iter.Next(ctx) {
		if batch = append(batch, iter.Val()); len(batch) == 1000 {
			if err := c.Unlink(ctx, batch...).Err(); err != nil {
				return err
			}
			batch = batch[:0]
		}
	}
	if err := iter.Err(); err != nil {
		return err
	}
	if len(batch) > 0 {
		return c.Unlink(ctx, batch...).Err()
	}
	return nil
}

// cluster is a set of numauth instances sharing stores, a master key and
// an AccessKey. Every cluster gets its own master key and AccessKeyId, so
// that no two clusters share a Redis key (nonces and throttle windows are
// keyed by AccessKeyId, login locks by a hash under the master key).
type cluster struct {
	store, redis string
	args         []string // extra serve flags of every instance
	env          []string
	keyID        string
	ins          []*harness.Instance
	clients      []*rpcclient.Client // clients[i] calls ins[i]
	hc           *http.Client
}

// newCluster starts n instances at once on the given stores: redis is a
// redis:// URL, or the seed addresses of a Redis Cluster.
func newCluster(t *testing.T, n int, store, redis string, extra ...string) *cluster {
	t.Helper()
	c := &cluster{store: store, redis: redis, keyID: "LTAI5tScaleout" + randomHex(5), hc: httpClient(nil)}
	// The load comes from loopback, one address: the per-address session
	// budget would throttle it like an attacker.
	redisFlag := "--redis"
	if !strings.HasPrefix(redis, "redis://") {
		redisFlag = "--redis-cluster" // seed addresses of a Redis Cluster
	}
	c.args = append([]string{"--store", store, redisFlag, redis, "--sessions-per-source", "-1",
		"--sandbox-subscriber", "127.0.0.1=" + phone, "--sandbox-subscriber", otherSource + "=" + otherPhone}, extra...)
	c.env = []string{
		// Not harness.MasterKey: every cluster has its own (see cluster).
		"NUMAUTH_MASTER_KEY=" + randomHex(32),
		"NUMAUTH_BOOTSTRAP_ACCESS_KEY_ID=" + c.keyID,
		"NUMAUTH_BOOTSTRAP_ACCESS_KEY_SECRET=" + harness.AccessKeySecret,
	}
	ins := make([]*harness.Instance, n)
	var wg sync.WaitGroup
	for i := range ins {
		wg.Go(func() {
			ins[i] = harness.Start(goroutineTB{t}, harness.Options{Args: c.args, Env: c.env})
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	for _, in := range ins {
		c.add(in)
	}
	t.Cleanup(func() {
		if t.Failed() {
			for i, in := range c.ins {
				t.Logf("instance %d (%s) log:\n%s", i, in.URL, in.Logs())
			}
		}
	})
	return c
}

func (c *cluster) add(in *harness.Instance) {
	c.ins = append(c.ins, in)
	c.clients = append(c.clients, c.clientFor(in.URL, c.hc))
}

func (c *cluster) clientFor(endpoint string, hc *http.Client) *rpcclient.Client {
	return &rpcclient.Client{Endpoint: endpoint, AccessKeyID: c.keyID, Secret: harness.AccessKeySecret, HTTP: hc}
}

// sourceClient returns a client of instance i whose connections come from
// source (a loopback address), so that the sandbox sees another subscriber.
func (c *cluster) sourceClient(i int, source string) *rpcclient.Client {
	return c.clientFor(c.ins[i].URL, httpClient(&net.TCPAddr{IP: net.ParseIP(source)}))
}

// httpClient returns a keep-alive client with the tests' timeout, dialling
// from local when it is set.
func httpClient(local net.Addr) *http.Client {
	return &http.Client{
		Timeout: clientTimeout,
		Transport: &http.Transport{
			Proxy:               nil,
			DialContext:         (&net.Dialer{Timeout: 5 * time.Second, LocalAddr: local}).DialContext,
			MaxIdleConns:        256,
			MaxIdleConnsPerHost: 64,
			IdleConnTimeout:     30 * time.Second,
		},
	}
}

// goroutineTB lets harness.Start run on a goroutine of its own: a fatal
// failure there is reported and ends that goroutine, not the test's.
type goroutineTB struct{ testing.TB }

func (g goroutineTB) FailNow()                  { g.TB.Fail(); runtime.Goexit() }
func (g goroutineTB) Fatal(args ...any)         { g.TB.Error(args...); runtime.Goexit() }
func (g goroutineTB) Fatalf(f string, a ...any) { g.TB.Errorf(f, a...); runtime.Goexit() }
func (g goroutineTB) SkipNow()                  { g.FailNow() }
func (g goroutineTB) Skip(args ...any)          { g.Fatal(args...) }
func (g goroutineTB) Skipf(f string, a ...any)  { g.Fatalf(f, a...) }

// apiError is a call that did not answer OK.
type apiError struct {
	Step   string
	Code   string // answer code; TRANSPORT when there was no answer, HTTP_<status> for one that is not JSON
	Status int    // HTTP status (0: no answer)
	Msg    string
}

func (e *apiError) Error() string {
	return fmt.Sprintf("%s: %s (HTTP %d) %s", e.Step, e.Code, e.Status, e.Msg)
}

// codeOf returns the answer code behind err ("OK" for nil).
func codeOf(err error) string {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae.Code
	}
	if err == nil {
		return "OK"
	}
	return "ERROR"
}

// rpc calls one action and returns its answer; an answer that is not OK is
// an *apiError.
func rpc(ctx context.Context, c *rpcclient.Client, action string, params map[string]string) (rpcclient.Result, error) {
	r, err := c.Call(ctx, action, params)
	switch {
	case err != nil && r.Status == 0:
		return r, &apiError{Step: action, Code: "TRANSPORT", Msg: err.Error()}
	case err != nil:
		return r, &apiError{Step: action, Code: fmt.Sprintf("HTTP_%d", r.Status), Status: r.Status, Msg: err.Error()}
	case r.Code != "OK":
		msg, _ := r.Body["Message"].(string)
		return r, &apiError{Step: action, Code: r.Code, Status: r.Status, Msg: msg}
	}
	return r, nil
}

// h5 calls one gateway operation as the web SDK does from the test page; an
// answer that is not OK is an *apiError.
func h5(ctx context.Context, c *rpcclient.Client, op string, body map[string]string) (map[string]any, error) {
	m, err := c.H5(ctx, pageOrigin, op, body)
	if err != nil {
		return nil, &apiError{Step: op, Code: "TRANSPORT", Msg: err.Error()}
	}
	code, _ := m["code"].(string)
	if code != "OK" {
		msg, _ := m["msg"].(string)
		return m, &apiError{Step: op, Code: code, Status: http.StatusOK, Msg: msg}
	}
	return m, nil
}

func str(m map[string]any, k string) string {
	s, _ := m[k].(string)
	return s
}

// scheme registers the test page as an H5 scheme through the first
// instance, or ends the test.
func (c *cluster) scheme(ctx context.Context, t testing.TB) string {
	t.Helper()
	params := map[string]string{
		"SchemeName": "scaleout-" + randomHex(4), "AppName": "scaleout test", "OsType": "H5",
		"Origin": pageOrigin, "Url": pageURL,
	}
	r, err := rpc(ctx, c.clients[0], "CreateVerifyScheme", params)
	var ae *apiError
	if errors.As(err, &ae) && ae.Code == "InvalidTimeStamp.Expired" {
		// The first call reached a Redis that had just been given its
		// epoch, in the epoch's second: refused, as docs/operations.md
		// says, and to be signed afresh a second later, as a client does.
		time.Sleep(time.Second)
		r, err = rpc(ctx, c.clients[0], "CreateVerifyScheme", params)
	}
	code := r.Get("GateVerifySchemeDTO", "SchemeCode")
	if err != nil || code == "" {
		t.Fatalf("CreateVerifyScheme through instance 0 = %q, %v", code, err)
	}
	return code
}

// session calls GetAuthToken through a and opens a gateway session of kind
// ("verify" or "login") with the tokens through b.
func session(ctx context.Context, a, b *rpcclient.Client, scheme, kind string) (string, error) {
	biz := map[string]string{"verify": "0", "login": "1"}[kind]
	r, err := rpc(ctx, a, "GetAuthToken", map[string]string{
		"Url": pageURL, "Origin": pageOrigin, "SceneCode": scheme, "BizType": biz,
	})
	if err != nil {
		return "", err
	}
	m, err := h5(ctx, b, "check", map[string]string{
		"accessToken": r.Get("TokenInfo", "AccessToken"), "jwtToken": r.Get("TokenInfo", "JwtToken"), "kind": kind,
	})
	if err != nil {
		return "", err
	}
	return str(m, "session"), nil
}

// spToken runs the verification carrier leg of a session through c.
func spToken(ctx context.Context, c *rpcclient.Client, sess string) (string, error) {
	m, err := h5(ctx, c, "verify-token", map[string]string{"session": sess})
	if err != nil {
		return "", err
	}
	return str(m, "spToken"), nil
}

// verify calls VerifyPhoneWithToken for phone through c and returns the
// VerifyId and VerifyResult.
func verify(ctx context.Context, c *rpcclient.Client, sp string) (id, result string, err error) {
	r, err := rpc(ctx, c, "VerifyPhoneWithToken", map[string]string{"SpToken": sp, "PhoneNumber": phone})
	if err != nil {
		return "", "", err
	}
	return r.Get("GateVerify", "VerifyId"), r.Get("GateVerify", "VerifyResult"), nil
}

// getStatus GETs a path of an instance and returns the status (0: no answer).
func getStatus(ctx context.Context, hc *http.Client, u string) int {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0
	}
	res, err := hc.Do(req)
	if err != nil {
		return 0
	}
	res.Body.Close()
	return res.StatusCode
}

// storedIDs returns which of ids are in the verifications table of dsn.
func storedIDs(ctx context.Context, dsn string, ids []string) (map[string]bool, error) {
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return nil, err
	}
	defer c.Close(ctx)
	rows, err := c.Query(ctx, `SELECT id FROM verifications WHERE id = ANY($1)`, ids)
	if err != nil {
		return nil, err
	}
	got, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, err
	}
	out := make(map[string]bool, len(got))
	for _, id := range got {
		out[id] = true
	}
	return out, nil
}

// queryInt runs a query answering one integer on dsn.
func queryInt(ctx context.Context, dsn, sql string, args ...any) (int64, error) {
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return 0, err
	}
	defer c.Close(ctx)
	var n int64
	err = c.QueryRow(ctx, sql, args...).Scan(&n)
	return n, err
}

// quantile returns the q-quantile of ds (nearest rank; ds is sorted in place).
func quantile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	i := int(math.Ceil(q*float64(len(ds)))) - 1
	return ds[min(max(i, 0), len(ds)-1)]
}
