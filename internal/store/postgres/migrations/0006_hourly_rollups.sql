-- numauth durable schema, version 6: hourly rollups of the verification
-- and SMS send records, which statistics and billing read instead of
-- scanning the records. The store keeps them up to date in the same
-- statement as it writes the records (and, for SMS, the delivery
-- receipts), and this migration rolls up the records already stored.
--
-- hour is the start of the UTC hour. lat_bucket is the index of the
-- record's latency in store.LatencyBoundsUS (upper bounds, exclusive: 10ms,
-- 25ms, 50ms, 100ms, 250ms, 500ms, 1s, 2.5s, 5s, 10s; 10 is everything
-- slower). n counts the records, billable the billable ones, latency_us
-- sums their latencies.
CREATE TABLE verification_hourly (
    hour        timestamptz      NOT NULL,
    account_id  text COLLATE "C" NOT NULL,
    scheme_code text COLLATE "C" NOT NULL,
    kind        text COLLATE "C" NOT NULL,
    carrier     text COLLATE "C" NOT NULL,
    result      text COLLATE "C" NOT NULL,
    lat_bucket  smallint         NOT NULL,
    n           bigint           NOT NULL,
    billable    bigint           NOT NULL,
    latency_us  bigint           NOT NULL,
    PRIMARY KEY (account_id, hour, scheme_code, kind, carrier, result, lat_bucket)
);

-- Keyed by account first: a console's query (one account, a time range)
-- is one range of the primary key; the operator's (all accounts) uses hour.
CREATE INDEX verification_hourly_hour ON verification_hourly (hour);

INSERT INTO verification_hourly
SELECT date_bin('1 hour', created_at, timestamptz '1970-01-01 00:00:00+00') AS hour,
    account_id, scheme_code, kind, carrier, result,
    CASE WHEN latency_us < 10000 THEN 0 WHEN latency_us < 25000 THEN 1 WHEN latency_us < 50000 THEN 2
        WHEN latency_us < 100000 THEN 3 WHEN latency_us < 250000 THEN 4 WHEN latency_us < 500000 THEN 5
        WHEN latency_us < 1000000 THEN 6 WHEN latency_us < 2500000 THEN 7 WHEN latency_us < 5000000 THEN 8
        WHEN latency_us < 10000000 THEN 9 ELSE 10 END AS lat_bucket,
    count(*), count(*) FILTER (WHERE billable), sum(latency_us)
FROM verifications
GROUP BY 1, 2, 3, 4, 5, 6, 7;

-- SMS sends per hour of sent_at and delivery status (1 pending, 2 failed,
-- 3 delivered); a receipt moves its record from status 1 to 2 or 3.
CREATE TABLE sms_hourly (
    hour        timestamptz      NOT NULL,
    account_id  text COLLATE "C" NOT NULL,
    scheme_name text COLLATE "C" NOT NULL,
    provider    text COLLATE "C" NOT NULL,
    status      smallint         NOT NULL,
    n           bigint           NOT NULL,
    billable    bigint           NOT NULL,
    PRIMARY KEY (account_id, hour, scheme_name, provider, status)
);

CREATE INDEX sms_hourly_hour ON sms_hourly (hour);

INSERT INTO sms_hourly
SELECT date_bin('1 hour', sent_at, timestamptz '1970-01-01 00:00:00+00') AS hour,
    account_id, scheme_name, provider, status, count(*), count(*) FILTER (WHERE billable)
FROM sms_sends
GROUP BY 1, 2, 3, 4, 5;
