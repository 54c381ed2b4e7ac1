// Runs a rule's SQL and turns its rows into observations: every column but `value` is a
// label, `value` is the number compared with the threshold. The client is the read-only
// `sql` user in production (readonly=1: no settings, no compression, its own limits),
// so the timeout is ours: abort the request, then KILL the query by its id (an aborted
// HTTP request leaves the query running on 18.16).
import { randomUUID } from 'node:crypto';
import type { ClickHouseClient } from '@clickhouse/client';
import { toClickHouseError } from '../../clickhouse/clickhouse-error.ts';
import type { Observation } from './alert-state.ts';
import { fingerprint } from './alert-state.ts';

/** One rule's query could not give an answer; the rule goes to `error`, others carry on. */
export class RuleQueryError extends Error {
  override readonly name = 'RuleQueryError';
  constructor(message: string, readonly reason: 'timeout' | 'clickhouse' | 'result', options?: { cause?: unknown }) {
    super(message, options);
  }
}

export const MAX_INSTANCES = 1_000;

export function renderRuleSql(sqlText: string, database: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(database)) throw new RuleQueryError(`database name "${database}" must be a plain identifier`, 'result');
  return sqlText.replace(/\{\{\s*database\s*\}\}/g, database);
}

export interface RuleQueryOptions {
  client: ClickHouseClient;
  sql: string;
  timeoutMs: number;
  /** Ends the server-side query after a timeout (by a user allowed to KILL). */
  killQuery: (queryId: string) => Promise<void>;
}

export async function runRuleQuery({ client, sql, timeoutMs, killQuery }: RuleQueryOptions): Promise<Observation[]> {
  const queryId = `runlens-alert-${randomUUID()}`;
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  let rows: unknown[];
  try {
    const result = await client.query({ query: sql, format: 'JSONEachRow', query_id: queryId, abort_signal: controller.signal });
    rows = await result.json<unknown>();
  } catch (error) {
    if (controller.signal.aborted) {
      killQuery(queryId).catch(() => {}); // best effort: max_execution_time of the sql user bounds it anyway
      throw new RuleQueryError(`the query did not finish within ${timeoutMs} ms`, 'timeout', { cause: error });
    }
    const failure = toClickHouseError(error, 'rule query');
    throw new RuleQueryError(failure.message, failure.code === null && failure.retriable ? 'timeout' : 'clickhouse', { cause: failure });
  } finally {
    clearTimeout(timer);
  }
  return toObservations(rows);
}

export function toObservations(rows: readonly unknown[]): Observation[] {
  if (rows.length > MAX_INSTANCES) throw new RuleQueryError(`the query returned ${rows.length} rows; at most ${MAX_INSTANCES} alert instances per rule`, 'result');
  const seen = new Set<string>();
  return rows.map((row, index) => {
    if (typeof row !== 'object' || row === null || !('value' in row)) {
      throw new RuleQueryError(`row ${index + 1} has no column named "value" (columns: ${Object.keys(row ?? {}).join(', ') || 'none'})`, 'result');
    }
    const labels: Record<string, string> = {};
    let value: number | null = null;
    for (const [column, cell] of Object.entries(row)) {
      if (column === 'value') {
        value = toNumber(cell, index);
        continue;
      }
      labels[column] = cell === null ? '' : typeof cell === 'string' ? cell : JSON.stringify(cell);
    }
    const fp = fingerprint(labels);
    if (seen.has(fp)) throw new RuleQueryError(`two rows have the same labels ${JSON.stringify(labels).slice(0, 200)}: group by every label column`, 'result');
    seen.add(fp);
    return { labels, value };
  });
}

/** null for NULL and NaN (0/0): no value, so the condition does not hold. */
function toNumber(cell: unknown, index: number): number | null {
  if (cell === null) return null;
  // UInt64/Int64 arrive quoted: the readonly user cannot ask for them unquoted.
  const value = typeof cell === 'number' ? cell : typeof cell === 'string' && cell.trim() !== '' ? Number(cell) : Number.NaN;
  if (typeof cell !== 'number' && typeof cell !== 'string') throw new RuleQueryError(`row ${index + 1}: "value" is not a number`, 'result');
  if (Number.isNaN(value)) {
    if (typeof cell === 'string' && !/^(nan|-?inf)$/i.test(cell)) throw new RuleQueryError(`row ${index + 1}: "value" is ${JSON.stringify(cell).slice(0, 50)}, not a number`, 'result');
    return null;
  }
  return Number.isFinite(value) ? value : null;
}

