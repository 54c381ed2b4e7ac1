-- ingest_errors: what could not be ingested, where it came from, why.
-- Sources: the watcher (half-written or invalid run files), publish, and the sink
-- (foreign or corrupt messages on the topic, with their topic/partition/offset).
-- Kafka delivers at least once, so a redelivered error row carries the same sorting key
-- and ReplacingMergeTree folds it away; distinct problems stay distinct rows.
CREATE TABLE IF NOT EXISTS {{database}}.ingest_errors
(
    occurred_at DateTime,
    occurred_at_ms UInt64,
    source String,
    origin String,
    run_date String,
    key String,
    file String,
    kind String,
    reason String,
    ingested_at DateTime,
    kafka_topic String,
    kafka_partition Int32,
    kafka_offset Int64
)
ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(occurred_at)
ORDER BY (occurred_at, source, origin, occurred_at_ms, kind, reason);
