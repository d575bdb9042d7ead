package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/numauth/numauth/internal/store"
)

// RetireSigningKey implements store.Durable.
func (s *Store) RetireSigningKey(ctx context.Context, id string, notAfter time.Time) error {
	return s.write(ctx, true, `UPDATE signing_keys SET not_after = $1 WHERE id = $2`, notAfter.UTC(), id)
}

// errReseal carries the caller's error out of the transaction unmapped.
type errReseal struct{ err error }

func (e errReseal) Error() string { return e.err.Error() }
func (e errReseal) Unwrap() error { return e.err }

// ResealSecrets implements store.Durable: one transaction that locks the
// rows it rewrites (SELECT … FOR UPDATE), so a concurrent change of one of
// them waits for it.
func (s *Store) ResealSecrets(ctx context.Context, reseal func(store.SealedSecret) ([]byte, bool, error)) (int, error) {
	if err := s.check(); err != nil {
		return 0, err
	}
	n := 0
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		n = 0
		var secrets []store.SealedSecret
		for _, q := range []struct{ kind, query string }{
			{store.SealedAccessKey, `SELECT id, '', sealed_secret FROM access_keys ORDER BY id FOR UPDATE`},
			{store.SealedSigningKey, `SELECT id, use, sealed FROM signing_keys ORDER BY id FOR UPDATE`},
		} {
			rows, err := tx.Query(ctx, q.query)
			if err != nil {
				return err
			}
			for rows.Next() {
				sec := store.SealedSecret{Kind: q.kind}
				if err := rows.Scan(&sec.ID, &sec.Use, &sec.Sealed); err != nil {
					rows.Close()
					return err
				}
				secrets = append(secrets, sec)
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
		}
		for _, sec := range secrets {
			out, changed, err := reseal(sec)
			if err != nil {
				return errReseal{fmt.Errorf("%s %q: %w", sec.Kind, sec.ID, err)}
			}
			if !changed {
				continue
			}
			query := `UPDATE access_keys SET sealed_secret = $1 WHERE id = $2`
			if sec.Kind == store.SealedSigningKey {
				query = `UPDATE signing_keys SET sealed = $1 WHERE id = $2`
			}
			if _, err := tx.Exec(ctx, query, nonNil(out), sec.ID); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	var re errReseal
	if errors.As(err, &re) {
		return 0, re.err
	}
	if err != nil {
		return 0, mapErr(err)
	}
	return n, nil
}
