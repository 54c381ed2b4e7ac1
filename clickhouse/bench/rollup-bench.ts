// Rollups vs raw runs, measured: `npx tsx clickhouse/bench/rollup-bench.ts [--days 365]
// [--per-day 500000] [--database runlens_bench] [--skip-generate] [--skip-rebuild]`.
//
// 1. Generates `days` × `per-day` runs server-side (INSERT … SELECT FROM numbers(), a day
//    per statement) straight into `runs`, 2 % of them with a rerun (second version, later
//    start, other status), 200 jobs, 50 hosts, regions and tiers, two metric leaves each.
// 2. Rebuilds every rollup with the same code as `runlens rebuild`.
// 3. Times the overview question — a timeseries by status plus the top-10 jobs with their
//    failures — over 1, 30 and 365 days, on the rollups and on `runs FINAL`, and prints
//    p50/p95 per case and the ratios.
// Not a test: numbers depend on the machine. The database is left in place for poking.
import { parseArgs } from 'node:util';
import { createClickHouseClient } from '../clickhouse-client.ts';
import { migrate } from '../migrate.ts';
import { rebuildRollups } from '../../ingest/rollup/rebuild.ts';
import { localClickhouseUrl, localDefaults } from '../../stack/local-defaults.ts';

const { values } = parseArgs({
  options: {
    days: { type: 'string', default: '365' },
    'per-day': { type: 'string', default: '500000' },
    database: { type: 'string', default: 'runlens_bench' },
    'skip-generate': { type: 'boolean', default: false },
    'skip-rebuild': { type: 'boolean', default: false },
    /** Merge every rollup partition into one part first: the steady state of closed months. */
    optimize: { type: 'boolean', default: false },
    runs: { type: 'string', default: '9' },
  },
});
const days = Number(values.days);
const perDay = Number(values['per-day']);
const database = values.database;
if (!/^[a-z_][a-z0-9_]*$/.test(database) || !Number.isInteger(days) || !Number.isInteger(perDay)) throw new Error('bad arguments');
const lastDay = '2026-11-21';
const firstDayMs = Date.parse(`${lastDay}T00:00:00Z`) - (days - 1) * 86_400_000;
const dayText = (ms: number) => new Date(ms).toISOString().slice(0, 10);

const admin = createClickHouseClient({ url: localClickhouseUrl, username: localDefaults.users.admin.name, password: localDefaults.users.admin.password, requestTimeoutMs: 3_600_000 });
const log = (line: string) => process.stdout.write(`${line}\n`);

async function command(query: string) {
  await admin.command({ query, clickhouse_settings: { max_execution_time: 0 } });
}
async function select<T>(query: string): Promise<T[]> {
  return (await admin.query({ query, format: 'JSONEachRow', clickhouse_settings: { output_format_json_quote_64bit_integers: 0 } })).json<T>();
}

if (!values['skip-generate']) {
  await command(`DROP DATABASE IF EXISTS ${database}`);
  await migrate(admin, { database, kafkaBrokers: '127.0.0.1:1', kafkaTopic: 'bench', kafkaGroup: 'bench' });
  const started = Date.now();
  for (let day = 0; day < days; day++) {
    const runDate = dayText(firstDayMs + day * 86_400_000);
    // n: the run's number within its day; start spreads over the day; ~2 % have a rerun.
    const runRow = (version: string, extra: string) => `
      SELECT toDate('${runDate}') AS run_date, concat('run-', toString(n)) AS key,
        concat('job-', toString(cityHash64(n % 20000) % 200)) AS job, concat('host-', toString(n % 50)) AS host, 1 AS attempt,
        multiIf(h % 100 < 90, 'succeeded', h % 100 < 97, 'failed', h % 100 < 99, 'timeout', 'cancelled') AS status,
        toDateTime('${runDate} 00:00:00') + (n * 7919) % 86400 ${extra} AS started_at,
        toFloat64(50 + h % 30000) AS duration_ms,
        ['region', 'tier'] AS lk, [['eu', 'us', 'ap'][h % 3 + 1], ['gold', 'free'][h % 2 + 1]] AS lv,
        ['result.json', 'result.json'] AS mf, ['rows', 'timings_ms.total'] AS mp, [toFloat64(h % 10000), toFloat64(h % 977)] AS mv,
        ${version} AS version
      FROM (SELECT number AS n, cityHash64(number, ${day}) AS h FROM numbers(${perDay}))`;
    const insert = (select: string) => command(`INSERT INTO ${database}.runs (run_date, key, job, host, attempt, status, started_at, duration_ms,
      labels.key, labels.value, metrics.file, metrics.path, metrics.value, version) ${select}`);
    await insert(runRow('toUInt64(1)', ''));
    await insert(`SELECT * FROM (${runRow('toUInt64(2)', '+ 3600 * (1 + h % 72)')}) WHERE cityHash64(key, 1) % 50 = 0`);
    if (day % 30 === 29 || day === days - 1) log(`generated ${day + 1}/${days} days (${((Date.now() - started) / 1000).toFixed(0)} s)`);
  }
  log(`generation: ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

if (!values['skip-rebuild']) {
  const started = Date.now();
  const result = await rebuildRollups({
    clickhouse: admin,
    admin,
    database,
    labelKeys: ['region', 'tier'],
    // Minute rows only for the default 35 days: a year of minute × job × host rows is what retention is for.
    retention: { runs: 0, minute: 35, hour: 0, day: 0 },
    from: dayText(firstDayMs),
    to: dayText(Date.parse(`${lastDay}T00:00:00Z`) + 86_400_000),
    progress: (event) => {
      if (event.kind === 'run_date' && (event.index % 30 === 0 || event.index === event.runDates)) {
        log(`rebuilt ${event.index}/${event.runDates} run_dates (last ${event.ms} ms, ${((Date.now() - started) / 1000).toFixed(0)} s)`);
      }
    },
  });
  log(`rebuild: ${result.rebuilt} run_dates in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

if (values.optimize) {
  const started = Date.now();
  for (const table of ['rollup_runs_minute', 'rollup_runs_hour', 'rollup_runs_day', 'rollup_metrics_minute', 'rollup_metrics_hour', 'rollup_metrics_day']) {
    await command(`OPTIMIZE TABLE ${database}.${table} FINAL`);
  }
  log(`optimize: ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

const sizes = await select<{ table: string; rows: number; bytes: number }>(`SELECT table, sum(rows) AS rows, sum(bytes_on_disk) AS bytes FROM system.parts WHERE database = '${database}' AND active GROUP BY table ORDER BY table`);
for (const size of sizes) log(`  ${size.table.padEnd(24)} ${String(size.rows).padStart(12)} rows ${(size.bytes / 2 ** 20).toFixed(1).padStart(9)} MiB`);

/**
 * The overview: timeseries by status + top jobs with their failures, over the `span` days
 * ending with the last day. With `quantiles`, the top jobs also get p50/p95 durations.
 */
function overview(span: number, source: 'rollup' | 'raw', quantiles = false): string[] {
  const to = `toDateTime('${dayText(Date.parse(`${lastDay}T00:00:00Z`) + 86_400_000)} 00:00:00')`;
  const from = `toDateTime('${dayText(Date.parse(`${lastDay}T00:00:00Z`) - (span - 1) * 86_400_000)} 00:00:00')`;
  if (source === 'rollup') {
    const tier = span <= 2 ? 'hour' : 'day';
    return [
      `SELECT bucket, status, sum(runs) AS runs FROM ${database}.rollup_runs_${tier} FINAL WHERE dimension = 'all' AND bucket >= ${from} AND bucket < ${to} GROUP BY bucket, status ORDER BY bucket, status`,
      `SELECT value AS job, sum(runs) AS total, sumIf(runs, status = 'failed') AS failed${quantiles ? ', quantilesTDigestMerge(0.5, 0.95)(duration_digest) AS q' : ''}
       FROM ${database}.rollup_runs_day FINAL WHERE dimension = 'job' AND bucket >= toStartOfDay(${from}) AND bucket < ${to} GROUP BY job ORDER BY total DESC LIMIT 10`,
    ];
  }
  // Raw: the newest version of each run, narrowed by run_date (the primary key); reruns
  // start up to 3 days after their run_date, so the run_date range starts 3 days earlier.
  const bucket = span <= 2 ? 'toStartOfHour' : 'toStartOfDay';
  const runDates = `run_date >= toDate(${from}) - 3 AND run_date < toDate(${to})`;
  return [
    `SELECT ${bucket}(started_at) AS b, status, count() AS runs FROM (SELECT started_at, status FROM ${database}.runs FINAL WHERE ${runDates})
     WHERE started_at >= ${from} AND started_at < ${to} GROUP BY b, status ORDER BY b, status`,
    `SELECT job, count() AS total, countIf(status = 'failed') AS failed${quantiles ? ', quantilesTDigest(0.5, 0.95)(duration_ms) AS q' : ''}
     FROM (SELECT job, started_at, status, duration_ms FROM ${database}.runs FINAL WHERE ${runDates})
     WHERE started_at >= ${from} AND started_at < ${to} GROUP BY job ORDER BY total DESC LIMIT 10`,
  ];
}

async function timeOverview(span: number, source: 'rollup' | 'raw', runs: number, quantiles = false): Promise<{ p50: number; p95: number }> {
  const timings: number[] = [];
  for (let i = 0; i < runs + 1; i++) {
    const started = performance.now();
    for (const query of overview(span, source, quantiles)) await select(query);
    if (i > 0) timings.push(performance.now() - started); // the first run warms caches
  }
  timings.sort((a, b) => a - b);
  const at = (q: number) => timings[Math.min(timings.length - 1, Math.ceil(q * timings.length) - 1)]!;
  return { p50: at(0.5), p95: at(0.95) };
}

const results: Record<string, { p50: number; p95: number }> = {};
for (const span of [1, 30, 365].filter((span) => span <= days)) {
  for (const source of ['rollup', 'raw'] as const) {
    const runs = source === 'raw' && span > 30 ? 3 : Number(values.runs);
    const result = await timeOverview(span, source, runs);
    results[`${source}/${span}`] = result;
    log(`overview ${String(span).padStart(3)} d on ${source.padEnd(6)}: p50 ${result.p50.toFixed(1)} ms, p95 ${result.p95.toFixed(1)} ms (${runs} runs)`);
  }
}
for (const span of [1, 30, 365].filter((span) => span <= days)) {
  const result = await timeOverview(span, 'rollup', Number(values.runs), true);
  log(`overview ${String(span).padStart(3)} d on rollup with p50/p95 per top job: p50 ${result.p50.toFixed(1)} ms, p95 ${result.p95.toFixed(1)} ms`);
}
const ratio = (a: string, b: string) => (results[a] && results[b] ? (results[a].p50 / results[b].p50).toFixed(2) : 'n/a');
log(`ratio 365d/1d: rollup ${ratio('rollup/365', 'rollup/1')}, raw ${ratio('raw/365', 'raw/1')}`);
for (const span of [1, 30, 365]) log(`ratio rollup/raw ${span} d: ${ratio(`rollup/${span}`, `raw/${span}`)}`);

// runs_latest: a view over runs FINAL; does a run_date filter reach the table on this server?
const viewTimings: string[] = [];
for (const setting of [0, 1]) {
  const started = performance.now();
  await admin.query({
    query: `SELECT status, count() FROM ${database}.runs_latest WHERE run_date = toDate('${lastDay}') GROUP BY status`,
    format: 'JSONEachRow',
    clickhouse_settings: { enable_optimize_predicate_expression: setting as 0 | 1, max_execution_time: 0 },
  }).then((result) => result.json());
  viewTimings.push(`enable_optimize_predicate_expression=${setting}: ${(performance.now() - started).toFixed(0)} ms`);
}
const directStarted = performance.now();
await select(`SELECT status, count() FROM ${database}.runs FINAL WHERE run_date = toDate('${lastDay}') GROUP BY status`);
log(`runs_latest, one run_date: ${viewTimings.join(', ')}; runs FINAL directly: ${(performance.now() - directStarted).toFixed(0)} ms`);
await admin.close();
