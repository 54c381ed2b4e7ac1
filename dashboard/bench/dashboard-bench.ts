// The dashboard's performance figures, measured end to end on this machine:
//   1. a year of runs (RUNS, default 2,000,000) generated in a private database,
//   2. its rollups rebuilt (as the sink's maintainer keeps them), the real API (startApi)
//      serving it and the built dashboard,
//   3. headless Debian chromium: the Overview for `1y` until every chart is drawn,
//      a zoom (drag on the runs chart) until the finer data is drawn, and a uPlot chart of
//      1,500 points × 6 series drawn in the page,
//   4. the API alone: the Overview's five requests for a year, and a zoomed week,
//   5. the bundle: JS gzipped, from the build.
// Usage: npm run bench:dashboard [-- --runs 2000000 --keep]
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';
import { parseApiConfig } from '../../api/config.ts';
import { startApi } from '../../api/index.ts';
import { createClickHouseClient } from '../../clickhouse/clickhouse-client.ts';
import { migrate } from '../../clickhouse/migrate.ts';
import { rebuildRollups } from '../../ingest/rollup/rebuild.ts';
import { writeRollupState } from '../../ingest/rollup/rollup-state.ts';
import { localClickhouseUrl, localDefaults } from '../../stack/local-defaults.ts';
import { ensureDashboardBuilt } from '../build.ts';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '2000000' }, keep: { type: 'boolean', default: false } } });
const RUNS = Number(values.runs);
const database = `bench_dashboard_${Date.now().toString(36)}`;
const admin = createClickHouseClient({ url: localClickhouseUrl, username: localDefaults.users.admin.name, password: localDefaults.users.admin.password });
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const ms = (value: number) => `${value.toFixed(0)} ms`;
const results: Array<[string, string, string]> = [];

const build = await ensureDashboardBuilt({ log: console.error });
results.push(['JS bundle, gzipped', `${(build.jsGzipBytes / 1024).toFixed(1)} KB`, '< 150 KB']);

await migrate(admin, { database, kafkaBrokers: `127.0.0.1:${localDefaults.kafkaPort}`, kafkaTopic: `${database}.unused`, kafkaGroup: `${database}.unused` }, { log: () => {} });
const nowMs = Date.now();
const yearMs = 365 * 86_400_000;
const spacing = Math.floor(yearMs / RUNS);
const started = performance.now();
await admin.command({
  query: `INSERT INTO ${database}.runs (run_date, key, job, host, attempt, status, started_at, started_at_ms, finished_at, finished_at_ms, duration_ms, exit_code,
  \`labels.key\`, \`labels.value\`, \`metrics.file\`, \`metrics.path\`, \`metrics.value\`, metrics_truncated, error_type, error_message,
  \`files.name\`, \`files.content\`, \`files.size\`, \`files.truncated\`, source, origin, written_at_ms, published_at_ms, ingested_at, kafka_topic, kafka_partition, kafka_offset, version)
SELECT toDate(toDateTime(intDiv(s, 1000))), concat('bench-', toString(number)), concat('job-', toString(number % 40)), concat('worker-', toString(number % 25)), 1,
  multiIf(number % 23 = 0, 'failed', number % 97 = 0, 'timeout', 'succeeded'),
  toDateTime(intDiv(s, 1000)), s, toDateTime(intDiv(s + d, 1000)), s + d, toFloat64(d), if(number % 23 = 0, 1, 0),
  ['region'], [if(number % 2 = 0, 'eu-west', 'us-east')], ['result.json', 'result.json'], ['rows', 'timings_ms.fetch'], [toFloat64(number % 1000), toFloat64(d / 3)], 0, if(number % 23 = 0, 'Boom', ''), '',
  ['run.json'], ['{}'], [2], [0], 'bench', 'bench', s + d, s + d, toDateTime(intDiv(s + d, 1000)), 'bench', 0, toInt64(number), toUInt64(10000000000000 + s + d)
FROM (SELECT number, toUInt64(${nowMs - yearMs} + number * ${spacing} + rand() % ${spacing}) AS s, toUInt64(200 + rand() % 30000) AS d FROM system.numbers LIMIT ${RUNS})`,
});
await admin.command({ query: `OPTIMIZE TABLE ${database}.runs FINAL` }).catch(() => {});
console.error(`generated ${RUNS.toLocaleString()} runs over a year in ${ms(performance.now() - started)}`);

const config = parseApiConfig({
  RUNLENS_API_PORT: '0',
  RUNLENS_CLICKHOUSE_DATABASE: database,
  // The api user may only read `runlens`: the bench database is read as admin.
  RUNLENS_CLICKHOUSE_API_USER: localDefaults.users.admin.name,
  RUNLENS_CLICKHOUSE_API_PASSWORD: localDefaults.users.admin.password,
  RUNLENS_API_LIVE: '0',
  RUNLENS_ALERTING: '0',
});
// The rollups, as the sink's maintainer keeps them in production: without them (and their
// watermark) the API would answer the year from `runs FINAL`.
const rebuildStarted = performance.now();
const nextDay = new Date(nowMs + 86_400_000).toISOString().slice(0, 10);
await rebuildRollups({
  clickhouse: admin,
  admin,
  database,
  labelKeys: config.rollups?.labelKeys ?? [],
  retention: { runs: 0, minute: config.rollups?.minuteRetentionDays ?? 0, hour: 0, day: 0 },
  from: new Date(nowMs - yearMs - 86_400_000).toISOString().slice(0, 10),
  to: nextDay,
  progress: () => {},
});
await writeRollupState(admin, database, 'complete_until', Math.floor(Date.now() / 1000));
console.error(`rebuilt the rollups in ${ms(performance.now() - rebuildStarted)}`);
const api = await startApi(config, { log: () => {} });
const headers = { Authorization: 'Bearer dev-analyst' };
try {
  // The API alone: what the Overview asks for a year, all at once, as the page does.
  const nowS = Math.floor(Date.now() / 1000);
  const overviewUrls = (from: number, to: number) => {
    const span = to - from;
    return [
      `/api/v1/timeseries?from=${from}&to=${to}&metric=runs`,
      `/api/v1/timeseries?from=${from}&to=${to}&metric=duration`,
      // After those two land (the page asks for these once the charts are drawn):
      `/api/v1/timeseries?from=${from - span}&to=${to - span}&metric=runs`,
      `/api/v1/breakdown?from=${from}&to=${to}&by=job&limit=500`,
    ];
  };
  const timeAll = async (all: string[]) => {
    const t0 = performance.now();
    const fetchAll = (urls: string[]) => Promise.all(urls.map(async (url) => {
      const response = await fetch(`${api.url}${url}`, { headers });
      if (!response.ok) throw new Error(`${url}: ${response.status} ${await response.text()}`);
      await response.arrayBuffer();
    }));
    await fetchAll(all.slice(0, 2));
    const firstCharts = performance.now() - t0;
    await fetchAll(all.slice(2));
    return [firstCharts, performance.now() - t0] as const;
  };
  const year: Array<readonly [number, number]> = [];
  for (let i = 0; i < 5; i++) year.push(await timeAll(overviewUrls(nowS - 365 * 86_400, nowS - i)));
  results.push(['API: Overview 1 y, runs + duration series (parallel), median of 5', ms(median(year.map((x) => x[0]))), '']);
  results.push(['API: Overview 1 y, then previous period + top jobs, total, median of 5', ms(median(year.map((x) => x[1]))), '']);
  const week: Array<readonly [number, number]> = [];
  for (let i = 0; i < 5; i++) week.push(await timeAll(overviewUrls(nowS - 200 * 86_400 - i, nowS - 193 * 86_400)));
  results.push(['API: zoomed week, runs + duration series, median of 5', ms(median(week.map((x) => x[0]))), '< 300 ms']);

  const browser = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'runlens-bench-chromium-')), {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    viewport: { width: 1280, height: 900 },
    baseURL: api.url,
  });
  const page = await browser.newPage();
  const ready = (ids: string[]) => page.waitForFunction((panels) => panels.every((id) => {
    const panel = document.getElementById(id);
    return panel?.getAttribute('data-state') === 'ready' && (id === 'chart-failing' || Number(panel.querySelector('.uplot')?.getAttribute('data-drawn') ?? 0) > 0);
  }), ids, { timeout: 30_000 });
  const chartsReady = () => ready(['chart-runs', 'chart-failure', 'chart-duration']);
  const overviewReady = () => ready(['chart-runs', 'chart-failure', 'chart-duration', 'chart-failing']);
  // Warm the bundle cache once, as an operator's second visit would be.
  await page.goto('/?range=1y');
  await overviewReady();
  const charts: number[] = [];
  const loads: number[] = [];
  for (let i = 0; i < 3; i++) {
    // Let the previous visit's last queries finish (they would compete for the same cores).
    await page.waitForLoadState('networkidle');
    await page.goto('about:blank');
    await new Promise((resolve) => setTimeout(resolve, 1000));
    await page.goto('/?range=1y');
    await chartsReady();
    charts.push(await page.evaluate(() => performance.now()));
    await overviewReady();
    loads.push(await page.evaluate(() => performance.now()));
  }
  results.push(['Browser: Overview 1 y, navigation → runs, failure-rate and duration charts drawn, median of 3', ms(median(charts)), '< 1000 ms']);
  results.push(['Browser: Overview 1 y, navigation → also previous period and top failing jobs, median of 3', ms(median(loads)), '']);

  const zooms: number[] = [];
  for (let i = 0; i < 3; i++) {
    await page.goto('/?range=1y');
    await overviewReady();
    const box = (await page.locator('#chart-runs .u-over').boundingBox())!;
    const drawnBefore = Number(await page.locator('#chart-runs .uplot').getAttribute('data-drawn'));
    await page.mouse.move(box.x + box.width * (0.5 + i * 0.1), box.y + box.height / 2);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * (0.52 + i * 0.1), box.y + box.height / 2, { steps: 4 });
    const t0 = Date.now();
    await page.mouse.up();
    await page.waitForFunction((before) => {
      const panel = document.getElementById('chart-runs');
      return location.search.includes('from=') && panel?.getAttribute('data-state') === 'ready' && !panel.querySelector('.spinner') && Number(panel.querySelector('.uplot')?.getAttribute('data-drawn')) > before;
    }, drawnBefore, { timeout: 30_000 });
    zooms.push(Date.now() - t0);
  }
  results.push(['Browser: zoom (drag on 1 y → ~1 week) until the finer data is drawn, median of 3', ms(median(zooms)), '< 300 ms']);

  const draw = await page.evaluate(() => {
    const { uPlot } = (window as unknown as { __runlens: { uPlot: new (options: object, data: unknown, host: HTMLElement) => { destroy(): void } } }).__runlens;
    const n = 1500;
    const x = new Float64Array(n);
    const series = Array.from({ length: 6 }, () => new Float64Array(n));
    for (let i = 0; i < n; i++) {
      x[i] = 1_700_000_000 + i * 3600;
      series.forEach((column, s) => (column[i] = Math.sin(i / 50 + s) * 100 + s * 50 + Math.random() * 10));
    }
    const host = document.createElement('div');
    host.style.width = '1200px';
    document.body.append(host);
    const times: number[] = [];
    for (let round = 0; round < 5; round++) {
      const t0 = performance.now();
      const u = new uPlot({ width: 1200, height: 300, series: [{}, ...series.map((_, s) => ({ label: `s${s}`, stroke: `hsl(${s * 60},70%,45%)` }))] }, [x, ...series] as never, host);
      times.push(performance.now() - t0);
      u.destroy();
    }
    host.remove();
    return times.sort((a, b) => a - b)[2]!;
  });
  results.push(['Browser: uPlot chart of 1,500 points × 6 series, create + draw, median of 5', `${draw.toFixed(1)} ms`, '< 50 ms']);
  await browser.close();
} finally {
  await api.stop();
  if (!values.keep) await admin.command({ query: `DROP DATABASE IF EXISTS ${database}` });
  await admin.close();
}

console.log(`\ndashboard bench: ${RUNS.toLocaleString()} runs over a year (${database}${values.keep ? ', kept' : ''})\n`);
console.log('| measure | result | target |\n| --- | --- | --- |');
for (const [name, value, target] of results) console.log(`| ${name} | ${value} | ${target} |`);
