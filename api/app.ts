// Builds the API from its dependencies, so tests drive it with app.request() and
// api/index.ts is the only place that reads config or opens connections.
import type { ClickHouseClient } from '@clickhouse/client';
import { Hono, type MiddlewareHandler } from 'hono';
import { cors } from 'hono/cors';
import { secureHeaders } from 'hono/secure-headers';
import { createQueryRunner, type QueryRunner } from './clickhouse/query-runner.ts';
import type { ApiConfig } from './config.ts';
import type { ApiEnv } from './http/api-env.ts';
import { onError } from './http/on-error.ts';
import { MetricsRegistry } from './metrics/registry.ts';
import { requestLog } from './middleware/request-log.ts';
import { requestMetrics } from './middleware/request-metrics.ts';
import { requireRole } from './middleware/require-role.ts';
import { rawRunsSource } from './queries/timeseries-raw-source.ts';
import type { TimeseriesSource } from './queries/timeseries.ts';
import { ROUTES, type RouteDeps } from './routes.ts';

export interface AppDeps {
  clickhouse: ClickHouseClient;
  config: ApiConfig;
  clock?: () => number;
  log?: (line: string) => void;
  /** Shared with the rest of the process, so other parts can register gauges. */
  metrics?: MetricsRegistry;
  /** Tried in order; the raw `runs` source is always last, so every request has an answer. */
  timeseriesSources?: readonly TimeseriesSource[];
  kafkaCheck?: () => Promise<void>;
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
  const routeDeps: RouteDeps = {
    clickhouse: deps.clickhouse,
    runner,
    config: deps.config,
    clock,
    metrics,
    timeseriesSources: [...(deps.timeseriesSources ?? []), rawRunsSource],
    kafkaCheck: deps.kafkaCheck,
  };

  const app = new Hono<ApiEnv>();
  app.use('*', requestLog(log, clock), requestMetrics(metrics), secureHeaders());
  if (deps.config.corsOrigins.length > 0) {
    app.use('/api/*', cors({ origin: [...deps.config.corsOrigins], allowMethods: ['GET'], allowHeaders: ['Authorization'], maxAge: 600 }));
  }
  for (const route of ROUTES) {
    const access = route.role === 'public' ? allowAnyone : requireRole(route.role, deps.config.tokens);
    app.on(route.method, route.path, markRoute(route.path), access, (c) => route.handle(c, routeDeps));
  }
  app.notFound((c) => c.json({ error: { status: 404, message: 'no such route' } }, 404));
  app.onError(onError);
  return { app, runner, metrics };
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
