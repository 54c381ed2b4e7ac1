// GET /api/v1/jobs: per job over a window, with the same-length window before it for the
// trend. One scan covers both periods; -If aggregates split them. From the rollups when
// they can answer (jobs-rollup.ts; the window is then widened to whole minutes,
// or hours where the minute tier no longer keeps the edge), else
// from `runs FINAL`.
import { z } from 'zod';
import { num, sql } from '../../clickhouse/sql.ts';
import type { QueryRunner } from '../clickhouse/query-runner.ts';
import { intParam, rangeParams } from '../http/params.ts';
import { resolveRange } from '../http/range.ts';
import { jobsRollupQuery } from './jobs-rollup.ts';
import { rollupEdge, toRollupWindow, type Rollups } from './rollup-plan.ts';
import { FAILURE_STATUSES, finiteOrNull, startedWithin } from './run-window.ts';

export const jobsQuery = z.object({
  ...rangeParams,
  limit: intParam(1, 5000, 500, 'How many jobs (most runs first).'),
});
export type JobsParams = z.output<typeof jobsQuery>;

const period = z.object({
  runs: z.number().int(),
  succeeded: z.number().int(),
  failures: z.number().int().describe('failed + timeout'),
  finished: z.number().int().describe('every status but running'),
  success_rate: z.number().nullable().describe('succeeded / finished; null when nothing finished'),
  p95_duration_ms: z.number().nullable(),
});
export const jobRow = z.object({
  job: z.string(),
  ...period.shape,
  last_run_at_ms: z.number().int().nullable().describe('Latest started_at in either period; from the rollups, the start of the newest minute/hour/day bucket with runs (by the tier that covered it).'),
  previous: period.describe('The same-length period just before from.'),
  trend: z.object({
    runs: z.number().nullable().describe('runs / previous.runs − 1; null without previous runs'),
    success_rate: z.number().nullable().describe('Difference in success rate; null when either is null'),
    p95_duration_ms: z.number().nullable().describe('p95 / previous p95 − 1; null when either is null'),
  }),
});
export const jobsResponse = z.object({
  from: z.number().int().describe('Unix seconds: the window counted (from the rollups: widened to whole minutes, or hours where minutes are no longer kept).'),
  to: z.number().int(),
  previous_from: z.number().int(),
  jobs: z.array(jobRow),
  truncated: z.boolean(),
  source: z.enum(['rollup', 'runs']).describe('Which table answered.'),
  complete_until: z.number().int().describe('Unix second up to which every stored run is counted: the rollup watermark minus the ingest lag (rollup), now minus the ingest lag (runs).'),
});
export type JobsResponse = z.infer<typeof jobsResponse>;

interface Row {
  job: string; last_run_at_ms: number;
  runs: number; succeeded: number; failures: number; finished: number; p95: unknown;
  prev_runs: number; prev_succeeded: number; prev_failures: number; prev_finished: number; prev_p95: unknown;
}

export interface JobsDeps {
  runner: QueryRunner;
  nowMs: number;
  ingestLagMs: number;
  rollups?: Rollups | null;
  signal?: AbortSignal;
}

export async function jobs(params: JobsParams, deps: JobsDeps): Promise<JobsResponse> {
  const requested = resolveRange(params, deps.nowMs);
  if (deps.rollups) {
    const range = toRollupWindow(requested, deps.rollups.settings, deps.nowMs);
    const previous = { fromMs: rollupEdge(Math.max(0, range.fromMs - (range.toMs - range.fromMs)), 'down', deps.rollups.settings, deps.nowMs), toMs: range.fromMs };
    const query = jobsRollupQuery(range, previous, params.limit, deps.rollups.settings, deps.nowMs);
    const watermark = query ? await deps.rollups.watermarkMs(deps.signal) : null;
    if (query && watermark !== null) {
      const rows = await deps.runner.rows<Row>('jobs_rollup', query, deps.signal);
      return response(range, previous.fromMs, rows, params.limit, 'rollup', watermark - deps.ingestLagMs);
    }
  }
  const range = requested;
  const previousFromMs = Math.max(0, range.fromMs - (range.toMs - range.fromMs));
  const rows = await deps.runner.rows<Row>(
    'jobs',
    sql`SELECT job, max(started_at_ms) AS last_run_at_ms,
  countIf(cur) AS runs, countIf(cur AND status = 'succeeded') AS succeeded, countIf(cur AND status IN ${FAILURE_STATUSES}) AS failures,
  countIf(cur AND status != 'running') AS finished, quantileTDigestIf(0.95)(duration_ms, cur) AS p95,
  countIf(NOT cur) AS prev_runs, countIf(NOT cur AND status = 'succeeded') AS prev_succeeded, countIf(NOT cur AND status IN ${FAILURE_STATUSES}) AS prev_failures,
  countIf(NOT cur AND status != 'running') AS prev_finished, quantileTDigestIf(0.95)(duration_ms, NOT cur) AS prev_p95
FROM (
  SELECT job, status, duration_ms, started_at_ms, started_at_ms >= ${num(range.fromMs)} AS cur
  FROM runs FINAL WHERE ${startedWithin({ fromMs: previousFromMs, toMs: range.toMs })}
)
GROUP BY job ORDER BY runs DESC, job ASC LIMIT ${num(params.limit + 1)}`,
    deps.signal,
  );
  return response(range, previousFromMs, rows, params.limit, 'runs', deps.nowMs - deps.ingestLagMs);
}

function response(range: { fromMs: number; toMs: number }, previousFromMs: number, rows: Row[], limit: number, source: JobsResponse['source'], completeUntilMs: number): JobsResponse {
  return {
    from: Math.floor(range.fromMs / 1000),
    to: Math.floor(range.toMs / 1000),
    previous_from: Math.floor(previousFromMs / 1000),
    jobs: rows.slice(0, limit).map((row) => {
      const current = periodOf(row.runs, row.succeeded, row.failures, row.finished, row.p95);
      const previous = periodOf(row.prev_runs, row.prev_succeeded, row.prev_failures, row.prev_finished, row.prev_p95);
      return {
        job: row.job,
        ...current,
        last_run_at_ms: row.last_run_at_ms,
        previous,
        trend: {
          runs: previous.runs > 0 ? current.runs / previous.runs - 1 : null,
          success_rate: current.success_rate !== null && previous.success_rate !== null ? current.success_rate - previous.success_rate : null,
          p95_duration_ms: current.p95_duration_ms !== null && previous.p95_duration_ms ? current.p95_duration_ms / previous.p95_duration_ms - 1 : null,
        },
      };
    }),
    truncated: rows.length > limit,
    source,
    complete_until: Math.floor(Math.min(range.toMs, completeUntilMs) / 1000),
  };
}

function periodOf(runs: number, succeeded: number, failures: number, finished: number, p95: unknown) {
  return {
    runs,
    succeeded,
    failures,
    finished,
    success_rate: finished > 0 ? succeeded / finished : null,
    // A period without finished runs has no p95 (TDigest gives nan there).
    p95_duration_ms: finished > 0 ? finiteOrNull(p95) : null,
  };
}
