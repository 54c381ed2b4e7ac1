// /api/v1/job-series from the rollups: the `job` dimension of rollup_runs_* (runs,
// failures, p95 duration) or rollup_metrics_* (a leaf's average), with the step's tier
// (rollup-plan.ts). Only a job filter (and, except for leaves, a status filter) can be
// answered; anything else goes to `runs`.
import { num, sql, str, type SqlFragment } from '../../clickhouse/sql.ts';
import type { Filters, TimeRange } from '../http/params.ts';
import { FAILURE_STATUSES } from './run-window.ts';
import { coarsestTierForStep, metricsRollup, minutesKept, planSegments, runsRollup, unionOfSegments, type RollupSettings } from './rollup-plan.ts';

export function jobSeriesRollupQuery(
  metric: 'runs' | 'failures' | 'duration_p95' | 'leaf',
  leaf: { file: string; path: string } | null,
  filters: Filters,
  range: TimeRange,
  step: number,
  jobs: number,
  settings: RollupSettings,
  nowMs: number,
): SqlFragment | null {
  if (filters.host !== undefined || (filters.label ?? []).length > 0) return null;
  if (metric === 'leaf' && filters.status !== undefined) return null;
  const segments = planSegments(range, coarsestTierForStep(step, settings));
  if (!segments || !minutesKept(segments, settings, nowMs)) return null;
  const t = sql`intDiv(toUInt32(bucket), ${num(step)}) * ${num(step)} AS t`;
  let rows: SqlFragment;
  let value: SqlFragment;
  if (metric === 'leaf') {
    if (!leaf) return null;
    const where = sql`file = ${str(leaf.file)} AND path = ${str(leaf.path)}${filters.job !== undefined ? sql` AND job = ${str(filters.job)}` : sql``}`;
    rows = unionOfSegments(segments, metricsRollup, sql`job, ${t}, samples AS n, value_sum AS total_value`, where);
    value = sql`sum(total_value) / sum(n)`;
  } else {
    const where = sql`dimension = 'job'${filters.job !== undefined ? sql` AND value = ${str(filters.job)}` : sql``}${filters.status !== undefined ? sql` AND status = ${str(filters.status)}` : sql``}`;
    rows = unionOfSegments(segments, runsRollup, sql`value AS job, ${t}, status, runs AS n, duration_digest`, where);
    value = metric === 'runs' ? sql`sum(n)` : metric === 'failures' ? sql`sumIf(n, status IN ${FAILURE_STATUSES})` : sql`quantilesTDigestMerge(0.5, 0.95, 0.99)(duration_digest)[2]`;
  }
  return sql`SELECT job, t, value, total FROM (
  SELECT job, t, ${value} AS value FROM (${rows}) GROUP BY job, t HAVING sum(n) > 0
) ANY INNER JOIN (
  SELECT job, sum(n) AS total FROM (${rows}) GROUP BY job HAVING total > 0 ORDER BY total DESC, job ASC LIMIT ${num(jobs + 1)}
) USING job`;
}
