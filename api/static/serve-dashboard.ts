// Serves the dashboard at `/`: its files, and index.html for every other GET outside
// /api/ (the app routes on the client: /runs?job=x is a deep link). Hashed assets are
// cached for a year; index.html is revalidated every time, so a deploy shows at once.
import type { MiddlewareHandler } from 'hono';
import type { DashboardFile } from './dashboard-files.ts';

const YEAR_SECONDS = 365 * 86_400;
// The app's own code only: scripts and styles from this origin, data from this origin.
// uPlot sets inline style attributes through the CSSOM, which CSP allows.
const CSP = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

const NOT_BUILT = `<!doctype html><meta charset="utf-8"><title>runlens</title>
<p>The dashboard is not built. Run <code>npm run build:dashboard</code> (or <code>runlens api</code>, which builds it), then reload.
The API is at <a href="/api/v1/openapi.json">/api/v1/openapi.json</a>.</p>`;

export function serveDashboard(files: ReadonlyMap<string, DashboardFile>): MiddlewareHandler {
  return async function serveDashboard(c, next) {
    const path = c.req.path;
    if ((c.req.method !== 'GET' && c.req.method !== 'HEAD') || path.startsWith('/api/') || path === '/api' || path === '/healthz' || path === '/livez' || path === '/metrics') return next();
    let file = files.get(path);
    if (!file) {
      // A missing asset is a 404 (a stale tab asking for an old hash must not get HTML);
      // anything else is an app route.
      if (path.startsWith('/assets/') || /\.[a-z0-9]{1,5}$/i.test(path)) return next();
      file = files.get('/index.html');
      if (!file) return c.html(NOT_BUILT, 503);
    }
    return send(c.req.header('if-none-match'), c.req.header('accept-encoding') ?? '', file, c.req.method === 'HEAD');
  };
}

function send(ifNoneMatch: string | undefined, acceptEncoding: string, file: DashboardFile, head: boolean): Response {
  const headers = new Headers({
    'Content-Type': file.type,
    ETag: file.etag,
    'Cache-Control': file.immutable ? `public, max-age=${YEAR_SECONDS}, immutable` : 'no-cache',
    Vary: 'Accept-Encoding',
  });
  if (file.type.startsWith('text/html')) headers.set('Content-Security-Policy', CSP);
  if (ifNoneMatch === file.etag) return new Response(null, { status: 304, headers });
  let body = file.body;
  if (file.gzip && /\bgzip\b/.test(acceptEncoding)) {
    body = file.gzip;
    headers.set('Content-Encoding', 'gzip');
  }
  headers.set('Content-Length', String(body.byteLength));
  return new Response(head ? null : (body as Uint8Array<ArrayBuffer>), { status: 200, headers });
}
