package sqlite

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/numauth/numauth/internal/store"
)

const oauthClientCols = `id, account_id, name, redirect_uris, auth_method, jwks, secret_hash, scopes, status, created_at`

// stringList is a list column: a JSON array of strings, "[]" when empty.
func stringList(v []string) string {
	if len(v) == 0 {
		return "[]"
	}
	b, err := json.Marshal(v)
	if err != nil { // cannot happen for []string
		panic(err)
	}
	return string(b)
}

func parseStringList(col, text string) ([]string, error) {
	var v []string
	if err := json.Unmarshal([]byte(text), &v); err != nil {
		return nil, fmt.Errorf("sqlite: oauth_clients.%s holds %q, not a JSON array of strings: %w", col, text, err)
	}
	if len(v) == 0 {
		return nil, nil
	}
	return v, nil
}

// nullBlob is NULL for an empty b, so that "none" is one value.
func nullBlob(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}

func scanOAuthClient(r scanner) (store.OAuthClient, error) {
	var c store.OAuthClient
	var uris, scopes string
	var at int64
	if err := r.Scan(&c.ID, &c.AccountID, &c.Name, &uris, &c.AuthMethod, &c.JWKS, &c.SecretHash, &scopes, &c.Status, &at); err != nil {
		return store.OAuthClient{}, err
	}
	c.CreatedAt = fromMicros(at)
	if len(c.JWKS) == 0 {
		c.JWKS = nil
	}
	if len(c.SecretHash) == 0 {
		c.SecretHash = nil
	}
	var err error
	if c.RedirectURIs, err = parseStringList("redirect_uris", uris); err != nil {
		return store.OAuthClient{}, err
	}
	if c.Scopes, err = parseStringList("scopes", scopes); err != nil {
		return store.OAuthClient{}, err
	}
	return c, nil
}

// CreateOAuthClient implements store.Durable.
func (s *Store) CreateOAuthClient(ctx context.Context, c store.OAuthClient) error {
	return s.exec(ctx, false, `INSERT INTO oauth_clients (`+oauthClientCols+`) VALUES (?,?,?,?,?,?,?,?,?,?)`,
		c.ID, c.AccountID, c.Name, stringList(c.RedirectURIs), c.AuthMethod, nullBlob(c.JWKS), nullBlob(c.SecretHash),
		stringList(c.Scopes), string(c.Status), micros(c.CreatedAt))
}

// GetOAuthClient implements store.Durable.
func (s *Store) GetOAuthClient(ctx context.Context, id string) (store.OAuthClient, error) {
	if err := s.check(); err != nil {
		return store.OAuthClient{}, err
	}
	c, err := scanOAuthClient(s.r.QueryRowContext(ctx, `SELECT `+oauthClientCols+` FROM oauth_clients WHERE id = ?`, id))
	if err != nil {
		return store.OAuthClient{}, mapErr(err)
	}
	return c, nil
}

// ListOAuthClients implements store.Durable.
func (s *Store) ListOAuthClients(ctx context.Context, accountID string) ([]store.OAuthClient, error) {
	if accountID == "" {
		return list(s, ctx, scanOAuthClient, `SELECT `+oauthClientCols+` FROM oauth_clients ORDER BY created_at, id`)
	}
	return list(s, ctx, scanOAuthClient, `SELECT `+oauthClientCols+` FROM oauth_clients WHERE account_id = ? ORDER BY created_at, id`, accountID)
}

// SetOAuthClientActive implements store.Durable; ErrNotFound if absent.
func (s *Store) SetOAuthClientActive(ctx context.Context, id string, active bool) error {
	st := store.KeyInactive
	if active {
		st = store.KeyActive
	}
	return s.exec(ctx, true, `UPDATE oauth_clients SET status = ? WHERE id = ?`, string(st), id)
}
