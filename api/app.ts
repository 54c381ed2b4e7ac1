// Builds the API from its dependencies, so tests drive it with app.request() and
// api/index.ts is the only place that reads config or opens connections.
import type { ClickHouseClient } from '@clickhouse/client';
import { Hono, type MiddlewareHandler } from 'hono';
import { cors } from 'hono/cors';
import { secureHeaders } from 'hono/secure-headers';
import { alertingRoutes, type Alerting } from './alerting/index.ts';
import { createQueryRunner, type QueryRunner } from './clickhouse/query-runner.ts';
import type { ApiConfig } from './config.ts';
import type { ApiEnv } from './http/api-env.ts';
import { onError } from './http/on-error.ts';
import { liveRoutes, type LiveHub } from './live/index.ts';
import { MetricsRegistry } from './metrics/registry.ts';
import { requestLog } from './middleware/request-log.ts';
import { requestMetrics } from './middleware/request-metrics.ts';
import { requireRole } from './middleware/require-role.ts';
import { createRollups, type RollupSettings } from './queries/rollup-plan.ts';
import { rawRunsSource } from './queries/timeseries-raw-source.ts';
import { rollupTimeseriesSource } from './queries/timeseries-rollup-source.ts';
import type { TimeseriesSource } from './queries/timeseries.ts';
import { ROUTES, type RouteDeps } from './routes.ts';
import { createRateLimiter } from './sql-console/rate-limit.ts';
import type { DashboardFile } from './static/dashboard-files.ts';
import { serveDashboard } from './static/serve-dashboard.ts';

export interface AppDeps {
  clickhouse: ClickHouseClient;
  config: ApiConfig;
  clock?: () => number;
  log?: (line: string) => void;
  /** Shared with the rest of the process, so other parts can register gauges. */
  metrics?: MetricsRegistry;
  /** Tried in order, after the rollup source; the raw `runs` source is always last, so every request has an answer. */
  timeseriesSources?: readonly TimeseriesSource[];
  /**
   * Read the rollup tables where they answer exactly (timeseries, jobs, breakdown,
   * job-series); absent: everything reads `runs` (tests whose data has no rollups).
   */
  rollups?: RollupSettings;
  kafkaCheck?: () => Promise<void>;
  /** The read-only `sql` user's client for POST /api/v1/sql; absent: the console answers 503. */
  sqlClickhouse?: ClickHouseClient;
  /** The live hub (GET /api/v1/live…); absent: those routes answer 503. */
  liveHub?: LiveHub;
  /** The alerting module (/api/v1/alerts…); absent: those routes answer 503. */
  alerting?: Alerting;
  /** The built dashboard, served at `/` (api/static/dashboard-files.ts); absent: no dashboard. */
  dashboard?: ReadonlyMap<string, DashboardFile>;
}

export interface Api {
  app: Hono<ApiEnv>;
  runner: QueryRunner;
  metrics: MetricsRegistry;
}

export function createApp(deps: AppDeps): Api {
  const clock = deps.clock ?? Date.now;
  const log = deps.log ?? ((line: string) => process.stdout.write(`${line}\n`));
  const metrics = deps.metrics ?? new MetricsRegistry();
  const runner = createQueryRunner({ clickhouse: deps.clickhouse, timeoutMs: deps.config.queryTimeoutMs, metrics, log });
  const hub = deps.liveHub;
  const rollups = deps.rollups ? createRollups(deps.rollups, runner, clock) : null;
  const routeDeps: RouteDeps = {
    clickhouse: deps.clickhouse,
    runner,
    config: deps.config,
    clock,
    metrics,
    timeseriesSources: [...(rollups ? [rollupTimeseriesSource(rollups)] : []), ...(deps.timeseriesSources ?? []), rawRunsSource],
    rollups,
    kafkaCheck: deps.kafkaCheck,
    sqlClickhouse: deps.sqlClickhouse ?? null,
    sqlLimiter: createRateLimiter(deps.config.sqlConsole.ratePerMinute),
    live: hub ? liveRoutes(hub) : null,
    alerts: deps.alerting ? alertsApp(deps.alerting, deps.config, clock) : null,
    kafkaPositions: hub ? async () => ({ head: hub.head(), committed: await hub.watermark() }) : undefined,
  };

  const app = new Hono<ApiEnv>();
  app.use('*', requestLog(log, clock), requestMetrics(metrics), secureHeaders());
  if (deps.config.corsOrigins.length > 0) {
    app.use('/api/*', cors({ origin: [...deps.config.corsOrigins], allowMethods: ['GET', 'POST', 'PUT', 'DELETE'], allowHeaders: ['Authorization', 'Content-Type', 'Last-Event-ID'], maxAge: 600 }));
  }
  for (const route of ROUTES) {
    const access = route.role === 'public' ? allowAnyone : requireRole(route.role, deps.config.tokens);
    app.on(route.method, route.path, markRoute(route.path), access, (c) => route.handle(c, routeDeps));
  }
  if (deps.dashboard) {
    const dashboard = serveDashboard(deps.dashboard);
    app.use('*', async function dashboardFiles(c, next) {
      if (c.req.path.startsWith('/api/')) return next();
      c.set('route', '/(dashboard)');
      return dashboard(c, next);
    });
  }
  app.notFound((c) => c.json({ error: { status: 404, message: 'no such route' } }, 404));
  app.onError(onError);
  return { app, runner, metrics };
}

/** The alerting sub-app under its full path, with this API's tokens and error bodies. */
function alertsApp(alerting: Alerting, config: ApiConfig, clock: () => number): Hono {
  const app = new Hono<ApiEnv>();
  app.route('/api/v1/alerts', alertingRoutes(alerting, { requireRole: (role) => requireRole(role, config.tokens) as MiddlewareHandler, clock }));
  app.onError(onError);
  return app as unknown as Hono;
}

/** Labels metrics and logs with the route-table path. */
function markRoute(path: string): MiddlewareHandler<ApiEnv> {
  return async function markRoute(c, next) {
    c.set('route', path);
    await next();
  };
}

const allowAnyone: MiddlewareHandler<ApiEnv> = async function allowAnyone(c, next) {
  c.set('role', 'anonymous');
  await next();
};
