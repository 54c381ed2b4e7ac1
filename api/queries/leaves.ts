// GET /api/v1/leaves: the numeric leaves of the result files that occur in a window, as
// (file, path) pairs with how many runs carry each — what the Metrics page offers to chart.
import { z } from 'zod';
import { num, sql } from '../../clickhouse/sql.ts';
import type { QueryRunner } from '../clickhouse/query-runner.ts';
import { filterParams, intParam, rangeParams } from '../http/params.ts';
import { resolveRange } from '../http/range.ts';
import { allOf, filterConditions, startedWithin } from './run-window.ts';

export const leavesQuery = z.object({
  ...rangeParams,
  limit: intParam(1, 5000, 1000, 'How many leaves (most runs first).'),
  ...filterParams,
});
export type LeavesParams = z.output<typeof leavesQuery>;

export const leavesResponse = z.object({
  leaves: z.array(z.object({ file: z.string(), path: z.string(), runs: z.number().int() })).describe('Most runs first, then by file and path.'),
  truncated: z.boolean(),
});
export type LeavesResponse = z.infer<typeof leavesResponse>;

export async function leaves(params: LeavesParams, deps: { runner: QueryRunner; nowMs: number; signal?: AbortSignal }): Promise<LeavesResponse> {
  const range = resolveRange(params, deps.nowMs);
  const rows = await deps.runner.rows<{ file: string; path: string; runs: number }>(
    'leaves',
    sql`SELECT file, path, count() AS runs
FROM (SELECT metrics.file AS files, metrics.path AS paths FROM runs FINAL WHERE ${allOf([startedWithin(range), ...filterConditions(params)])})
ARRAY JOIN files AS file, paths AS path
GROUP BY file, path ORDER BY runs DESC, file ASC, path ASC LIMIT ${num(params.limit + 1)}`,
    deps.signal,
  );
  return { leaves: rows.slice(0, params.limit), truncated: rows.length > params.limit };
}
