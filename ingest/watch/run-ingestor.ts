// From "this run directory may have changed" to "its state is published and checkpointed":
// compare with the checkpoint, read and build the event (or the ingest error) through the
// examiner (read-pool.ts: on worker threads, several directories at once), publish in
// batches with bounded concurrency, and advance the checkpoint only once a batch's publish
// resolved. A crash re-publishes at most what was in flight; directories being read are
// neither published nor checkpointed, so a crash only reads them again.
//
// Half-written files: an outcome that is not ok is read again after short delays; only when
// the same file state keeps failing is it reported, once per state (the checkpoint records
// `!<state>`), so a rescan does not report it again but a change to the file re-reads it.
import { setTimeout as sleep } from 'node:timers/promises';
import { INGEST_ERROR_SCHEMA_ID, type IngestErrorEvent } from '../event/ingest-error-event.ts';
import { isRunKey } from '../event/quick-check.ts';
import { encodeEvent, type WireMessage } from '../event/wire.ts';
import { EventTooLargeError } from '../publish/errors.ts';
import type { RunEventPublisher } from '../publish/run-event-publisher.ts';
import type { CheckpointStore } from './checkpoint-store.ts';
import type { Examined, ExamineJob } from './examine-run-dir.ts';

export interface IngestorOptions {
  /** Events per publish call. */
  batchSize: number;
  /** A batch is also cut at about this many bytes of file content. */
  batchBytes: number;
  /** Publish calls awaiting their ack at once. */
  maxInFlight: number;
  /** Run directories being read at once (queued for or on the read workers). */
  maxReading: number;
  /** A partial batch waits at most this long for company. */
  lingerMs: number;
  /** Delays before reading a failing directory again; after the last one it is reported. */
  retryDelaysMs: readonly number[];
}

export const defaultIngestorOptions: IngestorOptions = Object.freeze({
  batchSize: 1000,
  batchBytes: 850_000,
  maxInFlight: 4,
  maxReading: 1024,
  lingerMs: 10,
  retryDelaysMs: Object.freeze([100, 400, 1500]),
});

export interface IngestorDeps {
  publisher: RunEventPublisher;
  checkpoint: CheckpointStore;
  /** Reads and builds one run directory (examine-run-dir.ts), inline or on a worker. */
  examine: (job: ExamineJob) => Examined | Promise<Examined>;
  now: () => number;
  log: (line: string) => void;
  /** Once aborted, a failing publish is no longer retried (its runs stay unrecorded). */
  signal?: AbortSignal;
  options?: Partial<IngestorOptions>;
  /** Called when a directory's state differs from the checkpoint and it is about to be read. */
  onRead?: (candidate: RunCandidate) => void;
  /**
   * Called with what a read found: a run still `running` or a directory not readable yet
   * will change again soon (the watcher keeps an eye on it); `final` will rarely change.
   */
  onExamined?: (candidate: RunCandidate, outcome: 'running' | 'final' | 'problem', newestWriteMs: number | null) => void;
}

export interface IngestStats {
  /** Run directories looked at (scan entries and live changes). */
  examined: number;
  /** Skipped because the checkpoint already holds their state. */
  unchanged: number;
  /** Run events acknowledged by the publisher. */
  published: number;
  /** Ingest errors acknowledged by the publisher. */
  errors: number;
  /** Re-reads of directories that were not readable yet. */
  retries: number;
}

export interface RunCandidate {
  date: string;
  key: string;
  path: string;
  kind: 'dir' | 'link';
  /** From the scanner; undefined for a live change or when not taken (always read), null when unknown. */
  fingerprint?: string | null | undefined;
}

export interface RunIngestor {
  /** Resolves once the candidate is accepted: backpressure for the scanner. */
  offer(candidate: RunCandidate): Promise<void>;
  /** Resolves when nothing is batched, in flight or waiting for a re-read. */
  drain(): Promise<void>;
  /** Cancels pending re-reads (their directories are found again by the next scan). */
  stop(): void;
  readonly stats: Readonly<IngestStats>;
}

interface Item {
  candidate: RunCandidate;
  message: WireMessage;
  isError: boolean;
  state: string;
  bytes: number;
}

interface Retry {
  state: string;
  attempts: number;
  timer: NodeJS.Timeout | null;
}

export function createRunIngestor(deps: IngestorDeps): RunIngestor {
  const options = { ...defaultIngestorOptions, ...deps.options };
  const stats: IngestStats = { examined: 0, unchanged: 0, published: 0, errors: 0, retries: 0 };
  const { checkpoint, publisher, log } = deps;

  /** Identities being read, batched or in flight; a change meanwhile is re-read after. */
  const busy = new Map<string, { again: RunCandidate | null }>();
  /** Reads not yet turned into an item (or into nothing); bounded by maxReading. */
  const reading = new Set<Promise<void>>();
  const retries = new Map<string, Retry>();
  let batch: Item[] = [];
  let batchBytes = 0;
  let linger: NodeJS.Timeout | null = null;
  const inFlight = new Set<Promise<void>>();
  let stopped = false;

  async function offer(candidate: RunCandidate): Promise<void> {
    stats.examined++;
    const id = `${candidate.date}/${candidate.key}`;
    const recorded = checkpoint.get(candidate.date, candidate.key);
    const scanned = candidate.fingerprint;
    if (scanned && (recorded === scanned || recorded === `!${scanned}`)) {
      stats.unchanged++;
      return;
    }
    const pending = busy.get(id);
    if (pending) {
      pending.again = { ...candidate, fingerprint: undefined };
      return;
    }
    const retry = retries.get(id);
    if (retry?.timer) {
      clearTimeout(retry.timer); // read now instead; the attempt count carries on
      retry.timer = null;
    }

    if (candidate.kind === 'link') {
      const item = reportOnce(candidate, recorded, 'link', { kind: 'foreign', file: '', reason: 'the run directory is a symbolic link; links are not followed' });
      if (item) await enqueue(id, item);
      return;
    }
    if (!isRunKey(candidate.key)) {
      const reason = `directory name "${candidate.key.slice(0, 200)}" is not a valid run key (1–200 characters of A-Z a-z 0-9 . _ : -)`;
      const item = reportOnce(candidate, recorded, 'badkey', { kind: 'invalid', file: '', reason });
      if (item) await enqueue(id, item);
      return;
    }

    // Held busy while it is read: a change meanwhile is read again afterwards.
    busy.set(id, { again: null });
    while (reading.size >= options.maxReading) await Promise.race(reading);
    deps.onRead?.(candidate);
    let examined: Examined | Promise<Examined>;
    try {
      examined = deps.examine({ date: candidate.date, key: candidate.key, path: candidate.path, recorded, publishedAtMs: deps.now() });
    } catch (error) {
      examined = Promise.reject(error as Error);
    }
    if (examined instanceof Promise) {
      // On a worker: the scanner goes on while it reads (bounded by maxReading).
      const done = finishRead(id, candidate, recorded, examined).finally(() => reading.delete(done));
      reading.add(done);
    } else {
      await finishRead(id, candidate, recorded, examined); // read inline: no promise per run to track
    }
  }

  async function finishRead(id: string, candidate: RunCandidate, recorded: string | undefined, examined: Examined | Promise<Examined>): Promise<void> {
    let item: Item | null = null;
    try {
      item = afterRead(candidate, recorded, examined instanceof Promise ? await examined : examined);
    } catch (error) {
      // A bug in reading or building must not stop the tree: this run waits for the next scan.
      log(`watch: ${candidate.path}: ${(error as Error).stack ?? String(error)}`);
    }
    if (item) await enqueue(id, item);
    else release(id);
  }

  /** Done with a directory without publishing: a change seen meanwhile is offered again. */
  function release(id: string): void {
    const again = busy.get(id)?.again;
    busy.delete(id);
    if (again) {
      stats.examined--;
      void offer(again);
    }
  }

  /** The item to publish, or null when there is nothing to publish (yet). */
  function afterRead(candidate: RunCandidate, recorded: string | undefined, examined: Examined): Item | null {
    const id = `${candidate.date}/${candidate.key}`;
    if (examined.kind === 'unchanged') {
      stats.unchanged++; // a live event for a state already published
      retries.delete(id);
      return null;
    }
    deps.onExamined?.(candidate, examined.kind === 'event' ? (examined.status === 'running' ? 'running' : 'final') : 'problem', examined.writtenAtMs);
    if (examined.kind === 'event') {
      retries.delete(id);
      return { candidate, message: examined.message, isError: false, state: examined.fingerprint, bytes: examined.message.value.length };
    }
    if (recorded === `!${examined.fingerprint}`) {
      retries.delete(id); // this very state was reported already
      return null;
    }
    if (examined.problem !== 'foreign') {
      let retry = retries.get(id);
      if (!retry || retry.state !== examined.fingerprint) retries.set(id, (retry = { state: examined.fingerprint, attempts: 0, timer: null }));
      const delay = options.retryDelaysMs[retry.attempts];
      if (delay !== undefined && !stopped) {
        retry.attempts++;
        const current = retry;
        current.timer = setTimeout(() => {
          current.timer = null;
          stats.retries++;
          stats.examined--; // a re-read is not another directory
          void offer({ ...candidate, fingerprint: undefined });
        }, delay);
        return null;
      }
      retries.delete(id);
    }
    return reportOnce(candidate, recorded, examined.fingerprint, { kind: examined.problem, file: examined.file, reason: examined.reason });
  }

  function reportOnce(
    candidate: RunCandidate,
    recorded: string | undefined,
    fileState: string,
    problem: { kind: IngestErrorEvent['kind']; file: string; reason: string },
  ): Item | null {
    const state = `!${fileState}`;
    if (recorded === state) {
      stats.unchanged++;
      return null;
    }
    const event: IngestErrorEvent = {
      schema: INGEST_ERROR_SCHEMA_ID,
      occurred_at_ms: Math.trunc(deps.now()),
      source: 'watch',
      origin: candidate.path.slice(0, 4096),
      run_date: candidate.date,
      key: candidate.key.slice(0, 1024),
      file: problem.file.slice(0, 1024),
      kind: problem.kind,
      reason: problem.reason.slice(0, 4096),
    };
    return { candidate, message: encodeEvent(event), isError: true, state, bytes: 512 };
  }

  // At most `maxInFlight` publish calls are outstanding; a full batch waits for room, and
  // so do the reads finishing into it (and through them the scanner offering more):
  // memory holds at most maxInFlight + 1 batches and maxReading directories being read.
  async function enqueue(id: string, item: Item): Promise<void> {
    if (!busy.has(id)) busy.set(id, { again: null });
    // Reads finish concurrently: none joins a full batch, they wait for it to be sent.
    while (batchIsFull()) await sendWhenRoom();
    batch.push(item);
    batchBytes += item.bytes;
    if (batchIsFull()) await sendWhenRoom();
    else armLinger();
  }

  function batchIsFull(): boolean {
    return batch.length >= options.batchSize || batchBytes >= options.batchBytes;
  }

  /** One waiter sends the full batch once there is room; everyone else waits on it. */
  let sending: Promise<void> | null = null;
  function sendWhenRoom(): Promise<void> {
    sending ??= (async () => {
      await room();
      sendBatch();
    })().finally(() => {
      sending = null;
    });
    return sending;
  }

  // A partial batch goes once nothing is in flight: while a publish awaits its ack the
  // batch keeps filling (a backfill's reads finish one by one; sent every linger, they went
  // as dozens of 30-event batches, each a produce round trip of its own).
  function armLinger(): void {
    linger ??= setTimeout(() => {
      linger = null;
      if (inFlight.size === 0) sendBatch();
      else if (batch.length > 0) armLinger(); // keep filling, look again soon
    }, options.lingerMs);
  }

  async function room(): Promise<void> {
    while (inFlight.size >= options.maxInFlight) await Promise.race(inFlight);
  }

  function sendBatch(): void {
    if (linger) {
      clearTimeout(linger);
      linger = null;
    }
    if (batch.length === 0) return;
    const items = batch;
    batch = [];
    batchBytes = 0;
    const publishing = publishUntilAccepted(items).finally(() => inFlight.delete(publishing));
    inFlight.add(publishing);
  }

  async function publishUntilAccepted(items: Item[]): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await publisher.publishMessages(items.map((item) => item.message));
        break;
      } catch (error) {
        if (error instanceof EventTooLargeError) {
          // Retrying cannot shrink it: that run is reported instead, the rest go as they are.
          const index = items.findIndex((item) => !item.isError && `${item.candidate.date}/${item.candidate.key}` === error.identity);
          const item = items[index];
          if (item) {
            items[index] = reportOnce(item.candidate, undefined, item.state.replace(/^!/, ''), { kind: 'invalid', file: '', reason: error.message })!;
            continue;
          }
        }
        // The publisher rejects only when neither Kafka nor its spool took the batch:
        // nothing was accepted, so the whole batch is tried again, with capped backoff.
        if (deps.signal?.aborted) {
          log(`watch: publish failed while stopping (${(error as Error).message}); ${items.length} runs stay unrecorded and are published on the next start`);
          for (const item of items) busy.delete(`${item.candidate.date}/${item.candidate.key}`);
          return;
        }
        const delay = Math.min(10_000, 250 * 2 ** attempt);
        log(`watch: publish of ${items.length} events failed (${(error as Error).message}); retrying in ${delay} ms`);
        await sleep(delay);
      }
    }
    for (const item of items) {
      const { date, key } = item.candidate;
      checkpoint.record(date, key, item.state);
      if (item.isError) stats.errors++;
      else stats.published++;
    }
    for (const item of items) release(`${item.candidate.date}/${item.candidate.key}`);
  }

  async function drain(): Promise<void> {
    for (;;) {
      if (reading.size > 0) await Promise.allSettled([...reading]);
      else if (batch.length > 0) {
        await room();
        sendBatch();
      }
      else if (inFlight.size > 0) await Promise.allSettled([...inFlight]);
      else if (busy.size > 0 || [...retries.values()].some((retry) => retry.timer)) await sleep(20);
      else return;
    }
  }

  return {
    offer,
    drain,
    stop() {
      stopped = true;
      for (const retry of retries.values()) if (retry.timer) clearTimeout(retry.timer);
      retries.clear();
    },
    stats,
  };
}
