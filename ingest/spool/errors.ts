// What can go wrong with the local spool, as classes that say what the caller should do.

/** The spool's disk is full: nothing of this append was accepted; retry once space is freed. */
export class SpoolFullError extends Error {
  override readonly name = 'SpoolFullError';
  readonly retriable = true;
  constructor(readonly dir: string, options?: { cause?: unknown }) {
    super(`spool ${dir} is out of disk space: the events were not accepted (free space, then retry)`, options);
  }
}

/** Another live process writes this spool: one writer per directory. */
export class SpoolLockedError extends Error {
  override readonly name = 'SpoolLockedError';
  readonly retriable = true;
  constructor(readonly dir: string, readonly holderPid: number | null, waitedMs: number) {
    const holder = holderPid === null ? 'another process' : `process ${holderPid}`;
    super(`spool ${dir} is locked by ${holder} (waited ${waitedMs} ms); give each long-running process its own spool directory`);
  }
}

/** The spool's files are not what this code wrote (a damaged position file, a foreign file). */
export class SpoolCorruptError extends Error {
  override readonly name = 'SpoolCorruptError';
  readonly retriable = false;
}
