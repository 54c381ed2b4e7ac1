// Live runs as column-oriented series (uPlot's shape: x first, typed arrays, seconds),
// merged by run identity and version so a run is counted once however often it arrives:
// from the query that loaded the view, again as a live delta (the sink inserts a batch
// before it commits its offsets, so a run can be in both), or again after a resume.
//
// A version is (attempt, written_at_ms), the order of runs.version in ClickHouse: a newer
// attempt wins, then the later write. A delta with a version at or below the known one is
// ignored; a newer one replaces the run's row in place (status counts move with it).
import type { LiveRun } from '../../api/live/run-summary.ts';

export type MergeOutcome = 'added' | 'replaced' | 'duplicate' | 'stale';

/** What a row needs: a query row (api) or a live summary both have these fields. */
export type SeriesRun = Pick<LiveRun, 'id' | 'job' | 'status' | 'attempt' | 'written_at_ms' | 'started_at_ms' | 'duration_ms'>;

export function compareVersions(a: Pick<SeriesRun, 'attempt' | 'written_at_ms'>, b: Pick<SeriesRun, 'attempt' | 'written_at_ms'>): number {
  return a.attempt - b.attempt || a.written_at_ms - b.written_at_ms;
}

export class RunSeries {
  /** Row → run identity; parallel to the columns. */
  readonly ids: string[] = [];
  readonly jobs: string[] = [];
  readonly statuses: string[] = [];
  readonly attempts: number[] = [];
  private writtenAt: number[] = [];
  private startedSeconds = new Float64Array(256);
  private durationSeconds = new Float64Array(256);
  private readonly rows = new Map<string, number>();
  readonly statusCounts: Record<string, number> = {};

  get length(): number {
    return this.ids.length;
  }

  /** Merges runs (a query page or a live frame); returns how each was taken. */
  merge(runs: readonly SeriesRun[]): Record<MergeOutcome, number> {
    const counts: Record<MergeOutcome, number> = { added: 0, replaced: 0, duplicate: 0, stale: 0 };
    for (const run of runs) counts[this.upsert(run)]++;
    return counts;
  }

  upsert(run: SeriesRun): MergeOutcome {
    const row = this.rows.get(run.id);
    if (row === undefined) {
      const index = this.ids.length;
      this.grow(index + 1);
      this.rows.set(run.id, index);
      this.ids.push(run.id);
      this.jobs.push(run.job);
      this.statuses.push(run.status);
      this.attempts.push(run.attempt);
      this.writtenAt.push(run.written_at_ms);
      this.write(index, run);
      this.count(run.status, 1);
      return 'added';
    }
    const order = compareVersions(run, { attempt: this.attempts[row]!, written_at_ms: this.writtenAt[row]! });
    if (order === 0) return 'duplicate';
    if (order < 0) return 'stale';
    this.count(this.statuses[row]!, -1);
    this.count(run.status, 1);
    this.jobs[row] = run.job;
    this.statuses[row] = run.status;
    this.attempts[row] = run.attempt;
    this.writtenAt[row] = run.written_at_ms;
    this.write(row, run);
    return 'replaced';
  }

  /** [x: started at (s), duration (s, NaN while running)]: views, valid until the next merge. */
  columns(): [Float64Array, Float64Array] {
    return [this.startedSeconds.subarray(0, this.length), this.durationSeconds.subarray(0, this.length)];
  }

  private write(index: number, run: SeriesRun): void {
    this.startedSeconds[index] = run.started_at_ms / 1000;
    this.durationSeconds[index] = run.duration_ms === null ? Number.NaN : run.duration_ms / 1000;
  }

  private count(status: string, by: number): void {
    this.statusCounts[status] = (this.statusCounts[status] ?? 0) + by;
  }

  private grow(size: number): void {
    if (size <= this.startedSeconds.length) return;
    const capacity = Math.max(size, this.startedSeconds.length * 2);
    const started = new Float64Array(capacity);
    started.set(this.startedSeconds);
    const duration = new Float64Array(capacity);
    duration.set(this.durationSeconds);
    this.startedSeconds = started;
    this.durationSeconds = duration;
  }
}
