// The timeseries source that reads the rollup tables: counts by status, failure rate and
// duration percentiles from rollup_runs_* (by whole days from rollup_durations_day), a
// leaf's sum/avg/min/max from rollup_metrics_*.
// The step decides the coarsest tier (a bucket of the tier must nest in a step bucket);
// the range, aligned to the step, is then read from that tier (rollup-plan.ts). Returns
// null — and `runs` answers — for what the rollups do not hold: two filter dimensions,
// labels that are not rolled up, leaves filtered by anything but the job, minutes older
// than the minute tier keeps, or rollups that no maintainer has written yet.
import { num, sql, str, type SqlFragment } from '../../clickhouse/sql.ts';
import { FAILURE_STATUSES } from './run-window.ts';
import {
  coarsestTierForStep, dimensionOf, dimensionWhere, durationsRollup, metricsRollup, minutesKept, planSegments, runsRollup, unionOfSegments, type Rollups,
} from './rollup-plan.ts';
import type { TimeseriesParams, TimeseriesPlan, TimeseriesRequest, TimeseriesSource } from './timeseries.ts';

export function rollupTimeseriesSource(rollups: Rollups): TimeseriesSource {
  return {
    name: 'rollup',
    autoStepFloor(range, params, nowMs) {
      // A range of a day or more whose minutes the minute tier no longer keeps (a zoom into
      // last spring): whole hours let the hour tier answer; minute steps would scan `runs`.
      // Shorter ranges keep minute steps: `runs` answers those few runs quickly.
      if (range.toMs - range.fromMs < 86_400_000 || !canAnswerFilters(params, rollups)) return 60;
      return minutesKept([{ tier: 'minute', fromMs: range.fromMs, toMs: range.fromMs + 60_000 }], rollups.settings, nowMs) ? 60 : 3600;
    },
    async plan(request: TimeseriesRequest, nowMs: number, signal?: AbortSignal): Promise<TimeseriesPlan | null> {
      const query = rollupQuery(request, rollups, nowMs);
      if (!query) return null;
      const watermark = await rollups.watermarkMs(signal);
      return watermark === null ? null : { query, reflectsUntilMs: watermark };
    },
  };
}

/** Whether the rollups hold the request's filters at all (whatever the range and step). */
function canAnswerFilters(params: TimeseriesParams, rollups: Rollups): boolean {
  if (params.metric === 'leaf') return params.host === undefined && params.status === undefined && (params.label ?? []).length === 0;
  return dimensionOf(params, rollups.settings) !== null;
}

/** The query, or null when the rollups cannot answer exactly. Exported for tests (which check it never names `runs`). */
export function rollupQuery(request: TimeseriesRequest, rollups: Rollups, nowMs: number): SqlFragment | null {
  const segments = planSegments(request.range, coarsestTierForStep(request.stepSeconds, rollups.settings));
  if (!segments || !minutesKept(segments, rollups.settings, nowMs)) return null;
  const step = num(request.stepSeconds);
  const t = sql`intDiv(toUInt32(bucket), ${step}) * ${step}`;
  if (request.metric === 'leaf') {
    const { filters, leaf } = request;
    if (!leaf || filters.host !== undefined || filters.status !== undefined || (filters.label ?? []).length > 0) return null;
    const where = sql`file = ${str(leaf.file)} AND path = ${str(leaf.path)}${filters.job !== undefined ? sql` AND job = ${str(filters.job)}` : sql``}`;
    const rows = unionOfSegments(segments, metricsRollup, sql`bucket, samples, value_sum, value_min, value_max`, where);
    return sql`SELECT ${t} AS t, sum(samples) AS count, sum(value_sum) AS sum, sum(value_sum) / sum(samples) AS avg,
  minIf(value_min, samples > 0) AS min, maxIf(value_max, samples > 0) AS max
FROM (${rows})
GROUP BY t HAVING count > 0 ORDER BY t`;
  }
  const dimension = dimensionOf(request.filters, rollups.settings);
  if (!dimension) return null;
  const where = sql`${dimensionWhere(dimension)}${request.filters.status !== undefined ? sql` AND status = ${str(request.filters.status)}` : sql``}`;
  switch (request.metric) {
    case 'runs':
      return sql`SELECT ${t} AS t,
  sumIf(runs, status = 'succeeded') AS succeeded, sumIf(runs, status = 'failed') AS failed, sumIf(runs, status = 'timeout') AS timeout,
  sumIf(runs, status = 'cancelled') AS cancelled, sumIf(runs, status = 'running') AS running, sum(runs) AS total
FROM (${unionOfSegments(segments, runsRollup, sql`bucket, status, runs`, where)})
GROUP BY t HAVING total > 0 ORDER BY t`;
    case 'failure_rate':
      return sql`SELECT ${t} AS t, sumIf(runs, status IN ${FAILURE_STATUSES}) AS failures, sumIf(runs, status != 'running') AS finished
FROM (${unionOfSegments(segments, runsRollup, sql`bucket, status, runs`, where)})
GROUP BY t HAVING sum(runs) > 0 ORDER BY t`;
    case 'duration': {
      // Whole days without a status filter: the durations summed over statuses, ~5× fewer
      // TDigest states to merge than the day tier (a year's series: 730 instead of 3,650).
      const byDays = request.filters.status === undefined && segments.every((segment) => segment.tier === 'day');
      const rows = byDays
        ? unionOfSegments(segments, durationsRollup, sql`bucket, duration_count, duration_digest`, dimensionWhere(dimension))
        : unionOfSegments(segments, runsRollup, sql`bucket, duration_count, duration_digest`, where);
      return sql`SELECT ${t} AS t, quantilesTDigestMerge(0.5, 0.95, 0.99)(duration_digest) AS q, q[1] AS p50, q[2] AS p95, q[3] AS p99, sum(duration_count) AS count
FROM (${rows})
GROUP BY t HAVING count > 0 ORDER BY t`;
    }
  }
}
