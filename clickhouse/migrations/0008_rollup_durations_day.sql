-- rollup_durations_day: the day tier's duration distribution summed over statuses.
--
-- Why: a year's duration series (p50/p95/p99 per day) merged every day-tier TDigest state
-- of the year, one per day × status × run_date: ~3,650 states, ~1 M centroids at 500k
-- runs/day. Merging them was most of the year's overview (57 ms of ClickHouse time for the
-- duration series, 13 ms for the counts of the same rows). Summed over statuses, a day
-- holds one state per run_date (two, with reruns the next day): ~730 for the year, 34 ms.
-- The API reads it for duration series without a status filter whose step is whole days
-- (api/queries/timeseries-rollup-source.ts); with a status filter the day tier answers.
--
-- Same keys and rules as the other tiers: one row per run_date × day bucket × dimension ×
-- value, a generation per recompute, every (run_date, bucket) rewritten whole (zero rows
-- for vanished keys come from the day tier's zero rows), partitioned and retained like the
-- day tier. It is maintained with the day tier, from the day tier, in the same recompute
-- (ingest/rollup/recompute.ts), so it can never disagree with it.
-- Cost: ~1/5 of the day tier's rows (no status). A maintainer of an older version running
-- while this applies leaves the days it recomputes stale here: stop the sinks' maintainers
-- (RUNLENS_ROLLUP_MAINTAIN=0) while migrating, or `runlens rebuild` those days afterwards.
CREATE TABLE IF NOT EXISTS {{database}}.rollup_durations_day
(
    run_date Date,
    bucket DateTime,
    dimension String,
    value String,
    generation UInt64,
    duration_count UInt64,
    duration_digest AggregateFunction(quantilesTDigest(0.5, 0.95, 0.99), Float64)
)
ENGINE = ReplacingMergeTree(generation)
PARTITION BY (toYYYYMM(run_date), toYYYYMM(bucket))
ORDER BY (dimension, value, bucket, run_date)
SETTINGS index_granularity = 256;

-- Backfilled from the day tier as it is now, every row with one generation: the highest of
-- the day tier (readers take the newest generation per (run_date, bucket), so all keys of
-- one must share it; the maintainer's next recompute of a day uses a newer one).
INSERT INTO {{database}}.rollup_durations_day
    (run_date, bucket, dimension, value, generation, duration_count, duration_digest)
SELECT day_run_date, day_bucket, dimension, value,
    (SELECT max(generation) FROM {{database}}.rollup_runs_day), sum(day_count), quantilesTDigestMergeState(0.5, 0.95, 0.99)(day_digest)
FROM
(
    SELECT run_date AS day_run_date, bucket AS day_bucket, dimension, value, duration_count AS day_count, duration_digest AS day_digest
    FROM {{database}}.rollup_runs_day FINAL
)
GROUP BY day_run_date, day_bucket, dimension, value;
