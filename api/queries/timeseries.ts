// GET /api/v1/timeseries: one metric over time, column-oriented for uPlot
// ({ t: [seconds…], series: { name: [values…] } }, every array the same length).
//
// The SQL comes from a TimeseriesSource: the rollup tables when they can answer the
// request exactly (timeseries-rollup-source.ts), else the raw `runs FINAL` scan: the first
// source that returns a plan rather than null is used. Every source returns rows shaped
// { t: bucket start in seconds, <the metric's columns> }.
import { z } from 'zod';
import type { SqlFragment } from '../../clickhouse/sql.ts';
import { badParameter } from '../http/api-error.ts';
import { filterParams, rangeParams, type Filters, type TimeRange } from '../http/params.ts';
import { resolveRange } from '../http/range.ts';
import type { QueryRunner } from '../clickhouse/query-runner.ts';
import { finiteOrNull } from './run-window.ts';

export const TIMESERIES_METRICS = ['runs', 'failure_rate', 'duration', 'leaf'] as const;
export type TimeseriesMetric = (typeof TIMESERIES_METRICS)[number];

/**
 * Bucket widths in seconds: round numbers on a clock, so buckets line up across charts.
 * Buckets are intDiv(epoch seconds, step) in UTC, so weeks start on Thursdays (the epoch's weekday).
 */
export const STEPS = [60, 120, 300, 600, 900, 1800, 3600, 7200, 10_800, 21_600, 43_200, 86_400, 604_800] as const;
export const MAX_POINTS = 1500;
/** A long range goes to whole days (the day tier) only when that still draws at least this many points. */
export const MIN_DAY_POINTS = 60;
/**
 * The most minute buckets an auto step reads (about two days): a step that is not whole
 * hours reads the minute tier, every minute of the range. At 500k runs/day a month of
 * minutes took 1.1 s for the duration series, the same month from the hour tier ~60 ms.
 */
export const MAX_AUTO_MINUTES = 2 * MAX_POINTS;

/** The columns each metric's rows carry besides `t`; a source must produce exactly these. */
export const METRIC_COLUMNS = {
  runs: ['succeeded', 'failed', 'timeout', 'cancelled', 'running', 'total'],
  failure_rate: ['failures', 'finished'],
  duration: ['p50', 'p95', 'p99', 'count'],
  leaf: ['sum', 'avg', 'min', 'max', 'count'],
} as const satisfies Record<TimeseriesMetric, readonly string[]>;

export const timeseriesQuery = z.object({
  ...rangeParams,
  metric: z.enum(TIMESERIES_METRICS).optional().transform((value) => value ?? 'runs').meta({ description: 'What to chart. Default: runs (counts by status).' }),
  step: z
    .string()
    .regex(/^(auto|\d{1,7})$/, `must be auto or one of ${STEPS.join(', ')} (seconds)`)
    .optional()
    .meta({
      description: `Bucket width in seconds (${STEPS.join(', ')}) or auto (default): the smallest giving at most ${MAX_POINTS} points; `
        + `when 1 h steps would give more than ${MAX_POINTS}, whole days (86400, else 604800) if that gives at least ${MIN_DAY_POINTS} points, `
        + 'otherwise the smallest whole number of hours that fits (so the day or hour rollup tier answers); '
        + 'and at least 3600 over a day or more that the minute rollup tier no longer keeps (so the hour tier answers, not the raw runs).',
    }),
  leaf_file: z.string().min(1).max(255).optional().meta({ description: 'With metric=leaf: the result file, e.g. result.json.' }),
  leaf_path: z.string().min(1).max(1000).optional().meta({ description: 'With metric=leaf: the numeric leaf, e.g. timings_ms.fetch.' }),
  ...filterParams,
});

/** The complete_until rule, also in the OpenAPI document. */
export const COMPLETE_UNTIL_RULE = 'Buckets starting at or after this Unix second may still grow as ingestion catches up. '
  + 'It is min(to, T − RUNLENS_API_INGEST_LAG_MS) rounded down to the step, where T is now when `runs` answered (source = runs), '
  + 'and the rollup watermark (rollup_status.complete_until: every batch the sink stored before it is in every tier) when a rollup answered: '
  + 'a run is in a rollup once it is stored (within the ingest lag of its start) and the maintainer has recomputed its unit after that.';

export type TimeseriesParams = z.output<typeof timeseriesQuery>;

export interface TimeseriesRequest {
  metric: TimeseriesMetric;
  /** Aligned to the step on both ends. */
  range: TimeRange;
  stepSeconds: number;
  filters: Filters;
  leaf: { file: string; path: string } | null;
}

export interface TimeseriesPlan {
  query: SqlFragment;
  /**
   * Epoch ms up to which the source reflects every stored batch (the rollup watermark);
   * null for `runs` itself, which is current as of the query.
   */
  reflectsUntilMs: number | null;
}

export interface TimeseriesSource {
  readonly name: string;
  /**
   * The finest step an auto step may take for this request so that this source can still
   * answer it (e.g. whole hours where the rollups no longer keep minutes); absent: any.
   */
  autoStepFloor?(range: TimeRange, params: TimeseriesParams, nowMs: number): number;
  /** How this source answers the request, or null when it cannot. */
  plan(request: TimeseriesRequest, nowMs: number, signal?: AbortSignal): TimeseriesPlan | null | Promise<TimeseriesPlan | null>;
}

export type TimeseriesRow = { t: number } & Record<string, unknown>;

export const timeseriesResponse = z.object({
  metric: z.enum(TIMESERIES_METRICS),
  step: z.number().int().describe('Bucket width in seconds.'),
  source: z.string().describe('Which table answered (runs, or a rollup).'),
  t: z.array(z.number().int()).describe('Bucket starts, Unix seconds, ascending, no gaps.'),
  series: z.record(z.string(), z.array(z.number().nullable())).describe('One array per series, aligned with t; null where undefined (no data).'),
  complete_until: z.number().int().describe(COMPLETE_UNTIL_RULE),
});
export type TimeseriesResponse = z.infer<typeof timeseriesResponse>;

export function pickStep(params: Pick<TimeseriesParams, 'step'>, range: TimeRange, autoFloorSeconds: number = STEPS[0]): number {
  const spanSeconds = (range.toMs - range.fromMs) / 1000;
  const points = (step: number) => Math.ceil(spanSeconds / step) + 1;
  if (params.step === undefined || params.step === 'auto') return Math.max(autoStep(points, spanSeconds), autoFloorSeconds);
  const step = Number(params.step);
  if (!(STEPS as readonly number[]).includes(step)) throw badParameter('step', `must be auto or one of ${STEPS.join(', ')} (seconds)`);
  if (points(step) > MAX_POINTS) throw badParameter('step', `${step} s gives more than ${MAX_POINTS} points over this range; use a larger step or auto`);
  return step;
}

/**
 * The smallest step that fits, except where that would read a finer tier than the range
 * needs: over MAX_AUTO_MINUTES, whole hours (the hour tier; 30 days at 1 h is 720 points),
 * and for long ranges (more than MAX_POINTS at 1 h) whole days when that still gives
 * MIN_DAY_POINTS (a year at 6 h read the hour tier, 8,760 buckets per group, instead of
 * 365 day rows), else the smallest multiple of an hour that fits.
 */
function autoStep(points: (step: number) => number, spanSeconds: number): number {
  const fits = STEPS.filter((step) => points(step) <= MAX_POINTS);
  if (points(3600) <= MAX_POINTS) return spanSeconds / 60 <= MAX_AUTO_MINUTES ? fits[0]! : fits.find((step) => step % 3600 === 0)!;
  const days = fits.find((step) => step % 86_400 === 0);
  if (days !== undefined && points(days) >= MIN_DAY_POINTS) return days;
  return fits.find((step) => step % 3600 === 0) ?? 604_800;
}

export interface TimeseriesDeps {
  runner: QueryRunner;
  sources: readonly TimeseriesSource[];
  nowMs: number;
  ingestLagMs: number;
  signal?: AbortSignal;
}

export async function timeseries(params: TimeseriesParams, deps: TimeseriesDeps): Promise<TimeseriesResponse> {
  if (params.metric === 'leaf' && (params.leaf_file === undefined || params.leaf_path === undefined)) {
    throw badParameter(params.leaf_file === undefined ? 'leaf_file' : 'leaf_path', 'is required with metric=leaf');
  }
  if (params.metric !== 'leaf' && (params.leaf_file !== undefined || params.leaf_path !== undefined)) {
    throw badParameter(params.leaf_file !== undefined ? 'leaf_file' : 'leaf_path', 'only applies to metric=leaf');
  }
  const range = resolveRange(params, deps.nowMs);
  const stepSeconds = pickStep(params, range, deps.sources[0]?.autoStepFloor?.(range, params, deps.nowMs));
  const stepMs = stepSeconds * 1000;
  const aligned = { fromMs: Math.floor(range.fromMs / stepMs) * stepMs, toMs: Math.ceil(range.toMs / stepMs) * stepMs };
  const request: TimeseriesRequest = {
    metric: params.metric,
    range: aligned,
    stepSeconds,
    filters: params,
    leaf: params.metric === 'leaf' ? { file: params.leaf_file!, path: params.leaf_path! } : null,
  };
  let chosen: { source: TimeseriesSource; plan: TimeseriesPlan } | null = null;
  for (const source of deps.sources) {
    const plan = await source.plan(request, deps.nowMs, deps.signal);
    if (plan) {
      chosen = { source, plan };
      break;
    }
  }
  if (!chosen) throw new Error(`no timeseries source can answer metric=${request.metric}`);
  const rows = await deps.runner.rows<TimeseriesRow>(`timeseries_${request.metric}_${chosen.source.name}`, chosen.plan.query, deps.signal);
  const reflected = chosen.plan.reflectsUntilMs ?? deps.nowMs;
  const completeUntil = Math.floor(Math.min(aligned.toMs, reflected - deps.ingestLagMs) / stepMs) * stepSeconds;
  return { metric: request.metric, step: stepSeconds, source: chosen.source.name, ...toColumns(request, rows), complete_until: Math.max(completeUntil, aligned.fromMs / 1000) };
}

/** Rows (only buckets with data) → dense columns over every bucket of the range. */
function toColumns(request: TimeseriesRequest, rows: readonly TimeseriesRow[]): Pick<TimeseriesResponse, 't' | 'series'> {
  const first = request.range.fromMs / 1000;
  const count = (request.range.toMs - request.range.fromMs) / 1000 / request.stepSeconds;
  const t = Array.from({ length: count }, (_, index) => first + index * request.stepSeconds);
  const byTime = new Map(rows.map((row) => [Number(row.t), row]));
  const column = (name: string, empty: number | null) => t.map((time) => {
    const row = byTime.get(time);
    return row ? finiteOrNull(row[name]) ?? empty : empty;
  });
  switch (request.metric) {
    case 'runs':
      return { t, series: Object.fromEntries(METRIC_COLUMNS.runs.map((name) => [name, column(name, 0)])) };
    case 'failure_rate': {
      const failures = column('failures', 0);
      const finished = column('finished', 0);
      const rate = failures.map((value, index) => (finished[index] ? (value ?? 0) / finished[index]! : null));
      return { t, series: { failure_rate: rate, failures, finished } };
    }
    case 'duration':
      return { t, series: { p50: column('p50', null), p95: column('p95', null), p99: column('p99', null), count: column('count', 0) } };
    case 'leaf':
      return { t, series: { sum: column('sum', null), avg: column('avg', null), min: column('min', null), max: column('max', null), count: column('count', 0) } };
  }
}
