-- Gives every rollup table an index granule of 256 rows instead of 8192 (same columns,
-- engine, partitioning and sorting key as 0005).
-- Why: a reader asks for one (dimension, value) over a time range. In the day tier a
-- month holds ~150 rows of `dimension = 'all'` among tens of thousands of other
-- dimensions' rows, but ClickHouse reads whole granules: with 8192-row granules the
-- 365-day overview read (and FINAL-merged, and deserialized the TDigest states of) about
-- the whole table, so it cost 5-10x the 1-day overview. 256-row granules read what is
-- asked. Measured on 365 d of history (clickhouse/README.md, Granules): duration series
-- over the day tier 152 -> 16 ms, runs series 70 -> 10 ms (medians of 11).
-- The cost: a primary index 32x larger; the largest tier (minute, ~60 M rows for 35 days
-- at 500k runs/day) keeps ~240k index entries in memory, a few tens of MB.
--
-- Same procedure and the same re-run and crash windows as 0005 (read its header): per
-- table, copy into <t>_regrained, swap the names, drop the old copy. Stop the sinks'
-- maintainers while migrating (RUNLENS_ROLLUP_MAINTAIN=0), or rebuild the migration's days
-- afterwards with `runlens rebuild`.
-- Cost: one full copy of each rollup table (disk: twice the largest table while it runs).
-- rollup_runs_minute
DROP TABLE IF EXISTS {{database}}.rollup_runs_minute_pregrain;

CREATE TABLE IF NOT EXISTS {{database}}.rollup_runs_minute_regrained
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
PARTITION BY toYYYYMM(run_date)
ORDER BY (dimension, value, bucket, status, run_date)
SETTINGS index_granularity = 256;

INSERT INTO {{database}}.rollup_runs_minute_regrained SELECT * FROM {{database}}.rollup_runs_minute;

RENAME TABLE {{database}}.rollup_runs_minute TO {{database}}.rollup_runs_minute_pregrain, {{database}}.rollup_runs_minute_regrained TO {{database}}.rollup_runs_minute;

DROP TABLE IF EXISTS {{database}}.rollup_runs_minute_pregrain;

DROP TABLE IF EXISTS {{database}}.rollup_runs_minute_regrained;

-- rollup_runs_hour
DROP TABLE IF EXISTS {{database}}.rollup_runs_hour_pregrain;

CREATE TABLE IF NOT EXISTS {{database}}.rollup_runs_hour_regrained
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
PARTITION BY toYYYYMM(run_date)
ORDER BY (dimension, value, bucket, status, run_date)
SETTINGS index_granularity = 256;

INSERT INTO {{database}}.rollup_runs_hour_regrained SELECT * FROM {{database}}.rollup_runs_hour;

RENAME TABLE {{database}}.rollup_runs_hour TO {{database}}.rollup_runs_hour_pregrain, {{database}}.rollup_runs_hour_regrained TO {{database}}.rollup_runs_hour;

DROP TABLE IF EXISTS {{database}}.rollup_runs_hour_pregrain;

DROP TABLE IF EXISTS {{database}}.rollup_runs_hour_regrained;

-- rollup_runs_day
DROP TABLE IF EXISTS {{database}}.rollup_runs_day_pregrain;

CREATE TABLE IF NOT EXISTS {{database}}.rollup_runs_day_regrained
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
PARTITION BY toYYYYMM(run_date)
ORDER BY (dimension, value, bucket, status, run_date)
SETTINGS index_granularity = 256;

INSERT INTO {{database}}.rollup_runs_day_regrained SELECT * FROM {{database}}.rollup_runs_day;

RENAME TABLE {{database}}.rollup_runs_day TO {{database}}.rollup_runs_day_pregrain, {{database}}.rollup_runs_day_regrained TO {{database}}.rollup_runs_day;

DROP TABLE IF EXISTS {{database}}.rollup_runs_day_pregrain;

DROP TABLE IF EXISTS {{database}}.rollup_runs_day_regrained;

-- rollup_metrics_minute
DROP TABLE IF EXISTS {{database}}.rollup_metrics_minute_pregrain;

CREATE TABLE IF NOT EXISTS {{database}}.rollup_metrics_minute_regrained
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
PARTITION BY toYYYYMM(run_date)
ORDER BY (file, path, job, bucket, run_date)
SETTINGS index_granularity = 256;

INSERT INTO {{database}}.rollup_metrics_minute_regrained SELECT * FROM {{database}}.rollup_metrics_minute;

RENAME TABLE {{database}}.rollup_metrics_minute TO {{database}}.rollup_metrics_minute_pregrain, {{database}}.rollup_metrics_minute_regrained TO {{database}}.rollup_metrics_minute;

DROP TABLE IF EXISTS {{database}}.rollup_metrics_minute_pregrain;

DROP TABLE IF EXISTS {{database}}.rollup_metrics_minute_regrained;

-- rollup_metrics_hour
DROP TABLE IF EXISTS {{database}}.rollup_metrics_hour_pregrain;

CREATE TABLE IF NOT EXISTS {{database}}.rollup_metrics_hour_regrained
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
PARTITION BY toYYYYMM(run_date)
ORDER BY (file, path, job, bucket, run_date)
SETTINGS index_granularity = 256;

INSERT INTO {{database}}.rollup_metrics_hour_regrained SELECT * FROM {{database}}.rollup_metrics_hour;

RENAME TABLE {{database}}.rollup_metrics_hour TO {{database}}.rollup_metrics_hour_pregrain, {{database}}.rollup_metrics_hour_regrained TO {{database}}.rollup_metrics_hour;

DROP TABLE IF EXISTS {{database}}.rollup_metrics_hour_pregrain;

DROP TABLE IF EXISTS {{database}}.rollup_metrics_hour_regrained;

-- rollup_metrics_day
DROP TABLE IF EXISTS {{database}}.rollup_metrics_day_pregrain;

CREATE TABLE IF NOT EXISTS {{database}}.rollup_metrics_day_regrained
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
PARTITION BY toYYYYMM(run_date)
ORDER BY (file, path, job, bucket, run_date)
SETTINGS index_granularity = 256;

INSERT INTO {{database}}.rollup_metrics_day_regrained SELECT * FROM {{database}}.rollup_metrics_day;

RENAME TABLE {{database}}.rollup_metrics_day TO {{database}}.rollup_metrics_day_pregrain, {{database}}.rollup_metrics_day_regrained TO {{database}}.rollup_metrics_day;

DROP TABLE IF EXISTS {{database}}.rollup_metrics_day_pregrain;

DROP TABLE IF EXISTS {{database}}.rollup_metrics_day_regrained;
