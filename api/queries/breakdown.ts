// GET /api/v1/breakdown: the top values of one dimension in a time window, with counts
// and failures, e.g. which jobs or hosts failed most. From the rollups when they hold the
// dimension (breakdown-rollup.ts; the window is then widened to whole minutes,
// or hours where the minute tier no longer keeps the edge), else from
// `runs FINAL`.
import { z } from 'zod';
import { ident, num, sql, str, type SqlFragment } from '../../clickhouse/sql.ts';
import type { QueryRunner } from '../clickhouse/query-runner.ts';
import { badParameter } from '../http/api-error.ts';
import { filterParams, intParam, rangeParams } from '../http/params.ts';
import { resolveRange } from '../http/range.ts';
import { breakdownRollupQuery } from './breakdown-rollup.ts';
import { toRollupWindow, type Rollups } from './rollup-plan.ts';
import { allOf, FAILURE_STATUSES, filterConditions, startedWithin } from './run-window.ts';

const COLUMNS = ['job', 'host', 'status', 'error_type'] as const;

export const breakdownQuery = z.object({
  ...rangeParams,
  by: z
    .string()
    .max(210)
    .regex(/^(job|host|status|error_type|label:.+)$/s, 'must be job, host, status, error_type or label:<key>')
    .meta({ description: 'The dimension: job, host, status, error_type or label:<key>.' }),
  limit: intParam(1, 1000, 10, 'How many values.'),
  ...filterParams,
});
export type BreakdownParams = z.output<typeof breakdownQuery>;

export const breakdownRow = z.object({
  value: z.string(),
  runs: z.number().int(),
  failures: z.number().int().describe('failed + timeout'),
  finished: z.number().int().describe('every status but running'),
  failure_rate: z.number().nullable().describe('failures / finished; null when nothing finished'),
});
export const breakdownResponse = z.object({
  by: z.string(),
  rows: z.array(breakdownRow).describe('Most runs first, then by value.'),
  truncated: z.boolean().describe('True when more values exist beyond limit.'),
  from: z.number().int().describe('Unix seconds: the window counted (from the rollups: widened to whole minutes, or hours where minutes are no longer kept).'),
  to: z.number().int(),
  source: z.enum(['rollup', 'runs']).describe('Which table answered.'),
  complete_until: z.number().int().describe('Unix second up to which every stored run is counted: the rollup watermark minus the ingest lag (rollup), now minus the ingest lag (runs).'),
});
export type BreakdownResponse = z.infer<typeof breakdownResponse>;

interface Row { value: string; runs: number; failures: number; finished: number }

export interface BreakdownDeps {
  runner: QueryRunner;
  nowMs: number;
  ingestLagMs: number;
  rollups?: Rollups | null;
  signal?: AbortSignal;
}

export async function breakdown(params: BreakdownParams, deps: BreakdownDeps): Promise<BreakdownResponse> {
  const requested = resolveRange(params, deps.nowMs);
  if (params.by.startsWith('label:') && params.by.length - 'label:'.length > 200) throw badParameter('by', 'the label key is longer than 200 characters');
  if (deps.rollups) {
    const range = toRollupWindow(requested, deps.rollups.settings, deps.nowMs);
    const query = breakdownRollupQuery(params.by, params, range, params.limit, deps.rollups.settings, deps.nowMs);
    const watermark = query ? await deps.rollups.watermarkMs(deps.signal) : null;
    if (query && watermark !== null) {
      const rows = await deps.runner.rows<Row>('breakdown_rollup', query, deps.signal);
      return response(params, range, rows, 'rollup', watermark - deps.ingestLagMs);
    }
  }
  const range = requested;
  const conditions = [startedWithin(range), ...filterConditions(params)];
  let dimension: SqlFragment;
  if (params.by.startsWith('label:')) {
    const key = params.by.slice('label:'.length);
    dimension = sql`labels.value[indexOf(labels.key, ${str(key)})]`;
    conditions.push(sql`has(labels.key, ${str(key)})`);
  } else {
    dimension = ident(params.by as (typeof COLUMNS)[number], COLUMNS);
  }
  const rows = await deps.runner.rows<Row>(
    'breakdown',
    sql`SELECT ${dimension} AS value, count() AS runs, countIf(status IN ${FAILURE_STATUSES}) AS failures, countIf(status != 'running') AS finished
FROM runs FINAL WHERE ${allOf(conditions)}
GROUP BY value ORDER BY runs DESC, value ASC LIMIT ${num(params.limit + 1)}`,
    deps.signal,
  );
  return response(params, range, rows, 'runs', deps.nowMs - deps.ingestLagMs);
}

function response(params: BreakdownParams, range: { fromMs: number; toMs: number }, rows: Row[], source: BreakdownResponse['source'], completeUntilMs: number): BreakdownResponse {
  return {
    by: params.by,
    rows: rows.slice(0, params.limit).map((row) => ({ ...row, failure_rate: row.finished > 0 ? row.failures / row.finished : null })),
    truncated: rows.length > params.limit,
    from: Math.floor(range.fromMs / 1000),
    to: Math.floor(range.toMs / 1000),
    source,
    complete_until: Math.floor(Math.min(range.toMs, completeUntilMs) / 1000),
  };
}
