// The brute-force truth the rollups must equal: every run of `runs FINAL` (one row per run,
// its newest version) aggregated in JS into each tier's buckets, next to what the rollup
// tables hold (read FINAL, zero rows left out). Counts, sums, min and max must match
// exactly; the test data keeps durations and metric values integral so that float sums
// do not depend on the order of addition. Quantiles are compared separately, within a
// tolerance (TDigest states merged across units are not bit-identical to one digest).
import type { TestPipeline } from '../support/pipeline.ts';

export type TierName = 'minute' | 'hour' | 'day';
/** The runs rollup has a month tier too (summed from the day tier); metrics do not. */
export type RunsTierName = TierName | 'month';
const BUCKET_SECONDS: Record<TierName, number> = { minute: 60, hour: 3600, day: 86_400 };

/** A run's bucket and run_date as the tier keys them (UTC: the test server's time zone). */
function tierKey(run: DedupRun, tier: RunsTierName): { bucket: number; runDate: string } {
  if (tier !== 'month') return { bucket: Math.floor(run.started_at / BUCKET_SECONDS[tier]) * BUCKET_SECONDS[tier], runDate: run.run_date };
  const started = new Date(run.started_at * 1000);
  return { bucket: Date.UTC(started.getUTCFullYear(), started.getUTCMonth(), 1) / 1000, runDate: `${run.run_date.slice(0, 8)}01` };
}

interface DedupRun {
  run_date: string;
  key: string;
  job: string;
  host: string;
  status: string;
  started_at: number;
  duration_ms: number | null;
  label_keys: string[];
  label_values: string[];
  metric_files: string[];
  metric_paths: string[];
  metric_values: number[];
}

export interface RunsCell { runs: number; duration_count: number; duration_sum: number; duration_min: number; duration_max: number }
export interface MetricsCell { samples: number; value_sum: number; value_min: number; value_max: number }

export async function dedupRuns(pipeline: TestPipeline): Promise<DedupRun[]> {
  const db = pipeline.config.clickhouse.database;
  return pipeline.query<DedupRun>(`SELECT toString(run_date) AS run_date, key, job, host, status, toUInt32(started_at) AS started_at,
      duration_ms, labels.key AS label_keys, labels.value AS label_values,
      metrics.file AS metric_files, metrics.path AS metric_paths, metrics.value AS metric_values
    FROM ${db}.runs FINAL`);
}

export function expectedRuns(runs: readonly DedupRun[], tier: RunsTierName, labelKeys: readonly string[]): Map<string, RunsCell> {
  const cells = new Map<string, RunsCell>();
  for (const run of runs) {
    const { bucket, runDate } = tierKey(run, tier);
    const label = (key: string) => run.label_values[run.label_keys.indexOf(key)] ?? '';
    const pairs: Array<[string, string]> = [['all', ''], ['job', run.job], ['host', run.host], ...labelKeys.map((key): [string, string] => [`label.${key}`, label(key)])];
    for (const [dimension, value] of pairs) {
      const id = [runDate, bucket, dimension, value, run.status].join('|');
      const cell = cells.get(id) ?? { runs: 0, duration_count: 0, duration_sum: 0, duration_min: 0, duration_max: 0 };
      cell.runs++;
      if (run.duration_ms !== null) {
        cell.duration_min = cell.duration_count === 0 ? run.duration_ms : Math.min(cell.duration_min, run.duration_ms);
        cell.duration_max = cell.duration_count === 0 ? run.duration_ms : Math.max(cell.duration_max, run.duration_ms);
        cell.duration_count++;
        cell.duration_sum += run.duration_ms;
      }
      cells.set(id, cell);
    }
  }
  return cells;
}

export function expectedMetrics(runs: readonly DedupRun[], tier: TierName): Map<string, MetricsCell> {
  const cells = new Map<string, MetricsCell>();
  for (const run of runs) {
    const bucket = Math.floor(run.started_at / BUCKET_SECONDS[tier]) * BUCKET_SECONDS[tier];
    run.metric_values.forEach((value, index) => {
      const id = [run.run_date, bucket, run.job, run.metric_files[index], run.metric_paths[index]].join('|');
      const cell = cells.get(id);
      if (!cell) cells.set(id, { samples: 1, value_sum: value, value_min: value, value_max: value });
      else {
        cell.samples++;
        cell.value_sum += value;
        cell.value_min = Math.min(cell.value_min, value);
        cell.value_max = Math.max(cell.value_max, value);
      }
    });
  }
  return cells;
}

export interface DurationsCell { duration_count: number }

/** rollup_durations_day: the day tier's cells summed over statuses, those with a finished run. */
export function expectedDurations(runs: readonly DedupRun[], labelKeys: readonly string[]): Map<string, DurationsCell> {
  const cells = new Map<string, DurationsCell>();
  for (const [id, cell] of expectedRuns(runs, 'day', labelKeys)) {
    if (cell.duration_count === 0) continue;
    const withoutStatus = id.slice(0, id.lastIndexOf('|'));
    const sum = cells.get(withoutStatus) ?? { duration_count: 0 };
    sum.duration_count += cell.duration_count;
    cells.set(withoutStatus, sum);
  }
  return cells;
}

export async function storedDurations(pipeline: TestPipeline): Promise<Map<string, DurationsCell>> {
  const rows = await pipeline.query<DurationsCell & { id: string }>(`SELECT concat(toString(run_date), '|', toString(toUInt32(bucket)), '|', dimension, '|', value) AS id,
      duration_count
    FROM ${pipeline.config.clickhouse.database}.rollup_durations_day FINAL WHERE duration_count > 0`);
  return new Map(rows.map(({ id, ...cell }) => [id, cell]));
}

export async function storedRuns(pipeline: TestPipeline, tier: RunsTierName): Promise<Map<string, RunsCell>> {
  const rows = await pipeline.query<RunsCell & { id: string }>(`SELECT concat(toString(run_date), '|', toString(toUInt32(bucket)), '|', dimension, '|', value, '|', status) AS id,
      runs, duration_count, duration_sum, duration_min, duration_max
    FROM ${pipeline.config.clickhouse.database}.rollup_runs_${tier} FINAL WHERE runs > 0`);
  return new Map(rows.map(({ id, ...cell }) => [id, cell]));
}

export async function storedMetrics(pipeline: TestPipeline, tier: TierName): Promise<Map<string, MetricsCell>> {
  const rows = await pipeline.query<MetricsCell & { id: string }>(`SELECT concat(toString(run_date), '|', toString(toUInt32(bucket)), '|', job, '|', file, '|', path) AS id,
      samples, value_sum, value_min, value_max
    FROM ${pipeline.config.clickhouse.database}.rollup_metrics_${tier} FINAL WHERE samples > 0`);
  return new Map(rows.map(({ id, ...cell }) => [id, cell]));
}

/**
 * Differences between two cell maps, as readable lines (empty when equal). Counts, min and
 * max must be identical; sums of non-integral values may differ in the last bits only,
 * because floating-point addition depends on the order (`sumTolerance`, relative; 0 = exact).
 */
export function diffCells<T extends object>(what: string, expected: Map<string, T>, actual: Map<string, T>, sumTolerance = 0): string[] {
  const lines: string[] = [];
  for (const [id, cell] of expected) {
    const got = actual.get(id);
    if (!got) lines.push(`${what} ${id}: missing, expected ${JSON.stringify(cell)}`);
    else if (!sameCell(normalise(got), normalise(cell), sumTolerance)) lines.push(`${what} ${id}: got ${JSON.stringify(got)}, expected ${JSON.stringify(cell)}`);
  }
  for (const [id, cell] of actual) if (!expected.has(id)) lines.push(`${what} ${id}: unexpected ${JSON.stringify(cell)}`);
  return lines;
}

function sameCell(got: Record<string, number>, want: Record<string, number>, sumTolerance: number): boolean {
  const keys = Object.keys(want);
  if (JSON.stringify(Object.keys(got)) !== JSON.stringify(keys)) return false;
  return keys.every((key) => {
    const [a, b] = [got[key]!, want[key]!];
    if (a === b) return true;
    return key.endsWith('_sum') && Math.abs(a - b) <= sumTolerance * Math.max(Math.abs(a), Math.abs(b));
  });
}

function normalise(cell: object): Record<string, number> {
  return Object.fromEntries(Object.entries(cell).map(([key, value]) => [key, Number(value)]).sort(([a], [b]) => String(a).localeCompare(String(b))));
}

/**
 * Every tier, runs and metrics, against the brute force: all differences. Data with
 * non-integral metric values (the simulator's) needs a relative `sumTolerance` such as 1e-9.
 */
export async function compareAllTiers(pipeline: TestPipeline, labelKeys: readonly string[], sumTolerance = 0): Promise<string[]> {
  const runs = await dedupRuns(pipeline);
  const lines: string[] = [];
  for (const tier of ['minute', 'hour', 'day'] as const) {
    lines.push(...diffCells(`runs/${tier}`, expectedRuns(runs, tier, labelKeys), await storedRuns(pipeline, tier), sumTolerance));
    lines.push(...diffCells(`metrics/${tier}`, expectedMetrics(runs, tier), await storedMetrics(pipeline, tier), sumTolerance));
  }
  lines.push(...diffCells('runs/month', expectedRuns(runs, 'month', labelKeys), await storedRuns(pipeline, 'month'), sumTolerance));
  lines.push(...diffCells('durations/day', expectedDurations(runs, labelKeys), await storedDurations(pipeline)));
  return lines;
}

/**
 * Quantiles of the 'all' dimension per tier bucket (summed over run_dates, as the views
 * do), against quantilesTDigest over the deduplicated runs: the largest difference as a
 * fraction of the bucket's duration range.
 */
export async function worstQuantileError(pipeline: TestPipeline, tier: RunsTierName): Promise<number> {
  const db = pipeline.config.clickhouse.database;
  const bucket = { minute: 'toStartOfMinute(started_at)', hour: 'toStartOfHour(started_at)', day: 'toStartOfDay(started_at)', month: 'toDateTime(toStartOfMonth(started_at))' }[tier];
  const rows = await pipeline.query<QuantileComparison>(`
    SELECT rolled, brute, lo, hi FROM
    (
      SELECT bucket AS b, status AS s, duration_quantiles_ms AS rolled FROM ${db}.runs_by_${tier} WHERE dimension = 'all' AND finished > 0
    ) ANY INNER JOIN
    (
      SELECT ${bucket} AS b, status AS s, quantilesTDigest(0.5, 0.95, 0.99)(duration_ms) AS brute, min(duration_ms) AS lo, max(duration_ms) AS hi
      FROM (SELECT started_at, status, duration_ms FROM ${db}.runs FINAL) WHERE isNotNull(duration_ms) GROUP BY b, s
    ) USING (b, s)`);
  return worstRelativeError(rows);
}

/** The server clock, Unix seconds. */
export async function serverNow(pipeline: TestPipeline): Promise<number> {
  const [row] = await pipeline.query<{ now: number }>('SELECT toUInt32(now()) AS now');
  return Number(row!.now);
}

export async function completeUntil(pipeline: TestPipeline): Promise<number> {
  const [row] = await pipeline.query<{ s: number }>(`SELECT toUInt32(complete_until) AS s FROM ${pipeline.config.clickhouse.database}.rollup_status`);
  return Number(row?.s ?? 0);
}

/**
 * As worstQuantileError, for rollup_durations_day: quantiles of the 'all' dimension per day
 * (its states merged over run_dates, as the API does) against quantilesTDigest over every
 * finished run that started that day, whatever its status.
 */
export async function worstDurationsQuantileError(pipeline: TestPipeline): Promise<number> {
  const db = pipeline.config.clickhouse.database;
  const rows = await pipeline.query<QuantileComparison>(`
    SELECT rolled, brute, lo, hi FROM
    (
      SELECT bucket AS b, quantilesTDigestMerge(0.5, 0.95, 0.99)(duration_digest) AS rolled
      FROM ${db}.rollup_durations_day FINAL WHERE dimension = 'all' AND duration_count > 0 GROUP BY b
    ) ANY INNER JOIN
    (
      SELECT toStartOfDay(started_at) AS b, quantilesTDigest(0.5, 0.95, 0.99)(duration_ms) AS brute, min(duration_ms) AS lo, max(duration_ms) AS hi
      FROM (SELECT started_at, duration_ms FROM ${db}.runs FINAL) WHERE isNotNull(duration_ms) GROUP BY b
    ) USING (b)`);
  if (rows.length === 0) throw new Error('no day with finished runs in rollup_durations_day');
  return worstRelativeError(rows);
}

interface QuantileComparison { rolled: number[]; brute: number[]; lo: number; hi: number }

/** The largest |rolled − brute| over every quantile of every row, as a fraction of the row's duration range. */
function worstRelativeError(rows: readonly QuantileComparison[]): number {
  let worst = 0;
  for (const row of rows) {
    const range = Math.max(1, Number(row.hi) - Number(row.lo));
    row.rolled.forEach((value, index) => {
      worst = Math.max(worst, Math.abs(Number(value) - Number(row.brute[index])) / range);
    });
  }
  return worst;
}
