// GET /api/v1/breakdown: the top values of one dimension in a time window, with counts
// and failures, e.g. which jobs or hosts failed most.
import { z } from 'zod';
import { ident, num, sql, str, type SqlFragment } from '../../clickhouse/sql.ts';
import type { QueryRunner } from '../clickhouse/query-runner.ts';
import { badParameter } from '../http/api-error.ts';
import { filterParams, intParam, rangeParams } from '../http/params.ts';
import { resolveRange } from '../http/range.ts';
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
});
export type BreakdownResponse = z.infer<typeof breakdownResponse>;

interface Row { value: string; runs: number; failures: number; finished: number }

export async function breakdown(params: BreakdownParams, deps: { runner: QueryRunner; nowMs: number; signal?: AbortSignal }): Promise<BreakdownResponse> {
  const range = resolveRange(params, deps.nowMs);
  const conditions = [startedWithin(range), ...filterConditions(params)];
  let dimension: SqlFragment;
  if (params.by.startsWith('label:')) {
    const key = params.by.slice('label:'.length);
    if (key.length > 200) throw badParameter('by', 'the label key is longer than 200 characters');
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
  return {
    by: params.by,
    rows: rows.slice(0, params.limit).map((row) => ({ ...row, failure_rate: row.finished > 0 ? row.failures / row.finished : null })),
    truncated: rows.length > params.limit,
  };
}
