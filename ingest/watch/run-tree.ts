// The shape of the run tree (../shared/legacy-layout.md) as the watcher sees it: dated
// partition folders under the root, run directories under those, `*.json` files in each.
// Symbolic links are never followed: a day folder that is a link is ignored, a run
// directory that is a link is reported (see scanner.ts), a file that is a link is skipped.
import { readdirSync, lstatSync } from 'node:fs';
import { join } from 'node:path';
import { runDateSchema } from '../event/run-event.ts';

const DATE_SHAPE = /^\d{4}-\d{2}-\d{2}$/;

/** `YYYY-MM-DD` and a real calendar date: anything else under the root is not a partition. */
export function isRunDate(name: string): boolean {
  return DATE_SHAPE.test(name) && runDateSchema.safeParse(name).success;
}

export function isJsonFileName(name: string): boolean {
  return name.endsWith('.json') && name.length > '.json'.length;
}

export interface DayFolder {
  date: string;
  /** Changes when a run directory is added or removed, not when a file inside one is rewritten. */
  mtimeMs: number;
}

/** The partition folders under the root, newest date first. A vanished root is an empty tree. */
export function listDayFolders(root: string): DayFolder[] {
  const days: DayFolder[] = [];
  for (const entry of readdirSync(root, { withFileTypes: true })) {
    if (!entry.isDirectory() || !isRunDate(entry.name)) continue; // Dirent does not follow links
    try {
      days.push({ date: entry.name, mtimeMs: lstatSync(join(root, entry.name)).mtimeMs });
    } catch (error) {
      if (!isVanished(error)) throw error;
    }
  }
  return days.sort((a, b) => (a.date < b.date ? 1 : a.date > b.date ? -1 : 0));
}

/** The UTC date of an instant, as a partition name. */
export function utcDate(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** Today and yesterday (UTC): the partitions the scripts are writing into right now. */
export function currentDates(nowMs: number): string[] {
  return [utcDate(nowMs), utcDate(nowMs - 86_400_000)];
}

/** A file or directory that disappeared between listing and reading: not an error, just gone. */
export function isVanished(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}
