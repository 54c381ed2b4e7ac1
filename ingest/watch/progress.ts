// Progress of a long scan on stderr, at most once a second: `\r`-rewritten on a terminal,
// plain lines every few seconds otherwise (a log file should not get one line per second).
export interface ProgressSnapshot {
  done: number;
  /** Estimated while not every day folder has been listed yet. */
  total: number;
  totalIsEstimate: boolean;
  published: number;
  errors: number;
}

export interface ProgressReporter {
  update(snapshot: ProgressSnapshot): void;
  /** Ends a `\r` line so the next output starts clean. */
  finish(): void;
}

export function createProgressReporter(options: {
  write: (text: string) => void;
  isTTY: boolean;
  now: () => number;
  intervalMs?: number;
}): ProgressReporter {
  const intervalMs = options.intervalMs ?? (options.isTTY ? 1000 : 5000);
  const startedAt = options.now();
  let lastAt = startedAt;
  let wroteLine = false;
  return {
    update(snapshot) {
      const now = options.now();
      if (now - lastAt < intervalMs) return;
      lastAt = now;
      const rate = Math.round(snapshot.done / Math.max(0.001, (now - startedAt) / 1000));
      const total = `${snapshot.totalIsEstimate ? '~' : ''}${snapshot.total}`;
      const text = `watch: scanned ${snapshot.done}/${total} runs, ${rate} runs/s, published ${snapshot.published}, errors ${snapshot.errors}`;
      if (options.isTTY) {
        options.write(`\r${text}\u001b[K`);
        wroteLine = true;
      } else {
        options.write(`${text}\n`);
      }
    },
    finish() {
      if (wroteLine) options.write('\n');
      wroteLine = false;
    },
  };
}
