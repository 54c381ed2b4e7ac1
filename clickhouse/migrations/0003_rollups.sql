-- Rollups of `runs` at three resolutions, exact under reruns, running→final transitions,
-- duplicate deliveries and out-of-order versions (design: clickhouse/README.md).
--
-- A naive materialized view into SummingMergeTree adds every version of a run, so it
-- counts a rerun twice. Here nothing is added incrementally: the unit of work is
-- (run_date, hour of started_at); when a batch touches a unit, the rollup maintainer
-- recomputes the whole unit from the deduplicated `runs` and writes it with a higher
-- `generation`. ReplacingMergeTree(generation) keeps the newest generation per key, and a
-- group that vanished from a unit is written as an explicit zero row, so `FINAL` (or
-- argMax by generation) is exactly the current truth.
--
-- run_date is in every sorting key: a unit belongs to one run_date, and so each key is
-- written by exactly one unit. PARTITION BY the month of run_date: retention drops whole
-- months (18.16 has no TTL), FINAL never needs to cross partitions.
-- The sorting keys start with the bucket: readers ask for a time range ("jobs, last 30
-- days") without knowing which run_dates started there, and the maintainer rewrites a
-- few hours at a time, so both read narrow ranges. run_date comes last: a rerun weeks
-- later puts rows of an old run_date into a recent bucket (and an old partition, which a
-- bucket-range read still narrows to a few granules). Measured in clickhouse/README.md:
-- with run_date first, a one-day overview read every run_date's granules (3 s vs 0.1 s).

-- Which units a batch touched: the units of the new versions and of the versions they
-- replace. Written by the sink before it stores a batch (and again once it is stored);
-- read by the maintainer. `hour` is computed by the server so that its time zone decides
-- the bucket boundaries everywhere.
CREATE TABLE IF NOT EXISTS {{database}}.rollup_dirty
(
    run_date Date,
    started_at DateTime,
    hour DateTime DEFAULT toStartOfHour(started_at),
    noted_at DateTime DEFAULT now()
)
ENGINE = MergeTree
PARTITION BY toYYYYMMDD(noted_at)
ORDER BY (noted_at, run_date, hour);

-- Small monotonic facts, newest value wins: the highest generation handed out, and the
-- maintainer's watermark `complete_until` (Unix seconds: every batch stored before it is
-- reflected in every rollup).
CREATE TABLE IF NOT EXISTS {{database}}.rollup_state
(
    name String,
    value UInt64,
    updated_at DateTime DEFAULT now()
)
ENGINE = ReplacingMergeTree(value)
ORDER BY name;

-- Runs per bucket × dimension × value × status, with the duration distribution.
-- dimension: 'all' (value ''), 'job', 'host', 'label.<key>' for the configured label keys
-- (a run without that label counts under value '', so every dimension sums to 'all').
-- duration_*: finished runs only (running ones have no duration); min/max are 0 when
-- duration_count = 0. The digest is a TDigest state: read it with quantilesTDigestMerge.
CREATE TABLE IF NOT EXISTS {{database}}.rollup_runs_minute
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
ORDER BY (bucket, dimension, value, status, run_date);

CREATE TABLE IF NOT EXISTS {{database}}.rollup_runs_hour
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
ORDER BY (bucket, dimension, value, status, run_date);

-- bucket = start of the day (DateTime, like the other tiers, so one query fits all three).
-- Derived from rollup_runs_hour, never from runs: which needs hour rows to be kept at least
-- as long as raw runs (the maintainer's config refuses anything else).
CREATE TABLE IF NOT EXISTS {{database}}.rollup_runs_day
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
ORDER BY (bucket, dimension, value, status, run_date);

-- Numeric result leaves (runs.metrics) per bucket × job × file × path: how many runs
-- reported the leaf, and the sum/min/max of its values (min/max are 0 when samples = 0).
CREATE TABLE IF NOT EXISTS {{database}}.rollup_metrics_minute
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
ORDER BY (bucket, job, file, path, run_date);

CREATE TABLE IF NOT EXISTS {{database}}.rollup_metrics_hour
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
ORDER BY (bucket, job, file, path, run_date);

CREATE TABLE IF NOT EXISTS {{database}}.rollup_metrics_day
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
ORDER BY (bucket, job, file, path, run_date);
