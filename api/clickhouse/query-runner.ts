// Runs the API's queries. Three jobs:
// - Coalescing: identical SQL text already in flight is not sent again; the newcomer
//   shares the running query's result. Nothing is kept after the query settles, so no
//   result can be served once newer data is visible to a fresh query.
// - Cancellation: every ClickHouse query gets its own query_id. Aborting the HTTP request
//   does not stop a query on the server (clickhouse-18.16.md §5), so when the last request
//   waiting on a query goes away we abort the HTTP call and send KILL QUERY for that id.
// - A deadline: ClickHouse stops a query at max_execution_time, but a hung or unreachable
//   server, or a request queued behind others for a free connection, would make the caller
//   wait for the HTTP timeout of every request ahead of it. Each flight therefore gives up
//   at its own deadline with a retriable error (503 + Retry-After), however busy the pool.
// - Timing: a histogram per query name, for /metrics.
import { randomUUID } from 'node:crypto';
import type { ClickHouseClient } from '@clickhouse/client';
import { ClickHouseError, toClickHouseError } from '../../clickhouse/clickhouse-error.ts';
import { sql, str, type SqlFragment } from '../../clickhouse/sql.ts';
import type { MetricsRegistry } from '../metrics/registry.ts';

export class QueryAbortedError extends Error {
  override readonly name = 'QueryAbortedError';
}

export interface QueryRunner {
  /** Rows of a SELECT as JSONEachRow objects; `name` labels metrics and logs. */
  rows<T>(name: string, query: SqlFragment, signal?: AbortSignal): Promise<T[]>;
  /** How many distinct queries are running now (for tests and a gauge). */
  readonly inFlight: number;
}

interface Flight {
  queryId: string;
  result: Promise<unknown[]>;
  controller: AbortController;
  waiters: number;
}

export interface QueryRunnerOptions {
  clickhouse: ClickHouseClient;
  timeoutMs: number;
  metrics: MetricsRegistry;
  log: (line: string) => void;
}

/** Past the server's own max_execution_time, how long the API waits for its answer. */
const DEADLINE_GRACE_MS = 2_000;

export function createQueryRunner({ clickhouse, timeoutMs, metrics, log }: QueryRunnerOptions): QueryRunner {
  const flights = new Map<string, Flight>();
  const duration = metrics.histogram('runlens_api_clickhouse_query_duration_seconds', 'ClickHouse query latency by API query name and outcome.');
  const coalesced = metrics.counter('runlens_api_clickhouse_queries_coalesced_total', 'Requests that shared an identical query already in flight.');
  metrics.registerGauge('runlens_api_clickhouse_queries_in_flight', 'Distinct ClickHouse queries running for the API.', () => flights.size);

  function start(name: string, text: string): Flight {
    const flight: Flight = {
      queryId: `runlens-api-${name}-${randomUUID()}`,
      controller: new AbortController(),
      result: Promise.resolve([]),
      waiters: 0,
    };
    const { queryId, controller } = flight;
    const started = performance.now();
    let overdue = false;
    const deadline = setTimeout(() => {
      overdue = true;
      controller.abort();
      void kill(flight);
    }, timeoutMs + DEADLINE_GRACE_MS);
    flight.result = (async () => {
      try {
        const response = await clickhouse.query({
          query: text,
          format: 'JSONEachRow',
          query_id: queryId,
          abort_signal: controller.signal,
          clickhouse_settings: {
            max_execution_time: Math.ceil(timeoutMs / 1000),
            output_format_json_quote_64bit_integers: 0,
            // Every query reads `runs FINAL`; a filter moved to PREWHERE would run before the
            // dedup and match replaced versions (measured with an explicit PREWHERE on 18.16).
            optimize_move_to_prewhere: 0,
          },
        });
        const rows = await response.json<unknown>();
        duration.observe({ query: name, outcome: 'ok' }, (performance.now() - started) / 1000);
        return rows;
      } catch (error) {
        const aborted = controller.signal.aborted;
        duration.observe({ query: name, outcome: overdue ? 'overdue' : aborted ? 'aborted' : 'error' }, (performance.now() - started) / 1000);
        if (overdue) throw new ClickHouseError(`query ${name}: ClickHouse did not answer within ${timeoutMs + DEADLINE_GRACE_MS} ms`, null, true);
        if (aborted) throw new QueryAbortedError(`query ${name} (${queryId}) was cancelled`);
        throw toClickHouseError(error, `query ${name}`);
      } finally {
        clearTimeout(deadline);
        // A killed flight was already removed, and an identical newer one may have taken its place.
        if (flights.get(text) === flight) flights.delete(text);
      }
    })();
    // Every waiter attaches its own handlers; this one only keeps an orphaned rejection quiet.
    flight.result.catch(() => {});
    return flight;
  }

  async function kill(flight: Flight): Promise<void> {
    if (!flight.controller.signal.aborted) flight.controller.abort();
    try {
      // Without SYNC the server only marks the query; it is gone within a moment.
      await clickhouse.command({ query: sql`KILL QUERY WHERE query_id = ${str(flight.queryId)}`.text });
    } catch (error) {
      // The query keeps running until max_execution_time; worth a line, not a failure.
      log(JSON.stringify({ level: 'warn', msg: 'kill query failed', query_id: flight.queryId, error: String(error) }));
    }
  }

  return {
    get inFlight() {
      return flights.size;
    },
    rows<T>(name: string, query: SqlFragment, signal?: AbortSignal): Promise<T[]> {
      if (signal?.aborted) return Promise.reject(new QueryAbortedError(`query ${name}: the request was already aborted`));
      let flight = flights.get(query.text);
      if (flight) coalesced.inc();
      else {
        flight = start(name, query.text);
        flights.set(query.text, flight);
      }
      const current = flight;
      current.waiters += 1;
      return new Promise<T[]>((resolve, reject) => {
        let left = false;
        const leave = () => {
          if (left) return;
          left = true;
          current.waiters -= 1;
          if (current.waiters === 0 && flights.get(query.text) === current) {
            flights.delete(query.text);
            void kill(current);
          }
          reject(new QueryAbortedError(`query ${name}: the request was aborted`));
        };
        signal?.addEventListener('abort', leave, { once: true });
        current.result.then(
          (rows) => {
            if (left) return;
            left = true;
            signal?.removeEventListener('abort', leave);
            resolve(rows as T[]);
          },
          (error: unknown) => {
            if (left) return;
            left = true;
            signal?.removeEventListener('abort', leave);
            reject(error);
          },
        );
      });
    },
  };
}
