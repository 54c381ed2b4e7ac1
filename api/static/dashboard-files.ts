// The built dashboard (dashboard/dist), read into memory once with a gzip copy of each
// text file: a few hundred KB, served from the API's own port so `/api/…` and the app share
// an origin (no CORS, one token header).
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join, relative, sep } from 'node:path';
import { gzipSync } from 'node:zlib';

export interface DashboardFile {
  body: Uint8Array;
  gzip: Uint8Array | null;
  type: string;
  etag: string;
  /** Vite's content-hashed output under assets/: cacheable forever. */
  immutable: boolean;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
  '.map': 'application/json',
  '.woff2': 'font/woff2',
};

/** url path (`/assets/x.js`) → file; empty when the directory does not exist. */
export function loadDashboardFiles(dir: string): Map<string, DashboardFile> {
  const files = new Map<string, DashboardFile>();
  if (dir === '' || !statSync(dir, { throwIfNoEntry: false })?.isDirectory()) return files;
  const walk = (folder: string) => {
    for (const entry of readdirSync(folder, { withFileTypes: true })) {
      const path = join(folder, entry.name);
      if (entry.isDirectory()) {
        walk(path);
        continue;
      }
      const urlPath = `/${relative(dir, path).split(sep).join('/')}`;
      const body = readFileSync(path);
      const type = TYPES[extname(path)] ?? 'application/octet-stream';
      const compressible = /^(text\/|application\/json|image\/svg)/.test(type) && body.length > 1024;
      files.set(urlPath, {
        body,
        gzip: compressible ? gzipSync(body, { level: 9 }) : null,
        type,
        etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`,
        immutable: urlPath.startsWith('/assets/'),
      });
    }
  };
  walk(dir);
  return files;
}
