// inotify (fs.watch) on the parts of the tree that are being written: the root (new day
// folders), the active day folders (new run directories) and the run directories that
// changed recently (files rewritten in place). The number of watches is bounded: run
// directories are watched least-recently-changed-first out, and one idle for `idleMs` is
// let go. What no watch covers is found by the periodic reconciliation scan.
import { lstatSync, watch as fsWatch, type FSWatcher } from 'node:fs';
import { join } from 'node:path';
import { isJsonFileName, isRunDate } from './run-tree.ts';

export interface LiveFollowerOptions {
  root: string;
  /** Upper bound on run-directory watches (day folders and the root come on top). */
  maxRunDirWatches: number;
  /** A run directory with no change for this long is no longer watched. */
  idleMs: number;
  /** A run directory may have changed: read it soon. */
  onRunDir: (date: string, key: string) => void;
  /** A day folder appeared or changed under the root. */
  onDay: (date: string) => void;
  log: (line: string) => void;
  now: () => number;
  watch?: typeof fsWatch;
}

export interface LiveFollower {
  /** Watches exactly these day folders (and keeps the run directories watched in them). */
  setActiveDays(dates: readonly string[]): void;
  /** Starts watching a run directory (a rerun found by a scan, a new directory). */
  watchRunDir(date: string, key: string): void;
  /** Lets go of run directories idle for longer than `idleMs`. */
  releaseIdle(): void;
  watchCount(): { days: number; runDirs: number };
  close(): void;
}

export function createLiveFollower(options: LiveFollowerOptions): LiveFollower {
  const watch = options.watch ?? fsWatch;
  const days = new Map<string, FSWatcher>();
  /** Insertion order is recency: a change moves the entry to the end. */
  const runDirs = new Map<string, { watcher: FSWatcher; lastChangeMs: number }>();
  let exhausted = false;
  let closed = false;

  function open(path: string, onEvent: (event: string, name: string | null) => void, onGone: () => void): FSWatcher | null {
    try {
      const watcher = watch(path, { persistent: false }, (event, name) => onEvent(event, name === null ? null : String(name)));
      watcher.on('error', () => {
        watcher.close();
        onGone();
      });
      return watcher;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOSPC' || code === 'EMFILE') {
        // The kernel's inotify budget: reconciliation still finds every change, only later.
        if (!exhausted) options.log(`watch: cannot add more inotify watches (${code}); relying on the periodic scan for the rest`);
        exhausted = true;
      }
      return null;
    }
  }

  const rootWatcher = open(
    options.root,
    (_event, name) => {
      if (name && isRunDate(name)) options.onDay(name);
    },
    () => options.log(`watch: lost the watch on ${options.root}; relying on the periodic scan`),
  );

  function isRealDirectory(path: string): boolean {
    try {
      return lstatSync(path).isDirectory(); // a link is never watched (that would follow it)
    } catch {
      return false;
    }
  }

  function watchRunDir(date: string, key: string): void {
    if (closed) return;
    const id = `${date}/${key}`;
    const existing = runDirs.get(id);
    if (existing) {
      runDirs.delete(id);
      existing.lastChangeMs = options.now();
      runDirs.set(id, existing);
      return;
    }
    const path = join(options.root, date, key);
    if (!isRealDirectory(path)) return;
    while (runDirs.size >= options.maxRunDirWatches) {
      const [oldestId, oldest] = runDirs.entries().next().value as [string, { watcher: FSWatcher }];
      oldest.watcher.close();
      runDirs.delete(oldestId);
    }
    const watcher = open(
      path,
      (_event, name) => {
        if (name !== null && !isJsonFileName(name)) return;
        const entry = runDirs.get(id);
        if (entry) {
          runDirs.delete(id);
          entry.lastChangeMs = options.now();
          runDirs.set(id, entry);
        }
        options.onRunDir(date, key);
      },
      () => runDirs.delete(id),
    );
    if (watcher) runDirs.set(id, { watcher, lastChangeMs: options.now() });
  }

  function watchDay(date: string): void {
    const path = join(options.root, date);
    if (days.has(date) || !isRealDirectory(path)) return;
    const watcher = open(
      path,
      (_event, name) => {
        if (name === null) return options.onDay(date);
        watchRunDir(date, name);
        options.onRunDir(date, name);
      },
      () => days.delete(date),
    );
    if (watcher) days.set(date, watcher);
  }

  return {
    setActiveDays(dates) {
      if (closed) return;
      const wanted = new Set(dates);
      for (const [date, watcher] of days) {
        if (wanted.has(date)) continue;
        watcher.close();
        days.delete(date);
      }
      for (const date of wanted) watchDay(date);
    },
    watchRunDir,
    releaseIdle() {
      const cutoff = options.now() - options.idleMs;
      for (const [id, entry] of runDirs) {
        if (entry.lastChangeMs >= cutoff) break; // recency order: the rest are newer
        entry.watcher.close();
        runDirs.delete(id);
      }
    },
    watchCount: () => ({ days: days.size, runDirs: runDirs.size }),
    close() {
      closed = true;
      rootWatcher?.close();
      for (const watcher of days.values()) watcher.close();
      for (const entry of runDirs.values()) entry.watcher.close();
      days.clear();
      runDirs.clear();
    },
  };
}
