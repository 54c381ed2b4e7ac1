// Recomputes rollup units from the deduplicated `runs` and writes them with a new generation.
//
// A unit is (run_date, hour of started_at). Every statement here is one server-side
// INSERT … SELECT: no row passes through Node. For each tier the SELECT unions
//   (a) the unit's runs, deduplicated, grouped into the tier's buckets, and
//   (b) a zero row for every key the unit already has in the tier,
// so a group that vanished (a rerun changed its status, moved to another hour…) is
// overwritten with zeros instead of keeping its old count.
//
// Every statement rewrites each (run_date, bucket) it touches whole: every key of it, with
// one generation. The API's readers rely on that (api/queries/rollup-plan.ts): the newest
// rows of a key are those of the newest generation of its (run_date, bucket).
//
// Deduplication is `runs FINAL WHERE run_date = d` in a subquery, and the filter on
// started_at stays OUTSIDE it: a filter on a non-key column applied while reading (an
// explicit PREWHERE, or a predicate pushed down into the FINAL read) would drop the newest
// version before the merge and resurrect an older one that still matches.
// What may be filtered before the merge is a sorting-key column, because every version of
// a run shares it: for a few hours, the FINAL read is narrowed with
// `PREWHERE key IN (keys with any version starting in those hours)`, a superset of the
// runs whose newest version is there (the newest version is one of the versions). That
// keeps a unit's cost proportional to its runs instead of its whole run_date.
// test/rollup/rollup-unit.test.ts holds that case. The day tier is summed from the hour
// tier, and the month tier of runs and the day durations from the day tier (read FINAL,
// filtered on key columns only, which is safe).
import type { ClickHouseClient } from '@clickhouse/client';
import { toClickHouseError } from '../../clickhouse/clickhouse-error.ts';
import { date, dateTime, join, list, num, sql, str, SqlFragment } from '../../clickhouse/sql.ts';

export interface RecomputeRequest {
  database: string;
  /** YYYY-MM-DD */
  runDate: string;
  /** Unit hours (Unix seconds, start of hour), at least one. */
  hours: readonly number[];
  generation: bigint;
  labelKeys: readonly string[];
  /** False once the minute tier no longer keeps this run_date (its partition was dropped). */
  minuteTier: boolean;
}

const QUANTILES = sql`0.5, 0.95, 0.99`;

export async function recomputeUnits(client: ClickHouseClient, request: RecomputeRequest): Promise<void> {
  for (const statement of recomputeStatements(request)) {
    try {
      await client.command({ query: statement.text });
    } catch (error) {
      throw toClickHouseError(error, `recomputing rollups of ${request.runDate}`);
    }
  }
}

/**
 * The statements, in order: minute and hour tiers from runs, then the day tiers from the
 * hour tiers, then the month tier and the day durations from the day tier.
 */
export function recomputeStatements(request: RecomputeRequest): SqlFragment[] {
  if (request.hours.length === 0) throw new Error('recompute: no hours given');
  const tiers = request.minuteTier ? (['minute', 'hour'] as const) : (['hour'] as const);
  return [
    ...tiers.map((tier) => runsFromRaw(request, tier)),
    ...tiers.map((tier) => metricsFromRaw(request, tier)),
    runsDayFromHour(request),
    metricsDayFromHour(request),
    runsMonthFromDay(request),
    durationsDayFromDay(request),
  ];
}

function db(request: RecomputeRequest, table: string): SqlFragment {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(request.database) || !/^[a-z_]+$/.test(table)) {
    throw new Error(`not an identifier: ${request.database}.${table}`);
  }
  return SqlFragment.trusted(`${request.database}.${table}`);
}

const bucketOf = { minute: sql`toStartOfMinute(started_at)`, hour: sql`toStartOfHour(started_at)` } as const;

/** `AND started_at's hour IN (…)` */
function startedIn(hours: readonly number[]): SqlFragment {
  return sql` AND toStartOfHour(started_at) IN ${list(hours.map((hour) => dateTime(hour * 1000)))}`;
}

/**
 * `AND bucket in the hours`: a range on the sorting key's first column (so the index
 * narrows the read) and the exact set.
 */
function bucketIn(hours: readonly number[]): SqlFragment {
  const first = Math.min(...hours);
  const last = Math.max(...hours);
  return sql` AND bucket >= ${dateTime(first * 1000)} AND bucket < ${dateTime((last + 3600) * 1000)} AND toStartOfHour(bucket) IN ${list(hours.map((hour) => dateTime(hour * 1000)))}`;
}

/** `AND bucket in the days of the hours` (server time zone), as a range and the exact set. */
function bucketInDaysOf(hours: readonly number[]): SqlFragment {
  const days = list(hours.map((hour) => sql`toStartOfDay(${dateTime(hour * 1000)})`));
  const first = Math.min(...hours);
  const last = Math.max(...hours);
  // ±1 day around the hours covers any time zone's day boundary.
  return sql` AND bucket >= ${dateTime((first - 86_400) * 1000)} AND bucket < ${dateTime((last + 2 * 86_400) * 1000)} AND toStartOfDay(bucket) IN ${days}`;
}

/** The deduplicated runs of the run_date that can have their newest version in the hours. */
function dedupRuns(request: RecomputeRequest, columns: SqlFragment): SqlFragment {
  const runs = db(request, 'runs');
  const runDate = date(request.runDate);
  return sql`(
    SELECT ${columns}
    FROM ${runs} FINAL
    PREWHERE key IN (SELECT key FROM ${runs} WHERE run_date = ${runDate}${startedIn(request.hours)})
    WHERE run_date = ${runDate}
  )`;
}

/** The dimensions every run is counted under: all, job, host, and each configured label. */
function dimensions(labelKeys: readonly string[]): SqlFragment {
  const pairs = [
    sql`tuple('all', '')`,
    sql`tuple('job', job)`,
    sql`tuple('host', host)`,
    ...labelKeys.map((key) => sql`tuple(${str(`label.${key}`)}, label_values[indexOf(label_keys, ${str(key)})])`),
  ];
  return sql`[${join(pairs, ', ')}]`;
}

function runsFromRaw(request: RecomputeRequest, tier: 'minute' | 'hour'): SqlFragment {
  const target = db(request, `rollup_runs_${tier}`);
  const runDate = date(request.runDate);
  return sql`INSERT INTO ${target}
  (run_date, bucket, dimension, value, status, generation, runs, duration_count, duration_sum, duration_min, duration_max, duration_digest)
SELECT run_date, bucket, dimension, value, status, toUInt64(${num(request.generation)}),
  sum(n), sum(has_duration), sum(duration), minIf(duration, has_duration = 1), maxIf(duration, has_duration = 1),
  quantilesTDigestStateIf(${QUANTILES})(duration, has_duration = 1)
FROM
(
  SELECT run_date, ${bucketOf[tier]} AS bucket, pair.1 AS dimension, pair.2 AS value, status,
    toUInt64(1) AS n, toUInt64(isNotNull(duration_ms)) AS has_duration, ifNull(duration_ms, toFloat64(0)) AS duration
  FROM ${dedupRuns(request, sql`run_date, job, host, status, started_at, duration_ms, labels.key AS label_keys, labels.value AS label_values`)}
  ARRAY JOIN ${dimensions(request.labelKeys)} AS pair
  WHERE 1${startedIn(request.hours)}
  UNION ALL
  SELECT run_date, bucket, dimension, value, status, toUInt64(0), toUInt64(0), toFloat64(0)
  FROM ${target}
  WHERE run_date = ${runDate}${bucketIn(request.hours)}
)
GROUP BY run_date, bucket, dimension, value, status`;
}

function metricsFromRaw(request: RecomputeRequest, tier: 'minute' | 'hour'): SqlFragment {
  const target = db(request, `rollup_metrics_${tier}`);
  const runDate = date(request.runDate);
  return sql`INSERT INTO ${target}
  (run_date, bucket, job, file, path, generation, samples, value_sum, value_min, value_max)
SELECT run_date, bucket, job, file, path, toUInt64(${num(request.generation)}),
  sum(n), sum(x), minIf(x, n = 1), maxIf(x, n = 1)
FROM
(
  SELECT run_date, ${bucketOf[tier]} AS bucket, job, file, path, toUInt64(1) AS n, x
  FROM ${dedupRuns(request, sql`run_date, job, started_at, metrics.file AS metric_files, metrics.path AS metric_paths, metrics.value AS metric_values`)}
  ARRAY JOIN metric_files AS file, metric_paths AS path, metric_values AS x
  WHERE 1${startedIn(request.hours)}
  UNION ALL
  SELECT run_date, bucket, job, file, path, toUInt64(0), toFloat64(0)
  FROM ${target}
  WHERE run_date = ${runDate}${bucketIn(request.hours)}
)
GROUP BY run_date, bucket, job, file, path`;
}

// The hour tier keeps a (zero) row for every key a unit ever had, so summing it per day
// yields the day tier's zero rows as well.
function runsDayFromHour(request: RecomputeRequest): SqlFragment {
  return sql`INSERT INTO ${db(request, 'rollup_runs_day')}
  (run_date, bucket, dimension, value, status, generation, runs, duration_count, duration_sum, duration_min, duration_max, duration_digest)
SELECT run_date, toStartOfDay(hour_bucket) AS day, dimension, value, status, toUInt64(${num(request.generation)}),
  sum(hour_runs), sum(hour_count), sum(hour_sum), minIf(hour_min, hour_count > 0), maxIf(hour_max, hour_count > 0),
  quantilesTDigestMergeState(${QUANTILES})(hour_digest)
FROM
(
  SELECT run_date, bucket AS hour_bucket, dimension, value, status, runs AS hour_runs, duration_count AS hour_count,
    duration_sum AS hour_sum, duration_min AS hour_min, duration_max AS hour_max, duration_digest AS hour_digest
  FROM ${db(request, 'rollup_runs_hour')} FINAL
  WHERE run_date = ${date(request.runDate)}${bucketInDaysOf(request.hours)}
)
GROUP BY run_date, day, dimension, value, status`;
}

function metricsDayFromHour(request: RecomputeRequest): SqlFragment {
  return sql`INSERT INTO ${db(request, 'rollup_metrics_day')}
  (run_date, bucket, job, file, path, generation, samples, value_sum, value_min, value_max)
SELECT run_date, toStartOfDay(hour_bucket) AS day, job, file, path, toUInt64(${num(request.generation)}),
  sum(hour_samples), sum(hour_sum), minIf(hour_min, hour_samples > 0), maxIf(hour_max, hour_samples > 0)
FROM
(
  SELECT run_date, bucket AS hour_bucket, job, file, path, samples AS hour_samples, value_sum AS hour_sum,
    value_min AS hour_min, value_max AS hour_max
  FROM ${db(request, 'rollup_metrics_hour')} FINAL
  WHERE run_date = ${date(request.runDate)}${bucketInDaysOf(request.hours)}
)
GROUP BY run_date, day, job, file, path`;
}

/**
 * The month tier holds, per month of bucket, the run_date's whole month (run_date is the
 * month's first day there): it is summed again from every day row of that run_date month
 * in the months of the unit's days. The day tier keeps zero rows for vanished keys, so the
 * month tier gets them too. About 60 k day rows per month at 500k runs/day.
 */
function runsMonthFromDay(request: RecomputeRequest): SqlFragment {
  const runDate = date(request.runDate);
  const months = list(request.hours.map((hour) => sql`toStartOfMonth(${dateTime(hour * 1000)})`));
  return sql`INSERT INTO ${db(request, 'rollup_runs_month')}
  (run_date, bucket, dimension, value, status, generation, runs, duration_count, duration_sum, duration_min, duration_max, duration_digest)
SELECT toStartOfMonth(day_run_date) AS month_run_date, toDateTime(toStartOfMonth(day_bucket)) AS month_bucket, dimension, value, status, toUInt64(${num(request.generation)}),
  sum(day_runs), sum(day_count), sum(day_sum), minIf(day_min, day_count > 0), maxIf(day_max, day_count > 0),
  quantilesTDigestMergeState(${QUANTILES})(day_digest)
FROM
(
  SELECT run_date AS day_run_date, bucket AS day_bucket, dimension, value, status, runs AS day_runs, duration_count AS day_count,
    duration_sum AS day_sum, duration_min AS day_min, duration_max AS day_max, duration_digest AS day_digest
  FROM ${db(request, 'rollup_runs_day')} FINAL
  WHERE run_date >= toStartOfMonth(${runDate}) AND run_date < addMonths(toStartOfMonth(${runDate}), 1)
    AND toStartOfMonth(bucket) IN ${months}
)
GROUP BY month_run_date, month_bucket, dimension, value, status`;
}

/**
 * The day tier's duration states of the unit's days summed over statuses, per run_date ×
 * day × dimension × value: the year's duration series merges ~5× fewer states (migration
 * 0008). Reads the same (run_date, days) that runsDayFromHour has just rewritten whole.
 */
function durationsDayFromDay(request: RecomputeRequest): SqlFragment {
  return sql`INSERT INTO ${db(request, 'rollup_durations_day')}
  (run_date, bucket, dimension, value, generation, duration_count, duration_digest)
SELECT day_run_date, day_bucket, dimension, value, toUInt64(${num(request.generation)}),
  sum(day_count), quantilesTDigestMergeState(${QUANTILES})(day_digest)
FROM
(
  SELECT run_date AS day_run_date, bucket AS day_bucket, dimension, value, duration_count AS day_count, duration_digest AS day_digest
  FROM ${db(request, 'rollup_runs_day')} FINAL
  WHERE run_date = ${date(request.runDate)}${bucketInDaysOf(request.hours)}
)
GROUP BY day_run_date, day_bucket, dimension, value`;
}
