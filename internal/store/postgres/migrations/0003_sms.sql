-- numauth durable schema, version 3: SMS send records and the sandbox
-- SMS provider's outbox.

-- One row per SendSmsVerifyCode that reached a provider; a delivery
-- receipt updates its status once. Neither the code nor the number is
-- stored.
CREATE TABLE sms_sends (
    id           text COLLATE "C" PRIMARY KEY,
    account_id   text COLLATE "C" NOT NULL,
    scheme_name  text             NOT NULL,
    phone_hash   text COLLATE "C" NOT NULL,
    masked_phone text             NOT NULL,
    country_code text             NOT NULL,
    sign_name    text             NOT NULL,
    template     text             NOT NULL,
    content      text             NOT NULL,
    out_id       text             NOT NULL,
    provider     text COLLATE "C" NOT NULL,
    provider_id  text COLLATE "C" NOT NULL,
    status       smallint         NOT NULL,
    err_code     text             NOT NULL,
    billable     boolean          NOT NULL,
    sent_at      timestamptz      NOT NULL,
    received_at  timestamptz
);

-- QuerySendDetails: one account's sends to one number on one day.
CREATE INDEX sms_sends_phone ON sms_sends (account_id, phone_hash, sent_at);
-- Statistics per account and day.
CREATE INDEX sms_sends_account ON sms_sends (account_id, sent_at) INCLUDE (status);
-- Delivery receipts name the provider's message id.
CREATE INDEX sms_sends_provider ON sms_sends (provider, provider_id) WHERE provider_id <> '';

-- The sandbox provider's outbox: the operator's own test data, with the
-- full text.
CREATE TABLE sms_outbox (
    id            text COLLATE "C" PRIMARY KEY,
    provider_id   text             NOT NULL,
    recipient     text COLLATE "C" NOT NULL,
    sign_name     text             NOT NULL,
    template_code text             NOT NULL,
    text          text             NOT NULL,
    created_at    timestamptz      NOT NULL
);

CREATE INDEX sms_outbox_created ON sms_outbox (created_at, id);
CREATE INDEX sms_outbox_recipient ON sms_outbox (recipient, created_at, id);
