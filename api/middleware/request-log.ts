// One JSON line per request, written after the response is ready.
import type { MiddlewareHandler } from 'hono';
import type { ApiEnv } from '../http/api-env.ts';

export function requestLog(log: (line: string) => void, clock: () => number): MiddlewareHandler<ApiEnv> {
  return async function requestLog(c, next) {
    const started = performance.now();
    await next();
    const status = c.res.status;
    log(JSON.stringify({
      time: new Date(clock()).toISOString(),
      level: status >= 500 ? 'error' : status >= 400 ? 'warn' : 'info',
      msg: 'request',
      method: c.req.method,
      // The path only: query strings may carry user text of any size.
      path: c.req.path.slice(0, 300),
      route: c.get('route') ?? 'unmatched',
      status,
      duration_ms: Math.round((performance.now() - started) * 10) / 10,
      role: c.get('role') ?? 'anonymous',
      ...(c.get('errorMessage') ? { error: c.get('errorMessage') } : {}),
    }));
  };
}
