-- numauth durable schema, version 9: a per-minute rollup of the
-- verification records of the recent past, which the console's live
-- overview reads (calls per minute by carrier, their results and p50/p99
-- latency) instead of scanning the records. The store keeps it up to date
-- in the same statement as it writes the records and the hourly rollups;
-- Maintain deletes the minutes older than 48 hours
-- (store.MinuteRollupWindow), whatever the retention of the records, and
-- this migration rolls up the records of the last 48 hours already stored.
--
-- minute is the start of the UTC minute. lat_bucket, n and latency_us are
-- verification_hourly's (0006). The live view charts neither schemes nor
-- bills, so the rollup keeps neither: a row per minute, account, kind,
-- carrier, result and latency bucket. It is not partitioned: it holds 48
-- hours, and Maintain deletes an hour of it at a time.
CREATE TABLE verification_minutely (
    minute     timestamptz      NOT NULL,
    account_id text COLLATE "C" NOT NULL,
    kind       text COLLATE "C" NOT NULL,
    carrier    text COLLATE "C" NOT NULL,
    result     text COLLATE "C" NOT NULL,
    lat_bucket smallint         NOT NULL,
    n          bigint           NOT NULL,
    latency_us bigint           NOT NULL,
    PRIMARY KEY (account_id, minute, kind, carrier, result, lat_bucket)
);

-- Keyed by account first, as verification_hourly: a console's query (one
-- account, the last minutes) is one range of the primary key; the
-- operator's (all accounts) and the pruning use minute.
CREATE INDEX verification_minutely_minute ON verification_minutely (minute);

-- The minutes that start at or after now - 48 hours (the first whole
-- minute of the window): the minutes Maintain keeps.
INSERT INTO verification_minutely
SELECT date_bin('1 minute', created_at, timestamptz '1970-01-01 00:00:00+00') AS minute,
    account_id, kind, carrier, result,
    CASE WHEN latency_us < 10000 THEN 0 WHEN latency_us < 25000 THEN 1 WHEN latency_us < 50000 THEN 2
        WHEN latency_us < 100000 THEN 3 WHEN latency_us < 250000 THEN 4 WHEN latency_us < 500000 THEN 5
        WHEN latency_us < 1000000 THEN 6 WHEN latency_us < 2500000 THEN 7 WHEN latency_us < 5000000 THEN 8
        WHEN latency_us < 10000000 THEN 9 ELSE 10 END AS lat_bucket,
    count(*), sum(latency_us)
FROM verifications
WHERE created_at >= date_bin('1 minute', now() - interval '48 hours' - interval '1 microsecond',
    timestamptz '1970-01-01 00:00:00+00') + interval '1 minute'
GROUP BY 1, 2, 3, 4, 5, 6;
