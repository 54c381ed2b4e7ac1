// The sink: reads the run-events topic as a consumer group and writes ClickHouse in batches.
//
// Why not ClickHouse's Kafka table engine on 18.16 (measured against a real broker, see
// clickhouse/README.md): its stream thread polls for 500 ms and then sleeps 500 ms, so a
// message becomes visible 1.6–1.8 s after it is sent (p99 above the 2 s target once the
// watcher's own delay is added), and one message it cannot parse blocks its partition
// unless error skipping is switched on globally, which then drops rows without a trace.
// Here every message becomes a row in `runs` or in `ingest_errors`, with its Kafka position.
//
// Delivery: at least once. Offsets are committed only after the batch holding the message
// is inserted; a crash re-reads the uncommitted tail and ReplacingMergeTree folds the
// duplicates (same run identity and version).
import { Readable } from 'node:stream';
import type { ClickHouseClient } from '@clickhouse/client';
import type { EachBatchPayload, SinkConsumer } from '../kafka/index.ts';
import { toClickHouseError } from '../../clickhouse/clickhouse-error.ts';
import { INGEST_ERROR_COLUMNS, routeMessage, RUN_COLUMNS, type IngestErrorRow, type RunRow } from './rows.ts';

export interface SinkOptions {
  /** A kafkajs Consumer, or the supervised one the sink process uses (ingest/kafka). */
  consumer: SinkConsumer;
  clickhouse: ClickHouseClient;
  database: string;
  topic: string;
  /** A batch is inserted after this long, or as soon as it holds `maxBatch` messages. */
  flushMs: number;
  maxBatch: number;
  log: (line: string) => void;
  now?: () => number;
  /**
   * Runs before a batch's run rows are stored, with exactly those rows; the batch waits for
   * it. It may run while the previous batch is still being inserted (the two overlap), so
   * `batch.storedAs` says when this one is stored: once `stats.batches` reaches it. A crash
   * after it and before the commit repeats it on the re-read, so it must be idempotent.
   * (The rollup maintainer uses it to note which buckets a batch touches, including the
   * buckets of the versions being replaced.)
   */
  beforeStoreRuns?: (rows: readonly RunRow[], batch: { storedAs: number }) => Promise<void>;
}

export interface SinkStats {
  runs: number;
  ingestErrors: number;
  batches: number;
  lastFlushMs: number;
  retries: number;
}

interface Pending {
  runs: RunRow[];
  errors: IngestErrorRow[];
  /** Per topic-partition, the next offset to commit once this batch is stored. */
  offsets: Map<string, { topic: string; partition: number; offset: string }>;
  /** The sink's epoch when the batch was cut (see giveBack). */
  epoch: number;
  /** stats.batches once this batch is stored. */
  storedAs: number;
}

export class ClickHouseSink {
  readonly stats: SinkStats = { runs: 0, ingestErrors: 0, batches: 0, lastFlushMs: 0, retries: 0 };
  private pending: Pending = emptyPending();
  /** The last flush: every flush stores (and commits) after the one before it. */
  private storing: Promise<void> = Promise.resolve();
  /** Opens when the last flush starts its insert: the next one may then cut and prepare its batch. */
  private cutGate: Promise<void> = Promise.resolve();
  /** A flush waiting at the gate that has not cut its batch yet: later calls join it. */
  private waiting: Promise<void> | null = null;
  /** Batches cut and not yet stored or given back, in order. */
  private inFlight = 0;
  /** Bumped when a batch is given back: the batches cut after it must not be stored before it. */
  private epoch = 0;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private readonly now: () => number;

  constructor(private readonly options: SinkOptions) {
    this.now = options.now ?? Date.now;
  }

  async start(): Promise<void> {
    const { consumer, topic } = this.options;
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      // Several partitions are fetched and buffered together; one insert serves them all.
      partitionsConsumedConcurrently: 6,
      eachBatch: (payload) => this.take(payload),
    });
    // A failed flush gives its rows back (giveBack) and the next tick tries again; say why.
    // (A batch given back behind it says nothing more.)
    this.timer = setInterval(() => void this.flush().catch((error: unknown) => {
      if (!this.stopped && !(error instanceof BatchGivenBackError)) this.options.log(`sink: storing a batch failed, kept for the next try: ${(error as Error).message}`);
    }), this.options.flushMs);
  }

  /** Stops fetching, stores what was taken, commits, disconnects. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.options.consumer.stop();
    try {
      await this.flush();
    } catch (error) {
      if (!(error instanceof SinkStoppedError) && !(error instanceof BatchGivenBackError)) throw error;
      this.options.log(`sink: ${error.message}; the uncommitted tail is read again on the next start`);
    }
    await this.options.consumer.disconnect();
  }

  private async take({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload): Promise<void> {
    const nowMs = this.now();
    for (const message of batch.messages) {
      if (!isRunning() || isStale()) return;
      const routed = routeMessage(message.value, {
        topic: batch.topic,
        partition: batch.partition,
        offset: message.offset,
        timestampMs: Number(message.timestamp),
      }, nowMs);
      if (routed.table === 'runs') this.pending.runs.push(routed.row);
      else this.pending.errors.push(routed.row);
      this.pending.offsets.set(`${batch.topic}/${batch.partition}`, {
        topic: batch.topic,
        partition: batch.partition,
        offset: (BigInt(message.offset) + 1n).toString(),
      });
      resolveOffset(message.offset);
      // Backpressure: a full buffer is stored before more is taken.
      if (this.pending.runs.length + this.pending.errors.length >= this.options.maxBatch) {
        await this.flush();
        await heartbeat();
      }
    }
  }

  /**
   * Inserts the buffered rows and then commits their offsets. Flushes form a pipeline of
   * two stages: while one batch is being inserted, the next is cut and prepared (the
   * beforeStoreRuns hook: for the rollups, a lookup in ClickHouse), so the hook's round
   * trips are no longer between two inserts. Inserts and commits stay strictly in order:
   * a batch is inserted only after the one before it is stored, and when one is given back
   * (not stored), so is every batch cut after it, so no offset is ever committed ahead of
   * rows that are not stored.
   */
  flush(): Promise<void> {
    if (this.waiting) return this.waiting;
    const gate = this.cutGate;
    const previous = this.storing;
    let openGate!: () => void;
    this.cutGate = new Promise<void>((resolve) => { openGate = resolve; });
    const run = (async () => {
      try {
        await gate;
      } finally {
        this.waiting = null;
      }
      let batch: Pending | null = null;
      try {
        batch = this.cut();
        // Nothing to store: the next flush may cut at once, beside the insert still running.
        if (batch) await this.prepare(batch);
        else openGate();
        // One failed flush must not fail every later one: the chain goes on after a rejection.
        await previous.catch(() => {});
      } catch (error) {
        if (batch) this.giveBack(batch);
        throw error;
      } finally {
        openGate();
      }
      if (batch) await this.storeAndCommit(batch);
    })();
    this.waiting = run;
    this.storing = run;
    return run;
  }

  private cut(): Pending | null {
    const batch = this.pending;
    if (batch.runs.length === 0 && batch.errors.length === 0 && batch.offsets.size === 0) return null;
    this.pending = emptyPending();
    batch.epoch = this.epoch;
    batch.storedAs = this.stats.batches + ++this.inFlight;
    return batch;
  }

  private async prepare(batch: Pending): Promise<void> {
    const beforeStoreRuns = this.options.beforeStoreRuns;
    if (batch.runs.length > 0 && beforeStoreRuns) {
      await this.retrying('preparing the batch', () => beforeStoreRuns(batch.runs, { storedAs: batch.storedAs }));
    }
  }

  private async storeAndCommit(batch: Pending): Promise<void> {
    if (batch.epoch !== this.epoch) {
      // A batch cut before this one was given back: this one follows it, in order.
      this.giveBack(batch);
      throw new BatchGivenBackError('an earlier batch was not stored; this one goes back with it');
    }
    const started = this.now();
    try {
      await this.storeInParallel('runs', batch.runs);
      await this.store('ingest_errors', batch.errors);
    } catch (error) {
      // Not stored (or not all of it: a repeated insert is folded away): the rows go back in
      // front of what came since, so their offsets are never committed without them.
      this.giveBack(batch);
      throw error;
    }
    this.inFlight--;
    try {
      await this.options.consumer.commitOffsets([...batch.offsets.values()]);
    } catch (error) {
      // After a rebalance the partition may belong to another member: it will re-read from
      // the last commit and the duplicates fold away. Nothing stored is lost.
      this.options.log(`sink: offset commit failed (${(error as Error).message}); the new owner re-reads from the last commit`);
    }
    this.stats.runs += batch.runs.length;
    this.stats.ingestErrors += batch.errors.length;
    this.stats.batches++;
    this.stats.lastFlushMs = this.now() - started;
  }

  /**
   * A batch that was not stored goes back in front of what came since. Every batch cut
   * after it is given back too when its turn comes (the epoch moved on), and lands in front
   * of this one; the order of rows does not matter (the highest version wins), and each
   * partition keeps its highest next offset, committed once all of them are stored.
   */
  private giveBack(batch: Pending): void {
    this.epoch++;
    this.inFlight--;
    const offsets = new Map(this.pending.offsets);
    for (const [key, position] of batch.offsets) {
      const newer = offsets.get(key);
      if (!newer || BigInt(newer.offset) < BigInt(position.offset)) offsets.set(key, position);
    }
    this.pending = {
      runs: [...batch.runs, ...this.pending.runs],
      errors: [...batch.errors, ...this.pending.errors],
      offsets,
      epoch: 0,
      storedAs: 0,
    };
  }

  /**
   * A large batch goes in as up to INSERT_PARALLELISM inserts at once: 18.16 parses and
   * writes one insert on one thread, and a batch that piled up behind a slow insert was the
   * tail of the end-to-end benchmark. Order between the parts does not matter: the
   * ReplacingMergeTree keeps the highest version whatever the insert order. The batch is
   * stored (and its offsets committed) only once every part is.
   */
  private async storeInParallel(table: 'runs', rows: readonly RunRow[]): Promise<void> {
    const parts = Math.min(INSERT_PARALLELISM, Math.floor(rows.length / MIN_ROWS_PER_PARALLEL_INSERT));
    if (parts <= 1) return this.store(table, rows);
    const size = Math.ceil(rows.length / parts);
    const stored = await Promise.allSettled(Array.from({ length: parts }, (_, i) => this.store(table, rows.slice(i * size, (i + 1) * size))));
    for (const part of stored) if (part.status === 'rejected') throw part.reason;
  }

  /**
   * Stores rows, waiting out ClickHouse outages (retriable errors: capped backoff, for as
   * long as it takes; fetching stays paused meanwhile). A batch the server refuses for
   * good is halved until the offending rows are isolated; each of those becomes an
   * `ingest_errors` row with the server's reason, so one bad row never blocks the topic.
   */
  private async store(table: 'runs' | 'ingest_errors', rows: readonly RunRow[] | readonly IngestErrorRow[]): Promise<void> {
    if (rows.length === 0) return;
    const refusal = await this.insertWithRetry(table, rows);
    if (refusal === null) return;
    if (rows.length > 1) {
      const middle = Math.ceil(rows.length / 2);
      await this.store(table, rows.slice(0, middle) as typeof rows);
      await this.store(table, rows.slice(middle) as typeof rows);
      return;
    }
    const row = rows[0]!;
    this.options.log(`sink: ClickHouse refused a row of ${table}: ${refusal}`);
    if (table === 'ingest_errors') return; // an error about an error: logged, not looped
    const run = row as RunRow;
    await this.store('ingest_errors', [{
      occurred_at: run.ingested_at,
      occurred_at_ms: this.now(),
      source: 'sink',
      origin: `${String(run.kafka_topic)}/${String(run.kafka_partition)}/${String(run.kafka_offset)}`,
      run_date: run.run_date,
      key: run.key,
      file: '',
      kind: 'invalid',
      reason: `ClickHouse refused the row: ${refusal}`.slice(0, 4096),
      ingested_at: run.ingested_at,
      kafka_topic: run.kafka_topic,
      kafka_partition: run.kafka_partition,
      kafka_offset: run.kafka_offset,
    }]);
  }

  /** Runs `step` until it succeeds, waiting out retriable ClickHouse errors; final ones throw. */
  private async retrying(what: string, step: () => Promise<void>): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await step();
      } catch (error) {
        const failure = toClickHouseError(error, what);
        if (!failure.retriable) throw failure;
        if (this.stopped) throw new SinkStoppedError(`stopped while ClickHouse was unavailable: ${failure.message}`);
        await this.backoff(attempt, failure);
      }
    }
  }

  private async backoff(attempt: number, failure: Error): Promise<void> {
    const delay = Math.min(10_000, 200 * 2 ** Math.min(attempt, 6));
    this.stats.retries++;
    this.options.log(`sink: ${failure.message}; retrying in ${delay} ms`);
    await new Promise((resolve) => setTimeout(resolve, delay));
  }

  /**
   * null when stored; the server's reason when it refuses the rows for good.
   *
   * The rows are encoded as the server reads them, a chunk at a time (`exec` with a body
   * stream; the client's own `insert` of an array encodes every row and joins them into one
   * string before the first byte is sent): 18.16 parses while the next chunk is encoded, so
   * the encoding (~0.4 s of one core for 20,000 rows of 2 KB, measured) no longer runs
   * before the server's parsing but beside it.
   */
  private async insertWithRetry(table: 'runs' | 'ingest_errors', rows: readonly object[]): Promise<string | null> {
    const columns = table === 'runs' ? RUN_COLUMNS : INGEST_ERROR_COLUMNS;
    // Naming the columns makes 18.16 apply DEFAULTs instead of zero-filling.
    const query = `INSERT INTO ${this.options.database}.${table} (${columns.join(', ')}) FORMAT JSONEachRow`;
    for (let attempt = 0; ; attempt++) {
      try {
        const { stream } = await this.options.clickhouse.exec({ query, values: Readable.from(jsonEachRowChunks(rows), { objectMode: false }) });
        // An insert answers nothing; reading the (empty) answer to its end frees the socket.
        for await (const _ of stream) { /* empty */ }
        return null;
      } catch (error) {
        const failure = toClickHouseError(error, `inserting ${rows.length} rows into ${table}`);
        if (!failure.retriable) return failure.message;
        if (this.stopped) throw new SinkStoppedError(`stopped while ClickHouse was unavailable: ${failure.message}`);
        await this.backoff(attempt, failure);
      }
    }
  }
}

/** JSONEachRow text, ENCODE_CHUNK_ROWS rows per chunk, encoded only when the request asks for more. */
function* jsonEachRowChunks(rows: readonly object[]): Generator<Buffer> {
  for (let i = 0; i < rows.length; i += ENCODE_CHUNK_ROWS) {
    let text = '';
    for (const row of rows.slice(i, i + ENCODE_CHUNK_ROWS)) text += `${JSON.stringify(row)}\n`;
    yield Buffer.from(text);
  }
}

/** ~0.5 MB of run rows: few socket writes, and the server never waits long for the next one. */
const ENCODE_CHUNK_ROWS = 256;
const INSERT_PARALLELISM = 2;
const MIN_ROWS_PER_PARALLEL_INSERT = 2_000;

/** The sink was stopped before a batch could be stored: its offsets stay uncommitted. */
export class SinkStoppedError extends Error {
  override readonly name = 'SinkStoppedError';
}

/** A batch cut after one that was not stored: it went back to be stored after it. */
export class BatchGivenBackError extends Error {
  override readonly name = 'BatchGivenBackError';
}

function emptyPending(): Pending {
  return { runs: [], errors: [], offsets: new Map(), epoch: 0, storedAs: 0 };
}
