// One run directory from files to the bytes Kafka will carry: read (reader.ts), build the
// event (build-run-event.ts), encode it (wire.ts). Pure and synchronous, so it runs the
// same on the main thread and on a read worker (read-pool.ts); what it returns is small
// and cheap to pass between threads: the encoded message and the few facts the ingestor
// needs, never the event object.
import { buildRunEvent } from '../event/build-run-event.ts';
import type { RunStatus } from '../event/run-event.ts';
import { encodeEvent, type WireMessage } from '../event/wire.ts';
import { readRunDir, type ReadLimits } from './reader.ts';

export interface ExamineJob {
  date: string;
  key: string;
  path: string;
  /** What the checkpoint holds: a directory still in exactly this state is not built again. */
  recorded: string | undefined;
  publishedAtMs: number;
}

export type Examined =
  | { kind: 'unchanged'; fingerprint: string }
  | { kind: 'event'; fingerprint: string; writtenAtMs: number; status: RunStatus; message: WireMessage }
  /** Not publishable (yet): `writtenAtMs` is null when the files could not even be read. */
  | { kind: 'problem'; problem: 'incomplete' | 'invalid' | 'foreign'; file: string; reason: string; fingerprint: string; writtenAtMs: number | null };

export function examineRunDir(job: ExamineJob, limits: ReadLimits): Examined {
  const read = readRunDir(job.path, limits);
  if (!read.ok) return { kind: 'problem', problem: read.kind, file: read.file, reason: read.reason, fingerprint: read.fingerprint, writtenAtMs: null };
  if (job.recorded === read.fingerprint) return { kind: 'unchanged', fingerprint: read.fingerprint };
  const built = buildRunEvent({ runDate: job.date, key: job.key, files: read.files, writtenAtMs: read.writtenAtMs, publishedAtMs: job.publishedAtMs, source: 'watch', origin: job.path });
  if (!built.ok) return { kind: 'problem', problem: built.kind, file: built.file, reason: built.reason, fingerprint: read.fingerprint, writtenAtMs: read.writtenAtMs };
  return { kind: 'event', fingerprint: read.fingerprint, writtenAtMs: read.writtenAtMs, status: built.event.status, message: encodeEvent(built.event) };
}
