// Reads the run-events topic between two positions with a short-lived consumer: the resume
// path for a client whose position the hub's window no longer covers. kafkajs only consumes
// through a group, so the consumer gets a throwaway group of its own (deleted afterwards),
// joins, seeks every partition to `from`, and stops once each partition reached `to`.
import { randomUUID } from 'node:crypto';
import { createConsumer, type Kafka } from '../../ingest/kafka/index.ts';
import type { Position } from './position.ts';

export interface RangeMessage {
  offset: number;
  value: Buffer | null;
}

export interface ReadRangeRequest {
  kafka: Kafka;
  topic: string;
  from: Position;
  /** Exclusive, per partition. */
  to: Position;
  timeoutMs: number;
  /** Called in offset order per partition, one partition at a time; false stops the read. */
  onMessages: (partition: number, messages: readonly RangeMessage[]) => Promise<boolean>;
}

/** True when every partition was read up to `to`; false when stopped, timed out or failed. */
export async function readRange({ kafka, topic, from, to, timeoutMs, onMessages }: ReadRangeRequest): Promise<boolean> {
  const open = new Set([...to].filter(([partition, end]) => (from.get(partition) ?? 0) < end).map(([partition]) => partition));
  if (open.size === 0) return true;
  const groupId = `runlens-live-range-${randomUUID()}`;
  const consumer = createConsumer(kafka, { groupId, maxWaitTimeInMs: 100, sessionTimeout: 30_000 });
  let settle!: (ok: boolean) => void;
  const finished = new Promise<boolean>((resolve) => { settle = resolve; });
  const timer = setTimeout(() => settle(false), timeoutMs);
  try {
    consumer.on(consumer.events.CRASH, (event) => { if (!event.payload.restart) settle(false); });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      partitionsConsumedConcurrently: 1,
      eachBatch: async ({ batch, isRunning }) => {
        const partition = batch.partition;
        if (!open.has(partition) || !isRunning()) return;
        const start = from.get(partition) ?? 0;
        const end = to.get(partition) ?? 0;
        const messages: RangeMessage[] = [];
        for (const message of batch.messages) {
          const offset = Number(message.offset);
          if (offset >= start && offset < end) messages.push({ offset, value: message.value });
        }
        if (messages.length > 0 && !(await onMessages(partition, messages))) return settle(false);
        if (Number(batch.lastOffset()) + 1 >= end) {
          open.delete(partition);
          if (open.size === 0) settle(true);
        }
      },
    });
    for (const [partition, offset] of from) if (open.has(partition)) consumer.seek({ topic, partition, offset: String(offset) });
    return await finished;
  } finally {
    clearTimeout(timer);
    await consumer.disconnect().catch(() => {});
    const admin = kafka.admin();
    await admin.connect().then(() => admin.deleteGroups([groupId])).catch(() => {}).finally(() => admin.disconnect().catch(() => {}));
  }
}
