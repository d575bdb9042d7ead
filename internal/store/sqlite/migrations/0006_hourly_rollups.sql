-- numauth durable schema, version 6: hourly rollups of the verification
-- and SMS send records, which statistics and billing read instead of
-- scanning the records. The store keeps them up to date in the same
-- transaction as it writes the records (and, for SMS, the delivery
-- receipts), and this migration rolls up the records already stored.
--
-- hour is the start of the UTC hour in unix microseconds. lat_bucket is
-- the index of the record's latency in store.LatencyBoundsUS (upper bounds,
-- exclusive: 10ms, 25ms, 50ms, 100ms, 250ms, 500ms, 1s, 2.5s, 5s, 10s; 10
-- is everything slower). n counts the records, billable the billable ones,
-- latency_us sums their latencies.
CREATE TABLE verification_hourly (
    hour        INTEGER NOT NULL,
    account_id  TEXT    NOT NULL,
    scheme_code TEXT    NOT NULL,
    kind        TEXT    NOT NULL,
    carrier     TEXT    NOT NULL,
    result      TEXT    NOT NULL,
    lat_bucket  INTEGER NOT NULL,
    n           INTEGER NOT NULL,
    billable    INTEGER NOT NULL,
    latency_us  INTEGER NOT NULL,
    PRIMARY KEY (account_id, hour, scheme_code, kind, carrier, result, lat_bucket)
) WITHOUT ROWID;

-- Keyed by account first: a console's query (one account, a time range)
-- is one range of the primary key; the operator's (all accounts) uses hour.
CREATE INDEX verification_hourly_hour ON verification_hourly (hour);

INSERT INTO verification_hourly
SELECT created_at - (((created_at % 3600000000) + 3600000000) % 3600000000) AS hour,
    account_id, scheme_code, kind, carrier, result,
    CASE WHEN latency_us < 10000 THEN 0 WHEN latency_us < 25000 THEN 1 WHEN latency_us < 50000 THEN 2
        WHEN latency_us < 100000 THEN 3 WHEN latency_us < 250000 THEN 4 WHEN latency_us < 500000 THEN 5
        WHEN latency_us < 1000000 THEN 6 WHEN latency_us < 2500000 THEN 7 WHEN latency_us < 5000000 THEN 8
        WHEN latency_us < 10000000 THEN 9 ELSE 10 END AS lat_bucket,
    count(*), sum(billable <> 0), sum(latency_us)
FROM verifications
GROUP BY 1, 2, 3, 4, 5, 6, 7;

-- SMS sends per hour of sent_at and delivery status (1 pending, 2 failed,
-- 3 delivered); a receipt moves its record from status 1 to 2 or 3.
CREATE TABLE sms_hourly (
    hour        INTEGER NOT NULL,
    account_id  TEXT    NOT NULL,
    scheme_name TEXT    NOT NULL,
    provider    TEXT    NOT NULL,
    status      INTEGER NOT NULL,
    n           INTEGER NOT NULL,
    billable    INTEGER NOT NULL,
    PRIMARY KEY (account_id, hour, scheme_name, provider, status)
) WITHOUT ROWID;

CREATE INDEX sms_hourly_hour ON sms_hourly (hour);

INSERT INTO sms_hourly
SELECT sent_at - (((sent_at % 3600000000) + 3600000000) % 3600000000) AS hour,
    account_id, scheme_name, provider, status, count(*), sum(billable <> 0)
FROM sms_sends
GROUP BY 1, 2, 3, 4, 5;
