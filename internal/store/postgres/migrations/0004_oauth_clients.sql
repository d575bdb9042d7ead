-- numauth durable schema, version 4: OAuth clients of the CAMARA
-- northbound API (OpenID Connect relying parties), each owned by an
-- account.

-- The lists (redirect_uris, scopes) keep the order given; an empty list
-- is '{}'. jwks (private_key_jwt) and secret_hash (client_secret_basic,
-- SHA-256 of the secret) are NULL when the client has none.
CREATE TABLE oauth_clients (
    id            text COLLATE "C" PRIMARY KEY,
    account_id    text COLLATE "C" NOT NULL,
    name          text             NOT NULL,
    redirect_uris text[]           NOT NULL,
    auth_method   text             NOT NULL,
    jwks          bytea,
    secret_hash   bytea,
    scopes        text[]           NOT NULL,
    status        text             NOT NULL,
    created_at    timestamptz      NOT NULL
);

CREATE INDEX oauth_clients_created ON oauth_clients (created_at, id);
CREATE INDEX oauth_clients_account ON oauth_clients (account_id, created_at, id);
