package scaleout

import (
	"bufio"
	"context"
	"encoding/csv"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/numauth/numauth/test/harness"
)

// servedByHeader is the response header the test's HAProxy adds: the name
// of the server (n0, n1, n2: instance 0, 1, 2) that answered.
const servedByHeader = "X-Numauth-Server"

// haproxy is an HAProxy process in front of a cluster's instances.
type haproxy struct {
	URL      string // the frontend, http://127.0.0.1:PORT
	statsURL string
	cmd      *exec.Cmd
	logs     *harness.SyncBuffer
	done     chan struct{}
}

// haproxyBinary returns the haproxy program, or skips the test.
func haproxyBinary(t testing.TB) string {
	t.Helper()
	if p, err := exec.LookPath("haproxy"); err == nil {
		return p
	}
	for _, p := range []string{"/usr/sbin/haproxy", "/usr/local/sbin/haproxy"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	t.Skip("haproxy is not installed (Debian package haproxy): the load-balancer test needs it")
	return ""
}

// haproxyConfig is the configuration of the test's HAProxy: round robin
// over the instances, each checked with GET /readyz every 100 ms (an answer
// may take up to 2 s on a loaded machine), taken out after two failed
// checks and back after two good ones; a request whose connection is
// refused is sent to another server (a refused connection carried no
// request, so this never sends a call twice).
func haproxyConfig(front, stats string, servers []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, `global
    maxconn 1024

defaults
    mode http
    timeout connect 1s
    timeout client 30s
    timeout server 30s
    timeout http-keep-alive 10s
    timeout check 2s
    retries 2
    option redispatch 1

frontend api
    bind %s
    default_backend numauth

backend numauth
    balance roundrobin
    option httpchk
    http-check send meth GET uri /readyz
    http-check expect status 200
    default-server inter 100ms fastinter 100ms downinter 100ms fall 2 rise 2
    http-response set-header %s %%[srv_name]
`, front, servedByHeader)
	for i, s := range servers {
		fmt.Fprintf(&b, "    server n%d %s check\n", i, s)
	}
	fmt.Fprintf(&b, `
listen stats
    bind %s
    stats enable
    stats uri /stats
`, stats)
	return b.String()
}

// startHAProxy starts HAProxy in front of servers (host:port) and waits
// until it reports every one of them up. It is stopped when the test ends.
func startHAProxy(t *testing.T, servers []string) *haproxy {
	t.Helper()
	bin := haproxyBinary(t)
	front, stats := harness.FreeAddr(t), harness.FreeAddr(t)
	cfg := filepath.Join(t.TempDir(), "haproxy.cfg")
	if err := os.WriteFile(cfg, []byte(haproxyConfig(front, stats, servers)), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bin, "-c", "-f", cfg).CombinedOutput(); err != nil {
		t.Fatalf("haproxy -c: %v\n%s", err, out)
	}
	h := &haproxy{URL: "http://" + front, statsURL: "http://" + stats + "/stats;csv", logs: &harness.SyncBuffer{}, done: make(chan struct{})}
	h.cmd = exec.Command(bin, "-db", "-f", cfg) // -db: in the foreground
	h.cmd.Stdout, h.cmd.Stderr = h.logs, h.logs
	if err := h.cmd.Start(); err != nil {
		t.Fatalf("start haproxy: %v", err)
	}
	go func() { h.cmd.Wait(); close(h.done) }()
	t.Cleanup(func() {
		h.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-h.done:
		case <-time.After(10 * time.Second):
			h.cmd.Process.Kill()
			<-h.done
		}
		if t.Failed() {
			t.Logf("haproxy log:\n%s", h.logs.String())
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	names := make([]string, len(servers))
	for i := range servers {
		names[i] = fmt.Sprintf("n%d", i)
	}
	if !h.await(ctx, names, "UP") {
		st, err := h.states(ctx)
		t.Fatalf("haproxy did not report every instance UP: %v, %v\n%s", st, err, h.logs.String())
	}
	return h
}

// states returns the status HAProxy reports for each server of the backend
// ("UP", "DOWN", "UP 1/2" while going down, …).
func (h *haproxy) states(ctx context.Context) (map[string]string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, h.statsURL, nil)
	if err != nil {
		return nil, err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("haproxy stats: %w", err)
	}
	defer res.Body.Close()
	r := csv.NewReader(bufio.NewReader(res.Body))
	r.FieldsPerRecord = -1
	rows, err := r.ReadAll()
	if err != nil || len(rows) == 0 {
		return nil, fmt.Errorf("haproxy stats: %d rows, %w", len(rows), err)
	}
	head := rows[0]
	head[0] = strings.TrimPrefix(head[0], "# ")
	px, sv, st := slices.Index(head, "pxname"), slices.Index(head, "svname"), slices.Index(head, "status")
	if px < 0 || sv < 0 || st < 0 {
		return nil, fmt.Errorf("haproxy stats: no pxname, svname or status column in %q", head)
	}
	out := map[string]string{}
	for _, row := range rows[1:] {
		if len(row) > st && row[px] == "numauth" && row[sv] != "BACKEND" {
			out[row[sv]] = row[st]
		}
	}
	return out, nil
}

// await polls the stats until every named server has status want.
func (h *haproxy) await(ctx context.Context, names []string, want string) bool {
	return eventually(ctx, 10*time.Second, func() bool {
		st, err := h.states(ctx)
		if err != nil {
			return false
		}
		for _, n := range names {
			if st[n] != want {
				return false
			}
		}
		return true
	})
}

// served is one answer that came through HAProxy.
type served struct {
	at     time.Time
	server string // the servedByHeader value; "" when HAProxy answered itself
	status int
}

// servedLog records which server answered each call made through it.
type servedLog struct {
	base http.RoundTripper
	mu   sync.Mutex
	log  []served
}

func (s *servedLog) RoundTrip(req *http.Request) (*http.Response, error) {
	res, err := s.base.RoundTrip(req)
	if err == nil {
		s.mu.Lock()
		s.log = append(s.log, served{at: time.Now(), server: res.Header.Get(servedByHeader), status: res.StatusCode})
		s.mu.Unlock()
	}
	return res, err
}

// since returns the answers recorded from the i-th on.
func (s *servedLog) since(i int) []served {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.log[min(i, len(s.log)):])
}

func (s *servedLog) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.log)
}

// servers counts answers by server.
func servers(log []served) map[string]int {
	n := map[string]int{}
	for _, s := range log {
		n[s.server]++
	}
	return n
}

// behind returns a view of c whose every client calls through the proxy at
// endpoint, recording who answered in log.
func (c *cluster) behind(endpoint string, log *servedLog) *cluster {
	hc := httpClient(nil)
	log.base = hc.Transport
	hc.Transport = log
	f := &cluster{store: c.store, redis: c.redis, args: c.args, env: c.env, keyID: c.keyID, ins: c.ins, hc: hc}
	for range c.ins {
		f.clients = append(f.clients, c.clientFor(endpoint, hc))
	}
	return f
}

// lbCluster starts three instances on a fresh database and a fresh Redis
// prefix, and HAProxy in front of them.
func lbCluster(t *testing.T, name string) (c *cluster, h *haproxy, dsn string) {
	t.Helper()
	haproxyBinary(t) // skip before starting anything
	dsn = harness.FreshDatabase(t, name)
	ru := harness.RedisURL(t, "NUMAUTH_TEST_SCALEOUT_REDIS", "redis://127.0.0.1:6379/13")
	prefix := harness.FreshRedisPrefix(t, ru, strings.ReplaceAll(name, "_", "-"))
	c = newCluster(t, 3, dsn, ru, "--redis-prefix", prefix)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	addrs := make([]string, len(c.ins))
	for i, in := range c.ins {
		// What HAProxy's health check asks.
		if s := getStatus(ctx, c.hc, in.URL+"/readyz"); s != http.StatusOK {
			t.Fatalf("instance %d: GET /readyz = %d, want 200", i, s)
		}
		addrs[i] = in.Addr
	}
	return c, startHAProxy(t, addrs), dsn
}

// TestHAProxy runs the seed flows through HAProxy in front of three
// instances, each call answered by another instance than the call before,
// then kills one instance under load: HAProxy takes it out, the flows keep
// succeeding, no spToken passes twice and no acknowledged record is lost.
func TestHAProxy(t *testing.T) {
	c, h, dsn := lbCluster(t, "numauth_lb")
	log := &servedLog{}
	front := c.behind(h.URL, log)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	scheme := front.scheme(ctx, t)

	// rotates checks that the answers from the i-th on came from the
	// servers in turn: each from another instance than the one before, and
	// every instance in every three.
	rotates := func(t *testing.T, i int, what string) {
		t.Helper()
		got := log.since(i)
		for j := range got {
			if got[j].server == "" || (j > 0 && got[j].server == got[j-1].server) {
				t.Fatalf("%s: answers came from %v; want each from another instance than the one before", what, names(got))
			}
		}
		if n := servers(got); len(got) >= 3 && len(n) != 3 {
			t.Fatalf("%s: answers came from %v; want all three instances", what, names(got))
		}
	}

	t.Run("Verify", func(t *testing.T) {
		for round := range 3 {
			mark := log.len()
			sess, err := session(ctx, front.clients[0], front.clients[0], scheme, "verify")
			if err != nil {
				t.Fatal(err)
			}
			sp, err := spToken(ctx, front.clients[0], sess)
			if err != nil {
				t.Fatal(err)
			}
			id, result, err := verify(ctx, front.clients[0], sp)
			if err != nil || result != "PASS" {
				t.Fatalf("round %d: VerifyPhoneWithToken = %q, %v; want PASS", round, result, err)
			}
			rotates(t, mark, fmt.Sprintf("verification round %d", round))
			if n, err := queryInt(ctx, dsn, `SELECT count(*) FROM verifications WHERE id = $1 AND result = 'PASS'`, id); err != nil || n != 1 {
				t.Errorf("round %d: record %s stored %d times, %v", round, id, n, err)
			}
			if _, result, err := verify(ctx, front.clients[0], sp); codeOf(err) != "isv.TOKEN_INVALID" {
				t.Errorf("round %d: the spToken again on the next instance = %q, %v; want isv.TOKEN_INVALID", round, result, err)
			}
		}
	})

	t.Run("Login", func(t *testing.T) {
		mark := log.len()
		sess, err := session(ctx, front.clients[0], front.clients[0], scheme, "login")
		if err != nil {
			t.Fatal(err)
		}
		m, err := h5(ctx, front.clients[0], "login-mask", map[string]string{"session": sess})
		if err != nil || str(m, "maskedPhone") != "138****8000" {
			t.Fatalf("login-mask = %v, %v", m, err)
		}
		m, err = h5(ctx, front.clients[0], "login-token", map[string]string{"session": sess, "mask": rightMask})
		if err != nil || str(m, "spToken") == "" {
			t.Fatalf("login-token with the right digits = %v, %v", m, err)
		}
		r, err := rpc(ctx, front.clients[0], "GetPhoneWithToken", map[string]string{"SpToken": str(m, "spToken")})
		if err != nil || r.Get("Data", "Mobile") != phone {
			t.Fatalf("GetPhoneWithToken = %q, %v; want %s", r.Get("Data", "Mobile"), err, phone)
		}
		rotates(t, mark, "login")
		if _, err := rpc(ctx, front.clients[0], "GetPhoneWithToken", map[string]string{"SpToken": str(m, "spToken")}); codeOf(err) != "isv.TOKEN_INVALID" {
			t.Errorf("GetPhoneWithToken again on the next instance = %v; want isv.TOKEN_INVALID", err)
		}
	})

	t.Run("SMS", func(t *testing.T) {
		mark := log.len()
		number := fmt.Sprintf("171%08d", time.Now().UnixNano()%100_000_000)
		r, err := rpc(ctx, front.clients[0], "SendSmsVerifyCode", map[string]string{
			"PhoneNumber": number, "SignName": "numauth", "TemplateCode": "100001",
			"TemplateParam": `{"code":"##code##"}`, "ReturnVerifyCode": "true",
		})
		model, _ := r.Body["Model"].(map[string]any)
		code, _ := model["VerifyCode"].(string)
		if err != nil || code == "" {
			t.Fatalf("SendSmsVerifyCode = %v, %v", r.Body, err)
		}
		if _, err := rpc(ctx, front.clients[0], "SendSmsVerifyCode", map[string]string{
			"PhoneNumber": number, "SignName": "numauth", "TemplateCode": "100001", "TemplateParam": `{"code":"##code##"}`,
		}); codeOf(err) != "FREQUENCY_FAIL" {
			t.Errorf("a second send at once on the next instance = %v; want FREQUENCY_FAIL", err)
		}
		check := func() string {
			r, err := rpc(ctx, front.clients[0], "CheckSmsVerifyCode", map[string]string{"PhoneNumber": number, "VerifyCode": code})
			if err != nil {
				t.Fatalf("CheckSmsVerifyCode: %v", err)
			}
			m, _ := r.Body["Model"].(map[string]any)
			res, _ := m["VerifyResult"].(string)
			return res
		}
		if res := check(); res != "PASS" {
			t.Fatalf("CheckSmsVerifyCode with the code = %s, want PASS", res)
		}
		if res := check(); res == "PASS" {
			t.Errorf("CheckSmsVerifyCode with the code a second time, on the next instance, passed")
		}
		rotates(t, mark, "SMS")
	})

	t.Run("SpTokenSpentOnce", func(t *testing.T) {
		spentOnce(ctx, t, front, dsn, scheme, log, 3)
	})

	t.Run("KillOneInstance", func(t *testing.T) {
		const victim = 1
		victimName := fmt.Sprintf("n%d", victim)
		mark := log.len()
		l := startLoad(front, scheme, 6)
		defer l.finish()
		time.Sleep(time.Second)
		c.ins[victim].Kill()
		killed := time.Now()
		if !h.await(ctx, []string{victimName}, "DOWN") {
			st, err := h.states(ctx)
			t.Fatalf("HAProxy did not take the killed instance out: %v, %v", st, err)
		}
		down := time.Now()
		t.Logf("HAProxy took the killed instance out after %v", down.Sub(killed).Round(time.Millisecond))
		time.Sleep(1500 * time.Millisecond)
		calls := l.finish()

		before, after := 0, 0
		for _, s := range log.since(mark) {
			switch {
			case s.server != victimName:
			case s.at.Before(killed):
				before++
			case s.at.After(down):
				after++
			}
		}
		if before == 0 || after != 0 {
			t.Errorf("the killed instance answered %d calls before the kill and %d after HAProxy took it out; want some and none", before, after)
		}
		// Calls under way at the kill may fail, cleanly: no answer (HAProxy
		// closes the client's connection when the instance's dies under a
		// request, so that the client may retry), HAProxy's 502 or 503, the
		// instance's ServiceUnavailable. No other failure, and none at all
		// for calls started once HAProxy has taken the instance out.
		clean := func(cl call) bool {
			switch cl.code {
			case "HTTP_502", "HTTP_503", "ServiceUnavailable":
				return true
			case "TRANSPORT":
				return strings.HasSuffix(cl.msg, "EOF") || strings.Contains(cl.msg, "connection reset") || strings.Contains(cl.msg, "(HTTP 502)") || strings.Contains(cl.msg, "(HTTP 503)")
			}
			return false
		}
		for _, cl := range calls {
			switch {
			case cl.code == "OK":
			case !cl.start.After(down) && clean(cl):
			default:
				t.Errorf("%s started %v after the kill answered %s (HTTP %d): %s", cl.step, cl.start.Sub(killed).Round(time.Millisecond), cl.code, cl.status, cl.msg)
			}
		}
		acks := acknowledged(calls)
		if late := acknowledged(window(calls, down, time.Time{})); len(late) == 0 {
			t.Errorf("no verification was acknowledged after HAProxy took the killed instance out; calls:%s", tally(calls))
		}
		t.Logf("%d verifications acknowledged; calls:%s", len(acks), tally(calls))
		checkStored(ctx, t, dsn, calls)
		// Single use holds on the two instances left.
		spentOnce(ctx, t, front, dsn, scheme, nil, 1)
	})
}

// spentOnce uses one spToken 30 times at once through HAProxy, rounds
// times: exactly one PASS and one record each time; with log, the uses are
// spread over all three instances.
func spentOnce(ctx context.Context, t *testing.T, front *cluster, dsn, scheme string, log *servedLog, rounds int) {
	t.Helper()
	const callers = 30
	for round := range rounds {
		before, err := queryInt(ctx, dsn, `SELECT count(*) FROM verifications`)
		if err != nil {
			t.Fatal(err)
		}
		sess, err := session(ctx, front.clients[0], front.clients[0], scheme, "verify")
		if err != nil {
			t.Fatal(err)
		}
		sp, err := spToken(ctx, front.clients[0], sess)
		if err != nil {
			t.Fatal(err)
		}
		mark := 0
		if log != nil {
			mark = log.len()
		}
		count := race(callers, func(int) error {
			_, result, err := verify(ctx, front.clients[0], sp)
			if err == nil && result != "PASS" {
				return &apiError{Step: stepVerifyPhone, Code: "VerifyResult:" + result}
			}
			return err
		})
		if count["OK"] != 1 || count["isv.TOKEN_INVALID"]+count["ServiceUnavailable"] != callers-1 {
			t.Errorf("round %d: %d parallel uses of one spToken through HAProxy answered %v; want 1 OK and %d isv.TOKEN_INVALID or ServiceUnavailable", round, callers, count, callers-1)
		}
		if log != nil {
			if n := servers(log.since(mark)); len(n) != 3 || n[""] != 0 {
				t.Errorf("round %d: the parallel uses were answered by %v; want all three instances", round, n)
			}
		}
		after, err := queryInt(ctx, dsn, `SELECT count(*) FROM verifications`)
		if err != nil || after-before != 1 {
			t.Errorf("round %d: %d records stored, %v; want 1", round, after-before, err)
		}
	}
}

// names lists who answered, for messages.
func names(log []served) []string {
	out := make([]string, len(log))
	for i, s := range log {
		out[i] = s.server
		if s.server == "" {
			out[i] = fmt.Sprintf("haproxy(%d)", s.status)
		}
	}
	return out
}
