// A consumer group member that keeps consuming through broker and ClickHouse outages, and
// says what it is waiting for.
//
// kafkajs restarts its consumer after most failures, but not all: when the error it caught
// is not retriable (an eachBatch handler that threw a final error, a request it gave up on)
// it emits `consumer.crash` with restart=false, disconnects and stays stopped, with nothing
// logged (our clients run with logLevel NOTHING). A sink in that state holds no partitions
// and makes no progress until someone restarts the process. And while a handler waits (the
// sink waits out a ClickHouse shard being down inside eachBatch, so that offsets are only
// committed after the insert), kafkajs sends no heartbeats: after sessionTimeout the group
// evicts the member and rebalances around a sink that is merely waiting.
//
// So this wrapper:
//   - rebuilds and reruns the consumer (same group, same subscription, same handler) when
//     kafkajs gives up, at once, then with capped backoff; it resumes from the last
//     committed offsets, which is what at-least-once needs;
//   - heartbeats while a handler runs, so a waiting sink keeps its partitions;
//   - watches progress (fetches, heartbeats, joins, batches): with no handler running and no
//     progress for `stallMs`, it restarts the consumer; every `reportEveryMs` without
//     progress it logs what it is waiting for (the group join, the brokers, the handler).
import type { Consumer, ConsumerRunConfig, ConsumerSubscribeTopics, EachBatchPayload, TopicPartitionOffsetAndMetadata } from './client.ts';

/** What a sink needs of a consumer: a kafkajs Consumer has it, and so has the supervisor. */
export interface SinkConsumer {
  connect(): Promise<void>;
  subscribe(subscription: ConsumerSubscribeTopics | { topic: string; fromBeginning?: boolean }): Promise<void>;
  run(config: ConsumerRunConfig): Promise<void>;
  stop(): Promise<void>;
  disconnect(): Promise<void>;
  commitOffsets(offsets: TopicPartitionOffsetAndMetadata[]): Promise<void>;
}

export interface SupervisedConsumerOptions {
  /** Builds a fresh kafkajs consumer in the group (called again for every restart). */
  create: () => Consumer;
  /** How logs name this member, e.g. "sink". */
  name: string;
  log: (line: string) => void;
  /** The consumer's heartbeat interval: how often a running handler heartbeats. */
  heartbeatIntervalMs: number;
  /** No progress for this long with no handler running: restart. Above the rebalance timeout (60 s), which a join may legitimately take. */
  stallMs?: number;
  /** Without progress, say what we wait for this often. */
  reportEveryMs?: number;
  now?: () => number;
}

type Phase = 'idle' | 'connecting' | 'joining' | 'consuming' | 'restarting' | 'stopped';

const CHECK_EVERY_MS = 1_000;
const DISCONNECT_DEADLINE_MS = 10_000;
const MAX_RESTART_DELAY_MS = 30_000;

export class SupervisedConsumer implements SinkConsumer {
  readonly stats = { restarts: 0, crashes: 0, joins: 0 };
  private current: Consumer | null = null;
  private removeListeners: Array<() => void> = [];
  private subscription: Parameters<SinkConsumer['subscribe']>[0] | null = null;
  private runConfig: ConsumerRunConfig | null = null;
  private phase: Phase = 'idle';
  private phaseSince: number;
  private lastProgress: number;
  private lastReport = 0;
  private handlers = 0;
  private handlerSince = 0;
  private restarting: Promise<void> | null = null;
  private watchdog: NodeJS.Timeout | null = null;
  private readonly now: () => number;
  private readonly stallMs: number;
  private readonly reportEveryMs: number;

  constructor(private readonly options: SupervisedConsumerOptions) {
    this.now = options.now ?? Date.now;
    this.stallMs = options.stallMs ?? 90_000;
    this.reportEveryMs = options.reportEveryMs ?? 15_000;
    this.phaseSince = this.now();
    this.lastProgress = this.now();
  }

  async connect(): Promise<void> {
    this.setPhase('connecting');
    const consumer = this.build();
    await consumer.connect();
  }

  async subscribe(subscription: Parameters<SinkConsumer['subscribe']>[0]): Promise<void> {
    this.subscription = subscription;
    await this.consumer().subscribe(subscription);
  }

  async run(config: ConsumerRunConfig): Promise<void> {
    const eachBatch = config.eachBatch;
    this.runConfig = eachBatch ? { ...config, eachBatch: (payload) => this.handle(payload, eachBatch) } : config;
    this.setPhase('joining');
    await this.consumer().run(this.runConfig);
    this.watchdog ??= setInterval(() => this.check(), CHECK_EVERY_MS);
  }

  async commitOffsets(offsets: TopicPartitionOffsetAndMetadata[]): Promise<void> {
    if (!this.current) throw new Error(`${this.options.name}: the Kafka consumer is restarting; the offsets are committed with a later batch`);
    await this.current.commitOffsets(offsets);
  }

  async stop(): Promise<void> {
    this.setPhase('stopped');
    if (this.watchdog) clearInterval(this.watchdog);
    this.watchdog = null;
    await this.restarting;
    await this.current?.stop();
  }

  async disconnect(): Promise<void> {
    this.setPhase('stopped');
    if (this.watchdog) clearInterval(this.watchdog);
    await this.restarting;
    const consumer = this.current;
    this.detach();
    await consumer?.disconnect();
  }

  /** What the member is doing, for logs and tests. */
  describe(): string {
    const now = this.now();
    const s = (ms: number) => `${Math.round(ms / 1000)} s`;
    if (this.handlers > 0) return `storing a batch for ${s(now - this.handlerSince)} (heartbeating meanwhile; the handler logs what it waits for)`;
    switch (this.phase) {
      case 'connecting': return `connecting to the brokers for ${s(now - this.phaseSince)}`;
      case 'joining': return `joining the consumer group for ${s(now - this.phaseSince)} (waits for the coordinator and for every member to rejoin, up to the rebalance timeout)`;
      case 'restarting': return `restarting the consumer for ${s(now - this.phaseSince)}`;
      case 'consuming': return `no fetch or heartbeat answered for ${s(now - this.lastProgress)} (brokers unreachable, or the coordinator or a partition leader moving)`;
      default: return this.phase;
    }
  }

  private consumer(): Consumer {
    if (!this.current) throw new Error(`${this.options.name}: the Kafka consumer is not connected`);
    return this.current;
  }

  private build(): Consumer {
    this.detach();
    const consumer = this.options.create();
    const { events } = consumer;
    const progress = () => {
      this.lastProgress = this.now();
      if (this.phase === 'joining' || this.phase === 'connecting') this.setPhase('consuming');
    };
    this.removeListeners = [
      consumer.on(events.FETCH, progress),
      consumer.on(events.HEARTBEAT, progress),
      consumer.on(events.END_BATCH_PROCESS, progress),
      consumer.on(events.COMMIT_OFFSETS, progress),
      consumer.on(events.GROUP_JOIN, (event) => {
        this.stats.joins++;
        progress();
        const partitions = Object.entries(event.payload.memberAssignment).map(([topic, ids]) => `${topic}[${ids.join(',')}]`).join(' ') || 'none';
        this.options.log(`${this.options.name}: joined group ${event.payload.groupId} in ${event.payload.duration} ms; partitions ${partitions}`);
      }),
      consumer.on(events.REBALANCING, () => {
        this.setPhase('joining');
        this.options.log(`${this.options.name}: the group is rebalancing; rejoining`);
      }),
      consumer.on(events.CRASH, (event) => {
        this.stats.crashes++;
        const { error, restart } = event.payload;
        this.options.log(`${this.options.name}: Kafka consumer stopped on ${error.name}: ${error.message}; ${restart ? 'kafkajs restarts it' : 'kafkajs gives up on it, so it is rebuilt'}`);
        if (restart) this.setPhase('joining');
        else void this.restart(`kafkajs gave up after ${error.name}`);
      }),
    ];
    this.current = consumer;
    return consumer;
  }

  private detach(): void {
    for (const remove of this.removeListeners) remove();
    this.removeListeners = [];
    this.current = null;
  }

  private async handle(payload: EachBatchPayload, eachBatch: NonNullable<ConsumerRunConfig['eachBatch']>): Promise<void> {
    if (this.handlers++ === 0) this.handlerSince = this.now();
    this.lastProgress = this.now();
    // kafkajs only heartbeats between batches; a handler that waits for ClickHouse would
    // otherwise be evicted after sessionTimeout. A failed heartbeat (a rebalance) is left to
    // the handler's own heartbeat and to kafkajs once the handler returns.
    const beat = setInterval(() => void payload.heartbeat().catch(() => {}), this.options.heartbeatIntervalMs);
    try {
      await eachBatch(payload);
    } finally {
      clearInterval(beat);
      this.handlers--;
      this.lastProgress = this.now();
    }
  }

  private check(): void {
    if (this.phase === 'stopped' || this.restarting) return;
    const now = this.now();
    const idleMs = now - this.lastProgress;
    if (this.handlers === 0 && idleMs >= this.stallMs) {
      void this.restart(`no progress for ${Math.round(idleMs / 1000)} s`);
      return;
    }
    const waitingMs = this.handlers > 0 ? now - this.handlerSince : idleMs;
    if (waitingMs >= this.reportEveryMs && now - this.lastReport >= this.reportEveryMs) {
      this.lastReport = now;
      this.options.log(`${this.options.name}: waiting: ${this.describe()}`);
    }
  }

  private restart(reason: string): Promise<void> {
    if (this.phase === 'stopped') return Promise.resolve();
    this.restarting ??= (async () => {
      this.setPhase('restarting');
      this.stats.restarts++;
      this.options.log(`${this.options.name}: restarting the Kafka consumer (${reason}); it resumes from the last committed offsets`);
      const old = this.current;
      this.detach();
      // A handler stuck in the old consumer would hold disconnect() until it returns.
      if (old) await withDeadline(old.disconnect(), DISCONNECT_DEADLINE_MS).catch(() => {});
      for (let attempt = 0; this.phase !== 'stopped'; attempt++) {
        try {
          const consumer = this.build();
          await consumer.connect();
          if (this.subscription) await consumer.subscribe(this.subscription);
          this.setPhase('joining');
          this.lastProgress = this.now();
          if (this.runConfig) await consumer.run(this.runConfig);
          return;
        } catch (error) {
          const delay = Math.min(MAX_RESTART_DELAY_MS, 1_000 * 2 ** Math.min(attempt, 5));
          this.options.log(`${this.options.name}: could not restart the Kafka consumer (${(error as Error).message}); again in ${delay} ms`);
          const failed = this.current;
          this.detach();
          await failed?.disconnect().catch(() => {});
          await new Promise((resolve) => setTimeout(resolve, delay));
        }
      }
    })().finally(() => {
      this.restarting = null;
    });
    return this.restarting;
  }

  private setPhase(phase: Phase): void {
    if (this.phase === 'stopped') return;
    if (phase !== this.phase) this.phaseSince = this.now();
    this.phase = phase;
  }
}

function withDeadline<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  promise.catch(() => {});
  return Promise.race([promise, new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error('deadline')), ms); })]).finally(() => clearTimeout(timer));
}
