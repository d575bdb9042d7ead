-- numauth durable schema, version 3: SMS send records and the sandbox
-- SMS provider's outbox.

-- One row per SendSmsVerifyCode that reached a provider. Append-mostly
-- (a delivery receipt updates status once): a rowid table with a unique
-- index on the BizId. Neither the code nor the number is stored.
CREATE TABLE sms_sends (
    id           TEXT    NOT NULL UNIQUE,
    account_id   TEXT    NOT NULL,
    scheme_name  TEXT    NOT NULL,
    phone_hash   TEXT    NOT NULL,
    masked_phone TEXT    NOT NULL,
    country_code TEXT    NOT NULL,
    sign_name    TEXT    NOT NULL,
    template     TEXT    NOT NULL,
    content      TEXT    NOT NULL,
    out_id       TEXT    NOT NULL,
    provider     TEXT    NOT NULL,
    provider_id  TEXT    NOT NULL,
    status       INTEGER NOT NULL,
    err_code     TEXT    NOT NULL,
    billable     INTEGER NOT NULL,
    sent_at      INTEGER NOT NULL,
    received_at  INTEGER
);

-- QuerySendDetails: one account's sends to one number on one day.
CREATE INDEX sms_sends_phone ON sms_sends (account_id, phone_hash, sent_at);
-- Statistics per account and day.
CREATE INDEX sms_sends_account ON sms_sends (account_id, sent_at);
-- Delivery receipts name the provider's message id.
CREATE INDEX sms_sends_provider ON sms_sends (provider, provider_id) WHERE provider_id <> '';

-- The sandbox provider's outbox: the operator's own test data, with the
-- full text.
CREATE TABLE sms_outbox (
    id            TEXT    NOT NULL PRIMARY KEY,
    provider_id   TEXT    NOT NULL,
    recipient     TEXT    NOT NULL,
    sign_name     TEXT    NOT NULL,
    template_code TEXT    NOT NULL,
    text          TEXT    NOT NULL,
    created_at    INTEGER NOT NULL
) WITHOUT ROWID;

CREATE INDEX sms_outbox_created ON sms_outbox (created_at, id);
CREATE INDEX sms_outbox_recipient ON sms_outbox (recipient, created_at, id);
