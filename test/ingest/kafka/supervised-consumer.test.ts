// The supervisor around the sink's kafkajs consumer, against a fake consumer that emits
// the events kafkajs emits: no broker needed. The real thing is exercised by the cluster
// test (`npm run test:cluster`), which kills a broker and a ClickHouse shard.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { toClickHouseError } from '../../../clickhouse/clickhouse-error.ts';
import type { Consumer, ConsumerRunConfig, EachBatchPayload } from '../../../ingest/kafka/index.ts';
import { SupervisedConsumer } from '../../../ingest/kafka/index.ts';

const EVENTS = {
  FETCH: 'consumer.fetch', HEARTBEAT: 'consumer.heartbeat', END_BATCH_PROCESS: 'consumer.end_batch_process',
  COMMIT_OFFSETS: 'consumer.commit_offsets', GROUP_JOIN: 'consumer.group_join', REBALANCING: 'consumer.rebalancing', CRASH: 'consumer.crash',
};

interface Fake {
  consumer: Consumer;
  emit(event: keyof typeof EVENTS, payload?: unknown): void;
  runs: ConsumerRunConfig[];
  disconnected: boolean;
}

function fakeConsumer(): Fake {
  const listeners = new Map<string, Array<(event: unknown) => void>>();
  const fake: Fake = {
    runs: [],
    disconnected: false,
    emit(event, payload = {}) {
      for (const listener of listeners.get(EVENTS[event]) ?? []) listener({ type: EVENTS[event], payload });
    },
    consumer: {
      events: EVENTS,
      on(name: string, listener: (event: unknown) => void) {
        listeners.set(name, [...(listeners.get(name) ?? []), listener]);
        return () => listeners.set(name, (listeners.get(name) ?? []).filter((l) => l !== listener));
      },
      connect: async () => {},
      subscribe: async () => {},
      run: async (config: ConsumerRunConfig) => {
        fake.runs.push(config);
      },
      stop: async () => {},
      disconnect: async () => {
        fake.disconnected = true;
      },
      commitOffsets: async () => {},
    } as unknown as Consumer,
  };
  return fake;
}

function supervised(options: { stallMs?: number } = {}) {
  const fakes: Fake[] = [];
  const lines: string[] = [];
  const consumer = new SupervisedConsumer({
    name: 'sink',
    log: (line) => lines.push(line),
    heartbeatIntervalMs: 1_000,
    stallMs: options.stallMs ?? 90_000,
    reportEveryMs: 15_000,
    create: () => {
      const fake = fakeConsumer();
      fakes.push(fake);
      return fake.consumer;
    },
  });
  return { consumer, fakes, lines };
}

async function started(options: { stallMs?: number } = {}) {
  const s = supervised(options);
  await s.consumer.connect();
  await s.consumer.subscribe({ topic: 't', fromBeginning: true });
  await s.consumer.run({ autoCommit: false, eachBatch: async () => {} });
  return s;
}

afterEach(() => {
  vi.useRealTimers();
});

describe('the supervised sink consumer', () => {
  it('rebuilds and reruns the consumer when kafkajs gives up on it', async () => {
    const { consumer, fakes, lines } = await started();
    fakes[0]!.emit('CRASH', { error: Object.assign(new Error('final'), { name: 'KafkaJSNonRetriableError' }), groupId: 'g', restart: false });
    await vi.waitFor(() => expect(fakes[1]?.runs.length).toBe(1));
    expect(fakes[0]!.disconnected).toBe(true);
    expect(consumer.stats.restarts).toBe(1);
    expect(lines.join('\n')).toMatch(/kafkajs gives up on it/);
    expect(lines.join('\n')).toMatch(/resumes from the last committed offsets/);
    await consumer.stop();
  });

  it('leaves a crash that kafkajs restarts itself to kafkajs', async () => {
    const { consumer, fakes } = await started();
    fakes[0]!.emit('CRASH', { error: new Error('broker gone'), groupId: 'g', restart: true });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(fakes).toHaveLength(1);
    await consumer.stop();
  });

  it('heartbeats while a batch waits, so a sink waiting for ClickHouse keeps its partitions', async () => {
    vi.useFakeTimers();
    const { consumer, fakes } = await started();
    const heartbeat = vi.fn(async () => {});
    let release!: () => void;
    const waiting = new Promise<void>((resolve) => (release = resolve));
    const inner = vi.fn(() => waiting);
    const wrapped = fakes[0]!.runs[0]!.eachBatch!;
    // The wrapper calls the handler given to run(); swap it through a fresh run.
    await consumer.run({ autoCommit: false, eachBatch: inner });
    const handler = fakes[0]!.runs[1]!.eachBatch!;
    expect(handler).not.toBe(wrapped);
    const done = handler({ heartbeat } as unknown as EachBatchPayload);
    await vi.advanceTimersByTimeAsync(45_000);
    expect(heartbeat.mock.calls.length).toBeGreaterThanOrEqual(40);
    expect(consumer.describe()).toMatch(/storing a batch/);
    release();
    await done;
    const calls = heartbeat.mock.calls.length;
    await vi.advanceTimersByTimeAsync(5_000);
    expect(heartbeat.mock.calls.length).toBe(calls);
    await consumer.stop();
  });

  it('restarts a consumer that makes no progress with no batch in hand, and says what it waited for', async () => {
    vi.useFakeTimers();
    const { consumer, fakes, lines } = await started({ stallMs: 60_000 });
    await vi.advanceTimersByTimeAsync(20_000);
    expect(lines.join('\n')).toMatch(/waiting: joining the consumer group/);
    fakes[0]!.emit('FETCH');
    await vi.advanceTimersByTimeAsync(30_000);
    expect(fakes).toHaveLength(1);
    expect(lines.join('\n')).toMatch(/waiting: no fetch or heartbeat answered/);
    await vi.advanceTimersByTimeAsync(31_000);
    expect(fakes).toHaveLength(2);
    expect(fakes[1]!.runs).toHaveLength(1);
    expect(lines.join('\n')).toMatch(/no progress for 6\d s/);
    await consumer.stop();
  });
});

describe('ClickHouse errors of a server lost mid-query', () => {
  it('are retriable: a Distributed insert whose shard died has an unknown outcome, not a bad row', () => {
    const eof = new Error('Code: 32, e.displayText() = DB::Exception: Attempt to read after eof: while receiving packet from 127.0.0.1:26901: Insertion status:');
    expect(toClickHouseError(eof, 'inserting').retriable).toBe(true);
    expect(toClickHouseError(new Error('Code: 33, e.displayText() = DB::Exception: Cannot read all data'), 'x').retriable).toBe(true);
    expect(toClickHouseError(new Error('Code: 27, e.displayText() = DB::Exception: Cannot parse input'), 'x').retriable).toBe(false);
  });
});
