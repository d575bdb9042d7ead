package store

import "time"

// ConsoleRole is what a console user may do: RoleAdmin changes things,
// RoleViewer only reads.
type ConsoleRole string

const (
	RoleAdmin  ConsoleRole = "admin"
	RoleViewer ConsoleRole = "viewer"
)

// Valid reports whether r is one of the roles.
func (r ConsoleRole) Valid() bool { return r == RoleAdmin || r == RoleViewer }

// ConsoleUser is a person who signs in to the console.
type ConsoleUser struct {
	Name string
	Role ConsoleRole
	// PasswordHash is a PHC string ($argon2id$v=19$m=…,t=…,p=…$salt$hash).
	PasswordHash string
	// Generation grows with every change to the user (role, password,
	// disabling, "sign out everywhere"); a session remembers the
	// generation it was opened in and ends when that is no longer current.
	Generation int64
	Disabled   bool
	CreatedAt  time.Time
}

// ConsoleUserChange is what UpdateConsoleUser changes: the fields that are
// set. Every update also moves the user's Generation on by one.
type ConsoleUserChange struct {
	Role         *ConsoleRole
	PasswordHash *string
	Disabled     *bool
}

// AuditEntry is one change made through the admin API (or refused there):
// who, what, when, and how it ended. It never holds a secret.
type AuditEntry struct {
	// ID orders entries in time: unique, and greater for later entries of
	// one writer (see NewAuditID in internal/admin).
	ID     string
	At     time.Time
	Actor  string // "user:NAME", "token", "cli"
	Source string // the client's address
	Action string // e.g. "keys.create", "users.delete", "session.create"
	Target string // what it acted on: an AccessKeyId, a scheme code, a user name
	// Outcome is "ok", or the admin API's error code.
	Outcome string
	// Detail is a JSON object with the change's parameters (no secrets).
	Detail string
}

// AuditFilter selects audit entries: newest first, at most Limit (1–1000;
// 0 = 100), those with an ID below Before when it is set (the next page),
// of one Actor or Action when set.
type AuditFilter struct {
	Before string
	Actor  string
	Action string
	Limit  int
}

// AuditLimit is the page size an AuditFilter asks for.
func (f AuditFilter) AuditLimit() int {
	switch {
	case f.Limit <= 0:
		return 100
	case f.Limit > 1000:
		return 1000
	}
	return f.Limit
}

// VerificationQuery selects verification records for the console's log:
// newest first (CreatedAt, then ID), at most Limit (1–500; 0 = 50), those
// strictly before the cursor (BeforeAt, BeforeID) when BeforeAt is set.
// Every set field must match exactly; MaskedPhone is the masked form
// ("138****5678"), never a number.
type VerificationQuery struct {
	AccountID   string
	ID          string
	MaskedPhone string
	SchemeCode  string
	Kind        string
	Result      string
	From, To    time.Time // CreatedAt in [From, To); a zero bound is open
	BeforeAt    time.Time
	BeforeID    string
	Limit       int
}

// QueryLimit is the page size q asks for.
func (q VerificationQuery) QueryLimit() int {
	switch {
	case q.Limit <= 0:
		return 50
	case q.Limit > 500:
		return 500
	}
	return q.Limit
}
