package sms

import (
	"context"
	"time"
)

// OutboxEntry is one message the sandbox provider delivered: the operator's
// own test data, kept with the full text so tests, the CLI and the console
// can read the code.
type OutboxEntry struct {
	ID           string // the message's ID (numauth's BizId)
	ProviderID   string
	To           string // E.164
	SignName     string
	TemplateCode string
	Text         string
	CreatedAt    time.Time
}

// Outbox is the sandbox provider's storage role, kept by the durable store
// so every instance and the CLI see one outbox.
type Outbox interface {
	// PutOutbox stores the entries in one transaction, all or none. An
	// entry whose ID is there already is skipped, which is not an error (a
	// retried Send delivers once).
	PutOutbox(ctx context.Context, es ...OutboxEntry) error
	// ListOutbox lists entries newest first, for one recipient (E.164) or
	// for all when to is "", at most limit of them.
	ListOutbox(ctx context.Context, to string, limit int) ([]OutboxEntry, error)
}
