package postgres

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/numauth/numauth/internal/store"
)

const consoleUserCols = `name, role, password_hash, generation, disabled, created_at`

func scanConsoleUser(r pgx.Row) (store.ConsoleUser, error) {
	var u store.ConsoleUser
	if err := r.Scan(&u.Name, &u.Role, &u.PasswordHash, &u.Generation, &u.Disabled, &u.CreatedAt); err != nil {
		return store.ConsoleUser{}, err
	}
	u.CreatedAt = utc(u.CreatedAt)
	return u, nil
}

// CreateConsoleUser implements store.Durable.
func (s *Store) CreateConsoleUser(ctx context.Context, u store.ConsoleUser) error {
	return s.write(ctx, false, `INSERT INTO console_users (`+consoleUserCols+`) VALUES ($1,$2,$3,$4,$5,$6)`,
		u.Name, string(u.Role), u.PasswordHash, u.Generation, u.Disabled, u.CreatedAt)
}

// GetConsoleUser implements store.Durable.
func (s *Store) GetConsoleUser(ctx context.Context, name string) (u store.ConsoleUser, err error) {
	err = s.read(ctx, func() (err error) {
		u, err = scanConsoleUser(s.pool.QueryRow(ctx, `SELECT `+consoleUserCols+` FROM console_users WHERE name = $1`, name))
		return err
	})
	if err != nil {
		return store.ConsoleUser{}, err
	}
	return u, nil
}

// ListConsoleUsers implements store.Durable.
func (s *Store) ListConsoleUsers(ctx context.Context) ([]store.ConsoleUser, error) {
	return list(s, ctx, scanConsoleUser, `SELECT `+consoleUserCols+` FROM console_users ORDER BY name`)
}

// UpdateConsoleUser implements store.Durable: one UPDATE … RETURNING, not
// retried (it moves the generation on).
func (s *Store) UpdateConsoleUser(ctx context.Context, name string, ch store.ConsoleUserChange) (store.ConsoleUser, error) {
	if err := s.check(); err != nil {
		return store.ConsoleUser{}, err
	}
	var role, hash *string
	if ch.Role != nil {
		r := string(*ch.Role)
		role = &r
	}
	hash = ch.PasswordHash
	u, err := scanConsoleUser(s.pool.QueryRow(ctx, `UPDATE console_users SET
		role = COALESCE($1, role), password_hash = COALESCE($2, password_hash),
		disabled = COALESCE($3, disabled), generation = generation + 1
		WHERE name = $4 RETURNING `+consoleUserCols, role, hash, ch.Disabled, name))
	if err != nil {
		return store.ConsoleUser{}, mapErr(err)
	}
	return u, nil
}

// DeleteConsoleUser implements store.Durable.
func (s *Store) DeleteConsoleUser(ctx context.Context, name string) error {
	return s.write(ctx, true, `DELETE FROM console_users WHERE name = $1`, name)
}

const auditCols = `id, at, actor, source, action, target, outcome, detail`

func scanAudit(r pgx.Row) (store.AuditEntry, error) {
	var e store.AuditEntry
	if err := r.Scan(&e.ID, &e.At, &e.Actor, &e.Source, &e.Action, &e.Target, &e.Outcome, &e.Detail); err != nil {
		return store.AuditEntry{}, err
	}
	e.At = utc(e.At)
	return e, nil
}

// AppendAudit implements store.Durable: one INSERT of every entry.
func (s *Store) AppendAudit(ctx context.Context, es ...store.AuditEntry) error {
	if len(es) == 0 {
		return nil
	}
	args := make([]any, 0, 8*len(es))
	var vals []string
	for i, e := range es {
		n := 8 * i
		vals = append(vals, fmt.Sprintf("($%d,$%d,$%d,$%d,$%d,$%d,$%d,$%d)", n+1, n+2, n+3, n+4, n+5, n+6, n+7, n+8))
		args = append(args, e.ID, e.At, e.Actor, e.Source, e.Action, e.Target, e.Outcome, e.Detail)
	}
	return s.write(ctx, false, `INSERT INTO audit_log (`+auditCols+`) VALUES `+strings.Join(vals, ","), args...)
}

// ListAudit implements store.Durable.
func (s *Store) ListAudit(ctx context.Context, f store.AuditFilter) ([]store.AuditEntry, error) {
	q := `SELECT ` + auditCols + ` FROM audit_log WHERE true`
	var args []any
	add := func(cond string, v any) {
		args = append(args, v)
		q += fmt.Sprintf(" AND "+cond, len(args))
	}
	if f.Before != "" {
		add("id < $%d", f.Before)
	}
	if f.Actor != "" {
		add("actor = $%d", f.Actor)
	}
	if f.Action != "" {
		add("action = $%d", f.Action)
	}
	args = append(args, f.AuditLimit())
	q += fmt.Sprintf(" ORDER BY id DESC LIMIT $%d", len(args))
	return list(s, ctx, scanAudit, q, args...)
}
