-- numauth durable schema, version 9: a per-minute rollup of the
-- verification records of the recent past, which the console's live
-- overview reads (calls per minute by carrier, their results and p50/p99
-- latency) instead of scanning the records. The store keeps it up to date
-- in the same transaction as it writes the records and the hourly
-- rollups; Maintain deletes the minutes older than 48 hours
-- (store.MinuteRollupWindow), whatever the retention of the records, and
-- this migration rolls up the records of the last 48 hours already stored.
--
-- minute is the start of the UTC minute in unix microseconds. lat_bucket,
-- n and latency_us are verification_hourly's (0006). The live view charts
-- neither schemes nor bills, so the rollup keeps neither: a row per
-- minute, account, kind, carrier, result and latency bucket.
CREATE TABLE verification_minutely (
    minute     INTEGER NOT NULL,
    account_id TEXT    NOT NULL,
    kind       TEXT    NOT NULL,
    carrier    TEXT    NOT NULL,
    result     TEXT    NOT NULL,
    lat_bucket INTEGER NOT NULL,
    n          INTEGER NOT NULL,
    latency_us INTEGER NOT NULL,
    PRIMARY KEY (account_id, minute, kind, carrier, result, lat_bucket)
) WITHOUT ROWID;

-- Keyed by account first, as verification_hourly: a console's query (one
-- account, the last minutes) is one range of the primary key; the
-- operator's (all accounts) and the pruning use minute.
CREATE INDEX verification_minutely_minute ON verification_minutely (minute);

-- The minutes that start at or after now - 48 hours (the first whole
-- minute of the window; now is read in whole seconds): the minutes
-- Maintain keeps.
INSERT INTO verification_minutely
SELECT created_at - (((created_at % 60000000) + 60000000) % 60000000) AS minute,
    account_id, kind, carrier, result,
    CASE WHEN latency_us < 10000 THEN 0 WHEN latency_us < 25000 THEN 1 WHEN latency_us < 50000 THEN 2
        WHEN latency_us < 100000 THEN 3 WHEN latency_us < 250000 THEN 4 WHEN latency_us < 500000 THEN 5
        WHEN latency_us < 1000000 THEN 6 WHEN latency_us < 2500000 THEN 7 WHEN latency_us < 5000000 THEN 8
        WHEN latency_us < 10000000 THEN 9 ELSE 10 END AS lat_bucket,
    count(*), sum(latency_us)
FROM verifications
WHERE created_at >= ((CAST(strftime('%s', 'now') AS INTEGER) - 172800 + 59) / 60) * 60000000
GROUP BY 1, 2, 3, 4, 5, 6;
