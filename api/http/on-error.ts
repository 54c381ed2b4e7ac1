// The one place errors become responses. Body: { "error": { "status", "message" } }.
// - HTTPException: our own 4xx (validation, auth, not found) with its message.
// - ClickHouse unreachable, timed out or overloaded: 503 with Retry-After.
// - A query cancelled because the client went away: 499 (nobody reads it).
// - Anything else is a bug on our side (user input only reaches SQL as escaped literals):
//   500 with a generic message; the detail goes to the log line.
import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { ClickHouseError } from '../../clickhouse/clickhouse-error.ts';
import { QueryAbortedError } from '../clickhouse/query-runner.ts';
import type { ApiEnv } from './api-env.ts';

/** Server codes that mean "this query is too heavy right now", not "the SQL is wrong". */
const OVERLOAD_CODES = new Set([158 /* too many rows */, 159 /* timeout */, 160 /* too slow */, 202 /* too many queries */, 241 /* memory */]);
export const RETRY_AFTER_SECONDS = 5;

export function onError(error: Error, c: Context<ApiEnv>): Response {
  if (error instanceof HTTPException) {
    if (error.status === 401) c.header('WWW-Authenticate', 'Bearer');
    // A module's own body (alerting: the rule file problems) goes out as it made it.
    if (error.res) return error.getResponse();
    return c.json({ error: { status: error.status, message: error.message } }, error.status);
  }
  if (error instanceof QueryAbortedError) {
    return c.json({ error: { status: 499, message: 'request aborted' } }, 499 as 400);
  }
  if (error instanceof ClickHouseError && (error.retriable || (error.code !== null && OVERLOAD_CODES.has(error.code)))) {
    c.set('errorMessage', error.message.slice(0, 500));
    c.header('Retry-After', String(RETRY_AFTER_SECONDS));
    const message = error.code === null
      ? 'ClickHouse is unreachable'
      : OVERLOAD_CODES.has(error.code)
        ? 'ClickHouse could not answer in time; narrow the range or retry'
        : 'ClickHouse is not ready (set-up or access problem); retry later';
    return c.json({ error: { status: 503, message } }, 503);
  }
  c.set('errorMessage', `${error.name}: ${error.message}`.slice(0, 1000));
  return c.json({ error: { status: 500, message: 'internal error' } }, 500);
}
