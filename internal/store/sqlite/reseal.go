package sqlite

import (
	"context"
	"fmt"
	"time"

	"github.com/numauth/numauth/internal/store"
)

// RetireSigningKey implements store.Durable.
func (s *Store) RetireSigningKey(ctx context.Context, id string, notAfter time.Time) error {
	return s.exec(ctx, true, `UPDATE signing_keys SET not_after = ? WHERE id = ?`, micros(notAfter), id)
}

// ResealSecrets implements store.Durable: one write transaction (SQLite has
// one writer at a time, so no other write slips in between the read and
// the update).
func (s *Store) ResealSecrets(ctx context.Context, reseal func(store.SealedSecret) ([]byte, bool, error)) (int, error) {
	if err := s.check(); err != nil {
		return 0, err
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return 0, mapErr(err)
	}
	defer tx.Rollback()
	// A write first, so the transaction holds the write lock before it
	// reads what it will rewrite.
	if _, err := tx.ExecContext(ctx, `UPDATE schema_migrations SET version = version WHERE version = (SELECT max(version) FROM schema_migrations)`); err != nil {
		return 0, mapErr(err)
	}
	var secrets []store.SealedSecret
	for _, q := range []struct{ kind, query string }{
		{store.SealedAccessKey, `SELECT id, '', sealed_secret FROM access_keys ORDER BY id`},
		{store.SealedSigningKey, `SELECT id, use, sealed FROM signing_keys ORDER BY id`},
	} {
		rows, err := tx.QueryContext(ctx, q.query)
		if err != nil {
			return 0, mapErr(err)
		}
		for rows.Next() {
			sec := store.SealedSecret{Kind: q.kind}
			if err := rows.Scan(&sec.ID, &sec.Use, &sec.Sealed); err != nil {
				rows.Close()
				return 0, mapErr(err)
			}
			secrets = append(secrets, sec)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return 0, mapErr(err)
		}
	}
	n := 0
	for _, sec := range secrets {
		out, changed, err := reseal(sec)
		if err != nil {
			return 0, fmt.Errorf("%s %q: %w", sec.Kind, sec.ID, err)
		}
		if !changed {
			continue
		}
		query := `UPDATE access_keys SET sealed_secret = ? WHERE id = ?`
		if sec.Kind == store.SealedSigningKey {
			query = `UPDATE signing_keys SET sealed = ? WHERE id = ?`
		}
		if _, err := tx.ExecContext(ctx, query, nonNil(out), sec.ID); err != nil {
			return 0, mapErr(err)
		}
		n++
	}
	if err := tx.Commit(); err != nil {
		return 0, mapErr(err)
	}
	return n, nil
}
