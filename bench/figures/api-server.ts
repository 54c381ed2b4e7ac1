// An API on a free port for the benchmark: the real createApp over a history database
// (as the admin user: the `api` user only sees `runlens`), auth off, with or without the
// rollup source — the "without" one is the raw `runs FINAL` baseline.
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { createApp } from '../../api/app.ts';
import { parseApiConfig } from '../../api/config.ts';
import { createClickHouseClient } from '../../clickhouse/clickhouse-client.ts';
import { localClickhouseUrl, localDefaults } from '../../stack/local-defaults.ts';

export interface BenchServer { url: string; close(): Promise<void> }

export async function serveApi(database: string, rollups: boolean, queryTimeoutMs = 60_000): Promise<BenchServer> {
  const config = parseApiConfig({ RUNLENS_CLICKHOUSE_DATABASE: database, RUNLENS_API_AUTH: 'off', RUNLENS_API_QUERY_TIMEOUT_MS: String(queryTimeoutMs), RUNLENS_DASHBOARD_DIR: '' });
  const { name, password } = localDefaults.users.admin;
  const clickhouse = createClickHouseClient({ url: localClickhouseUrl, username: name, password, database, requestTimeoutMs: queryTimeoutMs + 5_000 });
  const api = createApp({ clickhouse, config, log: () => {}, ...(rollups ? { rollups: { labelKeys: ['region', 'tier'], minuteRetentionDays: 35, dayTier: true } } : {}) });
  const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const s = serve({ fetch: api.app.fetch, hostname: '127.0.0.1', port: 0 }, () => resolve(s));
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await clickhouse.close();
    },
  };
}

/**
 * The overview question (issue #3: timeseries + top breakdown), asked in parallel as the
 * Overview page does: runs by status and duration percentiles (auto step), and the top jobs.
 */
export function overviewPaths(spanDays: number, nowS: number, step = 'auto'): string[] {
  const from = nowS - spanDays * 86_400;
  return [
    `/api/v1/timeseries?metric=runs&from=${from}&to=${nowS}&step=${step}`,
    `/api/v1/timeseries?metric=duration&from=${from}&to=${nowS}&step=${step}`,
    `/api/v1/breakdown?by=job&limit=10&from=${from}&to=${nowS}`,
  ];
}

export async function getJson(url: string): Promise<{ status: number; body: any }> {
  const response = await fetch(url);
  return { status: response.status, body: await response.json() };
}
