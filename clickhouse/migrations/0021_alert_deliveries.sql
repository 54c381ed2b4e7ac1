-- alert_deliveries: one row per delivery attempt of a notification to a channel.
-- status: 'delivered' and 'gave_up' are final; 'retrying' means another attempt follows.
-- A notification (dedup_key, channel) without a final row is re-queued by a new leader.
-- ORDER BY (dedup_key, channel, attempt): the outbox check looks notifications up by key.
CREATE TABLE IF NOT EXISTS {{database}}.alert_deliveries
(
    at DateTime,
    at_ms UInt64,
    dedup_key String,
    channel String,
    channel_type String,
    rule String,
    fingerprint String,
    kind String,
    attempt UInt32,
    status String,
    http_status UInt16,
    error String,
    duration_ms UInt32,
    writer String
)
ENGINE = MergeTree()
PARTITION BY toYYYYMM(at)
ORDER BY (dedup_key, channel, attempt);
