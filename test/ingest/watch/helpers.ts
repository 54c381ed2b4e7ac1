// Helpers for the watcher's tests: a temp copy of the sample tree, a private topic with a
// tap that collects every event as it arrives, and the real publisher pointed at it.
import { randomBytes } from 'node:crypto';
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseIngestConfig, type IngestConfig } from '../../../ingest/config.ts';
import { decodeEvent, type TopicEvent } from '../../../ingest/event/wire.ts';
import { createConsumer, createKafka, ensureTopic } from '../../../ingest/kafka/index.ts';
import { createPublisher, type Publisher } from '../../../ingest/publish/publisher.ts';

export const SAMPLES = '/work/shared/samples/runs';

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `runlens-${prefix}-`));
}

/**
 * A writable copy of the sample tree (the originals are read-only). `rename` moves day
 * folders, e.g. to make the samples today's and yesterday's runs for a live test.
 */
export function copySamples(rename: Record<string, string> = {}): string {
  const root = join(tempDir('samples'), 'runs');
  mkdirSync(root);
  for (const date of readdirSync(SAMPLES)) cpSync(join(SAMPLES, date), join(root, rename[date] ?? date), { recursive: true });
  makeWritable(root);
  return root;
}

/** YYYY-MM-DD of today (UTC) minus `days`. */
export function utcDaysAgo(days: number): string {
  return new Date(Date.now() - days * 86_400_000).toISOString().slice(0, 10);
}

function makeWritable(path: string): void {
  const stat = statSync(path);
  chmodSync(path, stat.isDirectory() ? 0o755 : 0o644);
  if (stat.isDirectory()) for (const name of readdirSync(path)) makeWritable(join(path, name));
}

export interface TestTopic {
  topic: string;
  config: IngestConfig;
  /** Env for a child `runlens` process publishing to this topic. */
  env: Record<string, string>;
}

export async function createTestTopic(name: string, partitions = 3): Promise<TestTopic> {
  const topic = `test.watch.${name}.${randomBytes(4).toString('hex')}`;
  const state = tempDir(`state-${name}`);
  const env = { RUNLENS_KAFKA_TOPIC: topic, RUNLENS_CHECKPOINT_DIR: join(state, 'checkpoints'), RUNLENS_SPOOL_DIR: join(state, 'spool') };
  const config = parseIngestConfig({ ...process.env, ...env });
  await ensureTopic(config.kafka.brokers, topic, partitions);
  return { topic, config, env };
}

export function realPublisher(config: IngestConfig): Promise<Publisher> {
  return createPublisher(config, { spoolDir: join(config.spoolDir, randomBytes(4).toString('hex')), spoolMode: 'eager' });
}

export interface TappedEvent {
  event: TopicEvent;
  /** The record's CreateTime: when the publisher sent it. */
  timestampMs: number;
}

export interface TopicTap {
  events: TappedEvent[];
  /** Polls to a deadline until `accept` holds for the events seen so far. */
  waitFor(accept: (events: TappedEvent[]) => boolean, what: string, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

/** Reads the topic from the beginning, continuously, from one consumer. */
export async function tapTopic(config: IngestConfig): Promise<TopicTap> {
  const kafka = createKafka({ brokers: config.kafka.brokers, clientId: 'runlens-watch-test' });
  const consumer = createConsumer(kafka, { groupId: `test-watch-${randomBytes(4).toString('hex')}`, maxWaitTimeInMs: 50 });
  const events: TappedEvent[] = [];
  let joined = false;
  consumer.on(consumer.events.GROUP_JOIN, () => {
    joined = true;
  });
  await consumer.connect();
  await consumer.subscribe({ topic: config.kafka.topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      const decoded = decodeEvent(message.value);
      if (!decoded.ok) throw new Error(`undecodable message on ${config.kafka.topic}: ${decoded.reason}`);
      events.push({ event: decoded.event, timestampMs: Number(message.timestamp) });
    },
  });
  const tap: TopicTap = {
    events,
    async waitFor(accept, what, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      while (!accept(events)) {
        if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; saw ${events.length} event(s)`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
    close: () => consumer.disconnect(),
  };
  await tap.waitFor(() => joined, 'the consumer to join its group', 30_000);
  return tap;
}

export function runEvents(events: readonly TappedEvent[]) {
  return events.flatMap(({ event }) => (event.schema === 'runlens.run/1' ? [event] : []));
}

export function errorEvents(events: readonly TappedEvent[]) {
  return events.flatMap(({ event }) => (event.schema === 'runlens.ingest-error/1' ? [event] : []));
}

export function identities(events: readonly TappedEvent[]): string[] {
  return runEvents(events).map((event) => `${event.run_date}/${event.key}`).sort();
}
