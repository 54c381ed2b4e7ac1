// The sink's two-stage flush with a scripted ClickHouse and consumer (no services): the
// next batch's hook runs while the current batch is inserted, inserts and commits stay in
// order, and a batch cut behind one that is not stored is never committed ahead of it.
import type { ClickHouseClient } from '@clickhouse/client';
import { describe, expect, it } from 'vitest';
import { ClickHouseSink } from '../../ingest/sink/sink.ts';
import { scriptedConsumer, streamedRows } from './scripted-sink.ts';

interface Script {
  /** Called for every insert of run rows, with their keys; throw to fail it. */
  onInsert: (keys: string[]) => Promise<void>;
  hook?: (keys: string[], storedAs: number) => Promise<void>;
}

async function scriptedSink({ onInsert, hook }: Script) {
  const log: string[] = [];
  const clickhouse = {
    async exec({ query, values: body }: { query: string; values: AsyncIterable<Buffer> }) {
      const keys = (await streamedRows<{ key: string }>(body)).map((row) => row.key);
      if (query.includes('.runs ')) await onInsert(keys);
      log.push(`insert ${keys.length}`);
      return { stream: [] };
    },
  } as unknown as ClickHouseClient;
  const { consumer, deliver } = scriptedConsumer(log);
  const sink = new ClickHouseSink({
    consumer, clickhouse, database: 'db', topic: 't', flushMs: 60_000, maxBatch: 100_000, log: (line) => log.push(line),
    beforeStoreRuns: async (rows, { storedAs }) => {
      log.push(`hook ${rows.length} storedAs ${storedAs}`);
      await hook?.(rows.map((row) => String(row.key)), storedAs);
    },
  });
  await sink.start();
  let next = 0;
  const take = async (count: number) => {
    const first = next;
    next += count;
    await deliver(0, first, count);
  };
  return { sink, log, take };
}

function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => { open = resolve; });
  return { opened, open };
}

describe('the sink, flushing batch after batch', () => {
  it("prepares the next batch while the current one is inserted, and commits them in order", async () => {
    const firstHooked = gate();
    const firstInsert = gate();
    const secondHooked = gate();
    const { sink, log, take } = await scriptedSink({
      onInsert: async (keys) => { if (keys.includes('k0')) await firstInsert.opened; },
      hook: async (keys) => { if (keys.includes('k0')) firstHooked.open(); if (keys.includes('k10')) secondHooked.open(); },
    });
    await take(10);
    const first = sink.flush();
    await firstHooked.opened;
    await take(5);
    const second = sink.flush();
    // The second batch's hook runs although the first batch's insert has not returned.
    await secondHooked.opened;
    expect(log).toEqual(['hook 10 storedAs 1', 'hook 5 storedAs 2']);
    firstInsert.open();
    await Promise.all([first, second]);
    await sink.stop();
    expect(log).toEqual(['hook 10 storedAs 1', 'hook 5 storedAs 2', 'insert 10', 'commit 0@10', 'insert 5', 'commit 0@15']);
    expect(sink.stats.batches).toBe(2);
  });

  it('never commits a batch cut behind one that was not stored, and stores both later', async () => {
    let refuseHook = true;
    const firstHooked = gate();
    const { sink, log, take } = await scriptedSink({
      onInsert: async () => {},
      // A final (not retriable) failure of the first batch's hook gives it back.
      hook: async (keys) => {
        if (keys.includes('k0') && refuseHook) {
          refuseHook = false;
          firstHooked.open();
          throw new Error('Code: 62, e.displayText() = DB::Exception: Syntax error');
        }
      },
    });
    await take(10);
    // Caught at once: the hook fails before the test looks at it.
    const first = sink.flush().catch((error: unknown) => error);
    await firstHooked.opened;
    await take(5);
    const second = sink.flush();
    expect(await first).toMatchObject({ message: expect.stringMatching(/Syntax error/) });
    await second;
    await sink.stop();
    const inserts = log.filter((line) => line.startsWith('insert') || line.startsWith('commit'));
    expect(inserts).toEqual(['insert 15', 'commit 0@15']);
    expect(sink.stats.runs).toBe(15);
  });

  it('gives back the prepared batch too when stopped while ClickHouse is unreachable, committing nothing', async () => {
    const secondHooked = gate();
    const { sink, log, take } = await scriptedSink({
      onInsert: async () => { throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:18123'), { code: 'ECONNREFUSED' }); },
      hook: async (keys) => { if (keys.includes('k10')) secondHooked.open(); },
    });
    await take(10);
    const first = sink.flush().catch((error: unknown) => error);
    await new Promise((resolve) => setTimeout(resolve, 20));
    await take(5);
    const second = sink.flush().catch((error: unknown) => error);
    await secondHooked.opened;
    await sink.stop();
    expect(await first).toMatchObject({ name: 'SinkStoppedError' });
    expect(await second).toMatchObject({ name: 'BatchGivenBackError' });
    expect(log.filter((line) => line.startsWith('commit'))).toEqual([]);
    expect(sink.stats.batches).toBe(0);
  });
});
