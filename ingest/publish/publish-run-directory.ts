// The library call a script makes instead of (or besides) writing its run directory:
// the same files, checked by the same buildRunEvent as the watcher uses, then published.
import { buildRunEvent, type RawRunFile } from '../event/build-run-event.ts';
import type { RunEvent } from '../event/run-event.ts';
import { RunDirectoryError } from './errors.ts';
import type { Publisher, PublishReceipt } from './publisher.ts';

export interface RunDirectoryFiles {
  runDate: string;
  key: string;
  /** File name (e.g. `run.json`) → its contents; run.json is required. */
  files: Readonly<Record<string, string | Uint8Array>>;
  /** Who is publishing, kept on the event (default `publish`). */
  origin?: string;
}

export interface PublishedRun {
  event: RunEvent;
  receipt: PublishReceipt;
}

/** Throws RunDirectoryError (naming the file and field) instead of publishing an invalid run. */
export async function publishRunDirectory(
  publisher: Pick<Publisher, 'publishWithReceipt'>,
  input: RunDirectoryFiles,
  { now = Date.now }: { now?: () => number } = {},
): Promise<PublishedRun> {
  const event = buildPublishedEvent(input, now());
  return { event, receipt: await publisher.publishWithReceipt([event]) };
}

export function buildPublishedEvent(input: RunDirectoryFiles, nowMs: number): RunEvent {
  const identity = `${input.runDate}/${input.key}`;
  const files: RawRunFile[] = [];
  for (const [name, contents] of Object.entries(input.files)) {
    if (name === '' || name.includes('/') || name.includes('\\') || name === '.' || name === '..') {
      throw new RunDirectoryError(identity, { ok: false, kind: 'invalid', file: name, reason: 'file name must be a plain name, without a directory' });
    }
    files.push({ name, bytes: typeof contents === 'string' ? Buffer.from(contents, 'utf8') : contents });
  }
  const outcome = buildRunEvent({
    runDate: input.runDate,
    key: input.key,
    files,
    writtenAtMs: nowMs,
    publishedAtMs: nowMs,
    source: 'publish',
    origin: input.origin ?? 'publish',
  });
  if (!outcome.ok) throw new RunDirectoryError(identity, outcome);
  return outcome.event;
}
