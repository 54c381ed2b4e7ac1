// One `stack up`/`down` at a time per state dir. Several engineers' `npm test` runs
// (each a vitest global setup) and the CLI can start together; without this two of
// them could both see "not running" and race to spawn the same server.
// The lock file holds the owner's PID, so a lock left by a killed process is taken over.
import { mkdirSync, openSync, closeSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { StackError } from './errors.ts';
import { isAlive } from './process-control.ts';

export async function withStackLock<T>(stateDir: string, timeoutMs: number, fn: () => Promise<T>): Promise<T> {
  mkdirSync(stateDir, { recursive: true });
  const file = join(stateDir, 'stack.lock');
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const fd = openSync(file, 'wx'); // fails if it exists: the atomic part
      writeSync(fd, String(process.pid));
      closeSync(fd);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const owner = Number.parseInt(safeRead(file), 10);
      if (!Number.isInteger(owner) || !isAlive(owner)) {
        rmSync(file, { force: true }); // stale; next loop competes for it atomically
        continue;
      }
      if (Date.now() > deadline) {
        throw new StackError('stack', `another stack command (pid ${owner}) has held ${file} for ${timeoutMs} ms`);
      }
      await sleep(200);
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(file, { force: true });
  }
}

function safeRead(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}
