// /api/v1/breakdown from the rollups: job, host, status and the rolled-up label keys, with
// at most one filter dimension that is either the same as `by` or absent (status combines
// with anything). Counts equal the raw query's exactly. A label breakdown leaves out value
// '' (runs without the label), as the raw query does; a run whose label is present but
// empty is counted there and not here — the rollups cannot tell the two apart.
import { num, sql, str, type SqlFragment } from '../../clickhouse/sql.ts';
import type { Filters, TimeRange } from '../http/params.ts';
import { FAILURE_STATUSES } from './run-window.ts';
import { dimensionOf, dimensionWhere, minutesKept, planSegments, runsRollup, unionOfSegments, type RollupSettings } from './rollup-plan.ts';

export interface BreakdownRollupRow { value: string; runs: number; failures: number; finished: number }

export function breakdownRollupQuery(by: string, filters: Filters, range: TimeRange, limit: number, settings: RollupSettings, nowMs: number): SqlFragment | null {
  // The month tier, like the day tier, needs the server's days to be UTC days.
  const segments = planSegments(range, settings.dayTier ? 'month' : 'hour');
  if (!segments || !minutesKept(segments, settings, nowMs)) return null;
  const filter = dimensionOf(filters, settings);
  if (!filter) return null;
  const status = filters.status !== undefined ? sql` AND status = ${str(filters.status)}` : sql``;
  let where: SqlFragment;
  let grouped: SqlFragment;
  if (by === 'status') {
    where = sql`${dimensionWhere(filter)}${status}`;
    grouped = sql`status`;
  } else {
    const dimension = by === 'job' || by === 'host' ? by : by.startsWith('label:') && settings.labelKeys.includes(by.slice(6)) ? `label.${by.slice(6)}` : null;
    if (dimension === null) return null;
    if (filter.dimension !== 'all' && filter.dimension !== dimension) return null;
    where = sql`dimension = ${str(dimension)}${filter.dimension === 'all' ? sql`` : sql` AND value = ${str(filter.value)}`}${dimension.startsWith('label.') ? sql` AND value != ''` : sql``}${status}`;
    grouped = sql`v`;
  }
  return sql`SELECT ${grouped} AS value, sum(n) AS runs, sumIf(n, status IN ${FAILURE_STATUSES}) AS failures, sumIf(n, status != 'running') AS finished
FROM (${unionOfSegments(segments, runsRollup, sql`value AS v, status, runs AS n`, where)})
GROUP BY value HAVING runs > 0 ORDER BY runs DESC, value ASC LIMIT ${num(limit + 1)}`;
}
