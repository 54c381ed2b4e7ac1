// The dashboard on the API's port: files with their types, gzip when asked, a year of
// caching for hashed assets, index.html (revalidated) for every app route, and the API's
// own routes and 404s untouched.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type Api } from '../../api/app.ts';
import { parseApiConfig } from '../../api/config.ts';
import { loadDashboardFiles } from '../../api/static/dashboard-files.ts';
import { createClickHouseClient, type ClickHouseClient } from '../../clickhouse/clickhouse-client.ts';

let dir: string;
let api: Api;
let clickhouse: ClickHouseClient;
const script = `console.log(${JSON.stringify('x'.repeat(4000))});`;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'runlens-static-'));
  mkdirSync(join(dir, 'assets'));
  writeFileSync(join(dir, 'index.html'), '<!doctype html><div id="app"></div><script type="module" src="/assets/index-abc123.js"></script>');
  writeFileSync(join(dir, 'assets', 'index-abc123.js'), script);
  const config = parseApiConfig({ RUNLENS_API_TOKENS: 'viewer:viewer-token-1' });
  clickhouse = createClickHouseClient({ url: config.clickhouse.url, ...config.clickhouse.api });
  api = createApp({ clickhouse, config, log: () => {}, dashboard: loadDashboardFiles(dir) });
});

afterAll(async () => {
  await clickhouse?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('the dashboard files', () => {
  it('serves index.html at / and for every app route, revalidated each time, with a CSP', async () => {
    for (const path of ['/', '/runs?job=x&run=2026-11-21/k', '/leaves', '/sql']) {
      const response = await api.app.request(path);
      expect(response.status, path).toBe(200);
      expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(response.headers.get('cache-control')).toBe('no-cache');
      expect(response.headers.get('content-security-policy')).toContain("script-src 'self'");
      expect(await response.text()).toContain('<div id="app">');
    }
  });

  it('caches hashed assets for a year and gzips them when the browser accepts it', async () => {
    const plain = await api.app.request('/assets/index-abc123.js');
    expect(plain.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(plain.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(await plain.text()).toBe(script);
    const gzipped = await api.app.request('/assets/index-abc123.js', { headers: { 'Accept-Encoding': 'gzip, br' } });
    expect(gzipped.headers.get('content-encoding')).toBe('gzip');
    expect(Number(gzipped.headers.get('content-length'))).toBeLessThan(script.length / 10);
    const etag = plain.headers.get('etag')!;
    expect((await api.app.request('/assets/index-abc123.js', { headers: { 'If-None-Match': etag } })).status).toBe(304);
  });

  it('answers 404 for a missing asset rather than the app', async () => {
    expect((await api.app.request('/assets/index-old999.js')).status).toBe(404);
    expect((await api.app.request('/favicon.png')).status).toBe(404);
  });

  it('leaves the API alone: its routes, auth and JSON 404s', async () => {
    const missing = await api.app.request('/api/v1/nope');
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ error: { status: 404, message: 'no such route' } });
    expect((await api.app.request('/api/v1/jobs')).status).toBe(401);
    expect((await api.app.request('/metrics')).headers.get('content-type')).toContain('text/plain');
  });

  it('explains how to build the dashboard when there is none', async () => {
    const config = parseApiConfig({ RUNLENS_API_TOKENS: 'viewer:viewer-token-1' });
    const bare = createApp({ clickhouse, config, log: () => {}, dashboard: loadDashboardFiles(join(dir, 'missing')) });
    const response = await bare.app.request('/');
    expect(response.status).toBe(503);
    expect(await response.text()).toContain('npm run build:dashboard');
  });
});
