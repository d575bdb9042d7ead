-- numauth durable schema, version 1. Identifiers use the "C" collation so
-- that ORDER BY ... id is byte order on every server, as in SQLite.

CREATE TABLE access_keys (
    id            text COLLATE "C" PRIMARY KEY,
    account_id    text COLLATE "C" NOT NULL,
    sealed_secret bytea            NOT NULL,
    status        text             NOT NULL,
    description   text             NOT NULL,
    created_at    timestamptz      NOT NULL
);

CREATE INDEX access_keys_created ON access_keys (created_at, id);

CREATE TABLE schemes (
    code          text COLLATE "C" PRIMARY KEY,
    account_id    text COLLATE "C" NOT NULL,
    name          text             NOT NULL,
    app_name      text             NOT NULL,
    os_type       text             NOT NULL,
    origin        text             NOT NULL,
    url           text             NOT NULL,
    pack_name     text             NOT NULL,
    pack_sign     text             NOT NULL,
    bundle_id     text             NOT NULL,
    sms_sign_name text             NOT NULL,
    ip_white_list text             NOT NULL,
    email         text             NOT NULL,
    created_at    timestamptz      NOT NULL
);

CREATE INDEX schemes_created ON schemes (created_at, code);
CREATE INDEX schemes_account ON schemes (account_id, created_at, code);

-- Append-only; no foreign key to schemes: records outlive deleted schemes.
CREATE TABLE verifications (
    id           text COLLATE "C" PRIMARY KEY,
    account_id   text COLLATE "C" NOT NULL,
    scheme_code  text COLLATE "C" NOT NULL,
    kind         text             NOT NULL,
    carrier      text             NOT NULL,
    result       text             NOT NULL,
    masked_phone text             NOT NULL,
    phone_hash   text             NOT NULL,
    billable     boolean          NOT NULL,
    latency_us   bigint           NOT NULL,
    created_at   timestamptz      NOT NULL
);

-- Covers DailyStats (index-only scans once the visibility map is set).
CREATE INDEX verifications_stats ON verifications (account_id, created_at) INCLUDE (kind, scheme_code, result);

CREATE TABLE signing_keys (
    id         text COLLATE "C" PRIMARY KEY,
    use        text             NOT NULL,
    alg        text             NOT NULL,
    sealed     bytea            NOT NULL,
    public     bytea,
    created_at timestamptz      NOT NULL,
    not_after  timestamptz      -- NULL: current
);

CREATE INDEX signing_keys_use ON signing_keys (use, created_at, id);
