-- Re-sorts every rollup table so that a reader's fixed columns lead the sorting key:
--   rollup_runs_*:    ORDER BY (bucket, dimension, value, status, run_date)
--                  -> ORDER BY (dimension, value, bucket, status, run_date)
--   rollup_metrics_*: ORDER BY (bucket, job, file, path, run_date)
--                  -> ORDER BY (file, path, job, bucket, run_date)
-- Why: the overview asks for `dimension = 'all'` over a range; with bucket first, a year
-- read every dimension's rows of the year (every job, host and label value), so the
-- 365-day overview cost 8.5x the 1-day one. With (dimension, value) first, it reads one
-- contiguous bucket range of its own dimension. Metrics are always read with a file and
-- a path, the job is optional, hence (file, path, job, bucket). The key's column SET is
-- unchanged (only the order), so ReplacingMergeTree(generation) replaces exactly the rows
-- it replaced before, and the views (0004), which name the tables, keep working.
-- Measured: clickhouse/README.md, Sorting keys.
--
-- 18.16 cannot change a sorting key in place (MODIFY ORDER BY only appends new columns)
-- and has no EXCHANGE TABLES, so per table:
--   DROP TABLE IF EXISTS <t>_presort      (left by a run that crashed after its RENAME)
--   CREATE TABLE IF NOT EXISTS <t>_resorted (same columns, engine, partitioning; new key)
--   INSERT INTO <t>_resorted SELECT * FROM <t>
--   RENAME TABLE <t> TO <t>_presort, <t>_resorted TO <t>
--   DROP TABLE IF EXISTS <t>_presort
--   DROP TABLE IF EXISTS <t>_resorted     (no-op here; in cluster mode it removes the
--                                          Distributed table left pointing at nothing)
--
-- Re-running after a crash midway (the migrator records the migration only at the end):
-- - crash before or during the INSERT: the copy is redone; rows copied twice are exact
--   duplicates (same key, same generation, same values) and ReplacingMergeTree keeps one.
-- - crash after the RENAME: the first DROP removes the old copy, the table is copied once
--   more into a new <t>_resorted (already sorted; harmless) and swapped again.
-- REMAINING WINDOWS, not closed by re-running:
-- - The RENAME of two tables is not atomic on 18.16 (Ordinary database): between its two
--   halves <t> does not exist, and queries in that instant fail. A crash exactly there
--   leaves <t>_presort and <t>_resorted but no <t>; the re-run then stops at the INSERT
--   (unknown table <t>). Repair by hand: RENAME TABLE <t>_resorted TO <t>; migrate again.
-- - Rows the rollup maintainer writes into <t> after the INSERT … SELECT read it and
--   before the RENAME land in <t>_presort and are dropped. Stop the sinks' maintainers
--   (RUNLENS_ROLLUP_MAINTAIN=0, or stop the sinks) while migrating, or afterwards run
--   `runlens rebuild --from <day before the migration> --to <day after>`.
-- Cost: one full copy of each rollup table (disk: twice the largest table while it runs).

-- rollup_runs_minute
DROP TABLE IF EXISTS {{database}}.rollup_runs_minute_presort;

CREATE TABLE IF NOT EXISTS {{database}}.rollup_runs_minute_resorted
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
ORDER BY (dimension, value, bucket, status, run_date);

INSERT INTO {{database}}.rollup_runs_minute_resorted SELECT * FROM {{database}}.rollup_runs_minute;

RENAME TABLE {{database}}.rollup_runs_minute TO {{database}}.rollup_runs_minute_presort, {{database}}.rollup_runs_minute_resorted TO {{database}}.rollup_runs_minute;

DROP TABLE IF EXISTS {{database}}.rollup_runs_minute_presort;

DROP TABLE IF EXISTS {{database}}.rollup_runs_minute_resorted;

-- rollup_runs_hour
DROP TABLE IF EXISTS {{database}}.rollup_runs_hour_presort;

CREATE TABLE IF NOT EXISTS {{database}}.rollup_runs_hour_resorted
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
ORDER BY (dimension, value, bucket, status, run_date);

INSERT INTO {{database}}.rollup_runs_hour_resorted SELECT * FROM {{database}}.rollup_runs_hour;

RENAME TABLE {{database}}.rollup_runs_hour TO {{database}}.rollup_runs_hour_presort, {{database}}.rollup_runs_hour_resorted TO {{database}}.rollup_runs_hour;

DROP TABLE IF EXISTS {{database}}.rollup_runs_hour_presort;

DROP TABLE IF EXISTS {{database}}.rollup_runs_hour_resorted;

-- rollup_runs_day
DROP TABLE IF EXISTS {{database}}.rollup_runs_day_presort;

CREATE TABLE IF NOT EXISTS {{database}}.rollup_runs_day_resorted
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
ORDER BY (dimension, value, bucket, status, run_date);

INSERT INTO {{database}}.rollup_runs_day_resorted SELECT * FROM {{database}}.rollup_runs_day;

RENAME TABLE {{database}}.rollup_runs_day TO {{database}}.rollup_runs_day_presort, {{database}}.rollup_runs_day_resorted TO {{database}}.rollup_runs_day;

DROP TABLE IF EXISTS {{database}}.rollup_runs_day_presort;

DROP TABLE IF EXISTS {{database}}.rollup_runs_day_resorted;

-- rollup_metrics_minute
DROP TABLE IF EXISTS {{database}}.rollup_metrics_minute_presort;

CREATE TABLE IF NOT EXISTS {{database}}.rollup_metrics_minute_resorted
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
ORDER BY (file, path, job, bucket, run_date);

INSERT INTO {{database}}.rollup_metrics_minute_resorted SELECT * FROM {{database}}.rollup_metrics_minute;

RENAME TABLE {{database}}.rollup_metrics_minute TO {{database}}.rollup_metrics_minute_presort, {{database}}.rollup_metrics_minute_resorted TO {{database}}.rollup_metrics_minute;

DROP TABLE IF EXISTS {{database}}.rollup_metrics_minute_presort;

DROP TABLE IF EXISTS {{database}}.rollup_metrics_minute_resorted;

-- rollup_metrics_hour
DROP TABLE IF EXISTS {{database}}.rollup_metrics_hour_presort;

CREATE TABLE IF NOT EXISTS {{database}}.rollup_metrics_hour_resorted
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
ORDER BY (file, path, job, bucket, run_date);

INSERT INTO {{database}}.rollup_metrics_hour_resorted SELECT * FROM {{database}}.rollup_metrics_hour;

RENAME TABLE {{database}}.rollup_metrics_hour TO {{database}}.rollup_metrics_hour_presort, {{database}}.rollup_metrics_hour_resorted TO {{database}}.rollup_metrics_hour;

DROP TABLE IF EXISTS {{database}}.rollup_metrics_hour_presort;

DROP TABLE IF EXISTS {{database}}.rollup_metrics_hour_resorted;

-- rollup_metrics_day
DROP TABLE IF EXISTS {{database}}.rollup_metrics_day_presort;

CREATE TABLE IF NOT EXISTS {{database}}.rollup_metrics_day_resorted
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
ORDER BY (file, path, job, bucket, run_date);

INSERT INTO {{database}}.rollup_metrics_day_resorted SELECT * FROM {{database}}.rollup_metrics_day;

RENAME TABLE {{database}}.rollup_metrics_day TO {{database}}.rollup_metrics_day_presort, {{database}}.rollup_metrics_day_resorted TO {{database}}.rollup_metrics_day;

DROP TABLE IF EXISTS {{database}}.rollup_metrics_day_presort;

DROP TABLE IF EXISTS {{database}}.rollup_metrics_day_resorted;
