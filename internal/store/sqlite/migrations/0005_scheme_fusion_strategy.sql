-- numauth durable schema, version 5: a scheme's fusion authentication
-- strategy (CreateSchemeConfig's FusionStrategy): "carrier" (the carrier
-- first, an SMS code as the fallback) or "sms"; '' takes the deployment's
-- --fusion-strategy for the scheme's platform. Instances of version 4 never
-- read the column, so both can share a store during a rolling upgrade.
ALTER TABLE schemes ADD COLUMN fusion_strategy TEXT NOT NULL DEFAULT '';
