// The timeseries source that reads `runs` itself, deduplicated with FINAL inside the
// run_date window. It answers every request; the rollup source goes before it and returns
// null for what it cannot serve (two filter dimensions, labels not rolled up, …).
import { num, sql, str, type SqlFragment } from '../../clickhouse/sql.ts';
import type { TimeseriesPlan, TimeseriesRequest, TimeseriesSource } from './timeseries.ts';
import { allOf, FAILURE_STATUSES, filterConditions, startedWithin } from './run-window.ts';

export const rawRunsSource: TimeseriesSource = {
  name: 'runs',
  plan(request: TimeseriesRequest): TimeseriesPlan {
    return { query: rawQuery(request), reflectsUntilMs: null };
  },
};

function rawQuery(request: TimeseriesRequest): SqlFragment {
  const where = allOf([startedWithin(request.range), ...filterConditions(request.filters)]);
  // Portable buckets: no toStartOfInterval on 18.16.
  const bucket = sql`intDiv(toUInt32(started_at), ${num(request.stepSeconds)}) * ${num(request.stepSeconds)}`;
  switch (request.metric) {
    case 'runs':
      return sql`SELECT ${bucket} AS t,
countIf(status = 'succeeded') AS succeeded, countIf(status = 'failed') AS failed, countIf(status = 'timeout') AS timeout,
countIf(status = 'cancelled') AS cancelled, countIf(status = 'running') AS running, count() AS total
FROM (SELECT started_at, status FROM runs FINAL WHERE ${where})
GROUP BY t ORDER BY t`;
    case 'failure_rate':
      return sql`SELECT ${bucket} AS t, countIf(status IN ${FAILURE_STATUSES}) AS failures, countIf(status != 'running') AS finished
FROM (SELECT started_at, status FROM runs FINAL WHERE ${where})
GROUP BY t ORDER BY t`;
    case 'duration':
      return sql`SELECT ${bucket} AS t, quantilesTDigest(0.5, 0.95, 0.99)(duration_ms) AS q, q[1] AS p50, q[2] AS p95, q[3] AS p99, count(duration_ms) AS count
FROM (SELECT started_at, duration_ms FROM runs FINAL WHERE ${where} AND duration_ms IS NOT NULL)
GROUP BY t ORDER BY t`;
    case 'leaf': {
      if (!request.leaf) throw new Error('leaf metric without a leaf');
      const file = str(request.leaf.file);
      const path = str(request.leaf.path);
      return sql`SELECT ${bucket} AS t, sum(value) AS sum, avg(value) AS avg, min(value) AS min, max(value) AS max, count() AS count
FROM (
  SELECT started_at, arrayJoin(arrayFilter((v, f, p) -> f = ${file} AND p = ${path}, metrics.value, metrics.file, metrics.path)) AS value
  FROM runs FINAL WHERE ${where} AND has(metrics.file, ${file}) AND has(metrics.path, ${path})
)
GROUP BY t ORDER BY t`;
    }
  }
}
