// Real-Kafka helpers for the publish tests: a topic per test, a run event per call, and a
// reader that polls the topic to a deadline instead of sleeping.
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseIngestConfig, type IngestConfig } from '../../../ingest/config.ts';
import type { RunEvent } from '../../../ingest/event/run-event.ts';
import { createConsumer, createKafka, ensureTopic } from '../../../ingest/kafka/index.ts';
import { buildPublishedEvent } from '../../../ingest/publish/publish-run-directory.ts';

export const baseConfig = parseIngestConfig();

/** A config whose topic (and, for "Kafka is down", brokers) are the test's own. */
export function configFor(topic: string, brokers?: string): IngestConfig {
  return parseIngestConfig({ ...process.env, RUNLENS_KAFKA_TOPIC: topic, ...(brokers ? { RUNLENS_KAFKA_BROKERS: brokers } : {}) });
}

/** Nothing listens on port 1: connections are refused at once. */
export const UNREACHABLE_BROKER = '127.0.0.1:1';

export async function createTestTopic(name: string, partitions = 3): Promise<string> {
  const topic = `test.publish.${name}.${randomBytes(4).toString('hex')}`;
  await ensureTopic(baseConfig.kafka.brokers, topic, partitions);
  return topic;
}

export function runEvent(key: string, attempt: number, runDate = '2026-11-21'): RunEvent {
  const header = { key, job: 'test-job', host: 'test-host', attempt, status: 'succeeded', started_at: '2026-11-21T09:00:00.000Z', finished_at: '2026-11-21T09:00:01.000Z', exit_code: 0 };
  return buildPublishedEvent({ runDate, key, files: { 'run.json': JSON.stringify(header), 'result.json': JSON.stringify({ n: attempt }) } }, Date.now());
}

export interface ReadMessage {
  key: string;
  value: string;
  partition: number;
  offset: number;
}

/**
 * Every message of `topic`, once the topic holds at least `atLeast`: waits (to a deadline)
 * for the high watermarks, then reads from the beginning up to them, so the result is
 * exactly what the topic holds, duplicates included.
 */
export async function readTopic(topic: string, atLeast: number, timeoutMs = 30_000): Promise<ReadMessage[]> {
  const kafka = createKafka({ brokers: baseConfig.kafka.brokers, clientId: 'runlens-test-reader' });
  const admin = kafka.admin();
  await admin.connect();
  const deadline = Date.now() + timeoutMs;
  let ends: Map<number, number>;
  try {
    for (;;) {
      const offsets = await admin.fetchTopicOffsets(topic);
      ends = new Map(offsets.map((o) => [o.partition, Number(o.high)]));
      const total = [...ends.values()].reduce((a, b) => a + b, 0);
      if (total >= atLeast) break;
      if (Date.now() > deadline) throw new Error(`topic ${topic} holds ${total} message(s), expected at least ${atLeast}`);
      await sleep(100);
    }
  } finally {
    await admin.disconnect();
  }
  const total = [...ends.values()].reduce((a, b) => a + b, 0);
  const consumer = createConsumer(kafka, { groupId: `runlens-test-${randomBytes(4).toString('hex')}` });
  const messages: ReadMessage[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        messages.push({ key: message.key?.toString('utf8') ?? '', value: message.value?.toString('utf8') ?? '', partition, offset: Number(message.offset) });
      },
    });
    while (messages.length < total) {
      if (Date.now() > deadline) throw new Error(`read ${messages.length} of ${total} message(s) from ${topic}`);
      await sleep(50);
    }
  } finally {
    await consumer.disconnect();
  }
  return messages;
}

/** Polls `check` until it returns true or the deadline passes. */
export async function eventually(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting until ${what}`);
    await sleep(50);
  }
}
