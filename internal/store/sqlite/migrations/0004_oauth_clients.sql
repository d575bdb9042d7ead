-- numauth durable schema, version 4: OAuth clients of the CAMARA
-- northbound API (OpenID Connect relying parties), each owned by an
-- account.

-- The lists (redirect_uris, scopes) are JSON arrays of strings, in the
-- order given; an empty list is '[]'. jwks (private_key_jwt) and
-- secret_hash (client_secret_basic, SHA-256 of the secret) are NULL when
-- the client has none.
CREATE TABLE oauth_clients (
    id            TEXT    NOT NULL PRIMARY KEY,
    account_id    TEXT    NOT NULL,
    name          TEXT    NOT NULL,
    redirect_uris TEXT    NOT NULL,
    auth_method   TEXT    NOT NULL,
    jwks          BLOB,
    secret_hash   BLOB,
    scopes        TEXT    NOT NULL,
    status        TEXT    NOT NULL,
    created_at    INTEGER NOT NULL
) WITHOUT ROWID;

CREATE INDEX oauth_clients_created ON oauth_clients (created_at, id);
CREATE INDEX oauth_clients_account ON oauth_clients (account_id, created_at, id);
