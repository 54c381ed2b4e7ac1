// The API process: the only place that reads the environment, builds clients and serves.
// SIGTERM/SIGINT: stop accepting connections, let in-flight requests finish (bounded),
// then close the ClickHouse client.
import { serve } from '@hono/node-server';
import { createClickHouseClient } from '../clickhouse/clickhouse-client.ts';
import { createApp } from './app.ts';
import { parseApiConfig } from './config.ts';
import { MetricsRegistry } from './metrics/registry.ts';

const SHUTDOWN_GRACE_MS = 10_000;

const config = parseApiConfig(process.env);
const log = (line: string) => process.stdout.write(`${line}\n`);
const clickhouse = createClickHouseClient({
  url: config.clickhouse.url,
  username: config.clickhouse.api.username,
  password: config.clickhouse.api.password,
  database: config.clickhouse.database,
  // ClickHouse stops the query at max_execution_time; the HTTP call waits a little longer for that error.
  requestTimeoutMs: config.queryTimeoutMs + 5_000,
});
const metrics = new MetricsRegistry();
const { app } = createApp({ clickhouse, config, log, metrics });

const server = serve({ fetch: app.fetch, hostname: config.host, port: config.port }, (info) => {
  log(JSON.stringify({ level: 'info', msg: 'listening', host: info.address, port: info.port, auth: config.tokens ? 'on' : 'off' }));
});

let stopping = false;
function shutdown(signal: string) {
  if (stopping) return;
  stopping = true;
  log(JSON.stringify({ level: 'info', msg: 'stopping', signal }));
  const force = setTimeout(() => {
    log(JSON.stringify({ level: 'warn', msg: 'requests still open after the grace period; closing anyway' }));
    process.exit(1);
  }, SHUTDOWN_GRACE_MS);
  force.unref();
  server.close(async (error) => {
    await clickhouse.close();
    log(JSON.stringify({ level: 'info', msg: 'stopped' }));
    process.exit(error ? 1 : 0);
  });
  // Idle keep-alive sockets would hold close() open until they time out.
  if ('closeIdleConnections' in server) server.closeIdleConnections();
}
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));
