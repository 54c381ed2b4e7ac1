// The RunEventPublisher over Kafka with a local spool behind it.
//
// publish(): straight to Kafka (acks=all) while the spool is empty; if Kafka cannot be
// reached within `kafkaTimeoutMs`, the events are fsynced into the spool instead and
// publish still resolves. While the spool holds anything, new events go to the spool too,
// behind the older ones, and a background drainer sends them in order with capped
// backoff: a run's versions reach Kafka in the order they were published.
import { gzipSync } from 'node:zlib';
import type { IngestConfig } from '../config.ts';
import { encodeEvent, type TopicEvent, type WireMessage } from '../event/wire.ts';
import { createKafka, createProducer, KafkaError, KafkaProducerStateError, KafkaTimeoutError, KafkaUnavailableError, toKafkaError, type Compression, type RunEventProducer } from '../kafka/index.ts';
import { Mutex } from '../spool/mutex.ts';
import { Spool, spoolLooksEmpty, type SpoolDepth } from '../spool/spool.ts';
import { backoffDelay, sleepUnlessAborted, type Backoff } from './backoff.ts';
import { EventTooLargeError } from './errors.ts';
import type { RunEventPublisher } from './run-event-publisher.ts';

export type Log = (line: string) => void;

export interface PublisherOptions {
  log?: Log;
  /** Defaults to config.spoolDir. Give each long-running process its own: one writer per spool. */
  spoolDir?: string;
  /**
   * `eager` (long-running processes): take the spool at start and drain what a previous
   * process left. `lazy` (one-shot CLI calls, many at once): touch the spool only when it
   * is needed, so concurrent calls do not queue on its lock while Kafka is healthy.
   */
  spoolMode?: 'eager' | 'lazy';
  /** Budget for one attempt to reach Kafka (connect + send) before spooling. */
  kafkaTimeoutMs?: number;
  connectionTimeoutMs?: number;
  compression?: Compression;
  lockWaitMs?: number;
  drainBatchMessages?: number;
  backoff?: Backoff;
}

export type SpoolReason = 'kafka unreachable' | 'kafka busy' | 'earlier events are still spooled';
/** Where the events went; `error` is the Kafka failure that sent them to the spool. */
export type PublishReceipt = { route: 'kafka' } | { route: 'spool'; reason: SpoolReason; error?: KafkaError };

export interface DrainResult {
  sent: number;
  remaining: number;
}

export interface Publisher extends RunEventPublisher {
  /** As publish, and says where the events went. */
  publishWithReceipt(events: readonly TopicEvent[]): Promise<PublishReceipt>;
  /** Drains the spool now, in the foreground, until it is empty or `timeoutMs` passes. */
  drain(options?: { timeoutMs?: number }): Promise<DrainResult>;
  /** For metrics: what waits in the spool (zeros when this publisher has not opened it). */
  depth(): SpoolDepth;
  /** The drainer's last failure, cleared by its next success. */
  lastDrainError(): Error | null;
}

/** Under the broker's default message.max.bytes (1 MiB) with room for batch overhead. */
export const MAX_SEND_BYTES = 900_000;
/**
 * One send holds at most MAX_SEND_BYTES (uncompressed) per partition, since the broker's
 * limit applies to each partition's batch, and at most this much in all. Each send is a
 * round trip that waits for acks=all, and the idempotent producer allows one at a time per
 * broker: six partitions' worth in one send took 20–40 % less time and CPU than six sends
 * (20,000 events of 2 KB, publish only, measured alternately on the shared 2-core box).
 */
export const MAX_SEND_TOTAL_BYTES = 16 * MAX_SEND_BYTES;

export async function createPublisher(config: IngestConfig, options: PublisherOptions = {}): Promise<Publisher> {
  const publisher = new KafkaSpoolPublisher(config, options);
  await publisher.start();
  return publisher;
}

class KafkaSpoolPublisher implements Publisher {
  private readonly log: Log;
  private readonly spoolDir: string;
  private readonly kafkaTimeoutMs: number;
  private readonly compression: Compression;
  private readonly backoff: Backoff;
  private readonly kafka;
  private producer: RunEventProducer;
  private spool: Spool | null = null;
  private spoolOpening: Promise<Spool> | null = null;
  /** Orders publish decisions ("spool or send") and spool opening. */
  private readonly decisions = new Mutex();
  /** One drain step at a time, background or foreground. */
  private readonly draining = new Mutex();
  private readonly stop = new AbortController();
  private drainLoop: Promise<void> | null = null;
  private wake: () => void = () => {};
  private drainError: Error | null = null;
  private drainedTotal = 0;

  constructor(private readonly config: IngestConfig, private readonly options: PublisherOptions) {
    this.log = options.log ?? (() => {});
    this.spoolDir = options.spoolDir ?? config.spoolDir;
    this.kafkaTimeoutMs = options.kafkaTimeoutMs ?? 5_000;
    this.compression = options.compression ?? 'gzip';
    this.backoff = options.backoff ?? { initialMs: 200, maxMs: 30_000 };
    this.kafka = createKafka({
      brokers: config.kafka.brokers,
      clientId: config.kafka.clientId,
      connectionTimeoutMs: options.connectionTimeoutMs ?? 3_000,
      requestTimeoutMs: this.kafkaTimeoutMs,
    });
    this.producer = createProducer(this.kafka, { compression: this.compression });
  }

  async start(): Promise<void> {
    if ((this.options.spoolMode ?? 'eager') === 'eager' || !(await spoolLooksEmpty(this.spoolDir))) await this.openSpool();
  }

  async publish(events: readonly TopicEvent[]): Promise<void> {
    await this.publishWithReceipt(events);
  }

  async publishMessages(messages: readonly WireMessage[]): Promise<void> {
    await this.publishMessagesWithReceipt(messages);
  }

  publishWithReceipt(events: readonly TopicEvent[]): Promise<PublishReceipt> {
    let messages: WireMessage[];
    try {
      messages = events.map((event) => encodeEvent(event));
    } catch (error) {
      return Promise.reject(error as Error);
    }
    return this.publishMessagesWithReceipt(messages);
  }

  private publishMessagesWithReceipt(encoded: readonly WireMessage[]): Promise<PublishReceipt> {
    // Checked before anything is accepted: a message Kafka would refuse forever must not
    // reach the spool, where it would block every event behind it.
    let messages: WireMessage[];
    try {
      messages = encoded.map((message) => this.checkedMessage(message));
    } catch (error) {
      return Promise.reject(error as Error);
    }
    return this.decisions.run(async () => {
      if (this.stop.signal.aborted) throw new Error('publisher is closed');
      if (this.spool && !this.spool.isEmpty()) {
        await this.spool.append(messages);
        this.wake();
        return { route: 'spool', reason: 'earlier events are still spooled' };
      }
      let sent = 0;
      try {
        for (const chunk of sendChunks(messages, () => this.producer.partitionOf(this.config.kafka.topic))) {
          await this.send(chunk);
          sent += chunk.length;
        }
        return { route: 'kafka' };
      } catch (error) {
        const mapped = toKafkaError(error);
        if (!(mapped instanceof KafkaError) || !mapped.retriable) throw mapped;
        const spool = await this.openSpool();
        await spool.append(messages.slice(sent)); // the chunks Kafka acknowledged stay sent
        this.wake();
        this.log(`publish: spooled ${messages.length - sent} event(s) to ${this.spoolDir}: ${describeKafkaError(mapped)}`);
        return { route: 'spool', reason: mapped instanceof KafkaUnavailableError ? 'kafka unreachable' : 'kafka busy', error: mapped };
      }
    });
  }

  async drain({ timeoutMs = 60_000 }: { timeoutMs?: number } = {}): Promise<DrainResult> {
    const spool = await this.decisions.run(() => this.openSpool());
    const deadline = Date.now() + timeoutMs;
    // Counted across both drainers: the background one may take a step meanwhile.
    const before = this.drainedTotal;
    while (!spool.isEmpty() && Date.now() < deadline && !this.stop.signal.aborted) await this.drainStep(spool);
    return { sent: this.drainedTotal - before, remaining: spool.depth().records };
  }

  depth(): SpoolDepth {
    return this.spool?.depth() ?? { records: 0, bytes: 0, segments: 0 };
  }

  lastDrainError(): Error | null {
    return this.drainError;
  }

  async close(): Promise<void> {
    if (this.stop.signal.aborted) return;
    // Let an accepted publish finish first; then stop the drainer between two steps.
    await this.decisions.run(async () => this.stop.abort());
    this.wake();
    await this.drainLoop;
    try {
      await this.producer.disconnect();
    } finally {
      await this.spool?.close();
    }
  }

  private async send(messages: readonly WireMessage[]): Promise<void> {
    try {
      await this.producer.send(this.config.kafka.topic, messages, this.kafkaTimeoutMs);
    } catch (error) {
      if (error instanceof KafkaTimeoutError || error instanceof KafkaProducerStateError) this.replaceProducer();
      throw error;
    }
  }

  /**
   * After our deadline the old producer may still be mid-request, and after a broker crash
   * it may be refused for its sequence numbers forever; a fresh one starts from a clean
   * connection and producer id. The old one is only disconnected, in the background:
   * whatever it still sends is a duplicate of what is now spooled.
   */
  private replaceProducer(): void {
    const old = this.producer;
    this.producer = createProducer(this.kafka, { compression: this.compression });
    old.disconnect().catch((error: unknown) => this.log(`publish: discarding a timed-out producer: ${(error as Error).message}`));
  }

  private openSpool(): Promise<Spool> {
    if (this.spool) return Promise.resolve(this.spool);
    this.spoolOpening ??= Spool.open(this.spoolDir, { log: this.log, ...(this.options.lockWaitMs === undefined ? {} : { lockWaitMs: this.options.lockWaitMs }) }).then(
      (spool) => {
        this.spool = spool;
        this.drainLoop = this.runDrainer(spool);
        return spool;
      },
      (error: unknown) => {
        this.spoolOpening = null;
        throw error;
      },
    );
    return this.spoolOpening;
  }

  private async runDrainer(spool: Spool): Promise<void> {
    let failures = 0;
    while (!this.stop.signal.aborted) {
      if (spool.isEmpty()) {
        await new Promise<void>((resolve) => {
          this.wake = resolve;
          if (!spool.isEmpty() || this.stop.signal.aborted) resolve();
        });
        continue;
      }
      try {
        await this.drainStep(spool);
        failures = 0;
        this.drainError = null;
      } catch (error) {
        const mapped = toKafkaError(error);
        this.drainError = mapped;
        const delay = backoffDelay(failures++, this.backoff);
        const what = mapped instanceof KafkaError ? describeKafkaError(mapped) : `${mapped.name}: ${mapped.message}`;
        // Not swallowed: the events stay spooled and this is retried until it succeeds;
        // depth() and lastDrainError() show the backlog and why it is not moving.
        this.log(`publish: draining ${spool.depth().records} spooled event(s) failed (${what}); retrying in ${delay} ms`);
        await sleepUnlessAborted(delay, this.stop.signal);
      }
    }
  }

  /** Sends the oldest spooled batch and commits it. Returns how many events were sent. */
  private drainStep(spool: Spool): Promise<number> {
    return this.draining.run(async () => {
      const batch = await spool.read({ maxMessages: this.options.drainBatchMessages ?? 2_000, maxBytes: 8 * MAX_SEND_BYTES });
      if (!batch) return 0;
      for (const chunk of sendChunks(batch.messages, () => this.producer.partitionOf(this.config.kafka.topic))) await this.send(chunk);
      await spool.commit(batch);
      this.drainedTotal += batch.messages.length;
      return batch.messages.length;
    });
  }

  private checkedMessage(message: WireMessage): WireMessage {
    const bytes = Buffer.byteLength(message.key) + Buffer.byteLength(message.value);
    if (bytes <= MAX_SEND_BYTES) return message;
    // Rare (files are capped at 512 KiB, but JSON escaping can double them): measure what
    // the broker will actually see.
    const compressed = this.compression === 'gzip' ? gzipSync(message.value).length + Buffer.byteLength(message.key) : bytes;
    if (compressed > MAX_SEND_BYTES) throw new EventTooLargeError(message.key, compressed, MAX_SEND_BYTES);
    return message;
  }
}

/**
 * Consecutive runs of messages, each holding at most MAX_SEND_BYTES per partition (by
 * `partitionOf`; all of them count as one partition when it is not known yet, i.e. before
 * the first send) and MAX_SEND_TOTAL_BYTES in all; a larger message goes alone. Should the
 * partitions change between two sends, a batch may come out larger than planned: the
 * broker refuses it, the caller retries, and by then the new partitions are known.
 */
export function* sendChunks(messages: readonly WireMessage[], partitioner: () => ((key: string) => number) | null): Generator<WireMessage[]> {
  // Everything under one partition's limit fits every partition's: no key is hashed (the
  // partitioner's murmur2 runs on Long.js, ~7 µs a key, and kafkajs hashes each key again).
  let all = 0;
  for (const message of messages) {
    all += Buffer.byteLength(message.key) + Buffer.byteLength(message.value);
    if (all > MAX_SEND_BYTES) break;
  }
  if (all <= MAX_SEND_BYTES) {
    if (messages.length > 0) yield [...messages];
    return;
  }
  // Asked again after each chunk (the caller sends it before resuming): the first send
  // tells the producer the topic's partitions.
  let partitionOf = partitioner();
  let chunk: WireMessage[] = [];
  let total = 0;
  const perPartition = new Map<number, number>();
  for (const message of messages) {
    const size = Buffer.byteLength(message.key) + Buffer.byteLength(message.value);
    let partition = partitionOf ? partitionOf(message.key) : 0;
    if (chunk.length > 0 && ((perPartition.get(partition) ?? 0) + size > MAX_SEND_BYTES || total + size > MAX_SEND_TOTAL_BYTES)) {
      yield chunk;
      chunk = [];
      total = 0;
      perPartition.clear();
      if (!partitionOf && (partitionOf = partitioner())) partition = partitionOf(message.key);
    }
    chunk.push(message);
    total += size;
    perPartition.set(partition, (perPartition.get(partition) ?? 0) + size);
  }
  if (chunk.length > 0) yield chunk;
}

function describeKafkaError(error: KafkaError): string {
  const what = error instanceof KafkaUnavailableError ? 'kafka unreachable' : error.retriable ? 'kafka busy' : 'kafka refused';
  return `${what}: ${error.message} [${error.kafkaName}]`;
}
