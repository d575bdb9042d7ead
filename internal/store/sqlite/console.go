package sqlite

import (
	"context"
	"strings"

	"github.com/numauth/numauth/internal/store"
)

const consoleUserCols = `name, role, password_hash, generation, disabled, created_at`

func scanConsoleUser(r scanner) (store.ConsoleUser, error) {
	var u store.ConsoleUser
	var at int64
	var disabled int
	if err := r.Scan(&u.Name, &u.Role, &u.PasswordHash, &u.Generation, &disabled, &at); err != nil {
		return store.ConsoleUser{}, err
	}
	u.Disabled, u.CreatedAt = disabled != 0, fromMicros(at)
	return u, nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// CreateConsoleUser implements store.Durable.
func (s *Store) CreateConsoleUser(ctx context.Context, u store.ConsoleUser) error {
	return s.exec(ctx, false, `INSERT INTO console_users (`+consoleUserCols+`) VALUES (?,?,?,?,?,?)`,
		u.Name, string(u.Role), u.PasswordHash, u.Generation, boolInt(u.Disabled), micros(u.CreatedAt))
}

// GetConsoleUser implements store.Durable.
func (s *Store) GetConsoleUser(ctx context.Context, name string) (store.ConsoleUser, error) {
	if err := s.check(); err != nil {
		return store.ConsoleUser{}, err
	}
	u, err := scanConsoleUser(s.r.QueryRowContext(ctx, `SELECT `+consoleUserCols+` FROM console_users WHERE name = ?`, name))
	if err != nil {
		return store.ConsoleUser{}, mapErr(err)
	}
	return u, nil
}

// ListConsoleUsers implements store.Durable.
func (s *Store) ListConsoleUsers(ctx context.Context) ([]store.ConsoleUser, error) {
	return list(s, ctx, scanConsoleUser, `SELECT `+consoleUserCols+` FROM console_users ORDER BY name`)
}

// UpdateConsoleUser implements store.Durable: one UPDATE … RETURNING.
func (s *Store) UpdateConsoleUser(ctx context.Context, name string, ch store.ConsoleUserChange) (store.ConsoleUser, error) {
	if err := s.check(); err != nil {
		return store.ConsoleUser{}, err
	}
	var role, hash, disabled any
	if ch.Role != nil {
		role = string(*ch.Role)
	}
	if ch.PasswordHash != nil {
		hash = *ch.PasswordHash
	}
	if ch.Disabled != nil {
		disabled = boolInt(*ch.Disabled)
	}
	u, err := scanConsoleUser(s.w.QueryRowContext(ctx, `UPDATE console_users SET
		role = COALESCE(?, role), password_hash = COALESCE(?, password_hash),
		disabled = COALESCE(?, disabled), generation = generation + 1
		WHERE name = ? RETURNING `+consoleUserCols, role, hash, disabled, name))
	if err != nil {
		return store.ConsoleUser{}, mapErr(err)
	}
	return u, nil
}

// DeleteConsoleUser implements store.Durable.
func (s *Store) DeleteConsoleUser(ctx context.Context, name string) error {
	return s.exec(ctx, true, `DELETE FROM console_users WHERE name = ?`, name)
}

const auditCols = `id, at, actor, source, action, target, outcome, detail`

func scanAudit(r scanner) (store.AuditEntry, error) {
	var e store.AuditEntry
	var at int64
	if err := r.Scan(&e.ID, &at, &e.Actor, &e.Source, &e.Action, &e.Target, &e.Outcome, &e.Detail); err != nil {
		return store.AuditEntry{}, err
	}
	e.At = fromMicros(at)
	return e, nil
}

// AppendAudit implements store.Durable: one INSERT of every entry.
func (s *Store) AppendAudit(ctx context.Context, es ...store.AuditEntry) error {
	if len(es) == 0 {
		return nil
	}
	args := make([]any, 0, 8*len(es))
	for _, e := range es {
		args = append(args, e.ID, micros(e.At), e.Actor, e.Source, e.Action, e.Target, e.Outcome, e.Detail)
	}
	return s.exec(ctx, false, `INSERT INTO audit_log (`+auditCols+`) VALUES `+
		strings.TrimSuffix(strings.Repeat("(?,?,?,?,?,?,?,?),", len(es)), ","), args...)
}

// ListAudit implements store.Durable.
func (s *Store) ListAudit(ctx context.Context, f store.AuditFilter) ([]store.AuditEntry, error) {
	q := `SELECT ` + auditCols + ` FROM audit_log WHERE 1=1`
	var args []any
	if f.Before != "" {
		q += ` AND id < ?`
		args = append(args, f.Before)
	}
	if f.Actor != "" {
		q += ` AND actor = ?`
		args = append(args, f.Actor)
	}
	if f.Action != "" {
		q += ` AND action = ?`
		args = append(args, f.Action)
	}
	q += ` ORDER BY id DESC LIMIT ?`
	args = append(args, f.AuditLimit())
	return list(s, ctx, scanAudit, q, args...)
}
