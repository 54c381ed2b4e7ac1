// GET /api/v1/ingest-errors: what could not be ingested in a window (half-written or
// invalid run files, foreign messages), newest first, with the total for the window.
import { z } from 'zod';
import { num, sql } from '../../clickhouse/sql.ts';
import type { QueryRunner } from '../clickhouse/query-runner.ts';
import { intParam, rangeParams, type TimeRange } from '../http/params.ts';
import { resolveRange } from '../http/range.ts';

export const ingestErrorsQuery = z.object({
  ...rangeParams,
  limit: intParam(1, 1000, 100, 'How many errors (newest first).'),
});
export type IngestErrorsParams = z.output<typeof ingestErrorsQuery>;

export const ingestError = z.object({
  occurred_at_ms: z.number().int(),
  source: z.string(),
  origin: z.string(),
  run_date: z.string(),
  key: z.string(),
  file: z.string(),
  kind: z.string(),
  reason: z.string(),
});
export const ingestErrorsResponse = z.object({
  total: z.number().int().describe('Errors in the whole window.'),
  errors: z.array(ingestError),
  truncated: z.boolean(),
});
export type IngestErrorsResponse = z.infer<typeof ingestErrorsResponse>;

/** occurred_at is the partition key's source (toYYYYMM), so this prunes months. */
export function occurredWithin({ fromMs, toMs }: TimeRange) {
  return sql`occurred_at >= toDateTime(${num(Math.floor(fromMs / 1000))}) AND occurred_at < toDateTime(${num(Math.ceil(toMs / 1000))}) AND occurred_at_ms >= ${num(fromMs)} AND occurred_at_ms < ${num(toMs)}`;
}

export async function countIngestErrors(range: TimeRange, deps: { runner: QueryRunner; signal?: AbortSignal }): Promise<number> {
  const [row] = await deps.runner.rows<{ n: number }>('ingest_errors_count', sql`SELECT count() AS n FROM ingest_errors FINAL WHERE ${occurredWithin(range)}`, deps.signal);
  return row?.n ?? 0;
}

export async function ingestErrors(params: IngestErrorsParams, deps: { runner: QueryRunner; nowMs: number; signal?: AbortSignal }): Promise<IngestErrorsResponse> {
  const range = resolveRange(params, deps.nowMs);
  const [rows, total] = await Promise.all([
    deps.runner.rows<z.infer<typeof ingestError>>(
      'ingest_errors',
      sql`SELECT occurred_at_ms, source, origin, run_date, key, file, kind, reason
FROM ingest_errors FINAL WHERE ${occurredWithin(range)}
ORDER BY occurred_at_ms DESC, key ASC LIMIT ${num(params.limit + 1)}`,
      deps.signal,
    ),
    countIngestErrors(range, deps),
  ]);
  return { total, errors: rows.slice(0, params.limit), truncated: rows.length > params.limit };
}
