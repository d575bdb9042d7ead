package harness

import (
	"bytes"
	"context"
	"fmt"
	mrand "math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// RedisCluster is a Redis Cluster of redis-server processes on loopback
// ports, started by StartRedisCluster for one test (or one package).
type RedisCluster struct {
	dir   string
	mu    sync.Mutex
	nodes []*clusterNode
}

type clusterNode struct {
	Addr string
	cmd  *exec.Cmd
	done chan struct{}
	logs *SyncBuffer
}

// Addrs are the addresses of every node started, masters and replicas.
func (c *RedisCluster) Addrs() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]string, len(c.nodes))
	for i, n := range c.nodes {
		out[i] = n.Addr
	}
	return out
}

// Seeds is the comma-separated list of every node's address, as numauth
// serve --redis-cluster takes it.
func (c *RedisCluster) Seeds() string { return strings.Join(c.Addrs(), ",") }

// RedisClusterTools reports why a cluster cannot be started here ("" when
// redis-server and redis-cli are both on PATH).
func RedisClusterTools() string {
	for _, bin := range []string{"redis-server", "redis-cli"} {
		if _, err := exec.LookPath(bin); err != nil {
			return bin + " is not on PATH (Debian package redis-server, which brings redis-cli too)"
		}
	}
	return ""
}

// StartRedisCluster starts masters × (1 + replicas) redis-server processes
// with --cluster-enabled yes on free loopback ports, joins them with
// redis-cli --cluster create, and waits until every node reports
// cluster_state:ok. Persistence is off. The test is skipped when the tools
// are missing; everything is stopped when t ends. The cluster's node timeout
// is 1 s, so a killed master's replica is promoted within a few seconds.
func StartRedisCluster(t testing.TB, masters, replicas int) *RedisCluster {
	t.Helper()
	if why := RedisClusterTools(); why != "" {
		t.Skipf("Redis Cluster tests need %s", why)
	}
	c, err := startRedisCluster(masters, replicas, t.TempDir())
	if err != nil {
		if c != nil {
			c.Stop()
		}
		t.Fatalf("redis cluster: %v", err)
	}
	t.Cleanup(c.Stop)
	return c
}

// StartRedisClusterIn is StartRedisCluster for a TestMain: dir is the
// working directory of the nodes, and the caller calls Stop.
func StartRedisClusterIn(dir string, masters, replicas int) (*RedisCluster, error) {
	if why := RedisClusterTools(); why != "" {
		return nil, fmt.Errorf("%s", why)
	}
	c, err := startRedisCluster(masters, replicas, dir)
	if err != nil && c != nil {
		c.Stop()
		return nil, err
	}
	return c, err
}

func startRedisCluster(masters, replicas int, dir string) (*RedisCluster, error) {
	if masters < 3 {
		return nil, fmt.Errorf("a Redis Cluster needs at least 3 masters, not %d", masters)
	}
	c := &RedisCluster{dir: dir}
	for i := 0; i < masters*(1+replicas); i++ {
		if err := c.startNode(freePort()); err != nil {
			return c, err
		}
	}
	args := append([]string{"--cluster", "create"}, c.Addrs()...)
	args = append(args, "--cluster-replicas", strconv.Itoa(replicas), "--cluster-yes")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "redis-cli", args...).CombinedOutput()
	if err != nil {
		return c, fmt.Errorf("redis-cli --cluster create: %v\n%s", err, out)
	}
	if err := c.WaitHealthy(ctx, masters, replicas); err != nil {
		return c, err
	}
	return c, nil
}

// freePort picks a loopback port below the kernel's ephemeral range where
// both the port and its cluster bus port (the port + 10000) are free.
func freePort() int {
	for {
		port := 17000 + mrand.IntN(10000)
		if portFree(port) && portFree(port+10000) {
			return port
		}
	}
}

func portFree(port int) bool {
	ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		return false
	}
	ln.Close()
	return true
}

func (c *RedisCluster) startNode(port int) error {
	addr := "127.0.0.1:" + strconv.Itoa(port)
	nodeDir := filepath.Join(c.dir, strconv.Itoa(port))
	if err := os.MkdirAll(nodeDir, 0o755); err != nil {
		return err
	}
	cmd := exec.Command("redis-server",
		"--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
		"--cluster-node-timeout", "1000", "--cluster-replica-validity-factor", "0",
		"--save", "", "--appendonly", "no", "--dir", nodeDir, "--daemonize", "no")
	logs := &SyncBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start redis-server on %s: %w", addr, err)
	}
	n := &clusterNode{Addr: addr, cmd: cmd, done: make(chan struct{}), logs: logs}
	go func() { cmd.Wait(); close(n.done) }()
	c.mu.Lock()
	c.nodes = append(c.nodes, n)
	c.mu.Unlock()
	deadline := time.Now().Add(10 * time.Second)
	for {
		cl := goredis.NewClient(&goredis.Options{Addr: addr, MaxRetries: -1, DisableIdentity: true})
		err := cl.Ping(context.Background()).Err()
		cl.Close()
		if err == nil {
			return nil
		}
		select {
		case <-n.done:
			return fmt.Errorf("redis-server on %s exited:\n%s", addr, logs.String())
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("redis-server on %s did not answer: %v\n%s", addr, err, logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// WaitHealthy waits until every running node reports cluster_state:ok, the
// cluster has masters masters serving all 16384 slots, and every master has
// replicas replicas online (replicas < 0: any number).
func (c *RedisCluster) WaitHealthy(ctx context.Context, masters, replicas int) error {
	var last string
	for {
		ok := true
		for _, n := range c.running() {
			cl := goredis.NewClient(&goredis.Options{Addr: n.Addr, MaxRetries: -1, DisableIdentity: true})
			info, err := cl.ClusterInfo(ctx).Result()
			var repl string
			if err == nil {
				repl, err = cl.Info(ctx, "replication").Result()
			}
			cl.Close()
			if err != nil {
				ok, last = false, n.Addr+": "+err.Error()
				break
			}
			if !strings.Contains(info, "cluster_state:ok") || !strings.Contains(info, "cluster_slots_ok:16384") ||
				!strings.Contains(info, "cluster_size:"+strconv.Itoa(masters)+"\r") {
				ok, last = false, n.Addr+": "+strings.ReplaceAll(info, "\r\n", " ")
				break
			}
			if replicas >= 0 && strings.Contains(repl, "role:master") && strings.Count(repl, "state=online") != replicas {
				ok, last = false, n.Addr+": "+strings.ReplaceAll(repl, "\r\n", " ")
				break
			}
		}
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("redis cluster not healthy: %s", last)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (c *RedisCluster) running() []*clusterNode {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []*clusterNode
	for _, n := range c.nodes {
		select {
		case <-n.done:
		default:
			out = append(out, n)
		}
	}
	return out
}

// MasterOf returns the address of the master serving key's slot.
func (c *RedisCluster) MasterOf(ctx context.Context, key string) (string, error) {
	cc := goredis.NewClusterClient(&goredis.ClusterOptions{Addrs: c.runningAddrs(), MaxRetries: -1, DisableIdentity: true})
	defer cc.Close()
	m, err := cc.MasterForKey(ctx, key)
	if err != nil {
		return "", err
	}
	return m.Options().Addr, nil
}

func (c *RedisCluster) runningAddrs() []string {
	var out []string
	for _, n := range c.running() {
		out = append(out, n.Addr)
	}
	return out
}

// WaitFailover waits until the running nodes agree that the (killed) node
// at addr has failed and another node masters the slots it had.
func (c *RedisCluster) WaitFailover(ctx context.Context, addr string) error {
	var last string
	for {
		ok := true
		for _, n := range c.running() {
			cl := goredis.NewClient(&goredis.Options{Addr: n.Addr, MaxRetries: -1, DisableIdentity: true})
			nodes, err := cl.ClusterNodes(ctx).Result()
			cl.Close()
			if err != nil {
				ok, last = false, n.Addr+": "+err.Error()
				break
			}
			for _, line := range strings.Split(nodes, "\n") {
				f := strings.Fields(line)
				if len(f) < 3 || !strings.HasPrefix(f[1], addr+"@") {
					continue
				}
				if flags := "," + f[2] + ","; !strings.Contains(flags, ",fail,") || strings.Contains(flags, ",master,") && len(f) > 8 {
					ok, last = false, n.Addr+" sees "+line
				}
			}
			if !ok {
				break
			}
		}
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("no failover of %s: %s", addr, last)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Restart starts the node at addr again (after Kill), on its port and its
// directory: it rejoins the cluster, as a replica when its slots have been
// failed over meanwhile.
func (c *RedisCluster) Restart(addr string) error {
	_, p, _ := strings.Cut(addr, ":")
	port, err := strconv.Atoi(p)
	if err != nil {
		return err
	}
	return c.startNode(port)
}

// Kill ends the node at addr at once (SIGKILL): a crash, with no chance to
// hand anything over.
func (c *RedisCluster) Kill(addr string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	found := false
	for _, n := range c.nodes {
		if n.Addr == addr {
			n.cmd.Process.Kill()
			<-n.done
			found = true
		}
	}
	if !found {
		return fmt.Errorf("no node %s", addr)
	}
	return nil
}

// Stop kills every node; it is idempotent.
func (c *RedisCluster) Stop() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, n := range c.nodes {
		n.cmd.Process.Kill()
		<-n.done
	}
}

// Logs returns every node's output, for a failing test's message.
func (c *RedisCluster) Logs() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var b bytes.Buffer
	for _, n := range c.nodes {
		fmt.Fprintf(&b, "== %s\n%s\n", n.Addr, n.logs.String())
	}
	return b.String()
}
