// Reading run directories off the main thread. The main thread of `runlens watch` also
// drives kafkajs (record batches, CRCs, partitioning) and the checkpoint; reading, JSON
// parsing and building an event is most of the CPU of a backfill, and done inline in sync
// chunks it both capped the rate at one core and starved the producer (a send issued at
// the start of a chunk progressed only between chunks). Workers take jobs in chunks (one
// postMessage per chunk, not per run) and answer with encoded messages.
//
// Nothing is lost to a worker: a job is answered by a worker, or by the main thread when
// no worker is ready yet (start-up: ~300 ms for the first pool of a process, which bundles
// the worker, ~100 ms after that: the backfill starts inline meanwhile), when a worker reports a bug, or when it dies (its jobs are given to
// the others, or done inline when none is left).
import { Worker } from 'node:worker_threads';
import { examineRunDir, type Examined, type ExamineJob } from './examine-run-dir.ts';
import type { ReadLimits } from './reader.ts';
import { readWorkerCode } from './read-worker-code.ts';
import type { WorkerRequest, WorkerResponse } from './read-worker.ts';

export interface RunDirExaminer {
  examine(job: ExamineJob): Examined | Promise<Examined>;
  /** Stops the workers; jobs still queued are done inline first. */
  close(): Promise<void>;
}

export function inlineExaminer(limits: ReadLimits): RunDirExaminer {
  return { examine: (job) => examineRunDir(job, limits), close: async () => {} };
}

export interface ReadPoolOptions {
  workers: number;
  limits: ReadLimits;
  log: (line: string) => void;
  /** Jobs per message to a worker. */
  chunkSize?: number;
}

interface Pending {
  job: ExamineJob;
  resolve: (result: Examined) => void;
  reject: (error: Error) => void;
}

interface Slot {
  worker: Worker;
  ready: boolean;
  dead: boolean;
  outstanding: Map<number, Pending[]>;
}

/** Chunks sent to one worker before it answers: enough that a busy main thread (a send, a GC) does not leave it idle. */
const CHUNKS_PER_WORKER = 4;

export function createReadPool(options: ReadPoolOptions): RunDirExaminer {
  if (options.workers <= 0) return inlineExaminer(options.limits);
  const chunkSize = options.chunkSize ?? 64;
  const queue: Pending[] = [];
  let nextId = 0;
  let flushScheduled = false;
  let closed = false;
  const slots: Slot[] = [];

  void readWorkerCode(options.log).then((code) => {
    if (closed) return;
    for (let i = 0; i < options.workers; i++) slots.push(spawn(code));
  });

  function spawn(code: string | null): Slot {
    const workerData = { limits: options.limits };
    const worker = code === null ? new Worker(new URL('./read-worker.mjs', import.meta.url), { workerData }) : new Worker(code, { eval: true, workerData });
    const slot: Slot = { worker, ready: false, dead: false, outstanding: new Map() };
    worker.on('message', (response: WorkerResponse) => {
      if (response.type === 'ready') {
        slot.ready = true;
      } else {
        const entries = slot.outstanding.get(response.id) ?? [];
        slot.outstanding.delete(response.id);
        if (response.type === 'done') entries.forEach((entry, i) => entry.resolve(response.results[i]!));
        else {
          options.log(`watch: a read worker failed on ${entries.length} run directories (done on the main thread instead): ${response.error}`);
          for (const entry of entries) runInline(entry);
        }
      }
      dispatch();
    });
    const lost = (why: string) => {
      if (slot.dead) return;
      slot.dead = true;
      if (!closed) options.log(`watch: a read worker stopped (${why}); ${countOutstanding(slot)} run directories go to the others`);
      const orphans = [...slot.outstanding.values()].flat();
      slot.outstanding.clear();
      queue.unshift(...orphans);
      dispatch();
    };
    worker.on('error', (error) => lost(error.message));
    worker.on('exit', (code) => lost(`exit code ${code}`));
    return slot;
  }

  function countOutstanding(slot: Slot): number {
    let n = 0;
    for (const entries of slot.outstanding.values()) n += entries.length;
    return n;
  }

  function runInline(entry: Pending): void {
    try {
      entry.resolve(examineRunDir(entry.job, options.limits));
    } catch (error) {
      entry.reject(error as Error);
    }
  }

  function dispatch(): void {
    while (queue.length > 0) {
      const live = slots.filter((slot) => !slot.dead);
      if (live.length === 0 || closed) {
        for (const entry of queue.splice(0)) runInline(entry);
        return;
      }
      let best: Slot | null = null;
      for (const slot of live) {
        if (!slot.ready || slot.outstanding.size >= CHUNKS_PER_WORKER) continue;
        if (!best || slot.outstanding.size < best.outstanding.size) best = slot;
      }
      if (!best) return; // every worker is busy: the queue waits for an answer
      const entries = queue.splice(0, chunkSize);
      const id = nextId++;
      best.outstanding.set(id, entries);
      best.worker.postMessage({ id, jobs: entries.map((entry) => entry.job) } satisfies WorkerRequest);
    }
  }

  return {
    examine(job) {
      // Until a worker is up, the main thread reads: the backfill need not wait for it.
      if (closed || !slots.some((slot) => slot.ready && !slot.dead)) return examineRunDir(job, options.limits);
      return new Promise<Examined>((resolve, reject) => {
        queue.push({ job, resolve, reject });
        if (queue.length >= chunkSize) dispatch();
        else if (!flushScheduled) {
          flushScheduled = true;
          setImmediate(() => {
            flushScheduled = false;
            dispatch();
          });
        }
      });
    },
    async close() {
      closed = true;
      dispatch(); // what is still queued is done inline
      // What a worker is still on is answered before it stops: nothing is dropped.
      while (slots.some((slot) => !slot.dead && slot.outstanding.size > 0)) await new Promise((resolve) => setTimeout(resolve, 5));
      await Promise.all(slots.map((slot) => {
        slot.dead = true;
        return slot.worker.terminate();
      }));
    },
  };
}
