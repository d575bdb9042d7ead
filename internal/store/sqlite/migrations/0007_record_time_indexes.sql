-- numauth durable schema, version 7: indexes on the record time of the
-- verification and SMS send records, for retention (--retention), which
-- deletes the oldest records in small batches. (PostgreSQL's version 7
-- partitions these tables by month instead; SQLite has no partitions.)
CREATE INDEX verifications_created ON verifications (created_at);
CREATE INDEX sms_sends_sent ON sms_sends (sent_at);
