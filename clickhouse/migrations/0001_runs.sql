-- runs: one row per version of a run; the newest version of each (run_date, key) wins.
--
-- ReplacingMergeTree(version) keeps, per sorting key, the row with the highest `version`
-- (= attempt * 10^13 + written_at_ms, computed by the sink): the newest attempt first,
-- then the latest write, whatever order the versions arrived in. Until parts merge, older
-- versions are still visible: read with FINAL (cheap with a run_date filter) or argMax,
-- or use the views built on top of this table.
--
-- ORDER BY (run_date, key): a run's identity is exactly the sorting key, so replacement
-- is per run; day-range and key-prefix searches read only their granules.
-- PARTITION BY month: retention drops whole months; FINAL never crosses partitions,
-- which is correct because run_date is part of the identity.
-- 18.16 has no DateTime64: timestamps are DateTime plus the exact epoch milliseconds.
CREATE TABLE IF NOT EXISTS {{database}}.runs
(
    run_date Date,
    key String,
    job String,
    host String,
    attempt UInt32,
    status String,
    started_at DateTime,
    started_at_ms UInt64,
    finished_at Nullable(DateTime),
    finished_at_ms Nullable(UInt64),
    duration_ms Nullable(Float64),
    exit_code Nullable(Int32),
    labels Nested(key String, value String),
    -- Numeric leaves of the result files, e.g. file 'result.json', path 'timings_ms.fetch'.
    metrics Nested(file String, path String, value Float64),
    metrics_truncated UInt8,
    error_type String,
    error_message String,
    -- File contents as written (capped; truncated = 1 marks a cut file, size is the original).
    files Nested(name String, content String, size UInt64, truncated UInt8),
    source String,
    origin String,
    written_at_ms UInt64,
    published_at_ms UInt64,
    ingested_at DateTime,
    kafka_topic String,
    kafka_partition Int32,
    kafka_offset Int64,
    version UInt64
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(run_date)
ORDER BY (run_date, key);
