// The rollup notes when the sink hooks a batch while the one before it is still being
// inserted (scripted ClickHouse, no services): the later batch's lookup cannot see the
// earlier batch's versions, so it carries that batch's units, and each batch is confirmed
// only once it is stored itself.
import type { ClickHouseClient } from '@clickhouse/client';
import { describe, expect, it } from 'vitest';
import { DirtyNoter, type UnitNote } from '../../ingest/rollup/dirty-notes.ts';
import type { RunRow } from '../../ingest/sink/rows.ts';

const NINE = Date.UTC(2026, 10, 21, 9) / 1000;
const FOURTEEN = Date.UTC(2026, 10, 21, 14) / 1000;

function row(key: string, startedAt: number): RunRow {
  return { run_date: '2026-11-21', key, started_at: startedAt } as RunRow;
}

describe('the rollup notes of pipelined batches', () => {
  it('carry the units of the batch not yet stored, and confirm each batch once it is stored', async () => {
    const inserts: UnitNote[][] = [];
    let stored = 0;
    const clickhouse = {
      // Nothing is stored yet: the lookup finds no earlier version of k1.
      async query() { return { json: async () => [] }; },
      async insert({ values }: { values: UnitNote[] }) { inserts.push(values); },
    } as unknown as ClickHouseClient;
    const noter = new DirtyNoter({ clickhouse, database: 'db', storedBatches: () => stored, log: () => {}, confirmEveryMs: 60_000 });
    const hours = (notes: UnitNote[] | undefined) => (notes ?? []).map((note) => note.started_at).sort();

    await noter.beforeStoreRuns([row('k1', NINE)], { storedAs: 1 });
    // The rerun of k1 moves it to 14:00 while the first batch is still being inserted.
    await noter.beforeStoreRuns([row('k1', FOURTEEN)], { storedAs: 2 });
    expect(inserts.map(hours)).toEqual([[NINE], [NINE, FOURTEEN]]);

    inserts.length = 0;
    await noter.confirmStored();
    expect(inserts).toEqual([]); // nothing stored yet, nothing confirmed

    stored = 1;
    await noter.confirmStored();
    expect(inserts.map(hours)).toEqual([[NINE]]); // the first batch only

    stored = 2;
    await noter.confirmStored();
    // The second batch, with 09:00: a recompute after it is stored drops k1 from 09:00.
    expect(inserts.map(hours)).toEqual([[NINE], [NINE, FOURTEEN]]);
    await noter.stop();
  });
});
