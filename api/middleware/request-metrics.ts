// Request counts and latency by route (the route-table path, never the raw URL, so the
// label set stays small).
import type { MiddlewareHandler } from 'hono';
import type { ApiEnv } from '../http/api-env.ts';
import type { MetricsRegistry } from '../metrics/registry.ts';

export function requestMetrics(metrics: MetricsRegistry): MiddlewareHandler<ApiEnv> {
  const requests = metrics.counter('runlens_api_requests_total', 'HTTP requests by method, route and status.');
  const latency = metrics.histogram('runlens_api_request_duration_seconds', 'HTTP request latency by method and route.');
  return async function requestMetrics(c, next) {
    const started = performance.now();
    await next();
    const route = c.get('route') ?? 'unmatched';
    requests.inc({ method: c.req.method, route, status: String(c.res.status) });
    latency.observe({ method: c.req.method, route }, (performance.now() - started) / 1000);
  };
}
