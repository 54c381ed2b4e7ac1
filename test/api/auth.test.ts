// Auth walks the route table: 401 without a token or with an unknown one, 403 below the
// route's role, through at and above it. openapi.json lists every route of the table.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../api/app.ts';
import { parseApiConfig } from '../../api/config.ts';
import { ROLES, roleAtLeast } from '../../api/auth/tokens.ts';
import { ROUTES, type RouteSpec } from '../../api/routes.ts';
import { createClickHouseClient } from '../../clickhouse/clickhouse-client.ts';
import { createApiFixture, runEvent, TOKENS, type ApiFixture } from './api-fixture.ts';

let fx: ApiFixture;
const DAY = '2026-06-01';

beforeAll(async () => {
  fx = await createApiFixture('api_auth');
  await fx.send([runEvent({ run_date: DAY, key: 'auth-1' })]);
  await fx.waitForRuns(1);
});

afterAll(async () => {
  await fx?.close();
});

/** The route's path with its parameters filled and the query it needs to be valid. */
const concrete = (path: string) => `${path.replace(':date', DAY).replace(':key', 'auth-1').replace(':name', 'r1').replace(':id', 's1')}${path === '/api/v1/breakdown' ? '?by=job' : ''}`;

/** A request the route accepts once authorised (a body where it takes one). */
const init = (route: RouteSpec, headers: Record<string, string>): RequestInit => ({
  method: route.method,
  headers: route.body ? { ...headers, 'Content-Type': 'application/json' } : headers,
  ...(route.path === '/api/v1/sql' ? { body: JSON.stringify({ query: 'SELECT 1' }) } : route.body ? { body: '{}' } : {}),
});

describe('auth', () => {
  it('declares a role for every route, and only /healthz, /livez and /metrics are public', () => {
    for (const route of ROUTES) expect([...ROLES, 'public']).toContain(route.role);
    expect(ROUTES.filter((route) => route.role === 'public').map((route) => route.path).sort()).toEqual(['/healthz', '/livez', '/metrics']);
  });

  it.each(ROUTES.filter((route) => route.role !== 'public').map((route) => [route.path, route]))('%s: 401 without a token or with an unknown one', async (_path, route) => {
    for (const authorization of [null, 'Bearer nope-not-a-token', 'Basic dXNlcjpwYXNz', `bearer${TOKENS.admin}`, `Bearer ${TOKENS.admin} extra`]) {
      const response = await fx.api.app.request(concrete(route.path), init(route, authorization ? { Authorization: authorization } : {}));
      expect(response.status, String(authorization)).toBe(401);
      expect(response.headers.get('www-authenticate')).toBe('Bearer');
    }
  });

  it.each(ROUTES.map((route) => [route.path, route]))('%s: 403 below its role, allowed at or above it', async (_path, route) => {
    for (const role of ROLES) {
      const { status } = await fx.get(concrete(route.path), role, init(route, {}));
      // Modules this fixture does not run (live, alerting, the SQL console) answer 503 once past auth.
      if (route.role === 'public' || roleAtLeast(role, route.role)) expect(status, role).toBe(route.requires ? 503 : 200);
      else expect(status, role).toBe(403);
    }
  });

  it('lets everyone in only when RUNLENS_API_AUTH=off is set explicitly', async () => {
    const config = parseApiConfig({ RUNLENS_API_AUTH: 'off', RUNLENS_CLICKHOUSE_URL: fx.pipeline.config.clickhouse.url, RUNLENS_CLICKHOUSE_DATABASE: fx.config.clickhouse.database });
    const clickhouse = createClickHouseClient({ url: config.clickhouse.url, ...fx.pipeline.config.clickhouse.admin, database: config.clickhouse.database });
    try {
      const { app } = createApp({ clickhouse, config, log: () => {} });
      expect((await app.request(`/api/v1/runs/${DAY}/auth-1`)).status).toBe(200);
    } finally {
      await clickhouse.close();
    }
  });
});

describe('GET /api/v1/openapi.json', () => {
  it('is OpenAPI 3.1 and describes every route with its parameters and role', async () => {
    const { status, body } = await fx.get('/api/v1/openapi.json', 'viewer');
    expect(status).toBe(200);
    expect(body.openapi).toBe('3.1.0');
    for (const route of ROUTES) {
      const operation = body.paths[route.path.replace(/:([a-z_]+)/g, '{$1}')]?.[route.method.toLowerCase()];
      expect(operation, `${route.method} ${route.path}`).toBeDefined();
      expect(operation['x-runlens-role']).toBe(route.role);
      const names = operation.parameters.map((parameter: { name: string }) => parameter.name).sort();
      const pathNames = route.params ? Object.keys(route.params.shape) : [...route.path.matchAll(/:([a-z_]+)/g)].map((match) => match[1]!);
      expect(names).toEqual([...Object.keys(route.query?.shape ?? {}), ...pathNames].sort());
      if (route.body) expect(operation.requestBody.content['application/json'].schema).toBeDefined();
    }
    expect(Object.keys(body.paths)).toHaveLength(new Set(ROUTES.map((route) => route.path)).size);
    const timeseries = body.paths['/api/v1/timeseries'].get;
    expect(timeseries.parameters.find((parameter: { name: string }) => parameter.name === 'label').schema.type).toBe('array');
    expect(timeseries.responses['200'].content['application/json'].schema.properties.series).toBeDefined();
  });
});

describe('HTTP hygiene', () => {
  it('sends security headers and no CORS headers by default', async () => {
    const response = await fx.api.app.request('/api/v1/jobs', { headers: { Authorization: `Bearer ${TOKENS.viewer}`, Origin: 'https://evil.example' } });
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('x-frame-options')).toBe('SAMEORIGIN');
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('answers unknown routes with a JSON 404', async () => {
    const { status, body } = await fx.get('/api/v1/nope');
    expect(status).toBe(404);
    expect(body.error.message).toBe('no such route');
  });
});
