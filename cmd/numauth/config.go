package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/numauth/numauth/internal/secret"
	"github.com/numauth/numauth/internal/store"
	"github.com/numauth/numauth/internal/store/memory"
	"github.com/numauth/numauth/internal/store/redis"
	"github.com/numauth/numauth/internal/store/sqlite"
	"github.com/numauth/numauth/internal/token"
)

// storeFlags are the flags every command that opens the stores shares.
type storeFlags struct {
	dataDir string
	store   string // postgres://… or "" for SQLite in dataDir
	redis   string // redis://… or "" for in-process
	// memoryLimit bounds the in-process ephemeral store (serve's
	// --memory-limit, in MiB); 0 keeps the store's default.
	memoryLimit int64
	// redisPrefix namespaces numauth's keys in a shared Redis database.
	redisPrefix string
	// redisCluster lists a Redis Cluster's seed nodes (host:port,…).
	redisCluster string
	// redisWaitReplicas: replicas that must acknowledge each write.
	redisWaitReplicas int
}

func (f *storeFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.dataDir, "data-dir", envOr("NUMAUTH_DATA_DIR", "./data"), "data directory (SQLite database, master key file, admin token) [NUMAUTH_DATA_DIR]")
	fs.StringVar(&f.store, "store", os.Getenv("NUMAUTH_STORE"), "durable store: postgres://… for PostgreSQL; empty for SQLite in --data-dir [NUMAUTH_STORE]")
	fs.StringVar(&f.redis, "redis", os.Getenv("NUMAUTH_REDIS"), "ephemeral store: redis://… for Redis; empty for in-process [NUMAUTH_REDIS]")
	fs.StringVar(&f.redisCluster, "redis-cluster", os.Getenv("NUMAUTH_REDIS_CLUSTER"), "ephemeral store on a Redis Cluster: seed nodes host:port[,host:port…] (instead of --redis) [NUMAUTH_REDIS_CLUSTER]")
	fs.IntVar(&f.redisWaitReplicas, "redis-wait-replicas", envInt("NUMAUTH_REDIS_WAIT_REPLICAS", 0), "replicas of a Redis master that must acknowledge every write before it counts (WAIT), so a failover loses no spent token; 0 does not wait [NUMAUTH_REDIS_WAIT_REPLICAS]")
	fs.StringVar(&f.redisPrefix, "redis-prefix", envOr("NUMAUTH_REDIS_PREFIX", "numauth:"), "prefix of every key numauth keeps in Redis; deployments sharing one Redis database need distinct prefixes, and all instances of one deployment the same [NUMAUTH_REDIS_PREFIX]")
}

var redisPrefixPattern = regexp.MustCompile(`^[A-Za-z0-9:._-]{1,64}$`)

// envInt is the integer in the environment variable name, or def when it is
// unset; a value that is not an integer is kept as -1, which the flag's
// check refuses with its name.
func envInt(name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return -1
	}
	return n
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// masterBox loads the master key (NUMAUTH_MASTER_KEY, or the key file in the
// data directory, created on first use) and the previous master keys it
// still opens with during a rotation (NUMAUTH_MASTER_KEY_PREVIOUS, or
// master.key.previous in the data directory).
func (f *storeFlags) masterBox() (*secret.Box, bool, error) {
	key, created, err := secret.LoadOrCreate(os.Getenv("NUMAUTH_MASTER_KEY"), filepath.Join(f.dataDir, "master.key"))
	if err != nil {
		return nil, false, err
	}
	prev, err := secret.LoadPrevious(os.Getenv("NUMAUTH_MASTER_KEY_PREVIOUS"), filepath.Join(f.dataDir, "master.key.previous"))
	if err != nil {
		return nil, false, fmt.Errorf("previous master keys: %w", err)
	}
	b, err := secret.New(key, prev...)
	return b, created, err
}

// pinRoot pins box's derivation root to the one the durable store keeps
// (storing it on first use), so derived keys survive a master-key rotation.
func pinRoot(ctx context.Context, d store.Durable, box *secret.Box) (*secret.Box, error) {
	b, err := token.PinDerivationRoot(ctx, d, box)
	if err != nil {
		return nil, fmt.Errorf("master key: %w", err)
	}
	return b, nil
}

func (f *storeFlags) openDurable(ctx context.Context) (store.Durable, error) {
	if f.store != "" {
		if !strings.HasPrefix(f.store, "postgres://") && !strings.HasPrefix(f.store, "postgresql://") {
			return nil, fmt.Errorf("--store must be a postgres:// URL (or empty for SQLite)")
		}
		return openPostgres(ctx, f.store)
	}
	if err := os.MkdirAll(f.dataDir, 0o700); err != nil {
		return nil, err
	}
	return sqlite.Open(ctx, filepath.Join(f.dataDir, "numauth.db"))
}

// redisWaitTimeout is how long a write waits for its replicas'
// acknowledgement before it fails.
const redisWaitTimeout = 500 * time.Millisecond

func (f *storeFlags) openEphemeral(ctx context.Context) (store.Ephemeral, error) {
	if f.redisWaitReplicas < 0 || f.redisWaitReplicas > 16 {
		return nil, fmt.Errorf("--redis-wait-replicas must be a number of replicas from 0 to 16")
	}
	var opts []redis.Option
	if f.redisWaitReplicas > 0 {
		opts = append(opts, redis.WaitReplicas(f.redisWaitReplicas, redisWaitTimeout))
	}
	if f.redisCluster != "" {
		if f.redis != "" {
			return nil, fmt.Errorf("--redis and --redis-cluster name two ephemeral stores; give one")
		}
		if !redisPrefixPattern.MatchString(f.redisPrefix) {
			return nil, fmt.Errorf("--redis-prefix must be 1-64 of [A-Za-z0-9:._-]")
		}
		var seeds []string
		for _, a := range strings.Split(f.redisCluster, ",") {
			a = strings.TrimSpace(a)
			if _, _, err := net.SplitHostPort(a); err != nil || a == "" {
				return nil, fmt.Errorf("--redis-cluster: %q is not host:port", a)
			}
			seeds = append(seeds, a)
		}
		return redis.OpenCluster(ctx, seeds, f.redisPrefix, opts...)
	}
	if f.redis != "" {
		if !strings.HasPrefix(f.redis, "redis://") && !strings.HasPrefix(f.redis, "rediss://") {
			return nil, fmt.Errorf("--redis must be a redis:// or rediss:// URL")
		}
		if !redisPrefixPattern.MatchString(f.redisPrefix) {
			return nil, fmt.Errorf("--redis-prefix must be 1-64 of [A-Za-z0-9:._-]")
		}
		return openRedis(ctx, f.redis, f.redisPrefix, opts...)
	}
	return memory.New(memory.WithMaxBytes(f.memoryLimit << 20)), nil
}

// adminToken returns the token that guards /admin/ endpoints: from
// NUMAUTH_ADMIN_TOKEN, or the admin.token file in the data directory
// (created, mode 0600, when create is set).
func adminToken(dataDir string, create bool) (string, error) {
	if t := os.Getenv("NUMAUTH_ADMIN_TOKEN"); t != "" {
		return t, nil
	}
	path := filepath.Join(dataDir, "admin.token")
	b, err := os.ReadFile(path)
	if err == nil {
		return strings.TrimSpace(string(b)), nil
	}
	if !errors.Is(err, fs.ErrNotExist) || !create {
		return "", fmt.Errorf("admin token: %w (set NUMAUTH_ADMIN_TOKEN or point --data-dir at the server's)", err)
	}
	raw := make([]byte, 24)
	rand.Read(raw)
	tok := hex.EncodeToString(raw)
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return "", err
	}
	fh, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return adminToken(dataDir, false)
	}
	if err != nil {
		return "", err
	}
	defer fh.Close()
	_, err = fh.WriteString(tok + "\n")
	return tok, err
}
