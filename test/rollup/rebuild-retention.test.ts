import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rebuildCommand } from '../../ingest/cli/rebuild-command.ts';
import { applyRetention } from '../../ingest/rollup/retention.ts';
import { createTestPipeline, type TestPipeline } from '../support/pipeline.ts';
import { compareAllTiers } from './rollup-truth.ts';

let pipeline: TestPipeline;
let db: string;
const labelKeys = ['region'];
const retentionEnv = {
  RUNLENS_ROLLUP_LABEL_KEYS: labelKeys.join(','),
  RUNLENS_ROLLUP_INTERVAL_MS: '200',
  RUNLENS_RETENTION_RUNS_DAYS: '60',
  RUNLENS_RETENTION_MINUTE_DAYS: '60',
  RUNLENS_RETENTION_HOUR_DAYS: '0',
  RUNLENS_RETENTION_DAY_DAYS: '0',
};

beforeAll(async () => {
  // The sink's own maintainer keeps everything: retention is applied by the test, at a chosen date.
  pipeline = await createTestPipeline('rollup_rebuild', {
    ...retentionEnv,
    RUNLENS_RETENTION_RUNS_DAYS: '0',
    RUNLENS_RETENTION_MINUTE_DAYS: '0',
  });
  db = pipeline.config.clickhouse.database;
  // The maintainer runs (it holds the writer lock): rebuild must ask it to step aside.
  await pipeline.startSink();
});

afterAll(async () => {
  await pipeline?.close();
});

/** Runs written straight into the table, two versions of some, as an existing database would have them. */
async function insertRuns(runDate: string, count: number) {
  await pipeline.admin.command({
    query: `INSERT INTO ${db}.runs (run_date, key, job, host, status, started_at, duration_ms, labels.key, labels.value, metrics.file, metrics.path, metrics.value, version)
      SELECT toDate('${runDate}'), concat('k', toString(number % ${Math.ceil(count * 0.7)})), concat('job', toString(number % 3)), concat('h', toString(number % 2)),
        ['succeeded', 'failed', 'running'][number % 3 + 1],
        toDateTime('${runDate} 00:00:00') + number * 997 % 90000,
        if(number % 3 = 2, NULL, toFloat64(number * 37 % 5000)),
        ['region'], [['eu', 'us'][number % 2 + 1]],
        ['result.json'], ['rows'], [toFloat64(number % 100)],
        number
      FROM numbers(${count})`,
  });
}

async function run(argv: string[], env: Record<string, string> = {}): Promise<{ code: number; out: string[] }> {
  const out: string[] = [];
  Object.assign(process.env, { RUNLENS_CLICKHOUSE_DATABASE: db, ...retentionEnv, ...env });
  const code = await rebuildCommand.run(argv, { out: (line) => out.push(line), err: (line) => out.push(line), signal: new AbortController().signal });
  return { code, out };
}

describe('runlens rebuild and retention', () => {
  it('rebuild recomputes every rollup of a range from runs, with progress', async () => {
    await insertRuns('2026-01-15', 300);
    await insertRuns('2026-10-30', 300);
    await insertRuns('2026-11-01', 200);
    // Before retention: every month still has its raw runs.
    const { code, out } = await run(['--from', '2026-01-01', '--to', '2026-12-01'], { RUNLENS_RETENTION_RUNS_DAYS: '0', RUNLENS_RETENTION_MINUTE_DAYS: '0' });
    expect(code).toBe(0);
    expect(out[0]).toBe('rebuild: 3 run_dates with data in [2026-01-01, 2026-12-01)');
    expect(out.filter((line) => /^ {2}2026-\d\d-\d\d {2}rebuilt in \d+ ms {2}\[\d\/3\]$/.test(line))).toHaveLength(3);
    expect(out.at(-1)).toMatch(/^rebuild: 3 run_dates rebuilt, 0 skipped, in [\d.]+ s$/);
    expect(await compareAllTiers(pipeline, labelKeys)).toEqual([]);
  });

  it('refuses a range that is not one', async () => {
    await expect(run(['--from', '2026-02-01', '--to', '2026-01-01'])).rejects.toThrow(/must be after --from/);
    await expect(run(['--from', '2026-02-30', '--to', '2026-03-01'])).rejects.toThrow(/YYYY-MM-DD/);
  });

  it('retention drops old months of runs and minute rollups, and keeps the hour and day rollups', async () => {
    const before = await pipeline.query<{ runs: number }>(`SELECT sum(runs) AS runs FROM ${db}.runs_by_day WHERE dimension = 'all' AND bucket < toDateTime('2026-02-01 00:00:00')`);
    const dropped = await applyRetention(pipeline.admin, db, { runs: 60, minute: 60, hour: 0, day: 0 }, Date.parse('2026-11-22T00:00:00Z'));
    expect(dropped.filter((entry) => entry.table !== 'rollup_dirty')).toEqual([
      { table: 'runs', partition: 202601, partitionId: '202601' },
      { table: 'rollup_runs_minute', partition: 202601, partitionId: '202601-202601' },
      { table: 'rollup_metrics_minute', partition: 202601, partitionId: '202601-202601' },
    ]);
    const months = await pipeline.query<{ month: number }>(`SELECT DISTINCT toYYYYMM(run_date) AS month FROM ${db}.runs ORDER BY month`);
    expect(months.map((row) => row.month)).toEqual([202610, 202611]);
    const after = await pipeline.query<{ runs: number }>(`SELECT sum(runs) AS runs FROM ${db}.runs_by_day WHERE dimension = 'all' AND bucket < toDateTime('2026-02-01 00:00:00')`);
    expect(after).toEqual(before);
    expect(Number(after[0]!.runs)).toBeGreaterThan(0);
  });

  it('a late version of a dropped month does not shrink its rollups', async () => {
    const totals = () => pipeline.query<{ runs: number }>(`SELECT sum(runs) AS runs FROM ${db}.rollup_runs_hour FINAL WHERE run_date = '2026-01-15' AND dimension = 'all'`);
    const before = await totals();
    await insertRuns('2026-01-15', 1);
    const { out } = await run(['--from', '2026-01-01', '--to', '2026-02-01']);
    expect(out).toContain('  2026-01-15  skipped (raw runs dropped by retention)  [1/1]');
    expect(await totals()).toEqual(before);
  });
});
