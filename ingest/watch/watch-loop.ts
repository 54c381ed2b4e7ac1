// `runlens watch`: backfill every day folder, then follow the tree. Ties the scanner, the
// reader (through the ingestor), the checkpoint and the live follower together; every part
// arrives as an argument.
//
// What is looked at, and how often:
// - live (inotify, ~20 ms): the root, the active day folders (today, yesterday UTC and any
//   day that changed within `activeWindowMs`) and run directories that changed recently;
// - every `scanIntervalMs`: a stat of every run directory of the active days (catches what
//   inotify missed or could not watch), the mtime of every day folder (a new run directory
//   in an old day makes that day active), and `coldDaysPerScan` other days in rotation:
//   a rerun rewriting files in place in a weeks-old day changes no directory mtime, so only
//   a stat of its files finds it; the rotation bounds the cost of every tick.
import { setTimeout as sleep } from 'node:timers/promises';
import { join } from 'node:path';
import type { RunEventPublisher } from '../publish/run-event-publisher.ts';
import type { CheckpointStore } from './checkpoint-store.ts';
import { createLiveFollower, type LiveFollower } from './live-follower.ts';
import type { ProgressReporter } from './progress.ts';
import { createReadPool } from './read-pool.ts';
import { defaultReadLimits, type ReadLimits } from './reader.ts';
import { createRunIngestor, type IngestorOptions, type IngestStats, type RunCandidate } from './run-ingestor.ts';
import { currentDates, listDayFolders } from './run-tree.ts';
import { newestMtimeOf, scanDay } from './scanner.ts';

export interface WatchOptions {
  root: string;
  /** Scan everything once, publish, wait for the acks and return. */
  once: boolean;
  scanIntervalMs: number;
  /** A day folder that changed within this long is watched and scanned every interval. */
  activeWindowMs: number;
  /** Inactive days stat'ed per interval, in rotation. */
  coldDaysPerScan: number;
  maxRunDirWatches: number;
  /** A run directory unchanged for this long is no longer watched. */
  watchIdleMs: number;
  /** Changes to one run directory within this long are read once. */
  debounceMs: number;
  readLimits: ReadLimits;
  /**
   * Worker threads that read and build run directories; 0 reads on the main thread. One:
   * the main thread keeps kafkajs (encoding, hashing, gzip callbacks) and the worker reads;
   * a second worker gained nothing on 2 cores (and once ran far slower).
   */
  readWorkers: number;
  ingestor: Partial<IngestorOptions>;
}

export const defaultWatchOptions: Omit<WatchOptions, 'root'> = Object.freeze({
  once: false,
  scanIntervalMs: 30_000,
  activeWindowMs: 10 * 60_000,
  coldDaysPerScan: 1,
  maxRunDirWatches: 8192,
  watchIdleMs: 10 * 60_000,
  debounceMs: 20,
  readLimits: defaultReadLimits,
  readWorkers: 1,
  ingestor: {},
});

export interface WatchDeps {
  options: Partial<WatchOptions> & { root: string };
  publisher: RunEventPublisher;
  checkpoint: CheckpointStore;
  log: (line: string) => void;
  progress?: ProgressReporter;
  signal?: AbortSignal;
  now?: () => number;
  /** Called after the first full scan is published (live mode): tests and `--once` wait on it. */
  onBackfilled?: (stats: Readonly<IngestStats>) => void;
}

export interface WatchSummary extends IngestStats {
  elapsedMs: number;
  runsPerSecond: number;
}

export async function runWatch(deps: WatchDeps): Promise<WatchSummary> {
  const options: WatchOptions = { ...defaultWatchOptions, ...deps.options };
  const now = deps.now ?? Date.now;
  const startedAt = now();
  const { root } = options;
  const signal = deps.signal ?? new AbortController().signal;
  let backfilled = false;

  /** Day → when a change was last seen there. */
  const dayActivity = new Map<string, number>();
  const dayMtimes = new Map<string, number>();
  let follower: LiveFollower | null = null;

  const readPool = createReadPool({ workers: options.readWorkers, limits: options.readLimits, log: deps.log });
  const ingestor = createRunIngestor({
    publisher: deps.publisher,
    checkpoint: deps.checkpoint,
    examine: (job) => readPool.examine(job),
    now,
    log: deps.log,
    signal,
    options: options.ingestor,
    onRead(candidate) {
      // After the backfill, a run that a scan finds changed marks its day active and is
      // watched: a rerun's `running` version found late, its final version found at once.
      if (!backfilled || options.once) return;
      dayActivity.set(candidate.date, now());
      follower?.watchRunDir(candidate.date, candidate.key);
    },
    onExamined(candidate, outcome, newestWriteMs) {
      // A run still running, or not readable yet, will be written again: watch it (in the
      // active days; elsewhere the scan that found it made its day active). So is one
      // written within the idle window (as the sweep decides for runs it does not read).
      if (!follower || !activeNow.has(candidate.date)) return;
      if (outcome !== 'final' || (newestWriteMs !== null && newestWriteMs >= Date.now() - options.watchIdleMs)) follower.watchRunDir(candidate.date, candidate.key);
    },
  });
  /** The active days as of the last computation (for cheap membership tests). */
  let activeNow = new Set<string>();

  let scanned = 0;
  let listedTotal = 0;
  function report(daysListed: number, daysTotal: number): void {
    if (!deps.progress) return;
    const average = daysListed > 0 ? listedTotal / daysListed : 0;
    const total = Math.max(scanned, Math.round(listedTotal + average * (daysTotal - daysListed)));
    deps.progress.update({ done: scanned, total, totalIsEstimate: daysListed < daysTotal, published: ingestor.stats.published, errors: ingestor.stats.errors });
  }

  async function sweep(dates: readonly string[], keepLoaded: () => ReadonlySet<string>, showProgress: boolean): Promise<void> {
    let daysListed = 0;
    for (const date of dates) {
      if (signal.aborted) return;
      const wantsFingerprint = (key: string) => deps.checkpoint.get(date, key) !== undefined;
      for await (const chunk of scanDay(root, date, { onListed: (n) => { listedTotal += n; daysListed++; }, wantsFingerprint })) {
        for (const entry of chunk) {
          await ingestor.offer(entry);
          scanned++;
          // Written to within the idle window in an active day: likely written again soon
          // (its final version, a rerun), so inotify should see it, not only the next scan.
          // (Runs without a fingerprint were read: onExamined decided for those.)
          if (follower && activeNow.has(date) && newestMtimeOf(entry.fingerprint ?? null) >= Date.now() - options.watchIdleMs) follower.watchRunDir(date, entry.key);
        }
        if (showProgress) report(daysListed, dates.length);
        if (signal.aborted) return;
      }
      // Days behind us leave memory; a late ack reloads its day's log once.
      deps.checkpoint.retainOnly(new Set([...keepLoaded(), date]));
    }
  }

  function activeDays(existing: ReadonlySet<string>): string[] {
    const t = now();
    const recent = [...dayActivity]
      .filter(([date, at]) => t - at <= options.activeWindowMs && existing.has(date))
      .sort((a, b) => b[1] - a[1])
      .slice(0, 16)
      .map(([date]) => date);
    const days = [...new Set([...currentDates(t).filter((date) => existing.has(date)), ...recent])];
    activeNow = new Set(days);
    return days;
  }

  if (options.once) {
    try {
      const days = listDayFolders(root).map((day) => day.date);
      await sweep(days, () => new Set(), true);
      await ingestor.drain();
      await deps.checkpoint.flush();
    } finally {
      await readPool.close();
    }
    deps.progress?.finish();
    return summarize();
  }

  // Live mode: follow first, so nothing written during the backfill is missed.
  const pendingReads = new Map<string, NodeJS.Timeout>();
  const pendingDayScans = new Set<string>();
  follower = createLiveFollower({
    root,
    maxRunDirWatches: options.maxRunDirWatches,
    idleMs: options.watchIdleMs,
    now,
    log: deps.log,
    onRunDir(date, key) {
      dayActivity.set(date, now());
      const id = `${date}/${key}`;
      if (pendingReads.has(id)) return;
      pendingReads.set(id, setTimeout(() => {
        pendingReads.delete(id);
        const candidate: RunCandidate = { date, key, path: join(root, date, key), kind: 'dir' };
        void ingestor.offer(candidate);
      }, options.debounceMs));
    },
    onDay(date) {
      dayActivity.set(date, now());
      follower?.setActiveDays(activeDays(new Set(listDayFolders(root).map((day) => day.date))));
      if (pendingDayScans.has(date)) return;
      pendingDayScans.add(date);
      // A new day folder: its first run directories may predate the watch on it.
      setTimeout(() => {
        pendingDayScans.delete(date);
        void sweep([date], () => new Set(activeDays(new Set([date]))), false).catch((error: Error) => deps.log(`watch: scan of ${date} failed: ${error.message}`));
      }, 100);
    },
  });

  try {
    const folders = listDayFolders(root);
    for (const day of folders) dayMtimes.set(day.date, day.mtimeMs);
    const existing = new Set(folders.map((day) => day.date));
    follower.setActiveDays(activeDays(existing));
    const hot = activeDays(existing);
    const rest = folders.map((day) => day.date).filter((date) => !hot.includes(date));
    await sweep([...hot, ...rest], () => new Set(activeDays(existing)), true);
    await ingestor.drain();
    deps.progress?.finish();
    backfilled = true;
    deps.onBackfilled?.(ingestor.stats);

    let coldCursor = 0;
    while (!signal.aborted) {
      await sleep(options.scanIntervalMs, undefined, { signal }).catch(() => {});
      if (signal.aborted) break;
      try {
        coldCursor = await reconcile(coldCursor);
      } catch (error) {
        // The root unreadable for a moment (remount, permissions): try again next interval.
        deps.log(`watch: reconciliation scan failed: ${(error as Error).message}`);
      }
    }
  } finally {
    follower.close();
    for (const timer of pendingReads.values()) clearTimeout(timer);
    ingestor.stop();
    await ingestor.drain();
    await readPool.close();
    await deps.checkpoint.flush();
  }
  return summarize();

  async function reconcile(coldCursor: number): Promise<number> {
    const folders = listDayFolders(root);
    const present = new Set(folders.map((day) => day.date));
    for (const day of folders) {
      // A new or removed run directory changes the day folder's mtime: that day is active.
      if (dayMtimes.get(day.date) !== day.mtimeMs) dayActivity.set(day.date, now());
      dayMtimes.set(day.date, day.mtimeMs);
    }
    const active = activeDays(present);
    follower!.setActiveDays(active);
    const cold = folders.map((day) => day.date).filter((date) => !active.includes(date));
    const rotation: string[] = [];
    for (let i = 0; i < Math.min(options.coldDaysPerScan, cold.length); i++) rotation.push(cold[coldCursor++ % cold.length]!);
    await sweep([...active, ...rotation], () => new Set(active), false);
    follower!.releaseIdle();
    deps.checkpoint.retainOnly(new Set(active));
    return coldCursor;
  }

  function summarize(): WatchSummary {
    const elapsedMs = now() - startedAt;
    return { ...ingestor.stats, elapsedMs, runsPerSecond: Math.round(ingestor.stats.examined / Math.max(0.001, elapsedMs / 1000)) };
  }
}
