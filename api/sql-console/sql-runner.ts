// Runs one console statement as the read-only `sql` ClickHouse user and returns columns,
// the first rows (capped) and timing. The client for that user sends no settings and no
// compression (readonly=1 refuses both); the user's profile holds the limits.
import { randomUUID } from 'node:crypto';
import type { ClickHouseClient } from '@clickhouse/client';
import { HTTPException } from 'hono/http-exception';
import { z } from 'zod';
import { ClickHouseError, toClickHouseError } from '../../clickhouse/clickhouse-error.ts';
import { QueryAbortedError } from '../clickhouse/query-runner.ts';
import { checkStatement, MAX_QUERY_CHARS } from './statement.ts';
import { convertCell, isNumericType, splitTsvLine, type Cell } from './tsv.ts';

export const sqlRequest = z.object({
  query: z.string().min(1, 'must not be empty').max(MAX_QUERY_CHARS, `must be at most ${MAX_QUERY_CHARS} characters`).meta({ description: 'One read statement (SELECT, WITH, SHOW, DESCRIBE, EXISTS, EXPLAIN), without FORMAT or SETTINGS.' }),
});

export const sqlResponse = z.object({
  columns: z.array(z.object({ name: z.string(), type: z.string(), numeric: z.boolean() })),
  rows: z.array(z.array(z.union([z.string(), z.number(), z.null()]))).describe('Row-major; numbers as numbers, NULL as null.'),
  row_count: z.number().int().describe('Rows returned here.'),
  truncated: z.boolean().describe('True when the query produced more rows than the console returns.'),
  elapsed_ms: z.number(),
  limits: z.object({ max_rows_returned: z.number().int() }),
});
export type SqlResponse = z.infer<typeof sqlResponse>;

export interface SqlRunnerDeps {
  clickhouse: ClickHouseClient;
  maxRows: number;
  signal?: AbortSignal;
}

export async function runConsoleQuery(query: string, deps: SqlRunnerDeps): Promise<SqlResponse> {
  const statement = checkStatement(query);
  return executeStatement(statement.text, deps);
}

/** Below the statement check: what ClickHouse itself says (the tests prove the sql user refuses writes here). */
export async function executeStatement(text: string, deps: SqlRunnerDeps): Promise<SqlResponse> {
  const controller = new AbortController();
  const onAbort = () => controller.abort();
  deps.signal?.addEventListener('abort', onAbort, { once: true });
  const started = performance.now();
  const columns: SqlResponse['columns'] = [];
  const rows: Cell[][] = [];
  let names: Array<string | null> | null = null;
  let truncated = false;
  try {
    const result = await deps.clickhouse.query({ query: text, format: 'TabSeparatedWithNamesAndTypes', query_id: `runlens-sql-${randomUUID()}`, abort_signal: controller.signal });
    const stream = result.stream();
    reading: for await (const chunk of stream) {
      for (const row of chunk as Array<{ text: string }>) {
        const cells = splitTsvLine(row.text);
        if (names === null) {
          names = cells;
          continue;
        }
        if (columns.length === 0) {
          cells.forEach((type, index) => columns.push({ name: names![index] ?? `c${index}`, type: type ?? '', numeric: isNumericType(type ?? '') }));
          continue;
        }
        if (rows.length === deps.maxRows) {
          truncated = true;
          break reading;
        }
        rows.push(cells.map((cell, index) => convertCell(cell, columns[index]?.numeric ?? false)));
      }
    }
    if (truncated) {
      // Stop the download; the server notices the closed connection at its next block.
      stream.destroy();
      controller.abort();
    }
  } catch (error) {
    if (deps.signal?.aborted) throw new QueryAbortedError('the SQL console request was aborted');
    if (!truncated) throw consoleError(toClickHouseError(error, 'sql console'));
  } finally {
    deps.signal?.removeEventListener('abort', onAbort);
  }
  return { columns, rows, row_count: rows.length, truncated, elapsed_ms: Math.round((performance.now() - started) * 10) / 10, limits: { max_rows_returned: deps.maxRows } };
}

/** ClickHouse's "Code: N, e.displayText() = DB::Exception: …" down to the sentence a person needs. */
export function serverMessage(error: ClickHouseError): string {
  const text = error.message.replace(/^sql console: /, '');
  const display = /e\.displayText\(\) = (?:DB::Exception: )?(.*?)(?:, e\.what\(\) = .*)?$/s.exec(text)?.[1] ?? text.replace(/^Code: \d+,?\s*/, '');
  return display.replace(/\s*\(version [^)]*\)\s*$/, '').trim().slice(0, 1000);
}

/** Query problems are the user's (4xx, with ClickHouse's words); an unreachable server stays a 503 (on-error.ts). */
export function consoleError(error: ClickHouseError): Error {
  if (error.code === null) return error;
  const detail = serverMessage(error);
  switch (error.code) {
    case 164: // READONLY
      return new HTTPException(400, { message: `read-only: ${detail}` });
    case 62: // SYNTAX_ERROR
      return new HTTPException(400, { message: `syntax error: ${detail}` });
    case 159: // TIMEOUT_EXCEEDED
    case 160: // TOO_SLOW
      return new HTTPException(400, { message: `limit: the query ran longer than the console allows (max_execution_time): ${detail}` });
    case 158: // TOO_MANY_ROWS
    case 396: // TOO_MANY_ROWS_OR_BYTES
      return new HTTPException(400, { message: `limit: the result is larger than the console allows (max_result_rows); add a LIMIT or aggregate: ${detail}` });
    case 241: // MEMORY_LIMIT_EXCEEDED
      return new HTTPException(400, { message: `limit: the query needs more memory than the console allows: ${detail}` });
    case 201: // QUOTA_EXPIRED
    case 202: // TOO_MANY_SIMULTANEOUS_QUERIES
      return new HTTPException(429, { message: `limit: ${detail}` });
    case 516: // AUTHENTICATION_FAILED
    case 192: case 193: case 194: // unknown user, wrong password, required password
      return error;
    case 291: // DATABASE_ACCESS_DENIED
    case 497: // ACCESS_DENIED
      return new HTTPException(403, { message: `access denied: ${detail}` });
    default:
      return new HTTPException(400, { message: detail });
  }
}
