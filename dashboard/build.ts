// Builds the dashboard with vite's API when dist/ is missing or older than its sources,
// and reports each file's size and gzip size (the bundle budget: < 150 KB of JS gzipped).
// Used by `runlens api`, the dashboard tests and `npm run build:dashboard`.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';

export const dashboardRoot = fileURLToPath(new URL('.', import.meta.url));
export const distDir = join(dashboardRoot, 'dist');
const SOURCES = ['src', 'index.html', 'vite.config.ts', 'live'];

export interface BuildReport {
  built: boolean;
  ms: number;
  files: Array<{ file: string; bytes: number; gzipBytes: number }>;
  jsGzipBytes: number;
  summary: string;
}

function newestMtime(path: string): number {
  const info = statSync(path, { throwIfNoEntry: false });
  if (!info) return 0;
  if (!info.isDirectory()) return info.mtimeMs;
  return Math.max(0, ...readdirSync(path).map((name) => newestMtime(join(path, name))));
}

export function dashboardIsStale(): boolean {
  const built = statSync(join(distDir, 'index.html'), { throwIfNoEntry: false })?.mtimeMs ?? 0;
  return built === 0 || SOURCES.some((source) => newestMtime(join(dashboardRoot, source)) > built);
}

export function sizeReport(): Pick<BuildReport, 'files' | 'jsGzipBytes' | 'summary'> {
  const files: BuildReport['files'] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else {
        const body = readFileSync(path);
        files.push({ file: relative(distDir, path), bytes: body.length, gzipBytes: gzipSync(body, { level: 9 }).length });
      }
    }
  };
  walk(distDir);
  const jsGzipBytes = files.filter((file) => file.file.endsWith('.js')).reduce((sum, file) => sum + file.gzipBytes, 0);
  const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;
  return { files, jsGzipBytes, summary: `JS ${kb(jsGzipBytes)} gzipped; ${files.map((file) => `${file.file} ${kb(file.bytes)} (${kb(file.gzipBytes)} gz)`).join(', ')}` };
}

export async function ensureDashboardBuilt({ log, force = false }: { log: (line: string) => void; force?: boolean }): Promise<BuildReport> {
  const started = performance.now();
  if (!force && !dashboardIsStale()) return { built: false, ms: 0, ...sizeReport() };
  let vite: typeof import('vite');
  try {
    vite = await import('vite');
  } catch {
    log('dashboard: dist/ is missing or stale and vite is not installed (npm ci installs it); serving what is there');
    return { built: false, ms: 0, files: [], jsGzipBytes: 0, summary: 'not built' };
  }
  await vite.build({ configFile: join(dashboardRoot, 'vite.config.ts'), logLevel: 'warn' });
  return { built: true, ms: Math.round(performance.now() - started), ...sizeReport() };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const report = await ensureDashboardBuilt({ log: console.error, force: process.argv.includes('--force') });
  console.log(`dashboard ${report.built ? `built in ${report.ms} ms` : 'up to date'}: ${report.summary}`);
  if (report.jsGzipBytes > 150 * 1024) {
    console.error(`dashboard: JS is ${(report.jsGzipBytes / 1024).toFixed(1)} KB gzipped, over the 150 KB budget`);
    process.exitCode = 1;
  }
}
