// The sink's batch handling with a scripted ClickHouse and consumer (no services): a large
// batch goes in as parallel inserts, a row the server refuses is isolated by halving and
// filed in ingest_errors, the hook sees every run row first, and offsets are committed
// only once every part is stored.
import type { ClickHouseClient } from '@clickhouse/client';
import { describe, expect, it } from 'vitest';
import { RUN_EVENT_SCHEMA_ID, type RunEvent } from '../../ingest/event/run-event.ts';
import { encodeEvent } from '../../ingest/event/wire.ts';
import type { EachBatchPayload, SinkConsumer } from '../../ingest/kafka/index.ts';
import { ClickHouseSink } from '../../ingest/sink/sink.ts';
import type { RunRow } from '../../ingest/sink/rows.ts';

function event(i: number): RunEvent {
  return {
    schema: RUN_EVENT_SCHEMA_ID, run_date: '2026-11-21', key: `k${i}`, job: 'j', host: 'h', attempt: 1, status: 'succeeded',
    started_at_ms: 1_763_715_600_000, finished_at_ms: 1_763_715_601_000, exit_code: 0, labels: {}, error_type: '', error_message: '',
    metrics: [], metrics_truncated: false, files: [], source: 'watch', origin: 'test', written_at_ms: 1_763_715_601_000, published_at_ms: 1_763_715_602_000,
  };
}

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
        let text = '';
        for await (const chunk of body) text += chunk.toString();
        const values = text.split('\n').filter((line) => line !== '').map((line) => JSON.parse(line) as RunRow);
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
    let eachBatch: ((payload: EachBatchPayload) => Promise<void>) | undefined;
    const consumer: SinkConsumer = {
      async connect() {}, async subscribe() {}, async stop() {}, async disconnect() {},
      async run(config) { eachBatch = config.eachBatch; },
      async commitOffsets(offsets) { log.push(`commit ${offsets.map((o) => `${o.partition}@${o.offset}`).join(',')}`); },
    };
    const hooked: RunRow[] = [];
    const sink = new ClickHouseSink({
      consumer, clickhouse, database: 'db', topic: 't', flushMs: 60_000, maxBatch: 100_000, log: () => {},
      beforeStoreRuns: async (rows) => { hooked.push(...rows); log.push(`hook ${rows.length}`); },
    });
    await sink.start();
    const messages = Array.from({ length: 10_000 }, (_, i) => ({ offset: String(i), timestamp: '0', value: Buffer.from(encodeEvent(event(i)).value) }));
    await eachBatch!({
      batch: { topic: 't', partition: 3, messages },
      resolveOffset: () => {}, heartbeat: async () => {}, isRunning: () => true, isStale: () => false,
    } as unknown as EachBatchPayload);
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
