package main

import (
	"context"

	"github.com/numauth/numauth/internal/store"
	"github.com/numauth/numauth/internal/store/postgres"
	"github.com/numauth/numauth/internal/store/redis"
)

// openPostgres opens the scale-out durable store; migrations are applied
// under an advisory lock, so instances may start at once.
func openPostgres(ctx context.Context, dsn string) (store.Durable, error) {
	return postgres.Open(ctx, dsn)
}

// openRedis opens the scale-out ephemeral store, every key under prefix
// (--redis-prefix, default "numauth:").
func openRedis(ctx context.Context, url, prefix string, opts ...redis.Option) (store.Ephemeral, error) {
	return redis.Open(ctx, url, prefix, opts...)
}
