-- numauth durable schema, version 1.
-- Times are INTEGER unix microseconds (UTC); booleans are 0/1.

CREATE TABLE access_keys (
    id            TEXT    NOT NULL PRIMARY KEY,
    account_id    TEXT    NOT NULL,
    sealed_secret BLOB    NOT NULL,
    status        TEXT    NOT NULL,
    description   TEXT    NOT NULL,
    created_at    INTEGER NOT NULL
) WITHOUT ROWID;

CREATE INDEX access_keys_created ON access_keys (created_at, id);

CREATE TABLE schemes (
    code          TEXT    NOT NULL PRIMARY KEY,
    account_id    TEXT    NOT NULL,
    name          TEXT    NOT NULL,
    app_name      TEXT    NOT NULL,
    os_type       TEXT    NOT NULL,
    origin        TEXT    NOT NULL,
    url           TEXT    NOT NULL,
    pack_name     TEXT    NOT NULL,
    pack_sign     TEXT    NOT NULL,
    bundle_id     TEXT    NOT NULL,
    sms_sign_name TEXT    NOT NULL,
    ip_white_list TEXT    NOT NULL,
    email         TEXT    NOT NULL,
    created_at    INTEGER NOT NULL
) WITHOUT ROWID;

CREATE INDEX schemes_created ON schemes (created_at, code);
CREATE INDEX schemes_account ON schemes (account_id, created_at, code);

-- Verification records are append-only and the largest table: a rowid
-- table (appends go to the end of the b-tree) with a unique index on the
-- VerifyId. No foreign key to schemes: records outlive deleted schemes.
CREATE TABLE verifications (
    id           TEXT    NOT NULL UNIQUE,
    account_id   TEXT    NOT NULL,
    scheme_code  TEXT    NOT NULL,
    kind         TEXT    NOT NULL,
    carrier      TEXT    NOT NULL,
    result       TEXT    NOT NULL,
    masked_phone TEXT    NOT NULL,
    phone_hash   TEXT    NOT NULL,
    billable     INTEGER NOT NULL,
    latency_us   INTEGER NOT NULL,
    created_at   INTEGER NOT NULL
);

-- Covers DailyStats: filter and group without touching the table.
CREATE INDEX verifications_stats ON verifications (account_id, created_at, kind, scheme_code, result);

CREATE TABLE signing_keys (
    id         TEXT    NOT NULL PRIMARY KEY,
    use        TEXT    NOT NULL,
    alg        TEXT    NOT NULL,
    sealed     BLOB    NOT NULL,
    public     BLOB,
    created_at INTEGER NOT NULL,
    not_after  INTEGER -- NULL: current
) WITHOUT ROWID;

CREATE INDEX signing_keys_use ON signing_keys (use, created_at, id);
