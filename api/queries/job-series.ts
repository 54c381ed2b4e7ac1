// GET /api/v1/job-series: one metric over time per job, column-oriented like
// /api/v1/timeseries ({ t, series: { <job>: [...] } }): the Jobs page's sparklines and the
// Metrics page's leaf-by-job chart. The busiest `jobs` jobs of the window get a series.
import { z } from 'zod';
import { num, sql, str, type SqlFragment } from '../../clickhouse/sql.ts';
import type { QueryRunner } from '../clickhouse/query-runner.ts';
import { badParameter } from '../http/api-error.ts';
import { filterParams, intParam, rangeParams } from '../http/params.ts';
import { resolveRange } from '../http/range.ts';
import { allOf, FAILURE_STATUSES, filterConditions, finiteOrNull, startedWithin } from './run-window.ts';
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
});
export type JobSeriesResponse = z.infer<typeof jobSeriesResponse>;

export async function jobSeries(params: JobSeriesParams, deps: { runner: QueryRunner; nowMs: number; signal?: AbortSignal }): Promise<JobSeriesResponse> {
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
  // One scan: the top jobs by rows in the window, then their buckets.
  const rows = await deps.runner.rows<{ job: string; t: number; value: unknown; total: number }>(
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
  return { metric: params.metric, step, t, series, jobs: charted.map(([job, runs]) => ({ job, runs })), truncated: ranked.length > params.jobs };
}
