// Rebuilds every rollup for a range of run_dates from `runs`: for a new rollup, a changed
// set of label keys, or after a repair. Takes the writer lock (asking a running maintainer
// to step aside) and recomputes one run_date at a time, all of its hours at once: every
// hour where a version of its runs started or where it has rollup rows, so that stale rows
// (a rollup rebuilt with other label keys, a run_date whose runs are gone) are zeroed too.
import type { ClickHouseClient } from '@clickhouse/client';
import { toClickHouseError } from '../../clickhouse/clickhouse-error.ts';
import { date, sql, SqlFragment } from '../../clickhouse/sql.ts';
import type { RetentionDays } from '../config.ts';
import { recomputeUnits } from './recompute.ts';
import { Generations } from './rollup-state.ts';
import { isKept } from './tiers.ts';
import { WriterLock } from './writer-lock.ts';

export interface RebuildOptions {
  clickhouse: ClickHouseClient;
  admin: ClickHouseClient;
  database: string;
  labelKeys: readonly string[];
  retention: RetentionDays;
  /** First run_date (YYYY-MM-DD), inclusive. */
  from: string;
  /** Last run_date (YYYY-MM-DD), exclusive. */
  to: string;
  progress: (event: RebuildProgress) => void;
  signal?: AbortSignal;
  lockWaitMs?: number;
  now?: () => number;
}

export type RebuildProgress =
  | { kind: 'start'; runDates: number }
  | { kind: 'run_date'; runDate: string; index: number; runDates: number; ms: number; skipped: boolean };

export class RebuildError extends Error {
  override readonly name = 'RebuildError';
}

export async function rebuildRollups(options: RebuildOptions): Promise<{ rebuilt: number; skipped: number }> {
  const now = options.now ?? Date.now;
  const lock = new WriterLock({ admin: options.admin, database: options.database, holder: `rebuild:${process.pid}:${Math.random().toString(36).slice(2, 8)}` });
  await takeLock(lock, options.lockWaitMs ?? 60_000, options.signal);
  try {
    const runDates = await runDatesIn(options);
    options.progress({ kind: 'start', runDates: runDates.length });
    const generations = new Generations(options.clickhouse, options.database, now);
    let rebuilt = 0;
    let skipped = 0;
    for (const [index, runDate] of runDates.entries()) {
      if (options.signal?.aborted) break;
      const started = now();
      // Raw runs of this month are gone: what is left would only shrink the rollup.
      const skip = !isKept(runDate, options.retention.runs, now());
      if (!skip) {
        if ((await lock.acquire({ yieldOnRequest: false })) !== 'held') throw new RebuildError('lost the rollup writer lock (taken over as stale?)');
        await recomputeUnits(options.clickhouse, {
          database: options.database,
          runDate,
          hours: await unitHours(options, runDate),
          generation: await generations.next(),
          labelKeys: options.labelKeys,
          minuteTier: isKept(runDate, options.retention.minute, now()),
        });
        rebuilt++;
      } else {
        skipped++;
      }
      options.progress({ kind: 'run_date', runDate, index: index + 1, runDates: runDates.length, ms: now() - started, skipped: skip });
    }
    return { rebuilt, skipped };
  } finally {
    await lock.release();
  }
}

async function takeLock(lock: WriterLock, waitMs: number, signal: AbortSignal | undefined): Promise<void> {
  const deadline = Date.now() + waitMs;
  let askedAt = 0;
  for (;;) {
    if ((await lock.acquire({ yieldOnRequest: false })) === 'held') return;
    // Asked again every second: the holder may have handed the lease back and taken a new
    // one (a new table, without our request) since we last asked.
    if (Date.now() - askedAt >= 1_000) {
      await lock.request();
      askedAt = Date.now();
    }
    if (signal?.aborted) throw new RebuildError('aborted while waiting for the rollup writer lock');
    if (Date.now() > deadline) throw new RebuildError(`the rollup writer lock stayed busy for ${Math.round(waitMs / 1000)} s`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** Every unit hour of a run_date: where any version of its runs started, or where it has rollup rows. */
async function unitHours(options: RebuildOptions, runDate: string): Promise<number[]> {
  const table = (name: string) => SqlFragment.trusted(`${options.database}.${name}`);
  const day = date(runDate);
  const query = sql`SELECT DISTINCT unit_hour FROM
(
  SELECT toUInt32(toStartOfHour(started_at)) AS unit_hour FROM ${table('runs')} WHERE run_date = ${day}
  UNION ALL SELECT toUInt32(toStartOfHour(bucket)) AS unit_hour FROM ${table('rollup_runs_hour')} WHERE run_date = ${day}
  UNION ALL SELECT toUInt32(toStartOfHour(bucket)) AS unit_hour FROM ${table('rollup_metrics_hour')} WHERE run_date = ${day}
)
ORDER BY unit_hour`;
  try {
    const rows = await (await options.clickhouse.query({ query: query.text, format: 'JSONEachRow' })).json<{ unit_hour: number }>();
    return rows.map((row) => Number(row.unit_hour));
  } catch (error) {
    throw toClickHouseError(error, `listing the unit hours of ${runDate}`);
  }
}

/** run_dates in [from, to) that have runs, or rollup rows that may need zeroing. */
async function runDatesIn(options: RebuildOptions): Promise<string[]> {
  const table = (name: string) => SqlFragment.trusted(`${options.database}.${name}`);
  const range = sql`run_date >= ${date(options.from)} AND run_date < ${date(options.to)}`;
  const query = sql`SELECT DISTINCT toString(run_date) AS run_date FROM
(
  SELECT DISTINCT run_date FROM ${table('runs')} WHERE ${range}
  UNION ALL SELECT DISTINCT run_date FROM ${table('rollup_runs_hour')} WHERE ${range}
  UNION ALL SELECT DISTINCT run_date FROM ${table('rollup_metrics_hour')} WHERE ${range}
)
ORDER BY run_date`;
  try {
    const rows = await (await options.clickhouse.query({ query: query.text, format: 'JSONEachRow' })).json<{ run_date: string }>();
    return rows.map((row) => row.run_date);
  } catch (error) {
    throw toClickHouseError(error, 'listing the run_dates to rebuild');
  }
}
