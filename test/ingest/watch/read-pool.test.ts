// The read pool answers every job exactly as the main thread would: the same encoded
// messages, the same problems, whether a worker or the inline fallback took the job.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { examineRunDir, type ExamineJob } from '../../../ingest/watch/examine-run-dir.ts';
import { createReadPool } from '../../../ingest/watch/read-pool.ts';
import { defaultReadLimits } from '../../../ingest/watch/reader.ts';
import { SAMPLES } from './helpers.ts';

function sampleJobs(): ExamineJob[] {
  return readdirSync(SAMPLES).flatMap((date) =>
    readdirSync(join(SAMPLES, date)).map((key) => ({ date, key, path: join(SAMPLES, date, key), recorded: undefined, publishedAtMs: 1_763_715_602_000 })));
}

describe('read pool', () => {
  it('gives the results of the main thread for every sample run, on workers and inline', async () => {
    const jobs = sampleJobs();
    const expected = jobs.map((job) => examineRunDir(job, defaultReadLimits));
    const pool = createReadPool({ workers: 2, limits: defaultReadLimits, log: () => {} });
    try {
      const first = await Promise.all(jobs.map((job) => pool.examine(job))); // likely inline: the workers are starting
      expect(first).toEqual(expected);
      for (const deadline = Date.now() + 20_000; ; ) {
        // Once a worker is up, jobs return promises answered by it.
        if (pool.examine(jobs[0]!) instanceof Promise) break;
        if (Date.now() > deadline) throw new Error('no read worker became ready in 20 s');
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      const many = Array.from({ length: 20 }, () => jobs).flat();
      expect(await Promise.all(many.map((job) => pool.examine(job)))).toEqual(Array.from({ length: 20 }, () => expected).flat());
    } finally {
      await pool.close();
    }
    expect(await pool.examine(jobs[0]!)).toEqual(expected[0]); // after close: inline
  });

  it('says unchanged for a directory still in its recorded state', async () => {
    const job = sampleJobs().find((j) => j.key === 'feed-eu-0042')!;
    const first = examineRunDir(job, defaultReadLimits);
    expect(first.kind).toBe('event');
    expect(examineRunDir({ ...job, recorded: first.fingerprint }, defaultReadLimits)).toEqual({ kind: 'unchanged', fingerprint: first.fingerprint });
  });
});
