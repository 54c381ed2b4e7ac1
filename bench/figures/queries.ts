// Overview latency through the API (rollups vs raw `runs FINAL` vs reading the run tree),
// and API throughput at 64 connections against /healthz on the same server.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { percentile, repeat, stat, type Stat } from '../stats.ts';
import { getJson, overviewPaths, serveApi } from './api-server.ts';

export interface LatencyFigure { spanDays: number; step: string; source: string; first: Stat; p50: Stat; p95: Stat; failures: number }

/** Per repetition: one first request (after nothing else ran on this span), then `requests` more; p50/p95 of those. */
export async function overviewLatency(database: string, spans: number[], rollups: boolean, requests: number, repetitions: number, step = 'auto', queryTimeoutMs = 60_000): Promise<LatencyFigure[]> {
  const server = await serveApi(database, rollups, queryTimeoutMs);
  const figures: LatencyFigure[] = [];
  try {
    for (const span of spans) {
      let failures = 0;
      let source = '';
      const reps = await repeat(repetitions, async () => {
        const timings: number[] = [];
        for (let i = 0; i <= requests; i++) {
          const nowS = Math.floor(Date.now() / 1000);
          const started = performance.now();
          const answers = await Promise.all(overviewPaths(span, nowS, step).map((path) => getJson(`${server.url}${path}`)));
          timings.push(performance.now() - started);
          if (answers.some((answer) => answer.status !== 200)) failures++;
          source = answers.map((answer) => answer.body?.source ?? `HTTP ${answer.status}`).join('+');
          if (failures > 2) break; // timeouts: the figure is "fails", not a latency
        }
        // requests = 0: one request per repetition (raw FINAL over a year at full scale
        // takes minutes); its time is then the whole sample.
        const rest = (requests === 0 ? timings : timings.slice(1)).sort((a, b) => a - b);
        return { first: timings[0]!, p50: percentile(rest, 50), p95: percentile(rest, 95) };
      });
      figures.push({ spanDays: span, step, source, first: stat(reps.map((r) => r.first)), p50: stat(reps.map((r) => r.p50)), p95: stat(reps.map((r) => r.p95)), failures });
    }
  } finally {
    await server.close();
  }
  return figures;
}

/**
 * The old way for one day: read that day's run tree from disk and compute the same
 * answer (runs by status and duration p50/p95/p99 per auto-step bucket of 60 s) in JS.
 */
export async function oldWayOneDay(dayDir: string, repetitions: number): Promise<{ ms: Stat; runs: number }> {
  let runs = 0;
  const times = await repeat(repetitions, async () => {
    const started = performance.now();
    const buckets = new Map<number, { status: Map<string, number>; durations: number[] }>();
    runs = 0;
    for (const key of readdirSync(dayDir)) {
      let header: { status?: string; started_at?: string; finished_at?: string | null };
      try {
        header = JSON.parse(readFileSync(join(dayDir, key, 'run.json'), 'utf8'));
      } catch {
        continue;
      }
      try {
        JSON.parse(readFileSync(join(dayDir, key, 'result.json'), 'utf8'));
      } catch {
        // running: no result yet
      }
      runs++;
      const startedMs = Date.parse(header.started_at ?? '');
      const bucket = Math.floor(startedMs / 60_000);
      const cell = buckets.get(bucket) ?? { status: new Map<string, number>(), durations: [] };
      cell.status.set(header.status ?? '?', (cell.status.get(header.status ?? '?') ?? 0) + 1);
      if (header.finished_at) cell.durations.push(Date.parse(header.finished_at) - startedMs);
      buckets.set(bucket, cell);
    }
    for (const cell of buckets.values()) {
      const sorted = cell.durations.sort((a, b) => a - b);
      void [percentile(sorted, 50), percentile(sorted, 95), percentile(sorted, 99)];
    }
    return performance.now() - started;
  });
  return { ms: stat(times), runs };
}

export interface ThroughputFigure { path: string; rps: Stat; p99: Stat; errors: number; non2xx: number }

export async function throughput(database: string, spanDays: number, connections: number, seconds: number, repetitions: number): Promise<ThroughputFigure[]> {
  const server = await serveApi(database, true);
  try {
    const nowS = Math.floor(Date.now() / 1000);
    // /livez is the static baseline (the server's own cost per request); /healthz asks ClickHouse SELECT 1.
    const paths = [overviewPaths(spanDays, nowS)[0]!, '/livez', '/healthz'];
    const figures: ThroughputFigure[] = [];
    for (const path of paths) {
      const runs = await repeat(repetitions, () => autocannon({ url: `${server.url}${path}`, connections, duration: seconds }));
      figures.push({
        path,
        rps: stat(runs.map((r) => r.requests.mean)),
        p99: stat(runs.map((r) => r.latency.p99)),
        errors: runs.reduce((sum, r) => sum + r.errors + r.timeouts, 0),
        non2xx: runs.reduce((sum, r) => sum + r.non2xx, 0),
      });
    }
    return figures;
  } finally {
    await server.close();
  }
}
