package harness

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	goredis "github.com/redis/go-redis/v9"
)

// Stores for the scale-out variants of whole-system tests: a database of
// their own on a shared PostgreSQL server, a key prefix of their own in a
// shared Redis database (numauth serve --redis-prefix), each removed when
// the test ends, so that tests and concurrent test runs never see each
// other's data.

// PostgresDSN is the test PostgreSQL server: NUMAUTH_TEST_POSTGRES, default
// postgres://root@127.0.0.1:5432/test (trust auth).
func PostgresDSN() string {
	if v := os.Getenv("NUMAUTH_TEST_POSTGRES"); v != "" {
		return v
	}
	return "postgres://root@127.0.0.1:5432/test?sslmode=disable"
}

// FreshDatabase creates an empty database named name_<random> on the
// PostgreSQL server at PostgresDSN, dropped (with FORCE) when the test
// ends, and returns its DSN. It skips the test, saying how to run it, when
// the server cannot be reached.
func FreshDatabase(t testing.TB, name string) string {
	t.Helper()
	base := PostgresDSN()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Skipf("PostgreSQL not reachable at NUMAUTH_TEST_POSTGRES=%q (%v): start it or point the variable at a server (trust auth)", redacted(base), err)
	}
	defer c.Close(context.Background())
	name += "_" + randomHex(6)
	if _, err := c.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Errorf("drop database %s: %v", name, err)
			return
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("NUMAUTH_TEST_POSTGRES must be a URL: %v", err)
	}
	u.Path = "/" + name
	return u.String()
}

func redacted(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return "(unparsable DSN)"
	}
	return u.Redacted()
}

// RedisURL returns the Redis database the environment variable env names
// (def when it is unset) once it answers a PING; it skips the test, saying
// how to run it, when it does not.
func RedisURL(t testing.TB, env, def string) string {
	t.Helper()
	u := os.Getenv(env)
	if u == "" {
		u = def
	}
	opt, err := goredis.ParseURL(u)
	if err != nil {
		t.Fatalf("%s: %v", env, err)
	}
	c := goredis.NewClient(opt)
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		t.Skipf("Redis not reachable at %s=%q (%v): start it or point the variable at a Redis database", env, u, err)
	}
	return u
}

// FreshRedisPrefix returns a key prefix name-<random>: that no other test
// uses, for numauth serve --redis-prefix; every key under it in the Redis
// database at redisURL is deleted when the test ends (register it before
// starting the servers that use it, so that they are stopped first).
func FreshRedisPrefix(t testing.TB, redisURL, name string) string {
	t.Helper()
	prefix := name + "-" + randomHex(5) + ":"
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := DeleteRedisPrefix(ctx, redisURL, prefix); err != nil {
			t.Error(err)
		}
	})
	return prefix
}

// DeleteRedisPrefix deletes every key under prefix in the Redis database at
// redisURL: what a Redis restarted without persistence looks like to the
// numauth that uses the prefix.
func DeleteRedisPrefix(ctx context.Context, redisURL, prefix string) error {
	opt, err := goredis.ParseURL(redisURL)
	if err != nil {
		return fmt.Errorf("delete %s*: %w", prefix, err)
	}
	c := goredis.NewClient(opt)
	defer c.Close()
	iter := c.Scan(ctx, 0, prefix+"*", 1000).Iterator()
	var keys []string
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
	}
	if err := iter.Err(); err != nil {
		return fmt.Errorf("scan %s*: %w", prefix, err)
	}
	for len(keys) > 0 {
		n := min(len(keys), 1000)
		if err := c.Unlink(ctx, keys[:n]...).Err(); err != nil {
			return fmt.Errorf("delete %s*: %w", prefix, err)
		}
		keys = keys[n:]
	}
	return nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
