-- alert_rules: rules created through the API (admin role). Rule files live in the rules
-- folder; these live here so every API instance, and whichever one leads, sees the same set.
-- ReplacingMergeTree(version): the newest version of a name wins; a delete is a row with
-- deleted = 1. Read with FINAL (the table is tiny).
CREATE TABLE IF NOT EXISTS {{database}}.alert_rules
(
    name String,
    rule_json String,
    updated_at DateTime,
    updated_by String,
    deleted UInt8,
    version UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY name;
