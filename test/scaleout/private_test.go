package scaleout

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/numauth/numauth/test/harness"
)

// privateRedis is a redis-server of one test on a free port, which the test
// may kill and start again without disturbing anybody.
type privateRedis struct {
	t    testing.TB
	port int
	dir  string
	cmd  *exec.Cmd
	done chan struct{}
}

// startPrivateRedis starts a redis-server (no persistence), stopped when
// the test ends, or skips the test when there is none.
func startPrivateRedis(t testing.TB) *privateRedis {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Skip("redis-server not in PATH: the fault tests run a private Redis they can stop")
	}
	r := &privateRedis{t: t, port: freePort(t), dir: t.TempDir()}
	r.start()
	t.Cleanup(r.kill)
	return r
}

// URL is the server's numauth URL (database 0: the server is the test's own).
func (r *privateRedis) URL() string { return fmt.Sprintf("redis://127.0.0.1:%d/0", r.port) }

// start starts the server on its port and waits until it answers.
func (r *privateRedis) start() {
	r.t.Helper()
	r.cmd = exec.Command("redis-server", "--port", strconv.Itoa(r.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", r.dir, "--logfile", filepath.Join(r.dir, "redis.log"))
	if err := r.cmd.Start(); err != nil {
		r.t.Fatalf("start redis-server: %v", err)
	}
	done := make(chan struct{})
	r.done = done
	go func() { r.cmd.Wait(); close(done) }()
	c := goredis.NewClient(&goredis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", r.port), MaxRetries: -1})
	defer c.Close()
	for deadline := time.Now().Add(10 * time.Second); ; {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := c.Ping(ctx).Err()
		cancel()
		if err == nil {
			return
		}
		select {
		case <-done:
			log, _ := os.ReadFile(filepath.Join(r.dir, "redis.log"))
			r.t.Fatalf("redis-server exited: %s", log)
		default:
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("redis-server on port %d does not answer: %v", r.port, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// kill ends the server abruptly (SIGKILL), as a crash would.
func (r *privateRedis) kill() {
	if r.cmd == nil {
		return
	}
	r.cmd.Process.Kill()
	<-r.done
	r.cmd = nil
}

// signal sends sig to the server (SIGSTOP freezes it: its connections stay
// open and nothing answers; SIGCONT thaws it).
func (r *privateRedis) signal(sig syscall.Signal) {
	if r.cmd != nil {
		r.cmd.Process.Signal(sig)
	}
}

// privatePostgres is a PostgreSQL cluster of one test, in a temporary
// directory, on a free port, which the test may stop and start again.
type privatePostgres struct {
	t     testing.TB
	bin   string   // directory of initdb and pg_ctl
	runAs []string // command prefix that runs as the postgres user (when the tests run as root)
	dir   string   // the cluster's directory: data/, server.log, the socket
	port  int
}

// pgBinDir finds initdb and pg_ctl: NUMAUTH_TEST_PG_BIN, then PATH, then the
// newest Debian-style /usr/lib/postgresql/N/bin.
func pgBinDir() string {
	has := func(dir string) bool {
		for _, p := range []string{"initdb", "pg_ctl"} {
			if fi, err := os.Stat(filepath.Join(dir, p)); err != nil || fi.IsDir() {
				return false
			}
		}
		return true
	}
	if d := os.Getenv("NUMAUTH_TEST_PG_BIN"); d != "" && has(d) {
		return d
	}
	if p, err := exec.LookPath("pg_ctl"); err == nil && has(filepath.Dir(p)) {
		return filepath.Dir(p)
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(dirs, func(a, b string) int {
		va, _ := strconv.Atoi(filepath.Base(filepath.Dir(a)))
		vb, _ := strconv.Atoi(filepath.Base(filepath.Dir(b)))
		return vb - va
	})
	for _, d := range dirs {
		if has(d) {
			return d
		}
	}
	return ""
}

// startPrivatePostgres creates and starts a cluster (trust authentication,
// loopback only), removed when the test ends, or skips the test when the
// PostgreSQL server programs are missing.
func startPrivatePostgres(t testing.TB) *privatePostgres {
	t.Helper()
	bin := pgBinDir()
	if bin == "" {
		t.Skip("initdb and pg_ctl not found (set NUMAUTH_TEST_PG_BIN): the fault tests run a private PostgreSQL they can stop")
	}
	dir, err := os.MkdirTemp("", "numauth-pg-")
	if err != nil {
		t.Fatal(err)
	}
	p := &privatePostgres{t: t, bin: bin, dir: dir, port: freePort(t)}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if os.Geteuid() == 0 {
		// The server refuses to run as root.
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Skip("running as root and there is no postgres user to run a private PostgreSQL as")
		}
		runuser, err := exec.LookPath("runuser")
		if err != nil {
			t.Skip("running as root and runuser is missing: cannot run a private PostgreSQL as the postgres user")
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
		p.runAs = []string{runuser, "-u", "postgres", "--"}
	}
	if err := p.pg("initdb", "-D", p.data(), "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8"); err != nil {
		t.Fatal(err)
	}
	if err := p.start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.stop("immediate") })
	return p
}

func (p *privatePostgres) data() string { return filepath.Join(p.dir, "data") }

// DSN is the URL of the cluster's postgres database.
func (p *privatePostgres) DSN() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", p.port)
}

// pg runs one of the server programs as the cluster's owner.
func (p *privatePostgres) pg(prog string, args ...string) error {
	argv := append(append(slices.Clone(p.runAs), filepath.Join(p.bin, prog)), args...)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, argv[0], argv[1:]...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %v\n%s", prog, err, out)
	}
	return nil
}

// start starts the server and waits until it accepts connections.
func (p *privatePostgres) start() error {
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c max_connections=60", p.port, p.dir)
	return p.pg("pg_ctl", "-D", p.data(), "-l", filepath.Join(p.dir, "server.log"), "-o", opts, "-w", "-t", "30", "start")
}

// stop stops the server: mode "immediate" is a crash (no checkpoint, every
// connection cut), "fast" a clean shutdown.
func (p *privatePostgres) stop(mode string) error {
	return p.pg("pg_ctl", "-D", p.data(), "-m", mode, "-w", "-t", "30", "stop")
}

// pids returns the server's processes: the postmaster (from its pid file)
// and its children (from /proc).
func (p *privatePostgres) pids(t testing.TB) []int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(p.data(), "postmaster.pid"))
	if err != nil {
		t.Fatal(err)
	}
	first, _, _ := strings.Cut(string(b), "\n")
	pm, err := strconv.Atoi(strings.TrimSpace(first))
	if err != nil {
		t.Fatalf("postmaster.pid: %v", err)
	}
	pids := []int{pm}
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, st := range stats {
		b, err := os.ReadFile(st)
		if err != nil {
			continue // gone
		}
		// pid (comm) state ppid …; comm may hold spaces and parentheses.
		_, rest, ok := strings.Cut(string(b), ") ")
		f := strings.Fields(rest)
		if !ok || len(f) < 2 {
			continue
		}
		if ppid, _ := strconv.Atoi(f[1]); ppid == pm {
			pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(st)))
			pids = append(pids, pid)
		}
	}
	return pids
}

// signalAll sends sig to every process in pids.
func signalAll(pids []int, sig syscall.Signal) {
	for _, pid := range pids {
		syscall.Kill(pid, sig)
	}
}

// freePort returns a free loopback TCP port.
func freePort(t testing.TB) int {
	_, port, err := net.SplitHostPort(harness.FreeAddr(t))
	if err != nil {
		t.Fatal(err)
	}
	n, _ := strconv.Atoi(port)
	return n
}
