// Publish failures the caller must act on; none of them leaves anything half-accepted.
import type { BuildOutcome } from '../event/build-run-event.ts';

/** One event would never fit in a Kafka message: retrying cannot help, the event must shrink. */
export class EventTooLargeError extends Error {
  override readonly name = 'EventTooLargeError';
  readonly retriable = false;
  constructor(readonly identity: string, readonly bytes: number, readonly limit: number) {
    super(`event ${identity} is ${bytes} bytes after compression, over the ${limit}-byte Kafka message limit; nothing was published`);
  }
}

/** The files given to publishRunDirectory do not make a valid run: names the file and field. */
export class RunDirectoryError extends Error {
  override readonly name = 'RunDirectoryError';
  readonly retriable = false;
  readonly kind: 'incomplete' | 'invalid';
  readonly file: string;
  readonly reason: string;
  constructor(identity: string, outcome: Extract<BuildOutcome, { ok: false }>) {
    super(`cannot publish ${identity}: ${outcome.file ? `${outcome.file}: ` : ''}${outcome.reason}`);
    this.kind = outcome.kind;
    this.file = outcome.file;
    this.reason = outcome.reason;
  }
}
