package auth

import (
	"context"
	"log/slog"

	"github.com/numauth/numauth/internal/groupcommit"
)

// recorder writes the service's durable records with group commit
// (internal/groupcommit): verification and login records, SMS sends.
type recorder[T any] = groupcommit.Writer[T]

func newRecorder[T any](what string, put func(context.Context, []T) error, log *slog.Logger) *recorder[T] {
	return groupcommit.New(what, put, log)
}
