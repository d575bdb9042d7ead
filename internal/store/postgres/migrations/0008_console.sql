-- numauth durable schema, version 8: the console's users and the admin
-- API's audit log.

-- password_hash is a PHC string ($argon2id$…); generation grows with every
-- change to the user and ends the sessions opened before it.
CREATE TABLE console_users (
    name          text COLLATE "C" PRIMARY KEY,
    role          text        NOT NULL CHECK (role IN ('admin', 'viewer')),
    password_hash text        NOT NULL,
    generation    bigint      NOT NULL,
    disabled      boolean     NOT NULL,
    created_at    timestamptz NOT NULL
);

-- id is time-ordered (the time, then randomness), so "newest first" is
-- ORDER BY id DESC and a page ends at an id.
CREATE TABLE audit_log (
    id      text COLLATE "C" PRIMARY KEY,
    at      timestamptz NOT NULL,
    actor   text COLLATE "C" NOT NULL,
    source  text        NOT NULL,
    action  text COLLATE "C" NOT NULL,
    target  text        NOT NULL,
    outcome text        NOT NULL,
    detail  text        NOT NULL
);

CREATE INDEX audit_log_actor ON audit_log (actor, id);
CREATE INDEX audit_log_action ON audit_log (action, id);
