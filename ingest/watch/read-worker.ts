// A read worker: examines the run directories it is sent, in the order sent, and answers
// with one result per job. Stateless: a worker that dies loses nothing the pool cannot
// give to another (read-pool.ts).
import { parentPort, workerData } from 'node:worker_threads';
import { examineRunDir, type Examined, type ExamineJob } from './examine-run-dir.ts';
import type { ReadLimits } from './reader.ts';

export interface WorkerRequest {
  id: number;
  jobs: ExamineJob[];
}

export type WorkerResponse =
  | { type: 'ready' }
  | { type: 'done'; id: number; results: Examined[] }
  /** A bug (not a bad file: those are results): the pool does these jobs on the main thread. */
  | { type: 'failed'; id: number; error: string };

const port = parentPort!;
const limits = (workerData as { limits: ReadLimits }).limits;
port.on('message', (request: WorkerRequest) => {
  let response: WorkerResponse;
  try {
    response = { type: 'done', id: request.id, results: request.jobs.map((job) => examineRunDir(job, limits)) };
  } catch (error) {
    response = { type: 'failed', id: request.id, error: (error as Error).stack ?? String(error) };
  }
  port.postMessage(response);
});
port.postMessage({ type: 'ready' } satisfies WorkerResponse);
