// The sink's `beforeStoreRuns` hook: notes which rollup units a batch touches, so the
// maintainer recomputes exactly those.
//
// A batch touches the units of its own rows AND the units of the versions they replace (a
// rerun that moves a run from 10:00 to 14:00 changes both hours). The replaced versions are
// whatever `runs` holds now, so they are looked up before the batch is stored: one
// primary-key-narrow query per chunk of identities.
//
// The hook of a batch may run while the batch before it is still being inserted (the sink
// pipelines the two), so its lookup may miss versions that batch is storing. Those
// versions' units are in that batch's own notes: every batch therefore also carries the
// notes of the batches not yet stored when its lookup started, and confirms them again
// once it is stored itself. (Two batches apart, the earlier one is always stored first.)
//
// Each note is written twice: before the batch is stored (so rollups catch up quickly) and
// again once the sink has stored it. Only the second one guarantees that a recompute
// reading after it sees the batch: a batch whose insert is delayed (ClickHouse refusing
// inserts, retried for minutes) would otherwise be noted, recomputed without its rows, and
// forgotten. Both writes are idempotent; a crash between them is covered by the
// maintainer re-reading the last minutes of notes when it starts.
import type { ClickHouseClient } from '@clickhouse/client';
import { toClickHouseError } from '../../clickhouse/clickhouse-error.ts';
import { date, join, list, sql, SqlFragment, str } from '../../clickhouse/sql.ts';
import type { RunRow } from '../sink/rows.ts';

export interface DirtyNoterOptions {
  clickhouse: ClickHouseClient;
  database: string;
  /** How many batches the sink has stored so far (ClickHouseSink.stats.batches; a hooked batch is stored once it reaches the batch's `storedAs`). */
  storedBatches: () => number;
  log: (line: string) => void;
  /** How often stored batches are confirmed when no new batch comes. */
  confirmEveryMs?: number;
}

export interface UnitNote {
  run_date: string;
  /** Unix seconds; the server turns it into the unit's hour. */
  started_at: number;
}

/** Keeps a query's text well under 18.16's max_query_size (256 KiB). */
const LOOKUP_CHUNK_CHARS = 120_000;

export class DirtyNoter {
  private pending: Array<{ notes: UnitNote[]; storedAs: number }> = [];
  private timer: NodeJS.Timeout | null = null;
  private confirming: Promise<void> = Promise.resolve();

  constructor(private readonly options: DirtyNoterOptions) {}

  start(): void {
    this.timer = setInterval(() => {
      this.confirmStored().catch((error: unknown) => {
        // Kept in `pending` and retried on the next tick; reported, not swallowed.
        this.options.log(`rollup: confirming stored batches failed, will retry: ${(error as Error).message}`);
      });
    }, this.options.confirmEveryMs ?? 250);
  }

  /** Confirms what the sink has stored, then stops the timer. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.confirmStored();
  }

  /**
   * The hook: note the batch's units, the units of the versions it replaces, and those of
   * the batches ahead of it that are not stored yet (see the top of the file).
   */
  readonly beforeStoreRuns = async (rows: readonly RunRow[], { storedAs }: { storedAs: number }): Promise<void> => {
    const stored = this.options.storedBatches();
    const ahead = this.pending.filter((entry) => entry.storedAs > stored).flatMap((entry) => entry.notes);
    const notes = dedupe([...rows.map(noteOfRow), ...(await this.storedNewest(rows)), ...ahead]);
    await Promise.all([this.confirmStored(), this.insert(notes)]);
    this.pending.push({ notes, storedAs });
  };

  /** Re-notes the units of every batch stored since its hook ran. Serialised. */
  confirmStored(): Promise<void> {
    this.confirming = this.confirming.catch(() => {}).then(async () => {
      const stored = this.options.storedBatches();
      const done = this.pending.filter((entry) => stored >= entry.storedAs);
      if (done.length === 0) return;
      await this.insert(dedupe(done.flatMap((entry) => entry.notes)));
      this.pending = this.pending.filter((entry) => !done.includes(entry));
    });
    return this.confirming;
  }

  /** The currently stored newest version of each identity in the batch. */
  private async storedNewest(rows: readonly RunRow[]): Promise<UnitNote[]> {
    const identities = new Map<string, { runDate: string; key: string }>();
    for (const row of rows) {
      const runDate = String(row.run_date);
      const key = String(row.key);
      identities.set(`${runDate}/${key}`, { runDate, key });
    }
    // The chunks are asked at once: each is a few ms of work for the server, and one after
    // the other their round trips were most of the hook's time.
    const found = await Promise.all(chunks([...identities.values()]).map(async (chunk) => {
      const dates = [...new Set(chunk.map((identity) => identity.runDate))];
      const keys = [...new Set(chunk.map((identity) => identity.key))];
      // Dates × keys is a superset of the identities (index-friendly, unlike tuple IN);
      // the extra pairs are dropped below. The keys travel as one array literal: 18.16
      // parses `IN ('a', 'b', …)` element by element (~60 µs a key, measured), an array
      // literal in one go (~4× cheaper), and `IN (subquery)` still narrows by the index.
      const query = sql`SELECT toString(run_date) AS date_text, key, toUInt32(argMax(started_at, version)) AS newest_started_at
FROM ${SqlFragment.trusted(`${this.options.database}.runs`)}
WHERE run_date IN ${list(dates.map(date))} AND key IN (SELECT arrayJoin([${join(keys.map(str), ', ')}]))
GROUP BY run_date, key`;
      // Aliases differ from column names: on 18.16 an alias captures the column everywhere, WHERE included.
      try {
        return await (await this.options.clickhouse.query({ query: query.text, format: 'JSONEachRow' })).json<{ date_text: string; key: string; newest_started_at: number }>();
      } catch (error) {
        throw toClickHouseError(error, 'looking up the stored versions of a batch');
      }
    }));
    const notes: UnitNote[] = [];
    for (const row of found.flat()) {
      if (identities.has(`${row.date_text}/${row.key}`)) notes.push({ run_date: row.date_text, started_at: Number(row.newest_started_at) });
    }
    return notes;
  }

  private async insert(notes: readonly UnitNote[]): Promise<void> {
    if (notes.length === 0) return;
    try {
      await this.options.clickhouse.insert({
        table: `${this.options.database}.rollup_dirty`,
        values: notes,
        format: 'JSONEachRow',
        // hour and noted_at are computed by the server (DEFAULTs need the column list on 18.16).
        columns: ['run_date', 'started_at'],
      });
    } catch (error) {
      throw toClickHouseError(error, `noting ${notes.length} rollup units`);
    }
  }
}

function noteOfRow(row: RunRow): UnitNote {
  return { run_date: String(row.run_date), started_at: Number(row.started_at) };
}

/**
 * One note per run_date and quarter hour: every time zone's hours start on a quarter
 * hour, so two started_at in the same UTC quarter are always in the same server hour.
 */
function dedupe(notes: readonly UnitNote[]): UnitNote[] {
  const seen = new Map<string, UnitNote>();
  for (const note of notes) seen.set(`${note.run_date}/${Math.floor(note.started_at / 900)}`, note);
  return [...seen.values()];
}

function chunks<T extends { runDate: string; key: string }>(identities: readonly T[]): T[][] {
  const result: T[][] = [];
  let current: T[] = [];
  let size = 0;
  for (const identity of identities) {
    const cost = identity.key.length * 2 + 20;
    if (size + cost > LOOKUP_CHUNK_CHARS && current.length > 0) {
      result.push(current);
      current = [];
      size = 0;
    }
    current.push(identity);
    size += cost;
  }
  if (current.length > 0) result.push(current);
  return result;
}

