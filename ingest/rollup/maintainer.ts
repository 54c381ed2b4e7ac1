// The rollup maintainer: every few seconds, recomputes the units the sink noted as dirty,
// then advances the watermark `complete_until`. Runs inside the sink process; with several
// sinks, the writer lock lets one of them work and the others wait.
//
// Which notes are due: the notes of the last `overlapS` seconds are read again every cycle
// (a note becomes visible a moment after the server stamped it), and a note is due when it
// is not older than the last recompute of its unit (same-second ties recompute again).
// On start, and after taking the lock over, the last `startupOverlapS` seconds before the
// stored watermark are replayed: that covers a sink that crashed between storing a batch
// and confirming its notes.
import type { ClickHouseClient } from '@clickhouse/client';
import { toClickHouseError } from '../../clickhouse/clickhouse-error.ts';
import { num, sql, SqlFragment } from '../../clickhouse/sql.ts';
import type { RetentionDays } from '../config.ts';
import { recomputeUnits } from './recompute.ts';
import { applyRetention } from './retention.ts';
import { Generations, readRollupState, writeRollupState } from './rollup-state.ts';
import { isKept } from './tiers.ts';
import { WriterLock } from './writer-lock.ts';

export interface MaintainerOptions {
  /** Reads runs and notes, writes rollups (the ingest user). */
  clickhouse: ClickHouseClient;
  /** DDL: the writer lock and DROP PARTITION (the admin user). */
  admin: ClickHouseClient;
  database: string;
  labelKeys: readonly string[];
  retention: RetentionDays;
  intervalMs: number;
  log: (line: string) => void;
  holder?: string;
  retentionEveryMs?: number;
  now?: () => number;
}

export interface CycleResult {
  state: 'done' | 'busy' | 'yield';
  units: number;
  skippedDropped: number;
  completeUntil: number | null;
}

const OVERLAP_S = 10;
const STARTUP_OVERLAP_S = 600;
/** complete_until trails the cycle's cut by this much: notes stamped just before it may become visible late. */
const VISIBILITY_MARGIN_S = 3;
const YIELD_MS = 10_000;

export class RollupMaintainer {
  private readonly lock: WriterLock;
  private readonly generations: Generations;
  private readonly now: () => number;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<unknown> = Promise.resolve();
  private stopped = false;
  /** Server second of the previous cycle's cut; null until this process holds the lock. */
  private lastCut: number | null = null;
  /** Per unit, the cut of its latest recompute. */
  private readonly lastRecompute = new Map<string, number>();
  private lastRetentionMs = 0;
  private yieldUntilMs = 0;
  readonly stats = { cycles: 0, units: 0, failures: 0 };

  constructor(private readonly options: MaintainerOptions) {
    this.now = options.now ?? Date.now;
    this.lock = new WriterLock({ admin: options.admin, database: options.database, holder: options.holder ?? `maintainer:${process.pid}:${Math.random().toString(36).slice(2, 8)}` });
    this.generations = new Generations(options.clickhouse, options.database);
  }

  start(): void {
    const tick = () => {
      if (this.stopped) return;
      this.running = this.runOnce()
        .catch((error: unknown) => {
          // The next cycle starts over from the watermark: nothing is lost by a failed one.
          this.stats.failures++;
          this.options.log(`rollup: cycle failed, retrying in ${this.options.intervalMs} ms: ${(error as Error).message}`);
        })
        .finally(() => {
          if (!this.stopped) this.timer = setTimeout(tick, this.options.intervalMs);
        });
    };
    tick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
    await this.lock.release().catch(() => {});
  }

  /** One cycle: take or keep the lock, recompute what is due, advance the watermark. */
  async runOnce(): Promise<CycleResult> {
    const { clickhouse, database } = this.options;
    if (this.now() < this.yieldUntilMs) return { state: 'yield', units: 0, skippedDropped: 0, completeUntil: null };
    const wasHeld = this.lock.isHeld;
    const lock = await this.lock.acquire({ yieldOnRequest: true });
    if (lock !== 'held') {
      if (lock === 'yield') {
        this.options.log('rollup: a rebuild asked for the writer lock; pausing');
        this.yieldUntilMs = this.now() + YIELD_MS;
      }
      this.lastCut = null;
      return { state: lock, units: 0, skippedDropped: 0, completeUntil: null };
    }
    if (!wasHeld) {
      // Someone else may have written meanwhile: forget cached generations and progress.
      this.generations.reset();
      this.lastCut = null;
      this.lastRecompute.clear();
    }
    const cut = await serverNow(clickhouse);
    const from = this.lastCut !== null
      ? this.lastCut - OVERLAP_S
      : Math.max(0, (await readRollupState(clickhouse, database)).completeUntil - STARTUP_OVERLAP_S);
    const notes = await readNotes(clickhouse, database, from, cut);
    const due = notes.filter((note) => note.notedAt >= (this.lastRecompute.get(`${note.runDate}/${note.hour}`) ?? -1));
    const nowMs = this.now();
    const byDate = new Map<string, number[]>();
    let skippedDropped = 0;
    for (const note of due) {
      // Raw runs of this month were dropped by retention: recomputing from what is left
      // (a late version) would wipe the rollup. The rollup stays as it was.
      if (!isKept(note.runDate, this.options.retention.runs, nowMs)) {
        skippedDropped++;
        this.lastRecompute.set(`${note.runDate}/${note.hour}`, cut); // reported once, not every cycle
        continue;
      }
      byDate.set(note.runDate, [...(byDate.get(note.runDate) ?? []), note.hour]);
    }
    if (skippedDropped > 0) this.options.log(`rollup: ${skippedDropped} units of run_dates whose raw runs were dropped by retention left as they are`);
    if (byDate.size > 0) {
      const generation = await this.generations.next();
      for (const [runDate, hours] of byDate) {
        await recomputeUnits(clickhouse, {
          database,
          runDate,
          hours,
          generation,
          labelKeys: this.options.labelKeys,
          minuteTier: isKept(runDate, this.options.retention.minute, nowMs),
        });
        for (const hour of hours) this.lastRecompute.set(`${runDate}/${hour}`, cut);
      }
    }
    for (const [unit, recomputedAt] of this.lastRecompute) {
      if (recomputedAt < cut - 2 * OVERLAP_S) this.lastRecompute.delete(unit);
    }
    this.lastCut = cut;
    const completeUntil = cut - VISIBILITY_MARGIN_S;
    await writeRollupState(clickhouse, database, 'complete_until', completeUntil);
    if (nowMs - this.lastRetentionMs >= (this.options.retentionEveryMs ?? 3_600_000)) {
      this.lastRetentionMs = nowMs;
      const dropped = await applyRetention(this.options.admin, database, this.options.retention, nowMs);
      if (dropped.length > 0) this.options.log(`rollup: retention dropped ${dropped.map((d) => `${d.table}/${d.partitionId}`).join(', ')}`);
      // The lease table grows by a heartbeat row every few seconds: hand it back hourly and
      // take it afresh (any sink may take it meanwhile, which is as good; the next holder
      // replays the last minutes of notes).
      await this.lock.release();
    }
    this.stats.cycles++;
    this.stats.units += due.length - skippedDropped;
    return { state: 'done', units: due.length - skippedDropped, skippedDropped, completeUntil };
  }
}

interface Note {
  runDate: string;
  /** Unix seconds */
  hour: number;
  notedAt: number;
}

async function readNotes(client: ClickHouseClient, database: string, from: number, cut: number): Promise<Note[]> {
  const query = sql`SELECT toString(run_date) AS date_text, toUInt32(hour) AS hour_s, toUInt32(max(noted_at)) AS last_noted
FROM ${SqlFragment.trusted(`${database}.rollup_dirty`)}
WHERE noted_at >= toDateTime(${num(from)}) AND noted_at <= toDateTime(${num(cut)})
GROUP BY run_date, hour`;
  try {
    const rows = await (await client.query({ query: query.text, format: 'JSONEachRow' })).json<{ date_text: string; hour_s: number; last_noted: number }>();
    return rows.map((row) => ({ runDate: row.date_text, hour: Number(row.hour_s), notedAt: Number(row.last_noted) }));
  } catch (error) {
    throw toClickHouseError(error, 'reading dirty rollup units');
  }
}

export async function serverNow(client: ClickHouseClient): Promise<number> {
  try {
    const rows = await (await client.query({ query: 'SELECT toUInt32(now()) AS now', format: 'JSONEachRow' })).json<{ now: number }>();
    return Number(rows[0]?.now);
  } catch (error) {
    throw toClickHouseError(error, 'reading the server clock');
  }
}
