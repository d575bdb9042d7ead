-- numauth durable schema, version 8: the console's users and the admin
-- API's audit log.

-- password_hash is a PHC string ($argon2id$…); generation grows with every
-- change to the user and ends the sessions opened before it.
CREATE TABLE console_users (
    name          TEXT    NOT NULL PRIMARY KEY,
    role          TEXT    NOT NULL CHECK (role IN ('admin', 'viewer')),
    password_hash TEXT    NOT NULL,
    generation    INTEGER NOT NULL,
    disabled      INTEGER NOT NULL,
    created_at    INTEGER NOT NULL
) WITHOUT ROWID;

-- id is time-ordered (the time, then randomness), so "newest first" is
-- ORDER BY id DESC and a page ends at an id.
CREATE TABLE audit_log (
    id      TEXT    NOT NULL PRIMARY KEY,
    at      INTEGER NOT NULL,
    actor   TEXT    NOT NULL,
    source  TEXT    NOT NULL,
    action  TEXT    NOT NULL,
    target  TEXT    NOT NULL,
    outcome TEXT    NOT NULL,
    detail  TEXT    NOT NULL
) WITHOUT ROWID;

CREATE INDEX audit_log_actor ON audit_log (actor, id);
CREATE INDEX audit_log_action ON audit_log (action, id);
