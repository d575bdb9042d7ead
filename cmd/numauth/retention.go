package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/numauth/numauth/internal/store"
)

// minRetention is the shortest --retention accepted: anything shorter
// would delete records about as fast as they are written, which is a typo
// more likely than a plan.
const minRetention = time.Hour

// maxRetentionDays keeps days*24h within a time.Duration (about 292 years).
const maxRetentionDays = 106_000

// parseRetention reads --retention / NUMAUTH_RETENTION: "" or "0" keeps
// every record (0 is returned); otherwise a number of days with a "d"
// ("400d"), optionally followed by a Go duration ("1d12h"), or a Go
// duration alone ("720h"), of at least minRetention.
func parseRetention(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "0" {
		return 0, nil
	}
	var d time.Duration
	rest := s
	if days, after, ok := strings.Cut(s, "d"); ok {
		n, err := strconv.ParseUint(days, 10, 32)
		if err != nil || days == "" || days[0] == '+' {
			return 0, fmt.Errorf("retention %q: want days as digits before the d, e.g. 400d", s)
		}
		if n > maxRetentionDays {
			return 0, fmt.Errorf("retention %q: at most %dd", s, maxRetentionDays)
		}
		d = time.Duration(n) * 24 * time.Hour
		rest = after
	}
	if rest != "" {
		g, err := time.ParseDuration(rest)
		if err != nil {
			return 0, fmt.Errorf("retention %q: want e.g. 400d, 1d12h or 720h: %w", s, err)
		}
		if g < 0 || (d > 0 && rest[0] == '-') {
			return 0, fmt.Errorf("retention %q: must not be negative", s)
		}
		if d > 0 && g > time.Duration(1<<63-1)-d {
			return 0, fmt.Errorf("retention %q: too long", s)
		}
		d += g
	}
	if d < minRetention {
		return 0, fmt.Errorf("retention %q: at least %v (0 or empty keeps every record)", s, minRetention)
	}
	return d, nil
}

// maintainEvery is how often the records' maintenance runs.
const maintainEvery = time.Hour

// startMaintenance runs the durable store's maintenance (store.Maintainer:
// partitions ahead, retention, the per-minute rollup's pruning) at once
// and then every maintainEvery, until the returned stop is called (stop
// waits for a run in progress to end).
// A store without time-ranged records has nothing to do.
func startMaintenance(d store.Durable, retention time.Duration, log *slog.Logger) (stop func()) {
	m, ok := d.(store.Maintainer)
	if !ok {
		return func() {}
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(maintainEvery)
		defer t.Stop()
		for {
			maintainOnce(ctx, m, retention, log)
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return func() {
		cancel()
		wg.Wait()
	}
}

func maintainOnce(ctx context.Context, m store.Maintainer, retention time.Duration, log *slog.Logger) {
	now := time.Now()
	rep, err := m.Maintain(ctx, now, retention)
	attrs := []any{"partitions_created", rep.Created, "partitions_dropped", rep.Dropped, "records_deleted", rep.Deleted,
		"minute_rows_deleted", rep.MinuteRows}
	if retention > 0 {
		attrs = append(attrs, "retention", retention.String(), "cutoff", now.Add(-retention).UTC().Format(time.RFC3339))
	}
	switch {
	case err != nil && errors.Is(err, context.Canceled):
	case err != nil:
		log.Warn("records maintenance failed; it runs again within the hour", append(attrs, "err", err)...)
	case len(rep.Created) > 0 || len(rep.Dropped) > 0 || rep.Deleted > 0 || rep.MinuteRows > 0:
		log.Info("records maintenance", attrs...)
	}
}
