// A finished run tree written as fast as the disk takes it (sync writes in a tight loop:
// ~200k runs in well under a minute), for backfill tests and benchmarks. Returns what a
// correct ingest must end up with: per (date, key), the final status and attempt.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RunStatus } from '../event/run-event.ts';
import { createCatalog, runKeyFor } from './catalog.ts';
import { createRandom } from './random.ts';
import { extraJson, planRun, resultJson, runJson } from './run-documents.ts';

export interface GenerateTreeOptions {
  root: string;
  runs: number;
  /** Day folders, ending with `endDate`. */
  days: number;
  seed: number;
  /** The newest partition, YYYY-MM-DD; today (UTC) by default. */
  endDate?: string;
  /** Share of runs still `running` (no result.json yet). */
  runningShare?: number;
}

export interface ExpectedRun {
  status: RunStatus;
  attempt: number;
}

/** Keyed by `${date}/${key}` (runIdentity). */
export type ExpectedTree = Map<string, ExpectedRun>;

export function generateTree(options: GenerateTreeOptions): ExpectedTree {
  const random = createRandom(options.seed);
  const catalog = createCatalog(random);
  const endMs = Date.parse(`${options.endDate ?? new Date().toISOString().slice(0, 10)}T00:00:00.000Z`);
  const dates = Array.from({ length: options.days }, (_, i) => new Date(endMs - (options.days - 1 - i) * 86_400_000).toISOString().slice(0, 10));
  const keysByDate = new Map(dates.map((date) => [date, new Set<string>()]));
  const expected: ExpectedTree = new Map();
  for (const date of dates) mkdirSync(join(options.root, date), { recursive: true });

  for (let i = 0; i < options.runs; i++) {
    const date = dates[i % dates.length]!;
    const keys = keysByDate.get(date)!;
    const job = random.pick(catalog.jobs);
    let key = runKeyFor(job, random.int(1, 999_999));
    while (keys.has(key)) key = runKeyFor(job, random.int(1, 999_999));
    keys.add(key);
    const attempt = random.weighted({ 1: 90, 2: 8, 3: 2 });
    const plan = planRun(random, {
      date,
      key,
      job,
      host: random.pick(catalog.hosts),
      attempt: Number(attempt),
      startedAtMs: Date.parse(`${date}T00:00:00.000Z`) + random.int(0, 86_399_000),
    });
    const running = random.chance(options.runningShare ?? 0.02);
    const dir = join(options.root, date, key);
    mkdirSync(dir);
    if (!running) {
      writeFileSync(join(dir, 'result.json'), resultJson(plan, random));
      if (plan.extraFile) writeFileSync(join(dir, 'summary.json'), extraJson(random));
    }
    const status = running ? 'running' : plan.finalStatus;
    writeFileSync(join(dir, 'run.json'), runJson(plan, status));
    expected.set(`${date}/${key}`, { status, attempt: plan.attempt });
  }
  return expected;
}
