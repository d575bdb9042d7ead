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
