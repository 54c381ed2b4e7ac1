// /api/v1/jobs from the rollups: the `job` dimension of rollup_runs_*, the current and the
// previous period each cut into day/hour/minute segments (rollup-plan.ts), one query.
// Counts equal the raw query's exactly; p95 comes from merged TDigest states (close, not
// identical); last_run_at_ms is the start of the newest bucket with runs of the job (a
// minute, an hour or a day, by the tier that covered it), not the exact start.
import { num, sql, type SqlFragment } from '../../clickhouse/sql.ts';
import type { TimeRange } from '../http/params.ts';
import { FAILURE_STATUSES } from './run-window.ts';
import { minutesKept, planSegments, runsRollup, unionOfSegments, type RollupSettings } from './rollup-plan.ts';

export interface JobsRollupRow {
  job: string; last_run_at_ms: number;
  runs: number; succeeded: number; failures: number; finished: number; p95: unknown;
  prev_runs: number; prev_succeeded: number; prev_failures: number; prev_finished: number; prev_p95: unknown;
}

/** Null when the rollups cannot answer (edges inside a minute, minutes past the minute tier's retention). */
export function jobsRollupQuery(current: TimeRange, previous: TimeRange, limit: number, settings: RollupSettings, nowMs: number): SqlFragment | null {
  const coarsest = settings.dayTier ? 'day' : 'hour';
  const segments = [
    { cur: sql`toUInt8(1)`, plan: planSegments(current, coarsest) },
    { cur: sql`toUInt8(0)`, plan: previous.fromMs < previous.toMs ? planSegments(previous, coarsest) : [] },
  ];
  const parts: SqlFragment[] = [];
  for (const { cur, plan } of segments) {
    if (!plan || !minutesKept(plan, settings, nowMs)) return null;
    if (plan.length > 0) parts.push(unionOfSegments(plan, runsRollup, sql`value AS job, bucket, status, runs AS n, duration_digest, ${cur} AS cur`, sql`dimension = 'job'`));
  }
  const rows = parts.reduce((all, part) => sql`${all}
  UNION ALL
  ${part}`);
  return sql`SELECT job, toUInt64(maxIf(bucket, n > 0)) * 1000 AS last_run_at_ms,
  sumIf(n, cur = 1) AS runs, sumIf(n, cur = 1 AND status = 'succeeded') AS succeeded, sumIf(n, cur = 1 AND status IN ${FAILURE_STATUSES}) AS failures,
  sumIf(n, cur = 1 AND status != 'running') AS finished, quantilesTDigestMergeIf(0.5, 0.95, 0.99)(duration_digest, cur = 1)[2] AS p95,
  sumIf(n, cur = 0) AS prev_runs, sumIf(n, cur = 0 AND status = 'succeeded') AS prev_succeeded, sumIf(n, cur = 0 AND status IN ${FAILURE_STATUSES}) AS prev_failures,
  sumIf(n, cur = 0 AND status != 'running') AS prev_finished, quantilesTDigestMergeIf(0.5, 0.95, 0.99)(duration_digest, cur = 0)[2] AS prev_p95
FROM (${rows})
GROUP BY job HAVING runs + prev_runs > 0 ORDER BY runs DESC, job ASC LIMIT ${num(limit + 1)}`;
}
