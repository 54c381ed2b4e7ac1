// Shared pieces of the sink tests that script ClickHouse and the consumer (no services):
// a run event, the rows a streamed insert body holds, and a consumer whose batches the test
// delivers itself.
import { RUN_EVENT_SCHEMA_ID, type RunEvent } from '../../ingest/event/run-event.ts';
import { encodeEvent } from '../../ingest/event/wire.ts';
import type { EachBatchPayload, SinkConsumer } from '../../ingest/kafka/index.ts';

export function scriptedEvent(i: number): RunEvent {
  return {
    schema: RUN_EVENT_SCHEMA_ID, run_date: '2026-11-21', key: `k${i}`, job: 'j', host: 'h', attempt: 1, status: 'succeeded',
    started_at_ms: 1_763_715_600_000, finished_at_ms: 1_763_715_601_000, exit_code: 0, labels: {}, error_type: '', error_message: '',
    metrics: [], metrics_truncated: false, files: [], source: 'watch', origin: 'test', written_at_ms: 1_763_715_601_000, published_at_ms: 1_763_715_602_000,
  };
}

/** The sink streams JSONEachRow to `exec`: the body read back as rows. */
export async function streamedRows<T>(body: AsyncIterable<Buffer>): Promise<T[]> {
  let text = '';
  for await (const chunk of body) text += chunk.toString();
  return text.split('\n').filter((line) => line !== '').map((line) => JSON.parse(line) as T);
}

/** A consumer that logs its commits; `deliver` hands the sink a batch of events i…i+count-1 of one partition. */
export function scriptedConsumer(log: string[]): { consumer: SinkConsumer; deliver(partition: number, first: number, count: number): Promise<void> } {
  let eachBatch: ((payload: EachBatchPayload) => Promise<void>) | undefined;
  const consumer: SinkConsumer = {
    async connect() {}, async subscribe() {}, async stop() {}, async disconnect() {},
    async run(config) { eachBatch = config.eachBatch; },
    async commitOffsets(offsets) { log.push(`commit ${offsets.map((o) => `${o.partition}@${o.offset}`).join(',')}`); },
  };
  return {
    consumer,
    async deliver(partition, first, count) {
      const messages = Array.from({ length: count }, (_, n) => first + n).map((i) => ({ offset: String(i), timestamp: '0', value: Buffer.from(encodeEvent(scriptedEvent(i)).value) }));
      await eachBatch!({
        batch: { topic: 't', partition, messages },
        resolveOffset: () => {}, heartbeat: async () => {}, isRunning: () => true, isStale: () => false,
      } as unknown as EachBatchPayload);
    },
  };
}
