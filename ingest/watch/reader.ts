// Reads one run directory's `*.json` files, each exactly once, into RawRunFile[] for
// buildRunEvent. Every file is opened without following links and measured (fstat) before
// a byte is read, so a 50 MB file costs a stat, not 50 MB of memory. The fingerprint is
// taken from the same file descriptors that were read, so the checkpoint records exactly
// the state whose content was published.
import { closeSync, constants, fstatSync, lstatSync, openSync, readSync, readdirSync, type Dirent, type Stats } from 'node:fs';
import { join } from 'node:path';
import type { RawRunFile } from '../event/build-run-event.ts';
import { fingerprintOf, type FileState } from './scanner.ts';
import { isJsonFileName, isVanished } from './run-tree.ts';

export interface ReadLimits {
  /** A file above this size is reported invalid ("file too large") and never read. */
  maxFileBytes: number;
}

export const defaultReadLimits: ReadLimits = Object.freeze({ maxFileBytes: 16 * 1024 * 1024 });

export type ReadOutcome =
  | { ok: true; files: RawRunFile[]; fingerprint: string; writtenAtMs: number }
  /** `foreign`: a symbolic link, never followed. `incomplete`: read again soon. */
  | { ok: false; kind: 'incomplete' | 'invalid' | 'foreign'; file: string; reason: string; fingerprint: string };

export function readRunDir(path: string, limits: ReadLimits = defaultReadLimits): ReadOutcome {
  let entries: Dirent[];
  try {
    const self = lstatSync(path);
    if (self.isSymbolicLink()) return { ok: false, kind: 'foreign', file: '', reason: 'the run directory is a symbolic link; links are not followed', fingerprint: 'link' };
    entries = readdirSync(path, { withFileTypes: true });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    return { ok: false, kind: 'incomplete', file: '', reason: `cannot list the run directory (${code})`, fingerprint: `unlisted:${code}` };
  }
  const files: RawRunFile[] = [];
  const states: FileState[] = [];
  let tooLarge: { file: string; size: number } | null = null;
  let unsteady: string | null = null;
  for (const entry of entries.filter((e) => e.isFile() && isJsonFileName(e.name)).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const read = readOneFile(join(path, entry.name), limits.maxFileBytes);
    if (read.kind === 'gone') continue;
    if (read.kind === 'error') {
      return { ok: false, kind: 'incomplete', file: entry.name, reason: read.reason, fingerprint: `unreadable:${entry.name}` };
    }
    states.push(read.state);
    if (read.kind === 'too-large') tooLarge ??= { file: entry.name, size: read.state.size };
    else if (read.kind === 'unsteady') unsteady ??= entry.name;
    else if (read.kind === 'ok') files.push({ name: entry.name, bytes: read.bytes });
  }
  const fingerprint = fingerprintOf(states);
  if (tooLarge) {
    return {
      ok: false,
      kind: 'invalid',
      file: tooLarge.file,
      reason: `file too large: ${tooLarge.size} bytes, the limit is ${limits.maxFileBytes}`,
      fingerprint,
    };
  }
  if (unsteady) return { ok: false, kind: 'incomplete', file: unsteady, reason: 'the file changed while it was being read', fingerprint };
  const writtenAtMs = states.reduce((newest, state) => Math.max(newest, state.mtimeMs), 0);
  return { ok: true, files, fingerprint, writtenAtMs };
}

type FileRead =
  | { kind: 'ok'; bytes: Uint8Array; state: FileState }
  | { kind: 'too-large' | 'unsteady'; state: FileState }
  | { kind: 'gone' }
  | { kind: 'error'; reason: string };

function readOneFile(path: string, maxBytes: number): FileRead {
  let fd: number;
  try {
    // O_NOFOLLOW: a file swapped for a link after listing fails here (ELOOP) instead of
    // being read from wherever it points.
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    if (isVanished(error) || (error as NodeJS.ErrnoException).code === 'ELOOP') return { kind: 'gone' };
    return { kind: 'error', reason: `cannot open: ${(error as NodeJS.ErrnoException).code ?? String(error)}` };
  }
  try {
    const before = fstatSync(fd);
    if (!before.isFile()) return { kind: 'gone' };
    const state = stateOf(before);
    if (before.size > maxBytes) return { kind: 'too-large', state };
    const bytes = Buffer.allocUnsafe(before.size);
    let offset = 0;
    while (offset < bytes.length) {
      const n = readSync(fd, bytes, offset, bytes.length - offset, offset);
      if (n === 0) break; // truncated under us: caught by the second fstat
      offset += n;
    }
    const after = fstatSync(fd);
    if (offset !== before.size || after.size !== before.size || after.mtimeMs !== before.mtimeMs) return { kind: 'unsteady', state: stateOf(after) };
    return { kind: 'ok', bytes, state };
  } catch (error) {
    return { kind: 'error', reason: `cannot read: ${(error as NodeJS.ErrnoException).code ?? String(error)}` };
  } finally {
    closeSync(fd);
  }
}

function stateOf(stat: Stats): FileState {
  return { size: stat.size, mtimeMs: stat.mtimeMs };
}
