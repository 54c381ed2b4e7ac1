-- Views for people who write SQL: no FINAL, no aggregate states, no generations.
--
-- runs_latest: one row per run, its newest version. On 18.16 a filter outside a view is
-- NOT pushed into it (enable_optimize_predicate_expression defaults to 0 there), so
-- `SELECT … FROM runs_latest WHERE run_date = …` deduplicates the whole table first; for
-- anything beyond a small database, filter `runs FINAL` on run_date yourself (measured in
-- clickhouse/README.md). Current ClickHouse pushes the filter down.
CREATE VIEW IF NOT EXISTS {{database}}.runs_latest AS
SELECT * FROM {{database}}.runs FINAL;

-- runs_by_<tier>: one row per bucket × dimension × value × status over every run_date
-- (a rerun weeks later counts in the bucket it started in), finalized: counts, average,
-- min/max and p50/p95/p99 of the duration in milliseconds (NaN when no run finished).
CREATE VIEW IF NOT EXISTS {{database}}.runs_by_minute AS
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
FROM {{database}}.rollup_runs_minute FINAL
GROUP BY bucket, dimension, value, status
HAVING runs > 0;

CREATE VIEW IF NOT EXISTS {{database}}.runs_by_hour AS
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
FROM {{database}}.rollup_runs_hour FINAL
GROUP BY bucket, dimension, value, status
HAVING runs > 0;

CREATE VIEW IF NOT EXISTS {{database}}.runs_by_day AS
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
FROM {{database}}.rollup_runs_day FINAL
GROUP BY bucket, dimension, value, status
HAVING runs > 0;


-- metrics_by_<tier>: numeric result leaves per bucket × job × file × path.
CREATE VIEW IF NOT EXISTS {{database}}.metrics_by_minute AS
SELECT
    bucket,
    job,
    file,
    path,
    sum(n) AS samples,
    sum(total) AS value_sum,
    sum(total) / sum(n) AS value_avg,
    minIf(lo, n > 0) AS value_min,
    maxIf(hi, n > 0) AS value_max
FROM
(
    -- Renamed so that the outer aliases cannot capture the stored columns.
    SELECT bucket, job, file, path, samples AS n, value_sum AS total, value_min AS lo, value_max AS hi
    FROM {{database}}.rollup_metrics_minute FINAL
)
GROUP BY bucket, job, file, path
HAVING samples > 0;

CREATE VIEW IF NOT EXISTS {{database}}.metrics_by_hour AS
SELECT
    bucket,
    job,
    file,
    path,
    sum(n) AS samples,
    sum(total) AS value_sum,
    sum(total) / sum(n) AS value_avg,
    minIf(lo, n > 0) AS value_min,
    maxIf(hi, n > 0) AS value_max
FROM
(
    -- Renamed so that the outer aliases cannot capture the stored columns.
    SELECT bucket, job, file, path, samples AS n, value_sum AS total, value_min AS lo, value_max AS hi
    FROM {{database}}.rollup_metrics_hour FINAL
)
GROUP BY bucket, job, file, path
HAVING samples > 0;

CREATE VIEW IF NOT EXISTS {{database}}.metrics_by_day AS
SELECT
    bucket,
    job,
    file,
    path,
    sum(n) AS samples,
    sum(total) AS value_sum,
    sum(total) / sum(n) AS value_avg,
    minIf(lo, n > 0) AS value_min,
    maxIf(hi, n > 0) AS value_max
FROM
(
    -- Renamed so that the outer aliases cannot capture the stored columns.
    SELECT bucket, job, file, path, samples AS n, value_sum AS total, value_min AS lo, value_max AS hi
    FROM {{database}}.rollup_metrics_day FINAL
)
GROUP BY bucket, job, file, path
HAVING samples > 0;


-- How far the rollups are complete: every batch the sink stored before `complete_until`
-- is reflected in every tier.
CREATE VIEW IF NOT EXISTS {{database}}.rollup_status AS
SELECT toDateTime(maxIf(value, name = 'complete_until')) AS complete_until
FROM {{database}}.rollup_state;
