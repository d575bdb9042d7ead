package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/numauth/numauth/internal/store"
)

const oauthClientCols = `id, account_id, name, redirect_uris, auth_method, jwks, secret_hash, scopes, status, created_at`

// textArray is a text[] column's value: '{}' when empty, never NULL.
func textArray(v []string) []string {
	if v == nil {
		return []string{}
	}
	return v
}

// nullBytea is NULL for an empty b, so that "none" is one value.
func nullBytea(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}

func scanOAuthClient(r pgx.Row) (store.OAuthClient, error) {
	var c store.OAuthClient
	if err := r.Scan(&c.ID, &c.AccountID, &c.Name, &c.RedirectURIs, &c.AuthMethod, &c.JWKS, &c.SecretHash,
		&c.Scopes, &c.Status, &c.CreatedAt); err != nil {
		return store.OAuthClient{}, err
	}
	c.CreatedAt = utc(c.CreatedAt)
	c.JWKS, c.SecretHash = nullBytea(c.JWKS), nullBytea(c.SecretHash)
	if len(c.RedirectURIs) == 0 {
		c.RedirectURIs = nil
	}
	if len(c.Scopes) == 0 {
		c.Scopes = nil
	}
	return c, nil
}

// CreateOAuthClient implements store.Durable.
func (s *Store) CreateOAuthClient(ctx context.Context, c store.OAuthClient) error {
	return s.write(ctx, false, `INSERT INTO oauth_clients (`+oauthClientCols+`) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10)`,
		c.ID, c.AccountID, c.Name, textArray(c.RedirectURIs), c.AuthMethod, nullBytea(c.JWKS), nullBytea(c.SecretHash),
		textArray(c.Scopes), string(c.Status), c.CreatedAt)
}

// GetOAuthClient implements store.Durable.
func (s *Store) GetOAuthClient(ctx context.Context, id string) (c store.OAuthClient, err error) {
	err = s.read(ctx, func() (err error) {
		c, err = scanOAuthClient(s.pool.QueryRow(ctx, `SELECT `+oauthClientCols+` FROM oauth_clients WHERE id = $1`, id))
		return err
	})
	if err != nil {
		return store.OAuthClient{}, err
	}
	return c, nil
}

// ListOAuthClients implements store.Durable.
func (s *Store) ListOAuthClients(ctx context.Context, accountID string) ([]store.OAuthClient, error) {
	if accountID == "" {
		return list(s, ctx, scanOAuthClient, `SELECT `+oauthClientCols+` FROM oauth_clients ORDER BY created_at, id`)
	}
	return list(s, ctx, scanOAuthClient, `SELECT `+oauthClientCols+` FROM oauth_clients WHERE account_id = $1 ORDER BY created_at, id`, accountID)
}

// SetOAuthClientActive implements store.Durable; ErrNotFound if absent.
func (s *Store) SetOAuthClientActive(ctx context.Context, id string, active bool) error {
	st := store.KeyInactive
	if active {
		st = store.KeyActive
	}
	return s.write(ctx, true, `UPDATE oauth_clients SET status = $1 WHERE id = $2`, string(st), id)
}
