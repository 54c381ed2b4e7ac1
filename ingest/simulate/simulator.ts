// `runlens simulate`: scripts writing a run tree live, as the real ones do: a run directory
// with run.json `running`, later result.json and the final run.json; reruns (attempt+1)
// rewriting the same directory minutes later, sometimes in an older day folder; now and
// then a half-written file completed shortly after. Plain writeFile, never atomic.
import { mkdir, readdir, readFile, writeFile as writeFileRaw } from 'node:fs/promises';
import { join } from 'node:path';
import { createCatalog, runKeyFor, type Catalog } from './catalog.ts';
import { createRandom, type Random } from './random.ts';
import { extraJson, planRun, resultJson, runJson, type RunPlan } from './run-documents.ts';

export interface SimulateOptions {
  root: string;
  /** New runs per second. */
  rate: number;
  /** Stop starting runs after this long, or after `runs` runs, whichever comes first. */
  durationMs: number;
  runs: number;
  /** Reruns reach back this many day folders. */
  days: number;
  seed: number;
  /** Scales every run's duration (tests use 0.01 to finish runs in milliseconds). */
  timeScale?: number;
  now?: () => number;
  signal?: AbortSignal;
}

export interface SimulateSummary {
  started: number;
  finished: number;
  reruns: number;
  halfWritten: number;
  filesWritten: number;
}

interface Action {
  atMs: number;
  run: () => Promise<void>;
  /** Final writes and completions of half-written files always happen; reruns only in time. */
  mustRun: boolean;
}

export async function simulate(options: SimulateOptions): Promise<SimulateSummary> {
  const random = createRandom(options.seed);
  const catalog = createCatalog(random);
  const now = options.now ?? Date.now;
  const timeScale = options.timeScale ?? 1;
  const summary: SimulateSummary = { started: 0, finished: 0, reruns: 0, halfWritten: 0, filesWritten: 0 };
  const queue: Action[] = [];
  const finishedRuns: RunPlan[] = [];
  const startedAt = now();
  const used = new Set<string>();

  const schedule = (atMs: number, run: () => Promise<void>, mustRun = true) => {
    const action = { atMs, run, mustRun };
    let i = queue.length;
    queue.push(action);
    while (i > 0 && queue[i - 1]!.atMs > atMs) {
      queue[i] = queue[i - 1]!;
      i--;
    }
    queue[i] = action;
  };

  /** A plain, non-atomic write; sometimes first a truncated prefix, completed shortly after. */
  /**
   * One writer per file, as with the real scripts: two overlapping writeFile calls on one
   * path (a completion and a rerun's rewrite) would interleave into a file no script writes.
   */
  const writing = new Map<string, Promise<void>>();
  function writeFile(path: string, content: string): Promise<void> {
    const previous = writing.get(path) ?? Promise.resolve();
    const next = previous.then(() => writeFileRaw(path, content));
    writing.set(path, next);
    void next.finally(() => {
      if (writing.get(path) === next) writing.delete(path);
    }).catch(() => {});
    return next;
  }

  /** Half-written files waiting for their completion; a newer write supersedes it. */
  const incomplete = new Map<string, string>();
  async function write(path: string, content: string): Promise<void> {
    summary.filesWritten++;
    incomplete.delete(path);
    if (random.chance(0.02)) {
      summary.halfWritten++;
      incomplete.set(path, content);
      await writeFile(path, content.slice(0, random.int(1, Math.max(1, content.length - 2))));
      schedule(now() + random.int(50, 400), async () => {
        if (incomplete.get(path) !== content) return;
        incomplete.delete(path);
        await writeFile(path, content);
      });
      return;
    }
    await writeFile(path, content);
  }

  /**
   * Runs with a write still to come (a final write, or a rerun scheduled after a failure).
   * A rerun found on disk must not start on one of these: a script is never rerun while it
   * runs, and an attempt-1 final written after attempt 2 would be a history no script makes.
   */
  const busy = new Set<string>();

  function startRun(plan: RunPlan): Promise<void> {
    const dir = join(options.root, plan.date, plan.key);
    busy.add(`${plan.date}/${plan.key}`);
    return (async () => {
      await mkdir(dir, { recursive: true });
      await write(join(dir, 'run.json'), runJson(plan, 'running'));
      summary.started++;
      schedule(now() + plan.durationMs * timeScale, async () => {
        if (plan.finalStatus !== 'cancelled' || random.chance(0.5)) await write(join(dir, 'result.json'), resultJson(plan, random));
        if (plan.extraFile) await write(join(dir, 'summary.json'), extraJson(random));
        await write(join(dir, 'run.json'), runJson(plan, plan.finalStatus));
        summary.finished++;
        finishedRuns.push(plan);
        // A rerun minutes (scaled) later rewrites the same directory.
        if (plan.finalStatus !== 'succeeded' && random.chance(0.3)) {
          schedule(now() + random.int(60_000, 600_000) * timeScale, () => rerun(plan), false);
        } else {
          busy.delete(`${plan.date}/${plan.key}`);
        }
      });
    })();
  }

  function rerun(previous: RunPlan): Promise<void> {
    summary.reruns++;
    const plan = planRun(random, { date: previous.date, key: previous.key, job: previous.job, host: random.pick(catalog.hosts), attempt: previous.attempt + 1, startedAtMs: now() });
    return startRun(plan);
  }

  /** A rerun of a run in an older day folder, found on disk (written by earlier sessions). */
  async function rerunFromDisk(): Promise<boolean> {
    const back = random.int(1, Math.max(1, options.days - 1));
    const date = new Date(now() - back * 86_400_000).toISOString().slice(0, 10);
    let keys: string[];
    try {
      keys = await readdir(join(options.root, date));
    } catch {
      return false;
    }
    if (keys.length === 0) return false;
    const key = random.pick(keys);
    if (busy.has(`${date}/${key}`)) return false;
    try {
      const header = JSON.parse(await readFile(join(options.root, date, key, 'run.json'), 'utf8')) as { job?: unknown; attempt?: unknown; status?: unknown };
      if (header.status === 'running') return false; // started by another process, not finished yet
      const job = catalog.jobs.find((candidate) => candidate.name === header.job) ?? random.pick(catalog.jobs);
      const attempt = typeof header.attempt === 'number' ? header.attempt : 1;
      await rerun({ ...planRun(random, { date, key, job, host: '', attempt, startedAtMs: now() }) });
      return true;
    } catch {
      return false; // half-written or foreign: skip it
    }
  }

  function newPlan(): RunPlan {
    const t = now();
    // A run started just after midnight sometimes still writes into yesterday's folder.
    const date = new Date(random.chance(0.03) ? t - 86_400_000 : t).toISOString().slice(0, 10);
    const job = random.pick(catalog.jobs);
    let key = runKeyFor(job, random.int(1, 999_999));
    while (used.has(`${date}/${key}`)) key = runKeyFor(job, random.int(1, 999_999));
    used.add(`${date}/${key}`);
    return planRun(random, { date, key, job, host: random.pick(catalog.hosts), attempt: 1, startedAtMs: t });
  }

  let launched = 0;
  const inFlight = new Set<Promise<void>>();
  const track = (promise: Promise<void>) => {
    const tracked = promise.finally(() => inFlight.delete(tracked));
    inFlight.add(tracked);
  };
  while (!options.signal?.aborted) {
    const t = now();
    const elapsed = t - startedAt;
    const accepting = elapsed < options.durationMs && launched < options.runs;
    const due = accepting ? Math.min(options.runs, Math.floor((elapsed / 1000) * options.rate) + 1) : launched;
    while (launched < due) {
      launched++;
      if (options.days > 1 && random.chance(0.02)) track(rerunFromDisk().then(() => {}));
      else track(startRun(newPlan()));
    }
    while (queue.length > 0 && queue[0]!.atMs <= t) track(queue.shift()!.run());
    // Once no new runs start, reruns that are not due yet are dropped; finals never are.
    if (!accepting) {
      for (let i = queue.length - 1; i >= 0; i--) if (!queue[i]!.mustRun && queue[i]!.atMs > t) queue.splice(i, 1);
      if (queue.length === 0 && inFlight.size === 0) break;
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  await Promise.allSettled([...inFlight]);
  return summary;
}

export type { Catalog, Random };
