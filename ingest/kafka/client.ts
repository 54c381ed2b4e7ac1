// The only module that imports kafkajs (with ./topic.ts): the rest of runlens sees these
// factories, WireMessage and our error classes, so the client can be swapped in one place.
import { promisify } from 'node:util';
import { gzip, unzip } from 'node:zlib';
import kafkajs, {
  CompressionTypes,
  Kafka,
  logLevel,
  Partitioners,
  type Consumer,
  type ConsumerConfig,
  type PartitionMetadata,
  type Producer,
} from 'kafkajs';
import type { WireMessage } from '../event/wire.ts';
import { KafkaTimeoutError, toKafkaError } from './errors.ts';
import { SupervisedConsumer, type SupervisedConsumerOptions } from './supervised-consumer.ts';

export type { Consumer, ConsumerRunConfig, ConsumerSubscribeTopics, EachBatchPayload, EachMessagePayload, KafkaMessage, TopicPartitionOffsetAndMetadata } from 'kafkajs';
export type { Kafka };

// kafkajs' gzip codec compresses at zlib's default level 6. Level 1 took half the time on a
// partition batch of simulator events (860 KB: 12 vs 23 ms) for 7.7× instead of 11.4×, and
// publishing 20k events ~20 % less time and ~28 % less CPU; reading any gzip level is the
// same. The codec table is kafkajs' own registry, and this module its only importer.
const gzipFast = promisify((input: Buffer, done: (error: Error | null, output: Buffer) => void) => gzip(input, { level: 1 }, done));
const unzipAny = promisify(unzip);
// (kafkajs is CommonJS; Node's ESM loader does not see CompressionCodecs as a named export.)
kafkajs.CompressionCodecs[CompressionTypes.GZIP] = () => ({
  compress: (encoder: { buffer: Buffer }) => gzipFast(encoder.buffer),
  decompress: (buffer: Buffer) => unzipAny(buffer),
});

export interface KafkaClientOptions {
  brokers: readonly string[];
  clientId: string;
  /** TCP connect timeout per broker. kafkajs' 1 s default is tight for a loaded broker. */
  connectionTimeoutMs?: number;
  /** Per request; kafkajs defaults to 30 s, far too long before a publisher falls back to its spool. */
  requestTimeoutMs?: number;
  /** kafkajs' own retries inside one call; we keep them few and retry at our level instead. */
  retries?: number;
}

export function createKafka(options: KafkaClientOptions): Kafka {
  return new Kafka({
    clientId: options.clientId,
    brokers: [...options.brokers],
    connectionTimeout: options.connectionTimeoutMs ?? 3_000,
    requestTimeout: options.requestTimeoutMs ?? 5_000,
    retry: { retries: options.retries ?? 2, initialRetryTime: 100, maxRetryTime: 1_000 },
    // Failures surface as thrown errors that we map and report; kafkajs' own log lines
    // (one per failed connection attempt) would only repeat them.
    logLevel: logLevel.NOTHING,
  });
}

export type Compression = 'none' | 'gzip';

export interface RunEventProducer {
  connect(): Promise<void>;
  /** Resolves once every message is acknowledged by all in-sync replicas (acks=all). */
  send(topic: string, messages: readonly WireMessage[], timeoutMs: number): Promise<void>;
  /**
   * Key → partition as the next send will most likely place it (the partitioner over the
   * partitions seen on the last send to `topic`); null before the first send. For sizing
   * sends per partition: the broker's size limit applies to each partition's batch.
   */
  partitionOf(topic: string): ((key: string) => number) | null;
  disconnect(): Promise<void>;
}

/**
 * An idempotent producer: acks=all and one request in flight per broker, so a retried
 * batch is written once and a run's versions (same key, same partition) stay in order.
 */
export function createProducer(kafka: Kafka, { compression = 'gzip', retries = 2 }: { compression?: Compression; retries?: number } = {}): RunEventProducer {
  // The default partitioner, watched: it sees each topic's partitions on every send.
  const partitioner = Partitioners.DefaultPartitioner();
  const partitionsSeen = new Map<string, PartitionMetadata[]>();
  const producer: Producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    // kafkajs' idempotent default is to retry forever; a publisher must instead fall back
    // to its spool within seconds. The spool and our drainer are the retry beyond this.
    retry: { retries, initialRetryTime: 100, maxRetryTime: 1_000 },
    // Explicit, which silences kafkajs' v2 partitioner warning: murmur2 on the key, the
    // same mapping as the Java client, so other tools agree on a run's partition.
    createPartitioner: () => (args) => {
      partitionsSeen.set(args.topic, args.partitionMetadata);
      return partitioner(args);
    },
    allowAutoTopicCreation: false,
  });
  // gzip is built into kafkajs (lz4/snappy/zstd need codecs); JSON run events shrink ~5x,
  // and the broker's 1 MB limit applies to the compressed batch.
  const codec = compression === 'gzip' ? CompressionTypes.GZIP : CompressionTypes.None;
  let connected = false;
  producer.on(producer.events.DISCONNECT, () => {
    connected = false;
  });
  return {
    async connect() {
      if (connected) return;
      await mapErrors(producer.connect());
      connected = true;
    },
    async send(topic, messages, timeoutMs) {
      if (messages.length === 0) return;
      const deadline = Date.now() + timeoutMs;
      await withDeadline(this.connect(), timeoutMs, 'connecting to Kafka');
      const left = Math.max(1, deadline - Date.now());
      await withDeadline(
        mapErrors(producer.send({
          topic,
          acks: -1,
          timeout: left,
          compression: codec,
          messages: messages.map((message) => ({ key: message.key, value: message.value })),
        })),
        left,
        `sending ${messages.length} message(s) to ${topic}`,
      );
    },
    partitionOf(topic) {
      const partitionMetadata = partitionsSeen.get(topic);
      if (!partitionMetadata) return null;
      return (key) => partitioner({ topic, partitionMetadata, message: { key, value: null } });
    },
    async disconnect() {
      connected = false;
      await mapErrors(producer.disconnect());
    },
  };
}

export interface ConsumerOptions extends Omit<ConsumerConfig, 'retry'> {
  groupId: string;
}

/** A kafkajs consumer from the shared client settings (for the sink and the API's live stream). */
export function createConsumer(kafka: Kafka, options: ConsumerOptions): Consumer {
  return kafka.consumer({ allowAutoTopicCreation: false, ...options });
}

/**
 * A consumer for a long-lived group member (the sink): rebuilt when kafkajs gives up on it,
 * heartbeating while its handler waits, and logging what it waits for (supervised-consumer.ts).
 */
export function createSupervisedConsumer(
  kafka: Kafka,
  options: ConsumerOptions,
  supervision: Pick<SupervisedConsumerOptions, 'name' | 'log' | 'stallMs' | 'reportEveryMs'>,
): SupervisedConsumer {
  return new SupervisedConsumer({
    ...supervision,
    create: () => createConsumer(kafka, options),
    // kafkajs' default heartbeatInterval is 3 s.
    heartbeatIntervalMs: options.heartbeatInterval ?? 3_000,
  });
}

async function mapErrors<T>(promise: Promise<T>): Promise<T> {
  try {
    return await promise;
  } catch (error) {
    throw toKafkaError(error);
  }
}

/**
 * Our own bound on a kafkajs call: its retries and timeouts stack up (connect, metadata,
 * produce, each retried), so only an outer deadline keeps `publish` within its budget.
 * The abandoned call may still complete later: callers treat a timeout as "maybe sent"
 * and accept a duplicate (the sink keeps the highest version of a run).
 */
function withDeadline<T>(promise: Promise<T>, timeoutMs: number, operation: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new KafkaTimeoutError(operation, timeoutMs)), timeoutMs);
  });
  // The loser must not become an unhandled rejection.
  promise.catch(() => {});
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
