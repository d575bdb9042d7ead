package redis

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	goredis "github.com/redis/go-redis/v9"
)

// SetLogger sends the go-redis client's own messages (failed dials, pool
// and cluster state changes), which it otherwise prints to stderr, to l at
// warning level, so they reach numauth's log in its format. Like go-redis's
// logger it is process-wide; numauth serve sets it once, before it opens
// the store.
func SetLogger(l *slog.Logger) { goredis.SetLogger(clientLog{l}) }

// clientLog is go-redis's Logging interface on a slog.Logger.
type clientLog struct{ l *slog.Logger }

func (c clientLog) Printf(ctx context.Context, format string, v ...any) {
	c.l.WarnContext(ctx, "redis client", "detail", strings.TrimSpace(fmt.Sprintf(format, v...)))
}
