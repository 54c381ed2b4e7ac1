// GET /api/v1/job-series: one metric over time per job, column-oriented like
// /api/v1/timeseries ({ t, series: { <job>: [...] } }): the Jobs page's sparklines and the
// Metrics page's leaf-by-job chart. The busiest `jobs` jobs of the window get a series.
// From the rollups when they can answer (job-series-rollup.ts), else from `runs FINAL`.
import { z } from 'zod';
import { num, sql, str, type SqlFragment } from '../../clickhouse/sql.ts';
import type { QueryRunner } from '../clickhouse/query-runner.ts';
import { badParameter } from '../http/api-error.ts';
import { filterParams, intParam, rangeParams } from '../http/params.ts';
import { resolveRange } from '../http/range.ts';
import { allOf, FAILURE_STATUSES, filterConditions, finiteOrNull, startedWithin } from './run-window.ts';
import { jobSeriesRollupQuery } from './job-series-rollup.ts';
import type { Rollups } from './rollup-plan.ts';
import { MAX_POINTS, STEPS } from './timeseries.ts';

export const JOB_SERIES_METRICS = ['runs', 'failures', 'duration_p95', 'leaf'] as const;

export const jobSeriesQuery = z.object({
  ...rangeParams,
  metric: z.enum(JOB_SERIES_METRICS).optional().transform((value) => value ?? 'runs').meta({ description: 'runs, failures, duration_p95 (ms) or leaf (average of the leaf). Default runs.' }),
  points: intParam(2, MAX_POINTS, 60, 'At most this many buckets; the step is the smallest of the timeseries steps that fits.'),
  jobs: intParam(1, 500, 20, 'How many jobs (most runs in the window first).'),
  leaf_file: z.string().min(1).max(255).optional().meta({ description: 'With metric=leaf: the result file.' }),
  leaf_path: z.string().min(1).max(1000).optional().meta({ description: 'With metric=leaf: the numeric leaf.' }),
  ...filterParams,
});
export type JobSeriesParams = z.output<typeof jobSeriesQuery>;

export const jobSeriesResponse = z.object({
  metric: z.enum(JOB_SERIES_METRICS),
  step: z.number().int(),
  t: z.array(z.number().int()).describe('Bucket starts, Unix seconds.'),
  series: z.record(z.string(), z.array(z.number().nullable())).describe('Per job, aligned with t; runs/failures are 0 where nothing ran, the others null.'),
  jobs: z.array(z.object({ job: z.string(), runs: z.number().int() })).describe('The jobs charted, most runs first.'),
  truncated: z.boolean().describe('More jobs ran than were charted.'),
  source: z.enum(['rollup', 'runs']).describe('Which table answered.'),
  complete_until: z.number().int().describe('Buckets starting at or after this Unix second may still grow (same rule as /api/v1/timeseries).'),
});
export type JobSeriesResponse = z.infer<typeof jobSeriesResponse>;

export interface JobSeriesDeps {
  runner: QueryRunner;
  nowMs: number;
  ingestLagMs: number;
  rollups?: Rollups | null;
  signal?: AbortSignal;
}

export async function jobSeries(params: JobSeriesParams, deps: JobSeriesDeps): Promise<JobSeriesResponse> {
  const leaf = params.metric === 'leaf';
  if (leaf && (params.leaf_file === undefined || params.leaf_path === undefined)) throw badParameter(params.leaf_file === undefined ? 'leaf_file' : 'leaf_path', 'is required with metric=leaf');
  if (!leaf && (params.leaf_file !== undefined || params.leaf_path !== undefined)) throw badParameter(params.leaf_file !== undefined ? 'leaf_file' : 'leaf_path', 'only applies to metric=leaf');
  const range = resolveRange(params, deps.nowMs);
  const span = (range.toMs - range.fromMs) / 1000;
  const step = STEPS.find((candidate) => Math.ceil(span / candidate) <= params.points) ?? STEPS[STEPS.length - 1]!;
  const stepMs = step * 1000;
  const aligned = { fromMs: Math.floor(range.fromMs / stepMs) * stepMs, toMs: Math.ceil(range.toMs / stepMs) * stepMs };
  const conditions = [startedWithin(aligned), ...filterConditions(params)];
  let value: SqlFragment;
  let inner = sql`job, started_at, status, duration_ms`;
  if (leaf) {
    const file = str(params.leaf_file!);
    const path = str(params.leaf_path!);
    conditions.push(sql`has(metrics.file, ${file}) AND has(metrics.path, ${path})`);
    inner = sql`job, started_at, arrayJoin(arrayFilter((v, f, p) -> f = ${file} AND p = ${path}, metrics.value, metrics.file, metrics.path)) AS leaf_value`;
    value = sql`avg(leaf_value)`;
  } else {
    value = params.metric === 'runs' ? sql`count()` : params.metric === 'failures' ? sql`countIf(status IN ${FAILURE_STATUSES})` : sql`quantileTDigest(0.95)(duration_ms)`;
  }
  const bucket = sql`intDiv(toUInt32(started_at), ${num(step)}) * ${num(step)}`;
  const leafOf = leaf ? { file: params.leaf_file!, path: params.leaf_path! } : null;
  const rollupQuery = deps.rollups ? jobSeriesRollupQuery(params.metric, leafOf, params, aligned, step, params.jobs, deps.rollups.settings, deps.nowMs) : null;
  const watermark = rollupQuery && deps.rollups ? await deps.rollups.watermarkMs(deps.signal) : null;
  type Row = { job: string; t: number; value: unknown; total: number };
  // One scan: the top jobs by rows in the window, then their buckets.
  const rows = rollupQuery && watermark !== null ? await deps.runner.rows<Row>('job_series_rollup', rollupQuery, deps.signal) : await deps.runner.rows<Row>(
    'job_series',
    sql`SELECT job, t, value, total FROM (
  SELECT job, ${bucket} AS t, ${value} AS value FROM (SELECT ${inner} FROM runs FINAL WHERE ${allOf(conditions)}) GROUP BY job, t
) ANY INNER JOIN (
  SELECT job, count() AS total FROM (SELECT ${inner} FROM runs FINAL WHERE ${allOf(conditions)}) GROUP BY job ORDER BY total DESC, job ASC LIMIT ${num(params.jobs + 1)}
) USING job`,
    deps.signal,
  );
  const totals = new Map<string, number>();
  for (const row of rows) totals.set(row.job, row.total);
  const ranked = [...totals].sort(([a, x], [b, y]) => y - x || (a < b ? -1 : 1));
  const charted = ranked.slice(0, params.jobs);
  const first = aligned.fromMs / 1000;
  const count = (aligned.toMs - aligned.fromMs) / stepMs;
  const t = Array.from({ length: count }, (_, index) => first + index * step);
  const empty = params.metric === 'runs' || params.metric === 'failures' ? 0 : null;
  const series: Record<string, Array<number | null>> = {};
  for (const [job] of charted) series[job] = new Array<number | null>(count).fill(empty);
  for (const row of rows) {
    const column = series[row.job];
    const index = (Number(row.t) - first) / step;
    if (column && index >= 0 && index < count) column[index] = finiteOrNull(row.value) ?? empty;
  }
  const reflected = rollupQuery && watermark !== null ? watermark : deps.nowMs;
  const completeUntil = Math.max(first, Math.floor(Math.min(aligned.toMs, reflected - deps.ingestLagMs) / stepMs) * step);
  return {
    metric: params.metric, step, t, series, jobs: charted.map(([job, runs]) => ({ job, runs })), truncated: ranked.length > params.jobs,
    source: rollupQuery && watermark !== null ? 'rollup' : 'runs', complete_until: completeUntil,
  };
}
