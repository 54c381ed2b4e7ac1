-- Partitions every rollup table by (month of run_date, month of bucket) instead of the
-- month of run_date alone, and adds a month tier of the runs rollup (rollup_runs_month).
--
-- Why the partitioning: ClickHouse skips a part by the min/max of the partition key's
-- columns, and reads the others through the primary index. Sorted by (dimension, value,
-- bucket, …), a read of every job's rows for one day still costs a granule or two per job
-- in every part of every month, since the index cannot narrow `bucket` across a change of
-- `value`. With `bucket` in the partition key a part knows its bucket range, and a day's
-- read touches only that month's parts. Measured on 365 d × 500k runs/day (top 10 jobs of
-- the last 24 h from the hour tier, medians of 5): 310 -> 35 ms; rows read 1.5 M -> ~80 k.
-- Most runs' run_date and start share a month, so the tables get few extra partitions
-- (one small partition per month for the runs that started in the next month).
-- Retention still drops by run_date month: it drops every partition whose first element is
-- an old month, by partition ID (ingest/rollup/retention.ts).
--
-- Why the month tier: a year's breakdown read ~570 k day-tier keys (200 jobs × 365 days ×
-- status × run_date), and deduplicating them (argMax … GROUP BY key) costs ~0.5 s on 18.16
-- whatever the partitioning. The month tier holds one row per month × dimension × value ×
-- status × month of run_date (run_date is the first day of its month here), summed from
-- the day tier; a year is then 11 months plus the days and hours at its edges:
-- 470 -> ~85 ms for the year's top jobs. It is maintained like the day tier (recomputed
-- from the tier below it with each unit: ingest/rollup/recompute.ts) and retained like it.
--
-- Same procedure, re-run and crash windows as 0005 and 0006 (read 0005's header): per
-- table, copy into <t>_repartitioned, swap the names, drop the old copy. Stop the sinks'
-- maintainers while migrating (RUNLENS_ROLLUP_MAINTAIN=0), or rebuild the migration's
-- days afterwards with `runlens rebuild`. A copy's ZooKeeper path on a cluster keeps the
-- `_repartitioned` suffix; no later migration may reuse it.
-- Cost: one full copy of each rollup table (disk: twice the largest table while it runs).
-- rollup_runs_minute
DROP TABLE IF EXISTS {{database}}.rollup_runs_minute_prepartition;

CREATE TABLE IF NOT EXISTS {{database}}.rollup_runs_minute_repartitioned
(
    run_date Date,
    bucket DateTime,
    dimension String,
    value String,
    status String,
    generation UInt64,
    runs UInt64,
    duration_count UInt64,
    duration_sum Float64,
    duration_min Float64,
    duration_max Float64,
    duration_digest AggregateFunction(quantilesTDigest(0.5, 0.95, 0.99), Float64)
)
ENGINE = ReplacingMergeTree(generation)
PARTITION BY (toYYYYMM(run_date), toYYYYMM(bucket))
ORDER BY (dimension, value, bucket, status, run_date)
SETTINGS index_granularity = 256;

INSERT INTO {{database}}.rollup_runs_minute_repartitioned SELECT * FROM {{database}}.rollup_runs_minute;

RENAME TABLE {{database}}.rollup_runs_minute TO {{database}}.rollup_runs_minute_prepartition, {{database}}.rollup_runs_minute_repartitioned TO {{database}}.rollup_runs_minute;

DROP TABLE IF EXISTS {{database}}.rollup_runs_minute_prepartition;

DROP TABLE IF EXISTS {{database}}.rollup_runs_minute_repartitioned;

-- rollup_runs_hour
DROP TABLE IF EXISTS {{database}}.rollup_runs_hour_prepartition;

CREATE TABLE IF NOT EXISTS {{database}}.rollup_runs_hour_repartitioned
(
    run_date Date,
    bucket DateTime,
    dimension String,
    value String,
    status String,
    generation UInt64,
    runs UInt64,
    duration_count UInt64,
    duration_sum Float64,
    duration_min Float64,
    duration_max Float64,
    duration_digest AggregateFunction(quantilesTDigest(0.5, 0.95, 0.99), Float64)
)
ENGINE = ReplacingMergeTree(generation)
PARTITION BY (toYYYYMM(run_date), toYYYYMM(bucket))
ORDER BY (dimension, value, bucket, status, run_date)
SETTINGS index_granularity = 256;

INSERT INTO {{database}}.rollup_runs_hour_repartitioned SELECT * FROM {{database}}.rollup_runs_hour;

RENAME TABLE {{database}}.rollup_runs_hour TO {{database}}.rollup_runs_hour_prepartition, {{database}}.rollup_runs_hour_repartitioned TO {{database}}.rollup_runs_hour;

DROP TABLE IF EXISTS {{database}}.rollup_runs_hour_prepartition;

DROP TABLE IF EXISTS {{database}}.rollup_runs_hour_repartitioned;

-- rollup_runs_day
DROP TABLE IF EXISTS {{database}}.rollup_runs_day_prepartition;

CREATE TABLE IF NOT EXISTS {{database}}.rollup_runs_day_repartitioned
(
    run_date Date,
    bucket DateTime,
    dimension String,
    value String,
    status String,
    generation UInt64,
    runs UInt64,
    duration_count UInt64,
    duration_sum Float64,
    duration_min Float64,
    duration_max Float64,
    duration_digest AggregateFunction(quantilesTDigest(0.5, 0.95, 0.99), Float64)
)
ENGINE = ReplacingMergeTree(generation)
PARTITION BY (toYYYYMM(run_date), toYYYYMM(bucket))
ORDER BY (dimension, value, bucket, status, run_date)
SETTINGS index_granularity = 256;

INSERT INTO {{database}}.rollup_runs_day_repartitioned SELECT * FROM {{database}}.rollup_runs_day;

RENAME TABLE {{database}}.rollup_runs_day TO {{database}}.rollup_runs_day_prepartition, {{database}}.rollup_runs_day_repartitioned TO {{database}}.rollup_runs_day;

DROP TABLE IF EXISTS {{database}}.rollup_runs_day_prepartition;

DROP TABLE IF EXISTS {{database}}.rollup_runs_day_repartitioned;

-- rollup_metrics_minute
DROP TABLE IF EXISTS {{database}}.rollup_metrics_minute_prepartition;

CREATE TABLE IF NOT EXISTS {{database}}.rollup_metrics_minute_repartitioned
(
    run_date Date,
    bucket DateTime,
    job String,
    file String,
    path String,
    generation UInt64,
    samples UInt64,
    value_sum Float64,
    value_min Float64,
    value_max Float64
)
ENGINE = ReplacingMergeTree(generation)
PARTITION BY (toYYYYMM(run_date), toYYYYMM(bucket))
ORDER BY (file, path, job, bucket, run_date)
SETTINGS index_granularity = 256;

INSERT INTO {{database}}.rollup_metrics_minute_repartitioned SELECT * FROM {{database}}.rollup_metrics_minute;

RENAME TABLE {{database}}.rollup_metrics_minute TO {{database}}.rollup_metrics_minute_prepartition, {{database}}.rollup_metrics_minute_repartitioned TO {{database}}.rollup_metrics_minute;

DROP TABLE IF EXISTS {{database}}.rollup_metrics_minute_prepartition;

DROP TABLE IF EXISTS {{database}}.rollup_metrics_minute_repartitioned;

-- rollup_metrics_hour
DROP TABLE IF EXISTS {{database}}.rollup_metrics_hour_prepartition;

CREATE TABLE IF NOT EXISTS {{database}}.rollup_metrics_hour_repartitioned
(
    run_date Date,
    bucket DateTime,
    job String,
    file String,
    path String,
    generation UInt64,
    samples UInt64,
    value_sum Float64,
    value_min Float64,
    value_max Float64
)
ENGINE = ReplacingMergeTree(generation)
PARTITION BY (toYYYYMM(run_date), toYYYYMM(bucket))
ORDER BY (file, path, job, bucket, run_date)
SETTINGS index_granularity = 256;

INSERT INTO {{database}}.rollup_metrics_hour_repartitioned SELECT * FROM {{database}}.rollup_metrics_hour;

RENAME TABLE {{database}}.rollup_metrics_hour TO {{database}}.rollup_metrics_hour_prepartition, {{database}}.rollup_metrics_hour_repartitioned TO {{database}}.rollup_metrics_hour;

DROP TABLE IF EXISTS {{database}}.rollup_metrics_hour_prepartition;

DROP TABLE IF EXISTS {{database}}.rollup_metrics_hour_repartitioned;

-- rollup_metrics_day
DROP TABLE IF EXISTS {{database}}.rollup_metrics_day_prepartition;

CREATE TABLE IF NOT EXISTS {{database}}.rollup_metrics_day_repartitioned
(
    run_date Date,
    bucket DateTime,
    job String,
    file String,
    path String,
    generation UInt64,
    samples UInt64,
    value_sum Float64,
    value_min Float64,
    value_max Float64
)
ENGINE = ReplacingMergeTree(generation)
PARTITION BY (toYYYYMM(run_date), toYYYYMM(bucket))
ORDER BY (file, path, job, bucket, run_date)
SETTINGS index_granularity = 256;

INSERT INTO {{database}}.rollup_metrics_day_repartitioned SELECT * FROM {{database}}.rollup_metrics_day;

RENAME TABLE {{database}}.rollup_metrics_day TO {{database}}.rollup_metrics_day_prepartition, {{database}}.rollup_metrics_day_repartitioned TO {{database}}.rollup_metrics_day;

DROP TABLE IF EXISTS {{database}}.rollup_metrics_day_prepartition;

DROP TABLE IF EXISTS {{database}}.rollup_metrics_day_repartitioned;

-- rollup_runs_month: the day tier summed per month of bucket and month of run_date.
CREATE TABLE IF NOT EXISTS {{database}}.rollup_runs_month
(
    run_date Date,
    bucket DateTime,
    dimension String,
    value String,
    status String,
    generation UInt64,
    runs UInt64,
    duration_count UInt64,
    duration_sum Float64,
    duration_min Float64,
    duration_max Float64,
    duration_digest AggregateFunction(quantilesTDigest(0.5, 0.95, 0.99), Float64)
)
ENGINE = ReplacingMergeTree(generation)
PARTITION BY (toYYYYMM(run_date), toYYYYMM(bucket))
ORDER BY (dimension, value, bucket, status, run_date)
SETTINGS index_granularity = 256;

-- Backfilled from the day tier as it is now, every row with one generation: the highest
-- of the day tier. Readers take, per (run_date, bucket), the rows of its newest generation
-- (api/queries/rollup-plan.ts), so all keys of one must share it; the maintainer's next
-- recompute of a month uses a newer generation and rewrites that month whole.
INSERT INTO {{database}}.rollup_runs_month
    (run_date, bucket, dimension, value, status, generation, runs, duration_count, duration_sum, duration_min, duration_max, duration_digest)
SELECT toStartOfMonth(day_run_date) AS month_run_date, toDateTime(toStartOfMonth(day_bucket)) AS month_bucket, dimension, value, status,
    (SELECT max(generation) FROM {{database}}.rollup_runs_day), sum(day_runs), sum(day_count), sum(day_sum), minIf(day_min, day_count > 0), maxIf(day_max, day_count > 0),
    quantilesTDigestMergeState(0.5, 0.95, 0.99)(day_digest)
FROM
(
    SELECT run_date AS day_run_date, bucket AS day_bucket, dimension, value, status, runs AS day_runs,
        duration_count AS day_count, duration_sum AS day_sum, duration_min AS day_min, duration_max AS day_max, duration_digest AS day_digest
    FROM {{database}}.rollup_runs_day FINAL
)
GROUP BY month_run_date, month_bucket, dimension, value, status;

-- runs_by_month: as runs_by_day (0004), one row per calendar month.
CREATE VIEW IF NOT EXISTS {{database}}.runs_by_month AS
SELECT
    bucket,
    dimension,
    value,
    status,
    sum(runs) AS runs,
    sum(duration_count) AS finished,
    sum(duration_sum) / sum(duration_count) AS duration_avg_ms,
    minIf(duration_min, duration_count > 0) AS duration_min_ms,
    maxIf(duration_max, duration_count > 0) AS duration_max_ms,
    quantilesTDigestMerge(0.5, 0.95, 0.99)(duration_digest) AS duration_quantiles_ms,
    duration_quantiles_ms[1] AS duration_p50_ms,
    duration_quantiles_ms[2] AS duration_p95_ms,
    duration_quantiles_ms[3] AS duration_p99_ms
FROM {{database}}.rollup_runs_month FINAL
GROUP BY bucket, dimension, value, status
HAVING runs > 0;
