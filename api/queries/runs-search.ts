// GET /api/v1/runs: find runs, newest (or longest) first, a page at a time.
//
// Keyset pagination: rows are ordered by (sort value, run_date, key), and the next page
// starts strictly after the last row's tuple. (run_date, key) is a run's identity, so the
// order is total: a walk sees every run once, and runs inserted meanwhile only appear on
// pages not yet read — never shift rows across a page boundary like OFFSET would.
// Duration sorts on whole milliseconds (floor), so the cursor's integer value is exact.
import { z } from 'zod';
import { date, likePrefix, num, sql, str, type SqlFragment } from '../../clickhouse/sql.ts';
import type { QueryRunner } from '../clickhouse/query-runner.ts';
import { DAY_MS, filterParams, intParam, rangeParams } from '../http/params.ts';
import { resolveRange } from '../http/range.ts';
import { decodeCursor, encodeCursor, ORDERS, SORTS, type RunCursor } from './run-cursor.ts';
import { RUN_SUMMARY_COLUMNS, runSummary, toRunSummary, type RunSummaryRow } from './run-fields.ts';
import { allOf, filterConditions, startedWithin } from './run-window.ts';

export const runsQuery = z.object({
  ...rangeParams,
  key_prefix: z.string().min(1).max(200, 'must be at most 200 characters').optional().meta({ description: 'Only runs whose key starts with this text.' }),
  ...filterParams,
  sort: z.enum(SORTS).optional().transform((value) => value ?? 'time').meta({ description: 'time (started_at, default) or duration.' }),
  order: z.enum(ORDERS).optional().transform((value) => value ?? 'desc').meta({ description: 'desc (default) or asc.' }),
  cursor: z.string().max(1000).optional().meta({ description: 'next_cursor of the previous page; the other parameters must stay the same.' }),
  limit: intParam(1, 500, 50, 'Runs per page.'),
});
export type RunsParams = z.output<typeof runsQuery>;

export const runsResponse = z.object({
  runs: z.array(runSummary),
  next_cursor: z.string().nullable().describe('Pass as cursor for the next page; null on the last page.'),
});
export type RunsResponse = z.infer<typeof runsResponse>;

type Row = RunSummaryRow & { sort_value: number };

export async function searchRuns(params: RunsParams, deps: { runner: QueryRunner; nowMs: number; signal?: AbortSignal }): Promise<RunsResponse> {
  const range = resolveRange(params, deps.nowMs, 7 * DAY_MS);
  const cursor = params.cursor === undefined ? null : decodeCursor(params.cursor, params);
  const conditions = [startedWithin(range), ...filterConditions(params)];
  if (params.key_prefix !== undefined) conditions.push(sql`key LIKE ${likePrefix(params.key_prefix)}`);
  // Running runs have no duration: -1 puts them last in a descending duration sort.
  const sortValue = params.sort === 'time' ? sql`started_at_ms` : sql`toInt64(ifNull(floor(duration_ms), -1))`;
  const direction = params.order === 'desc' ? sql`DESC` : sql`ASC`;
  if (cursor) conditions.push(after(sortValue, cursor));
  const rows = await deps.runner.rows<Row>(
    'runs_search',
    sql`SELECT ${RUN_SUMMARY_COLUMNS}, ${sortValue} AS sort_value
FROM runs FINAL WHERE ${allOf(conditions)}
ORDER BY sort_value ${direction}, run_date ${direction}, key ${direction}
LIMIT ${num(params.limit + 1)}`,
    deps.signal,
  );
  const page = rows.slice(0, params.limit);
  const last = page[page.length - 1];
  return {
    runs: page.map(toRunSummary),
    next_cursor: rows.length > params.limit && last
      ? encodeCursor({ sort: params.sort, order: params.order, value: last.sort_value, runDate: last.run_date, key: last.key })
      : null,
  };
}

/** Rows strictly after the cursor in the page order (WHERE applies after FINAL's dedup). */
function after(sortValue: SqlFragment, cursor: RunCursor): SqlFragment {
  const position = sql`(${num(cursor.value)}, ${date(cursor.runDate)}, ${str(cursor.key)})`;
  return cursor.order === 'desc' ? sql`(${sortValue}, run_date, key) < ${position}` : sql`(${sortValue}, run_date, key) > ${position}`;
}
