-- numauth durable schema, version 2: a scheme's name is unique within its
-- account. The application checked this before, but not atomically, so
-- concurrent creations could store one name several times. Before the
-- index is built, every scheme but the first of its name in its account
-- (by created_at, then code) gets its code appended: "Shop (FC1...)".
-- That is deterministic, keeps every scheme usable by its code, and the
-- new name cannot collide unless a scheme was already named so, in which
-- case the index build fails and the migration rolls back as a whole.

UPDATE schemes SET name = name || ' (' || code || ')'
WHERE EXISTS (
    SELECT 1 FROM schemes AS earlier
    WHERE earlier.account_id = schemes.account_id
      AND earlier.name = schemes.name
      AND (earlier.created_at < schemes.created_at
           OR (earlier.created_at = schemes.created_at AND earlier.code < schemes.code)));

CREATE UNIQUE INDEX schemes_account_name ON schemes (account_id, name);
