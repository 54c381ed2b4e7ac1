-- alert_events: every state change of an alert instance, plus one row per repeated
-- notification, written by the elected evaluator (as the ingest user).
--
-- It is both the history (GET /api/v1/alerts/history) and the durable state: the newest
-- row per (rule, fingerprint) is the instance's current state, so a newly elected leader
-- loads it before its first evaluation and neither re-sends nor forgets a notification.
-- A row with a dedup_key and channels is also the notification's outbox entry: a new
-- leader re-queues those without a final row in alert_deliveries.
--
-- fingerprint '' is the rule itself: its `error` state (query failed or timed out).
-- `version` = at_ms * 1000 + a per-writer sequence, so two rows of one millisecond order.
-- ORDER BY (rule, fingerprint, version): the "latest per instance" read is a key-order scan.
-- MergeTree, not Replacing: a transition is a fact, never replaced. Retention by month.
CREATE TABLE IF NOT EXISTS {{database}}.alert_events
(
    at DateTime,
    at_ms UInt64,
    version UInt64,
    rule String,
    fingerprint String,
    labels Nested(key String, value String),
    -- 'transition' or 'repeat' (a firing alert notified again after repeatInterval).
    kind String,
    from_state String,
    to_state String,
    value Nullable(Float64),
    severity String,
    annotations Nested(key String, value String),
    active_since_ms UInt64,
    firing_since_ms UInt64,
    last_notified_ms UInt64,
    error String,
    silenced UInt8,
    dedup_key String,
    channels Array(String),
    writer String
)
ENGINE = MergeTree()
PARTITION BY toYYYYMM(at)
ORDER BY (rule, fingerprint, version);
