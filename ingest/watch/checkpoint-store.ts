// What the watcher has published (or reported), per run directory, by file state: so a
// restart neither re-publishes the tree nor misses what changed while it was down.
//
// Layout, for 500k runs a day kept for months:
//   <checkpointDir>/<sha256(root)[0..16]>/root.txt        the watched root, for humans
//   <checkpointDir>/<sha256(root)[0..16]>/YYYY-MM-DD.log  one line per recorded state
// One file per day folder, so a restart loads only the days it looks at and memory holds
// only the days being worked on. Each file is an append-only log (`key<TAB>state`, last
// line wins): recording a state costs an append, not a rewrite of a 30 MB day. Appends are
// fsynced in coalesced batches right after the publishes they record were acknowledged; a
// crash can tear only the tail, and a torn or zero-filled line is rejected on load (the
// run is then published once more, which the sink's ReplacingMergeTree absorbs). When a
// log holds more than twice its live entries it is compacted: temp file, fsync, rename,
// fsync of the directory, so a crash leaves either the old or the new file, never half.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { open, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';

export interface CheckpointStore {
  /** The state recorded for a run directory; loads that day's log on first use. */
  get(date: string, key: string): string | undefined;
  /** Records a state: visible to get() at once, on disk after the next flush. */
  record(date: string, key: string, state: string): void;
  /** Writes everything recorded so far and waits until it is fsynced. */
  flush(): Promise<void>;
  /** Forgets the in-memory maps of days outside `keep` (their logs stay on disk). */
  retainOnly(keep: ReadonlySet<string>): void;
  /** Days currently held in memory (for tests and the memory budget). */
  loadedDays(): string[];
  readonly directory: string;
}

export interface CheckpointStoreOptions {
  checkpointDir: string;
  root: string;
  /** How long a recorded state may wait before its batch is written (coalesces fsyncs). */
  flushDelayMs?: number;
  log?: (line: string) => void;
}

const STATE = /^[A-Za-z0-9!.:_-]{1,120}$/;

/** Names what belongs to one watched root (its checkpoint folder, its spool). */
export function rootHash(root: string): string {
  return createHash('sha256').update(root).digest('hex').slice(0, 16);
}

export function checkpointDirectoryFor(checkpointDir: string, root: string): string {
  return join(checkpointDir, rootHash(root));
}

export function openCheckpointStore(options: CheckpointStoreOptions): CheckpointStore {
  const directory = checkpointDirectoryFor(options.checkpointDir, options.root);
  mkdirSync(directory, { recursive: true });
  const rootFile = join(directory, 'root.txt');
  if (!existsSync(rootFile)) writeFileSync(rootFile, `${options.root}\n`);
  const flushDelayMs = options.flushDelayMs ?? 0;
  const log = options.log ?? (() => {});

  const days = new Map<string, Map<string, string>>();
  /** Lines in each day's log on disk, to decide when to compact. */
  const linesOnDisk = new Map<string, number>();
  let pending = new Map<string, string[]>();
  let timer: NodeJS.Timeout | null = null;
  let flushing: Promise<void> | null = null;

  function load(date: string): Map<string, string> {
    let day = days.get(date);
    if (day) return day;
    day = new Map();
    let lines = 0;
    let text = '';
    try {
      text = readFileSync(join(directory, `${date}.log`), 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    // Only newline-terminated lines count: an unterminated tail is a torn append.
    let start = 0;
    for (let end = text.indexOf('\n'); end !== -1; start = end + 1, end = text.indexOf('\n', start)) {
      const line = text.slice(start, end);
      const tab = line.indexOf('\t');
      if (tab <= 0) continue;
      const state = line.slice(tab + 1);
      if (!STATE.test(state)) continue;
      const key = decodeKey(line.slice(0, tab));
      if (key === null) continue;
      day.set(key, state);
      lines++;
    }
    for (const line of pending.get(date) ?? []) {
      const tab = line.indexOf('\t');
      day.set(decodeKey(line.slice(0, tab)) ?? '', line.slice(tab + 1, -1));
    }
    linesOnDisk.set(date, lines);
    days.set(date, day);
    return day;
  }

  function schedule(): void {
    if (timer || flushing) return;
    timer = setTimeout(() => {
      timer = null;
      void runFlush();
    }, flushDelayMs);
  }

  function runFlush(): Promise<void> {
    if (flushing) return flushing;
    flushing = (async () => {
      try {
        while (pending.size > 0) {
          const batch = pending;
          pending = new Map();
          for (const [date, lines] of batch) {
            try {
              await appendDay(date, lines);
            } catch (error) {
              // Kept and retried: losing it only means publishing these runs once more.
              log(`checkpoint: cannot write ${date}.log (${(error as Error).message}); retrying`);
              const later = pending.get(date) ?? [];
              pending.set(date, [...lines, ...later]);
              await new Promise((resolve) => setTimeout(resolve, 1000));
            }
          }
        }
      } finally {
        flushing = null;
      }
    })();
    return flushing;
  }

  async function appendDay(date: string, lines: string[]): Promise<void> {
    const path = join(directory, `${date}.log`);
    const created = !linesOnDisk.has(date) && !existsSync(path);
    const handle = await open(path, 'a');
    try {
      await handle.write(lines.join(''));
      await handle.datasync();
    } finally {
      await handle.close();
    }
    if (created) await fsyncDirectory(directory);
    const total = (linesOnDisk.get(date) ?? 0) + lines.length;
    linesOnDisk.set(date, total);
    const day = days.get(date);
    if (day && total > 2 * day.size + 10_000) await compact(date, day);
  }

  async function compact(date: string, day: Map<string, string>): Promise<void> {
    const path = join(directory, `${date}.log`);
    const temp = `${path}.tmp-${process.pid}`;
    const parts: string[] = [];
    for (const [key, state] of day) parts.push(`${encodeKey(key)}\t${state}\n`);
    const handle = await open(temp, 'w');
    try {
      await handle.write(parts.join(''));
      await handle.sync();
    } catch (error) {
      await handle.close();
      await unlink(temp).catch(() => {});
      throw error;
    }
    await handle.close();
    await rename(temp, path);
    await fsyncDirectory(directory);
    linesOnDisk.set(date, day.size);
  }

  return {
    directory,
    get: (date, key) => load(date).get(key),
    record(date, key, state) {
      load(date).set(key, state);
      let lines = pending.get(date);
      if (!lines) pending.set(date, (lines = []));
      lines.push(`${encodeKey(key)}\t${state}\n`);
      schedule();
    },
    async flush() {
      if (timer) {
        clearTimeout(timer);
        timer = null;
      }
      while (flushing || pending.size > 0) await runFlush();
    },
    retainOnly(keep) {
      for (const date of days.keys()) if (!keep.has(date) && !pending.has(date)) days.delete(date);
    },
    loadedDays: () => [...days.keys()],
  };
}

// Keys are [A-Za-z0-9._:-] when valid, but invalid names are recorded too (so they are
// reported once) and may hold tabs or newlines: percent-encoding keeps one line per entry.
function encodeKey(key: string): string {
  return /^[A-Za-z0-9._:-]+$/.test(key) ? key : encodeURIComponent(key);
}

function decodeKey(text: string): string | null {
  if (!text.includes('%')) return text;
  try {
    return decodeURIComponent(text);
  } catch {
    return null;
  }
}

async function fsyncDirectory(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
