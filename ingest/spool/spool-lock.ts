// One writer per spool directory: a `lock` file created exclusively (O_EXCL) holding the
// owner's pid. A lock whose pid no longer runs is stale (the owner was SIGKILLed) and is
// taken over; a live owner is waited for up to a deadline, then named in the error.
import { open, readFile, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { SpoolLockedError } from './errors.ts';

export interface SpoolLock {
  release(): Promise<void>;
}

/** A lock file still empty after this long was left by a process that died while creating it. */
const EMPTY_LOCK_GRACE_MS = 5_000;

export async function acquireSpoolLock(dir: string, waitMs: number): Promise<SpoolLock> {
  const path = join(dir, 'lock');
  const started = Date.now();
  for (;;) {
    try {
      const handle = await open(path, 'wx');
      try {
        await handle.writeFile(`${process.pid}\n`);
        await handle.sync();
      } finally {
        await handle.close();
      }
      return { release: () => releaseIfOurs(path) };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const holder = await readHolder(path);
    if (holder.stale) {
      // Known race: two processes finding the same stale lock may both remove it; the
      // window is one unlink+open and only follows a crash. Acceptable for a local spool.
      await unlink(path).catch(ignoreMissing);
      continue;
    }
    const waited = Date.now() - started;
    if (waited >= waitMs) throw new SpoolLockedError(dir, holder.pid, waited);
    await sleep(Math.min(50, waitMs - waited));
  }
}

async function readHolder(path: string): Promise<{ stale: boolean; pid: number | null }> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    ignoreMissing(error);
    return { stale: false, pid: null }; // released meanwhile: just try again
  }
  const pid = Number.parseInt(text.trim(), 10);
  if (!Number.isInteger(pid) || pid <= 0) {
    const age = await stat(path).then((s) => Date.now() - s.mtimeMs, () => 0);
    return { stale: age > EMPTY_LOCK_GRACE_MS, pid: null };
  }
  return { stale: !isAlive(pid), pid };
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0); // signal 0: only checks that the process exists
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'; // exists, owned by someone else
  }
}

async function releaseIfOurs(path: string): Promise<void> {
  const text = await readFile(path, 'utf8').catch((error: unknown) => {
    ignoreMissing(error);
    return '';
  });
  if (Number.parseInt(text.trim(), 10) === process.pid) await unlink(path).catch(ignoreMissing);
}

function ignoreMissing(error: unknown): void {
  if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
}
