// The sink's batch handling with a scripted ClickHouse and consumer (no services): a large
// batch goes in as parallel inserts, a row the server refuses is isolated by halving and
// filed in ingest_errors, the hook sees every run row first, and offsets are committed
// only once every part is stored.
import type { ClickHouseClient } from '@clickhouse/client';
import { describe, expect, it } from 'vitest';
import { ClickHouseSink } from '../../ingest/sink/sink.ts';
import type { RunRow } from '../../ingest/sink/rows.ts';
import { scriptedConsumer, streamedRows } from './scripted-sink.ts';

describe('the sink, storing a large batch', () => {
  it('inserts in parallel parts, files the refused row in ingest_errors and commits after every part', async () => {
    const log: string[] = [];
    const stored: Record<string, RunRow[]> = { runs: [], ingest_errors: [] };
    let inFlight = 0;
    let mostInFlight = 0;
    const clickhouse = {
      // The sink streams JSONEachRow to `exec`: read it back as rows.
      async exec({ query, values: body }: { query: string; values: AsyncIterable<Buffer> }) {
        const table = /^INSERT INTO (\S+) \(/.exec(query)![1]!;
        const values = await streamedRows<RunRow>(body);
        inFlight++;
        mostInFlight = Math.max(mostInFlight, inFlight);
        await new Promise((resolve) => setTimeout(resolve, 5));
        inFlight--;
        if (table === 'db.runs' && values.some((row) => row.key === 'k4321')) throw new Error('Code: 27, e.displayText() = DB::Exception: Cannot parse input');
        log.push(`insert ${table} ${values.length}`);
        stored[table.split('.')[1]!]!.push(...values);
        return { stream: [] };
      },
    } as unknown as ClickHouseClient;
    const { consumer, deliver } = scriptedConsumer(log);
    const hooked: RunRow[] = [];
    const sink = new ClickHouseSink({
      consumer, clickhouse, database: 'db', topic: 't', flushMs: 60_000, maxBatch: 100_000, log: () => {},
      beforeStoreRuns: async (rows) => { hooked.push(...rows); log.push(`hook ${rows.length}`); },
    });
    await sink.start();
    const messages = Array.from({ length: 10_000 }, (_, i) => i);
    await deliver(3, 0, messages.length);
    await sink.flush();
    await sink.stop();

    expect(hooked).toHaveLength(10_000);
    expect(log[0]).toBe('hook 10000');
    expect(mostInFlight).toBe(2);
    expect(stored['runs']!.map((row) => row.key).sort()).toEqual(messages.map((_, i) => `k${i}`).filter((key) => key !== 'k4321').sort());
    expect(stored['ingest_errors']!).toHaveLength(1);
    expect(stored['ingest_errors']![0]).toMatchObject({ key: 'k4321', kind: 'invalid', origin: 't/3/4321' });
    expect(log.at(-1)).toBe('commit 3@10000');
    expect(log.filter((line) => line.startsWith('commit'))).toHaveLength(1);
  });
});
