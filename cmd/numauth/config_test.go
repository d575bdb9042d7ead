package main

import (
	"context"
	"strings"
	"testing"
)

func TestRedisPrefixChecked(t *testing.T) {
	for _, p := range []string{"", "has space", "new\nline", strings.Repeat("x", 65), "ünicode"} {
		f := storeFlags{redis: "redis://127.0.0.1:1/0", redisPrefix: p}
		if e, err := f.openEphemeral(context.Background()); err == nil || !strings.Contains(err.Error(), "--redis-prefix") {
			if e != nil {
				e.Close()
			}
			t.Errorf("--redis-prefix %q: %v, want it refused before connecting", p, err)
		}
	}
}

func TestRedisClusterFlagsChecked(t *testing.T) {
	for _, tc := range []struct {
		f    storeFlags
		want string
	}{
		{storeFlags{redisCluster: "127.0.0.1", redisPrefix: "p:"}, "not host:port"},
		{storeFlags{redisCluster: "127.0.0.1:1,,127.0.0.1:2", redisPrefix: "p:"}, "not host:port"},
		{storeFlags{redisCluster: "127.0.0.1:1", redis: "redis://127.0.0.1:1/0", redisPrefix: "p:"}, "give one"},
		{storeFlags{redisCluster: "127.0.0.1:1", redisPrefix: "a b"}, "--redis-prefix"},
		{storeFlags{redisCluster: "127.0.0.1:1", redisPrefix: "p:", redisWaitReplicas: -1}, "--redis-wait-replicas"},
		{storeFlags{redis: "redis://127.0.0.1:1/0", redisPrefix: "p:", redisWaitReplicas: 17}, "--redis-wait-replicas"},
	} {
		if e, err := tc.f.openEphemeral(context.Background()); err == nil || !strings.Contains(err.Error(), tc.want) {
			if e != nil {
				e.Close()
			}
			t.Errorf("%+v: %v, want an error naming %q", tc.f, err, tc.want)
		}
	}
}
