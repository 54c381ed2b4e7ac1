// The query runner and the error mapper against the real server: identical concurrent
// queries run once, an aborted request's query is killed on the server, and an
// unreachable ClickHouse is a 503 with Retry-After, never a 500.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../api/app.ts';
import { createQueryRunner, QueryAbortedError } from '../../api/clickhouse/query-runner.ts';
import { parseApiConfig } from '../../api/config.ts';
import { MetricsRegistry } from '../../api/metrics/registry.ts';
import { createClickHouseClient, type ClickHouseClient } from '../../clickhouse/clickhouse-client.ts';
import { sql } from '../../clickhouse/sql.ts';
import { localClickhouseUrl, localDefaults } from '../../stack/local-defaults.ts';
import { pollUntil } from '../support/poll.ts';
import { TOKENS } from './api-fixture.ts';

let clickhouse: ClickHouseClient;

beforeAll(() => {
  clickhouse = createClickHouseClient({ url: localClickhouseUrl, username: localDefaults.users.admin.name, password: localDefaults.users.admin.password });
});

afterAll(async () => {
  await clickhouse?.close();
});

async function running(prefix: string): Promise<number> {
  const result = await clickhouse.query({ query: `SELECT count() AS n FROM system.processes WHERE startsWith(query_id, '${prefix}')`, format: 'JSONEachRow', clickhouse_settings: { output_format_json_quote_64bit_integers: 0 } });
  return ((await result.json<{ n: number }>())[0]?.n) ?? 0;
}

describe('the query runner', () => {
  it('sends identical concurrent queries once and gives every caller the rows', async () => {
    let sent = 0;
    const counting = new Proxy(clickhouse, {
      get(target, property, receiver) {
        if (property === 'query') return (...args: Parameters<ClickHouseClient['query']>) => { sent += 1; return target.query(...args); };
        return Reflect.get(target, property, receiver);
      },
    });
    const runner = createQueryRunner({ clickhouse: counting, timeoutMs: 10_000, metrics: new MetricsRegistry(), log: () => {} });
    const text = sql`SELECT sleepEachRow(0.2) AS s, number AS n FROM system.numbers LIMIT 3`;
    const results = await Promise.all([1, 2, 3, 4].map(() => runner.rows<{ n: number }>('coalesce', text)));
    expect(sent).toBe(1);
    for (const rows of results) expect(rows.map((row) => row.n)).toEqual([0, 1, 2]);
    // Nothing is kept once it settled: the next identical query runs afresh.
    await runner.rows('coalesce', text);
    expect(sent).toBe(2);
  });

  it('kills the server-side query when the only waiting request aborts', async () => {
    const runner = createQueryRunner({ clickhouse, timeoutMs: 30_000, metrics: new MetricsRegistry(), log: () => {} });
    const controller = new AbortController();
    const pending = runner.rows('slow', sql`SELECT count() FROM system.numbers WHERE NOT ignore(sipHash64(number))`, controller.signal);
    await pollUntil(() => running('runlens-api-slow-'), (n) => n === 1, { what: 'the slow query to start' });
    controller.abort();
    await expect(pending).rejects.toBeInstanceOf(QueryAbortedError);
    await pollUntil(() => running('runlens-api-slow-'), (n) => n === 0, { what: 'the slow query to be killed', timeoutMs: 10_000 });
  });

  it('keeps a shared query running while another request still waits for it', async () => {
    const runner = createQueryRunner({ clickhouse, timeoutMs: 30_000, metrics: new MetricsRegistry(), log: () => {} });
    const text = sql`SELECT sleepEachRow(0.5) AS s FROM system.numbers LIMIT 2`;
    const leaving = new AbortController();
    const first = runner.rows('shared', text, leaving.signal);
    const second = runner.rows('shared', text);
    leaving.abort();
    await expect(first).rejects.toBeInstanceOf(QueryAbortedError);
    await expect(second).resolves.toHaveLength(2);
  });
});

describe('when ClickHouse is unreachable', () => {
  const config = parseApiConfig({ RUNLENS_CLICKHOUSE_URL: 'http://127.0.0.1:1', RUNLENS_API_TOKENS: `viewer:${TOKENS.viewer}` });
  const dead = createClickHouseClient({ url: config.clickhouse.url, username: 'x', password: 'y', requestTimeoutMs: 2000 });
  const { app } = createApp({ clickhouse: dead, config, log: () => {} });

  it('answers queries with 503 and Retry-After', async () => {
    const response = await app.request('/api/v1/jobs', { headers: { Authorization: `Bearer ${TOKENS.viewer}` } });
    expect(response.status).toBe(503);
    expect(response.headers.get('retry-after')).toBe('5');
    expect(((await response.json()) as { error: { message: string } }).error.message).toBe('ClickHouse is unreachable');
  });

  it('reports ClickHouse down on /healthz with 503', async () => {
    const response = await app.request('/healthz');
    expect(response.status).toBe(503);
    const body = (await response.json()) as { status: string; checks: Record<string, { ok: boolean }> };
    expect(body.status).toBe('unavailable');
    expect(body.checks.clickhouse_query!.ok).toBe(false);
  });

  it('still answers /livez with 200: the process is alive, only its dependency is not', async () => {
    const response = await app.request('/livez');
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ok' });
  });

  it('says Kafka is down as degraded, not unavailable', async () => {
    const healthy = createApp({
      clickhouse,
      config,
      log: () => {},
      kafkaCheck: async () => { throw new Error('broker down'); },
    });
    const response = await healthy.app.request('/healthz');
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ status: 'degraded', checks: { kafka: { ok: false, error: 'broker down' } } });
  });
});
