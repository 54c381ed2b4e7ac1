// Run history for the benchmark: `days` × `perDay` runs generated server-side
// (INSERT … SELECT FROM numbers(), one statement per day) straight into `runs` of a
// database of its own, ~2 % of them with a rerun (a second version: later start, other
// status), then every rollup rebuilt with the code of `runlens rebuild`. The database is
// kept and reused by later runs with the same shape (the report says whether this run
// generated it). Shape as in clickhouse/bench/rollup-bench.ts: 200 jobs, 50 hosts,
// region and tier labels, two metric leaves per run; 1 % still running.
import type { ClickHouseClient } from '@clickhouse/client';
import { migrate } from '../clickhouse/migrate.ts';
import { rebuildRollups } from '../ingest/rollup/rebuild.ts';
import { writeRollupState } from '../ingest/rollup/rollup-state.ts';

export interface History {
  database: string;
  days: number;
  perDay: number;
  runs: number;
  generated: boolean;
  generateSeconds: number;
  rebuildSeconds: number;
  firstDay: string;
  lastDay: string;
}

const DAY_MS = 86_400_000;
const dayText = (ms: number) => new Date(ms).toISOString().slice(0, 10);

export async function ensureHistory(admin: ClickHouseClient, days: number, perDay: number, log: (line: string) => void): Promise<History> {
  const database = `bench_history_${days}d_${perDay}`;
  const lastDayMs = Math.floor(Date.now() / DAY_MS) * DAY_MS;
  const firstDayMs = lastDayMs - (days - 1) * DAY_MS;
  const base = { database, days, perDay, firstDay: dayText(firstDayMs), lastDay: dayText(lastDayMs) };
  const select = async <T>(query: string) => (await admin.query({ query, format: 'JSONEachRow', clickhouse_settings: { output_format_json_quote_64bit_integers: 0 } })).json<T>();
  const command = (query: string) => admin.command({ query, clickhouse_settings: { max_execution_time: 0 } });
  // Reuse: same shape, and its days still end today (the ranges of the figures end now).
  const existing = await select<{ last: string }>(`SELECT toString(max(run_date)) AS last FROM ${database}.runs`).catch(() => []);
  if (existing[0]?.last === base.lastDay) {
    // Migrations added since it was generated (e.g. a re-sorted rollup) apply to it too.
    await migrate(admin, { database, kafkaBrokers: '127.0.0.1:1', kafkaTopic: 'bench', kafkaGroup: 'bench' });
    const [{ runs } = { runs: 0 }] = await select<{ runs: number }>(`SELECT uniqExact(run_date, key) AS runs FROM ${database}.runs`);
    await writeRollupState(admin, database, 'complete_until', Math.floor(Date.now() / 1000));
    return { ...base, runs, generated: false, generateSeconds: 0, rebuildSeconds: 0 };
  }
  await command(`DROP DATABASE IF EXISTS ${database}`);
  await migrate(admin, { database, kafkaBrokers: '127.0.0.1:1', kafkaTopic: 'bench', kafkaGroup: 'bench' });
  let started = Date.now();
  for (let day = 0; day < days; day++) {
    const runDate = dayText(firstDayMs + day * DAY_MS);
    const runRow = (attempt: string, shift: string) => `
      SELECT toDate('${runDate}') AS run_date, concat('run-', toString(n)) AS key,
        concat('job-', toString(cityHash64(n % 20000) % 200)) AS job, concat('host-', toString(n % 50)) AS host, ${attempt} AS attempt,
        multiIf(h % 1000 < 10, 'running', h % 100 < 90, 'succeeded', h % 100 < 97, 'failed', h % 100 < 99, 'timeout', 'cancelled') AS status,
        toDateTime('${runDate} 00:00:00') + (n * 7919) % 86400 ${shift} AS started_at, toUInt64(started_at) * 1000 + h % 1000 AS started_at_ms,
        if(status = 'running', NULL, toNullable(toFloat64(50 + h % 30000))) AS duration_ms,
        ['region', 'tier'] AS lk, [['eu', 'us', 'ap'][h % 3 + 1], ['gold', 'free'][h % 2 + 1]] AS lv,
        ['result.json', 'result.json'] AS mf, ['rows', 'timings_ms.total'] AS mp, [toFloat64(h % 10000), toFloat64(h % 977)] AS mv,
        toUInt64(${attempt}) * 10000000000000 + started_at_ms AS version
      FROM (SELECT number AS n, cityHash64(number, ${day}) AS h FROM numbers(${perDay}))`;
    const insert = (rows: string) => command(`INSERT INTO ${database}.runs (run_date, key, job, host, attempt, status, started_at, started_at_ms, duration_ms,
      labels.key, labels.value, metrics.file, metrics.path, metrics.value, version) SELECT run_date, key, job, host, attempt, status, started_at, started_at_ms, duration_ms, lk, lv, mf, mp, mv, version FROM (${rows})`);
    await insert(runRow('1', ''));
    // The rerun starts 1–20 hours later within its run_date's day or the next (the raw source's one-day margin).
    await insert(`SELECT * FROM (${runRow('2', '+ 3600 * (1 + h % 20)')}) WHERE cityHash64(key, 1) % 50 = 0`);
    if ((day + 1) % 30 === 0 || day === days - 1) log(`history ${database}: generated ${day + 1}/${days} days (${((Date.now() - started) / 1000).toFixed(0)} s)`);
  }
  const generateSeconds = (Date.now() - started) / 1000;
  started = Date.now();
  await rebuildRollups({
    clickhouse: admin,
    admin,
    database,
    labelKeys: ['region', 'tier'],
    retention: { runs: 0, minute: 35, hour: 0, day: 0 },
    from: base.firstDay,
    to: dayText(lastDayMs + DAY_MS),
    progress: (event) => {
      if (event.kind === 'run_date' && (event.index % 30 === 0 || event.index === event.runDates)) log(`history ${database}: rebuilt ${event.index}/${event.runDates} run_dates (${((Date.now() - started) / 1000).toFixed(0)} s)`);
    },
  });
  const rebuildSeconds = (Date.now() - started) / 1000;
  await writeRollupState(admin, database, 'complete_until', Math.floor(Date.now() / 1000));
  return { ...base, runs: days * perDay, generated: true, generateSeconds, rebuildSeconds };
}
