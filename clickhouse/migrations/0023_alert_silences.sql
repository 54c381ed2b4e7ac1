-- alert_silences: silences created through the API (files may declare more). Time-boxed by
-- starts_at/ends_at; expiring one early writes a newer version with ends_at = now.
-- ReplacingMergeTree(version), read with FINAL (the table is tiny).
CREATE TABLE IF NOT EXISTS {{database}}.alert_silences
(
    id String,
    matchers Array(String),
    starts_at_ms UInt64,
    ends_at_ms UInt64,
    comment String,
    created_by String,
    created_at DateTime,
    version UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY id;
