// `npm run bench [-- --scale small|full] [--days N] [--per-day N]`: brings up the local
// stack, measures every figure of issue #7 next to the baseline a user would use instead,
// writes bench/results/<timestamp>.json and .md and prints the table. Not part of npm test.
// Every figure is the median of ≥ 3 repetitions with min and max. Sequential on purpose:
// the reference box has 2 cores shared with others; the report states the load average.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { liveBench } from '../api/bench/live-bench.ts';
import { createClickHouseClient } from '../clickhouse/clickhouse-client.ts';
import { generateTree } from '../ingest/simulate/generate-tree.ts';
import { stackUp } from '../stack/stack.ts';
import { localClickhouseUrl, localDefaults } from '../stack/local-defaults.ts';
import { backfill, endToEndIngest, freshness } from './figures/ingest.ts';
import { oldWayOneDay, overviewLatency, throughput } from './figures/queries.ts';
import { apiRss, clickhouseBytesPerRun, treeBytesPerRun, watcherRss } from './figures/resources.ts';
import { ensureHistory } from './history.ts';
import { fmt, show, stat, type Stat } from './stats.ts';

const SCALES = {
  small: { days: 365, perDay: 300, treeRuns: 3000, ingest: 20_000, backfillRuns: 3000, fresh: { rate: 100, seconds: 4 }, requests: 10, rawRequests: 10, rawTimeoutMs: 60_000, loadSeconds: 2, idleSeconds: 2, sse: { levels: [1000], seconds: 3, rate: 200 }, watcherDays: [1, 7], watcherPerDay: 500 },
  full: { days: 365, perDay: 500_000, treeRuns: 500_000, ingest: 200_000, backfillRuns: 100_000, fresh: { rate: 200, seconds: 20 }, requests: 20, rawRequests: 0, rawTimeoutMs: 600_000, loadSeconds: 10, idleSeconds: 5, sse: { levels: [10_000], seconds: 20, rate: 500 }, watcherDays: [1, 7], watcherPerDay: 20_000 },
} as const;

const { values } = parseArgs({ options: { scale: { type: 'string', default: 'small' }, days: { type: 'string' }, 'per-day': { type: 'string' }, repeat: { type: 'string', default: '3' }, only: { type: 'string' } } });
if (values.scale !== 'small' && values.scale !== 'full') throw new Error('--scale must be small or full');
const scale = { ...SCALES[values.scale], ...(values.days ? { days: Number(values.days) } : {}), ...(values['per-day'] ? { perDay: Number(values['per-day']) } : {}) };
const reps = Math.max(3, Number(values.repeat));
// `--only ingest,backfill`: just those figures (same code, same baselines), printed as JSON
// and not written to bench/results; for measuring one change without the whole suite.
const FIGURES = ['ingest', 'backfill'] as const;
const only = values.only === undefined ? null : new Set(values.only.split(',').map((name) => name.trim()));
for (const name of only ?? []) if (!(FIGURES as readonly string[]).includes(name)) throw new Error(`--only takes ${FIGURES.join(', ')}`);
const log = (line: string) => process.stderr.write(`[bench ${((Date.now() - t0) / 1000).toFixed(0)} s] ${line}\n`);
const t0 = Date.now();
const loadBefore = loadavg();

await stackUp({ log: () => {} });
const admin = createClickHouseClient({ url: localClickhouseUrl, username: localDefaults.users.admin.name, password: localDefaults.users.admin.password, requestTimeoutMs: 3_600_000 });
const version = async (query: string) => ((await (await admin.query({ query, format: 'JSONEachRow' })).json<{ v: string }>())[0]?.v ?? '?');
const kafkaJar = readdirSync(join(process.cwd(), '.runlens/kafka/lib')).find((name) => /^kafka_[\d.]+-[\d.]+\.jar$/.test(name)) ?? '?';
const environment = {
  cores: cpus().length,
  cpu: cpus()[0]?.model ?? '?',
  memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
  node: process.version,
  clickhouse: await version('SELECT version() AS v'),
  kafka: kafkaJar.replace(/^kafka_[\d.]+-/, '').replace(/\.jar$/, ''),
  loadAverageBefore: loadBefore.map((x) => Math.round(x * 100) / 100),
};
log(`scale ${values.scale}: ${JSON.stringify(scale)}; ${JSON.stringify(environment)}`);

const work = mkdtempSync(join(tmpdir(), 'runlens-bench-'));
const results: Record<string, unknown> = {};
// A figure that fails (a server error, a timeout) is reported as failed with its reason and
// the suite goes on: one error must not cost the other figures of a long run.
const failures: Record<string, string> = {};
async function measure(name: string, what: string, run: () => Promise<unknown>): Promise<void> {
  log(what);
  try {
    results[name] = await run();
  } catch (error) {
    failures[name] = (error instanceof Error ? error.message : String(error)).split('\n')[0]!.slice(0, 300);
    log(`${what}: FAILED: ${failures[name]}`);
  }
}
/** Trees of 100k+ runs take minutes to delete: a detached `rm -rf`, not waited for. */
function removeInBackground(path: string): void {
  spawn('rm', ['-rf', path], { detached: true, stdio: 'ignore' }).unref();
}
try {
  if (only) {
    if (only.has('ingest')) results['ingest'] = await endToEndIngest(scale.ingest, reps, log);
    if (only.has('backfill')) {
      const backfillRoot = join(work, 'backfill');
      generateTree({ root: backfillRoot, runs: scale.backfillRuns, days: 1, seed: 3 });
      results['backfill'] = await backfill(backfillRoot, scale.backfillRuns, reps, log);
    }
    const ratios = {
      ...(results['ingest'] ? { ingest: (results['ingest'] as { ratio: Stat }).ratio.median } : {}),
      ...(results['backfill'] ? { backfill: (results['backfill'] as { watch: Stat; findCat: Stat }).watch.median / (results['backfill'] as { findCat: Stat }).findCat.median } : {}),
    };
    process.stdout.write(`${JSON.stringify({ scale: values.scale, environment: { ...environment, loadAverageAfter: loadavg().map((x) => Math.round(x * 100) / 100) }, results, ratios }, null, 2)}\n`);
    rmSync(work, { recursive: true, force: true });
    await admin.close();
    process.exit(0);
  }
  // History: one day and a year (or what --days says) of the same daily volume.
  const year = await ensureHistory(admin, scale.days, scale.perDay, log);
  const day = await ensureHistory(admin, 1, scale.perDay, log);
  results['history'] = { year, day };
  log(`history ready: ${JSON.stringify({ year: { runs: year.runs, generated: year.generated, generateSeconds: year.generateSeconds, rebuildSeconds: year.rebuildSeconds } })}`);

  // A run tree written by the simulator: one day, for the old-way query and the disk size.
  const treeRoot = join(work, 'tree');
  generateTree({ root: treeRoot, runs: scale.treeRuns, days: 1, seed: 7 });
  const treeDay = readdirSync(treeRoot)[0]!;
  const treeBytes = treeBytesPerRun(treeRoot, scale.treeRuns);

  const spans = [1, 30, 365].filter((span) => span <= scale.days);
  await measure('overviewRollup', 'overview latency, rollups', () => overviewLatency(year.database, spans, true, scale.requests, reps));
  // The auto step over a year is whole days (the day tier); step=86400 spells it out (and 30 d at the day tier).
  await measure('overviewRollupByDay', 'overview latency at step=86400', () => overviewLatency(year.database, spans.filter((span) => span >= 30), true, scale.requests, reps, '86400'));
  // Raw FINAL over a year of 500k/day takes minutes a request: fewer requests, a longer deadline.
  await measure('overviewRaw', 'overview latency, raw runs FINAL', () => overviewLatency(year.database, spans, false, scale.rawRequests, reps, 'auto', scale.rawTimeoutMs));
  await measure('overviewTree', 'overview, the old way (one day of the run tree)', () => oldWayOneDay(join(treeRoot, treeDay), reps));
  log(JSON.stringify({ rollup: results['overviewRollup'], raw: results['overviewRaw'], tree: results['overviewTree'] }, (key, value) => (key === 'samples' ? undefined : value)));
  removeInBackground(treeRoot);

  await measure('throughput', 'API throughput at 64 connections', () => throughput(year.database, 1, 64, scale.loadSeconds, reps));
  log(JSON.stringify(results['throughput'], (key, value) => (key === 'samples' ? undefined : value)));

  await measure('apiRss', 'RSS of the API, 1 day and the year of history', async () => [
    await apiRss(day.database, 1, scale.loadSeconds, scale.idleSeconds, reps),
    await apiRss(year.database, scale.days, scale.loadSeconds, scale.idleSeconds, reps),
  ]);

  await measure('watcherRss', 'RSS of the watcher', async () => {
    const watcher = [];
    for (const days of scale.watcherDays) {
      const root = join(work, `watch-${days}d`);
      const runs = scale.watcherPerDay * days;
      generateTree({ root, runs, days, seed: 11 });
      try {
        watcher.push(await watcherRss(root, days, runs, scale.idleSeconds, reps));
      } finally {
        removeInBackground(root);
      }
    }
    return watcher;
  });

  await measure('ingest', 'end-to-end ingest vs direct insert', () => endToEndIngest(scale.ingest, reps, log));

  await measure('backfill', 'backfill: watch --once vs find + cat', async () => {
    const backfillRoot = join(work, 'backfill');
    generateTree({ root: backfillRoot, runs: scale.backfillRuns, days: 1, seed: 3 });
    try {
      return await backfill(backfillRoot, scale.backfillRuns, reps, log);
    } finally {
      removeInBackground(backfillRoot);
    }
  });

  await measure('freshness', 'freshness: file write → SQL row, → SSE event', () => freshness(scale.fresh.rate, scale.fresh.seconds, reps, log));

  await measure('sse', 'SSE clients per instance', async () => {
    const live = [];
    for (let run = 0; run < reps; run++) live.push(await liveBench({ ...scale.sse, levels: [...scale.sse.levels], log, unfiltered: false }));
    return live;
  });

  await measure('disk', 'bytes on disk', async () => ({ history: await clickhouseBytesPerRun(admin, year.database, year.runs), tree: treeBytes }));
} finally {
  removeInBackground(work);
  await admin.close();
}

const wallSeconds = Math.round((Date.now() - t0) / 1000);
const report = { scale: values.scale, parameters: scale, repetitions: reps, startedAt: new Date(t0).toISOString(), wallSeconds, environment: { ...environment, loadAverageAfter: loadavg().map((x) => Math.round(x * 100) / 100) }, results, failures };
const table = markdown(report);
const stamp = new Date(t0).toISOString().replace(/[:.]/g, '-');
mkdirSync('bench/results', { recursive: true });
writeFileSync(`bench/results/${stamp}.json`, `${JSON.stringify(report, null, 2)}\n`);
writeFileSync(`bench/results/${stamp}.md`, table);
process.stdout.write(table);
log(`wrote bench/results/${stamp}.json and .md (${wallSeconds} s)`);
process.exit(0);

function markdown(r: typeof report): string {
  const res = r.results as any;
  const s = (x: { median: number; min: number; max: number }, d = 0) => show({ ...x, samples: [] }, d);
  const ratio = (a: number, b: number) => (b > 0 ? a / b : Number.NaN);
  const lines: string[] = [];
  const row = (...cells: string[]) => lines.push(`| ${cells.join(' | ')} |`);
  const h = res.history;
  lines.push(`### runlens benchmark, scale ${r.scale} (${r.startedAt})`, '');
  lines.push(`${r.environment.cores} cores (${r.environment.cpu}), ${r.environment.memoryGiB} GiB; Node ${r.environment.node}, ClickHouse ${r.environment.clickhouse}, Kafka ${r.environment.kafka}. `
    + `Load average before ${r.environment.loadAverageBefore.join(' / ')}, after ${r.environment.loadAverageAfter.join(' / ')} (1/5/15 min): the box is shared, figures were taken under that load. `
    + `Every figure: median (min–max) of ${r.repetitions} repetitions. Wall time ${r.wallSeconds} s.`, '');
  lines.push(`History: ${fmt(h.year.runs)} runs = ${h.year.days} days × ${fmt(h.year.perDay)}/day (+2 % reruns) in \`${h.year.database}\`${h.year.generated ? `, generated in this run (${fmt(h.year.generateSeconds)} s) and rolled up by rebuild (${fmt(h.year.rebuildSeconds)} s)` : ', reused from an earlier run'}; `
    + `1-day history: ${fmt(h.day.runs)} runs. Page cache: warm for every figure (nothing here drops caches); the "first" request of a span is the first after the API started, not a cold-disk read.`, '');
  row('figure', 'runlens', 'baseline (same run)', 'ratio / target', 'met?');
  row('---', '---', '---', '---', '---');
  // Each group of rows reads its figure; a figure that failed (or whose data is missing) is one row saying so.
  const group = (name: string, label: string, write: () => void) => {
    try {
      if (res[name] === undefined) throw new Error(r.failures[name] ?? 'not measured');
      write();
    } catch (error) {
      row(label, `failed: ${r.failures[name] ?? (error as Error).message}`, '—', '—', 'no');
    }
  };
  group('ingest', 'end-to-end ingest, events/s', () => {
    const ing = res.ingest;
    // Each repetition pairs an e2e run with a direct insert right after it: the ratio is the median of the pairs' ratios.
    const ingRatio = ing.ratio ? ing.ratio.median : ratio(ing.e2e.median, ing.direct.median);
    row(`end-to-end ingest, events/s (${fmt(ing.events)} events of ${fmt(ing.eventBytes)} B: publish → Kafka → \`runlens sink\` process → runs)`, s(ing.e2e), `${s(ing.direct)} (same rows, @clickhouse/client, 100k batches)`, `${ing.ratio ? s(ing.ratio, 2) : fmt(ingRatio, 2)} (target ≥ 0.3)`, ingRatio >= 0.3 ? 'yes' : 'no');
  });
  group('backfill', 'backfill, runs/s', () => {
    const bf = res.backfill;
    const bfRatio = ratio(bf.watch.median, bf.findCat.median);
    row(`backfill of a ${fmt(bf.runs)}-run tree, runs/s`, `${s(bf.watch)} (watch --once, to Kafka acks)`, `${s(bf.findCat)} (find + cat)`, `${fmt(bfRatio, 2)} (target ≥ 0.5)`, bfRatio >= 0.5 ? 'yes' : 'no');
  });
  group('freshness', 'freshness', () => {
    const fr = res.freshness;
    row(`freshness, file write → row visible in SQL, p50 / p99 ms (${fr.rate} runs/s for ${fr.seconds} s)`, `${s(fr.sql.p50)} / ${s(fr.sql.p99)}`, '30,000 + 30,000 (old polling)', 'p99 ≤ 2,000', fr.sql.p99.median <= 2000 ? 'yes' : 'no');
    row('freshness, file write → SSE event received, p50 / p99 ms', `${s(fr.sse.p50)} / ${s(fr.sse.p99)}`, '30,000 + 30,000 (old polling)', 'p99 ≤ 1,000', fr.sse.p99.median <= 1000 ? 'yes' : 'no');
  });
  group('overviewRollup', 'overview latency through the API', () => {
    const byspan = (list: any[], span: number) => list.find((x) => x.spanDays === span);
    for (const span of [1, 30, 365]) {
      const a = byspan(res.overviewRollup, span);
      const b = byspan(res.overviewRaw ?? [], span);
      if (!a) continue;
      const raw = !b ? `runs FINAL: failed: ${r.failures['overviewRaw'] ?? 'not measured'}` : r.parameters.rawRequests === 0 ? `runs FINAL (one request per repetition): ${s(b.p50)}` : `runs FINAL: p50 ${s(b.p50)}, p95 ${s(b.p95)}`;
      const base = `${raw}${b?.failures ? ` (${b.failures} failed)` : ''}${span === 1 ? (res.overviewTree ? `; old way (read the day's ${fmt(res.overviewTree.runs)}-run tree): ${s(res.overviewTree.ms)}` : `; old way: failed: ${r.failures['overviewTree'] ?? 'not measured'}`) : ''}`;
      const one = byspan(res.overviewRollup, 1);
      const target = span === 365 && one ? `p95 ≤ 100; 365 d / 1 d p50 = ${fmt(a.p50.median / one.p50.median, 2)} (≤ 1.5)` : 'p95 ≤ 100';
      const met = a.p95.median <= 100 && (span !== 365 || !one || a.p50.median <= 1.5 * one.p50.median);
      row(`overview over ${span} d through the API, ms (runs + duration series + top jobs in parallel; source ${a.source})`, `p50 ${s(a.p50)}, p95 ${s(a.p95)}, first ${s(a.first)}`, base, target, met ? 'yes' : 'no');
    }
  });
  group('overviewRollupByDay', 'overview latency at step=86400', () => {
    for (const a of res.overviewRollupByDay ?? []) {
      row(`overview over ${a.spanDays} d at step=86400 (day tier; the auto step is finer), ms`, `p50 ${s(a.p50)}, p95 ${s(a.p95)}, first ${s(a.first)}`, '—', 'p95 ≤ 100 (not the auto-step figure)', a.p95.median <= 100 ? 'yes' : 'no');
    }
  });
  group('throughput', 'API throughput at 64 connections', () => {
    const [over, livez, healthz] = res.throughput;
    const failed = (x: { errors: number; non2xx: number }) => (x.errors + x.non2xx ? `, ${x.errors} errors, ${x.non2xx} non-2xx` : '');
    row('API throughput at 64 connections, overview (1 d runs timeseries)', `${s(over.rps)} req/s, p99 ${s(over.p99)} ms${failed(over)}`, `static /livez: ${s(livez.rps)} req/s, p99 ${s(livez.p99)} ms${failed(livez)}; /healthz (asks ClickHouse SELECT 1): ${s(healthz.rps)} req/s, p99 ${s(healthz.p99)} ms${failed(healthz)}`, 'report both', '—');
  });
  group('sse', 'concurrent SSE clients per instance', () => {
    const sse = res.sse as any[];
    const levels = sse.flatMap((run) => run.levels);
    for (const clients of [...new Set(levels.map((l: any) => l.clients))]) {
      const at = levels.filter((l: any) => l.clients === clients);
      const p99 = stat(at.map((l: any) => l.p99Ms));
      row(`concurrent SSE clients per instance (${clients} clients, each one job of 100, ${r.parameters.sse.rate} runs/s)`, `p99 ${s(p99)} ms, p50 ${s(stat(at.map((l: any) => l.p50Ms)))} ms; connected ${at.map((l: any) => l.connected).join('/')}; API RSS ${s(stat(at.map((l: any) => l.rssMb)))} MB`, '—', `10,000 at p99 ≤ 1,000 ms`, clients >= 10_000 && p99.median <= 1000 ? 'yes' : clients < 10_000 ? `not measured at 10,000 (scale ${r.scale})` : 'no');
    }
  });
  group('apiRss', 'RSS of the API', () => {
    for (const api of res.apiRss) row(`RSS of the API (runlens api), ${api.days} d of history, MB`, `idle ${s(api.idle)}, under 64-connection load ${s(api.load)}`, 'old system: 40 GB for 7 days', 'flat in history length', '—');
  });
  group('watcherRss', 'RSS of the watcher', () => {
    for (const w of res.watcherRss) row(`RSS of the watcher, ${w.days}-day tree of ${fmt(w.runs)} runs, MB`, `idle (live, caught up) ${s(w.idle)}, backfill peak ${s(w.load)}`, '—', 'flat in history length', '—');
  });
  group('disk', 'bytes on disk per run', () => {
    const disk = res.disk;
    row('bytes on disk per run', `ClickHouse runs + rollups: ${fmt(disk.history.bytesPerRun, 1)} B (runs alone ${fmt(disk.history.runsBytesPerRun, 1)}; generated rows carry no file contents)`, `run tree (du, simulator, ${fmt(r.parameters.treeRuns)} runs): ${fmt(disk.tree.perRun)} B on disk, ${fmt(disk.tree.apparentPerRun)} B of content`, 'report both', '—');
  });
  lines.push('');
  return `${lines.join('\n')}\n`;
}
