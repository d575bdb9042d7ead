-- numauth durable schema, version 7: the append-only record tables,
-- verifications and sms_sends, become partitioned by month of their record
-- time (PARTITION BY RANGE), so that retention drops whole months instead
-- of deleting rows, and queries of a time range read only its months.
--
-- A primary key on a partitioned table must include the partition key, so
-- the ids' uniqueness ("recording the same id twice is ErrConflict") moves
-- to one id table per record table, written in the same statement as the
-- records: verification_ids and sms_send_ids (id, record time).
--
-- Partitions are named <table>_pYYYYMM and cover [the 1st of the month,
-- the 1st of the next) in UTC; <table>_default catches any other time. This
-- migration creates the partitions of every month that has records, and
-- copies the records; the store creates the current month's and the next
-- ones' at Open and hourly. The copy rewrites both tables once, inside the
-- migration's transaction: on a large database, plan for the time it takes.

DO $$
DECLARE
    t record;
    m timestamp;
BEGIN
    FOR t IN SELECT * FROM (VALUES ('verifications', 'created_at'), ('sms_sends', 'sent_at')) AS x (tab, col) LOOP
        EXECUTE format('ALTER TABLE %I RENAME TO %I', t.tab, t.tab || '_unpartitioned');
        EXECUTE format('CREATE TABLE %I (LIKE %I INCLUDING DEFAULTS INCLUDING CONSTRAINTS) PARTITION BY RANGE (%I)',
            t.tab, t.tab || '_unpartitioned', t.col);
        EXECUTE format('CREATE TABLE %I PARTITION OF %I DEFAULT', t.tab || '_default', t.tab);
        FOR m IN EXECUTE format('SELECT DISTINCT date_trunc(''month'', %I AT TIME ZONE ''UTC'') FROM %I',
                t.col, t.tab || '_unpartitioned') LOOP
            EXECUTE format('CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (%L) TO (%L)',
                t.tab || '_p' || to_char(m, 'YYYYMM'), t.tab,
                to_char(m, 'YYYY-MM-DD') || ' 00:00:00+00', to_char(m + interval '1 month', 'YYYY-MM-DD') || ' 00:00:00+00');
        END LOOP;
        EXECUTE format('INSERT INTO %I SELECT * FROM %I', t.tab, t.tab || '_unpartitioned');
    END LOOP;
END $$;

CREATE TABLE verification_ids (
    id         text COLLATE "C" PRIMARY KEY,
    created_at timestamptz      NOT NULL
);
CREATE INDEX verification_ids_created ON verification_ids (created_at);
INSERT INTO verification_ids SELECT id, created_at FROM verifications_unpartitioned;
DROP TABLE verifications_unpartitioned;

-- Partitioned indexes: each partition gets its own, created with it.
CREATE INDEX verifications_id ON verifications (id);
CREATE INDEX verifications_stats ON verifications (account_id, created_at) INCLUDE (kind, scheme_code, result);
CREATE INDEX verifications_created ON verifications (created_at);

CREATE TABLE sms_send_ids (
    id      text COLLATE "C" PRIMARY KEY,
    sent_at timestamptz      NOT NULL
);
CREATE INDEX sms_send_ids_sent ON sms_send_ids (sent_at);
INSERT INTO sms_send_ids SELECT id, sent_at FROM sms_sends_unpartitioned;
DROP TABLE sms_sends_unpartitioned;

CREATE INDEX sms_sends_id ON sms_sends (id);
CREATE INDEX sms_sends_phone ON sms_sends (account_id, phone_hash, sent_at);
CREATE INDEX sms_sends_account ON sms_sends (account_id, sent_at) INCLUDE (status);
CREATE INDEX sms_sends_provider ON sms_sends (provider, provider_id) WHERE provider_id <> '';
CREATE INDEX sms_sends_sent ON sms_sends (sent_at);
