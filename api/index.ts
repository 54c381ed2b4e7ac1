// The API process: the only place that builds clients and wires the parts together —
// query API, live hub (its own Kafka reader), alerting, SQL console, dashboard files.
// `startApi` is what `runlens api` runs; run directly (`tsx api/index.ts`), this file reads
// the environment and stops on SIGTERM/SIGINT.
//
// Stopping: the live hub first (clients get `cutoff` and reconnect to another instance),
// then alerting (hands leadership over), then the server stops accepting connections and
// in-flight requests finish (bounded), then the ClickHouse clients close.
import { serve, type ServerType } from '@hono/node-server';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import { createClickHouseClient, type ClickHouseClient } from '../clickhouse/clickhouse-client.ts';
import { createKafka } from '../ingest/kafka/index.ts';
import { createAlerting, type Alerting } from './alerting/index.ts';
import { createApp, type Api } from './app.ts';
import { ApiConfigError, parseApiConfig, type ApiConfig } from './config.ts';
import { createLiveHub, registerLiveMetrics, type LiveHub } from './live/index.ts';
import { MetricsRegistry } from './metrics/registry.ts';
import type { RollupSettings } from './queries/rollup-plan.ts';
import { loadDashboardFiles } from './static/dashboard-files.ts';

const SHUTDOWN_GRACE_MS = 10_000;

export interface RunningApi {
  /** http://host:port, with the port actually bound (config port 0 picks a free one). */
  url: string;
  port: number;
  api: Api;
  liveHub: LiveHub | null;
  alerting: Alerting;
  /** Resolves once everything is closed. Safe to call twice. */
  stop(): Promise<void>;
}

export interface StartApiOptions {
  log: (line: string) => void;
  /** Aborting it stops the API (as stop() does). */
  signal?: AbortSignal;
  clock?: () => number;
}

export async function startApi(config: ApiConfig, { log, signal, clock }: StartApiOptions): Promise<RunningApi> {
  if (config.alerting.enabled && config.alerting.devSecret && !config.loopback) {
    throw new ApiConfigError(`RUNLENS_ALERT_WEBHOOK_SECRET: must be set when RUNLENS_API_HOST=${JSON.stringify(config.host)} is not loopback (the dev secret is for the local stack only)`);
  }
  const conn = { url: config.clickhouse.url, database: config.clickhouse.database };
  // ClickHouse stops the query at max_execution_time; the HTTP call waits a little longer for that error.
  const clickhouse = createClickHouseClient({ ...conn, ...config.clickhouse.api, requestTimeoutMs: config.queryTimeoutMs + 5_000 });
  // The read-only `sql` user: SQL console and alert rules. readonly=1 refuses any setting
  // and compressed responses; createClickHouseClient sends neither.
  const sqlClickhouse = createClickHouseClient({ ...conn, ...config.clickhouse.sql, requestTimeoutMs: 60_000 });
  const alertWriter = createClickHouseClient({ ...conn, ...config.alerting.writer });
  const clients: ClickHouseClient[] = [clickhouse, sqlClickhouse, alertWriter];
  const metrics = new MetricsRegistry();

  let liveHub: LiveHub | null = null;
  if (config.live) {
    const hub = createLiveHub({ kafka: createKafka({ brokers: [...config.kafka.brokers], clientId: 'runlens-api-live' }), topic: config.kafka.topic, sinkGroup: config.kafka.sinkGroup, log });
    try {
      await hub.start();
      registerLiveMetrics(metrics, hub);
      liveHub = hub;
    } catch (error) {
      // The queries do not need Kafka: serve them, and say why live updates are missing.
      log(JSON.stringify({ level: 'warn', msg: 'live updates disabled: the hub could not start', error: String(error).slice(0, 500) }));
      await hub.stop().catch(() => {});
    }
  }

  const alerting = createAlerting({
    config: config.alerting,
    database: config.clickhouse.database,
    ruleClient: sqlClickhouse,
    writer: alertWriter,
    reader: clickhouse,
    kafka: createKafka({ brokers: [...config.alerting.leader.brokers], clientId: 'runlens-api-alerting' }),
    log,
    ...(clock ? { clock } : {}),
  });
  // RUNLENS_ALERTING=0: this instance only serves /api/v1/alerts from ClickHouse.
  if (config.alerting.enabled) await alerting.start();

  const rollups = config.rollups ? await rollupSettings(clickhouse, config.rollups, log) : null;
  const dashboard = loadDashboardFiles(config.dashboardDir);
  if (config.dashboardDir !== '' && dashboard.size === 0) log(JSON.stringify({ level: 'warn', msg: 'dashboard not built; / explains how', dir: config.dashboardDir }));
  const api = createApp({ clickhouse, config, log, metrics, sqlClickhouse, alerting, dashboard, ...(rollups ? { rollups } : {}), ...(liveHub ? { liveHub } : {}), ...(clock ? { clock } : {}) });

  const server: ServerType = await new Promise((resolve, reject) => {
    const s = serve({ fetch: api.app.fetch, hostname: config.host, port: config.port }, () => resolve(s));
    s.once('error', reject);
  });
  const port = (server.address() as AddressInfo).port;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  log(JSON.stringify({ level: 'info', msg: 'listening', host: config.host, port, auth: config.tokens ? 'on' : 'off', live: liveHub !== null, alerting: config.alerting.enabled, dashboard: dashboard.size > 0 }));

  let stopping: Promise<void> | null = null;
  const stop = () => {
    stopping ??= (async () => {
      log(JSON.stringify({ level: 'info', msg: 'stopping' }));
      await liveHub?.stop().catch((error: unknown) => log(JSON.stringify({ level: 'warn', msg: 'live hub stop failed', error: String(error) })));
      await alerting.stop().catch((error: unknown) => log(JSON.stringify({ level: 'warn', msg: 'alerting stop failed', error: String(error) })));
      await new Promise<void>((resolve) => {
        const force = setTimeout(() => {
          log(JSON.stringify({ level: 'warn', msg: 'requests still open after the grace period; closing them' }));
          if ('closeAllConnections' in server) server.closeAllConnections();
        }, SHUTDOWN_GRACE_MS);
        force.unref();
        server.close(() => {
          clearTimeout(force);
          resolve();
        });
        // Idle keep-alive sockets would hold close() open until they time out.
        if ('closeIdleConnections' in server) server.closeIdleConnections();
      });
      await Promise.all(clients.map((client) => client.close().catch(() => {})));
      log(JSON.stringify({ level: 'info', msg: 'stopped' }));
    })();
    return stopping;
  };
  signal?.addEventListener('abort', () => void stop(), { once: true });
  return { url: `http://${host}:${port}`, port, api, liveHub, alerting, stop };
}

/**
 * The rollups' hour and day buckets are the server's toStartOfHour/toStartOfDay; the API's
 * buckets are UTC. Summing them into the API's buckets is exact only when they line up:
 * without aligned hours the rollups are not read at all, without aligned days the day tier
 * is skipped (hours are summed instead). ClickHouse unreachable at start: no rollups
 * (the queries still answer from `runs`), said in the log.
 */
async function rollupSettings(clickhouse: ClickHouseClient, rollups: NonNullable<ApiConfig['rollups']>, log: (line: string) => void): Promise<RollupSettings | null> {
  const probe = 1_700_000_000 + 12_345; // an instant inside an hour and a day
  try {
    const rows = await (await clickhouse.query({
      query: `SELECT toUInt32(toStartOfHour(toDateTime(${probe}))) AS h, toUInt32(toStartOfDay(toDateTime(${probe}))) AS d, timezone() AS tz`,
      format: 'JSONEachRow',
    })).json<{ h: number; d: number; tz: string }>();
    const row = rows[0];
    const hourAligned = row !== undefined && Number(row.h) === probe - (probe % 3600);
    const dayAligned = row !== undefined && Number(row.d) === probe - (probe % 86_400);
    if (!hourAligned) {
      log(JSON.stringify({ level: 'warn', msg: 'rollups not read: the server time zone does not start hours on UTC hours', tz: row?.tz }));
      return null;
    }
    if (!dayAligned) log(JSON.stringify({ level: 'info', msg: 'rollups: day tier not read (the server day does not start at UTC midnight); hours are summed instead', tz: row?.tz }));
    return { labelKeys: rollups.labelKeys, minuteRetentionDays: rollups.minuteRetentionDays, dayTier: dayAligned };
  } catch (error) {
    log(JSON.stringify({ level: 'warn', msg: 'rollups not read: could not ask ClickHouse for its time zone', error: String(error).slice(0, 300) }));
    return null;
  }
}

async function main(): Promise<void> {
  const config = parseApiConfig(process.env);
  const log = (line: string) => process.stdout.write(`${line}\n`);
  const controller = new AbortController();
  const running = await startApi(config, { log, signal: controller.signal });
  const shutdown = () => {
    if (controller.signal.aborted) process.exit(130);
    controller.abort();
    void running.stop().then(() => process.exit(0), () => process.exit(1));
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error: unknown) => {
    process.stderr.write(`runlens api: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}
