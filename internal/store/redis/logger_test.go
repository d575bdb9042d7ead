package redis

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"testing"
)

func TestClientLogIsSlog(t *testing.T) {
	var buf bytes.Buffer
	l := clientLog{slog.New(slog.NewJSONHandler(&buf, nil))}
	l.Printf(context.Background(), "redis: connection pool: failed to dial %s: %v\n", "127.0.0.1:1", "refused")
	var rec map[string]any
	if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
		t.Fatalf("not one JSON record: %q", buf.String())
	}
	if rec["level"] != "WARN" || rec["msg"] != "redis client" || rec["detail"] != "redis: connection pool: failed to dial 127.0.0.1:1: refused" {
		t.Errorf("record = %v", rec)
	}
}
