// The files a script writes for one run: run.json (header) and, once it finished,
// result.json with numeric leaves (nested `timings_ms.*`) and an `error` object on failure,
// sometimes one more file. Rendered as the scripts do: pretty JSON, keys in fixed order.
import type { RunStatus } from '../event/run-event.ts';
import { OFFSETS, REGIONS, SOURCES, TIERS, type Job } from './catalog.ts';
import type { Random } from './random.ts';

export interface RunPlan {
  date: string;
  key: string;
  job: Job;
  host: string;
  attempt: number;
  startedAtMs: number;
  durationMs: number;
  /** The status it ends with. */
  finalStatus: Exclude<RunStatus, 'running'>;
  labels: Record<string, string>;
  /** Written as `+01:00` etc. instead of Z (same instant). */
  offset: string | null;
  /** Seeds the result's numbers, so a rerun's content differs. */
  resultSeed: number;
  extraFile: boolean;
}

export function planRun(random: Random, input: { date: string; key: string; job: Job; host: string; attempt: number; startedAtMs: number }): RunPlan {
  const failure = input.job.failureWeight;
  const finalStatus = random.weighted({ succeeded: 100, failed: 3 * failure, timeout: failure, cancelled: 1 });
  const labels: Record<string, string> = { region: random.pick(REGIONS), tier: random.pick(TIERS) };
  if (random.chance(0.3)) labels['source'] = random.pick(SOURCES);
  return {
    ...input,
    durationMs: Math.max(5, Math.round(input.job.typicalMs * (0.3 + random.next() * 1.7))),
    finalStatus,
    labels,
    offset: random.chance(0.1) ? random.pick(OFFSETS) : null,
    resultSeed: random.int(1, 2 ** 31),
    extraFile: random.chance(0.05),
  };
}

export function runJson(plan: RunPlan, status: RunStatus): string {
  const finished = status !== 'running';
  const header = {
    key: plan.key,
    job: plan.job.name,
    host: plan.host,
    attempt: plan.attempt,
    status,
    started_at: isoWithOffset(plan.startedAtMs, plan.offset),
    finished_at: finished ? new Date(plan.startedAtMs + plan.durationMs).toISOString() : null,
    exit_code: finished ? exitCodeOf(status) : null,
    labels: plan.labels,
  };
  return `${JSON.stringify(header, null, 2)}\n`;
}

export function resultJson(plan: RunPlan, random: Random): string {
  const recordsIn = random.int(0, 50_000);
  const failed = plan.finalStatus !== 'succeeded';
  const result = {
    records_in: recordsIn,
    records_out: failed ? random.int(0, recordsIn) : recordsIn - random.int(0, Math.min(5, recordsIn)),
    bytes_written: failed ? 0 : random.int(1000, 5_000_000),
    timings_ms: {
      fetch: round1(plan.durationMs * (0.2 + random.next() * 0.5)),
      transform: round1(plan.durationMs * random.next() * 0.2),
      write: round1(plan.durationMs * random.next() * 0.3),
    },
    batches: Array.from({ length: random.int(0, 3) }, (_, i) => ({ index: i, rows: random.int(0, 10_000) })),
    warnings: random.chance(0.1) ? [`${random.int(1, 9)} records without currency, skipped`] : [],
    error: plan.finalStatus === 'failed'
      ? { type: random.pick(['UpstreamError', 'ValidationError', 'KeyError', 'ConnectionReset']), message: `${plan.job.name} failed at batch ${random.int(1, 40)}` }
      : plan.finalStatus === 'timeout'
        ? { type: 'Timeout', message: `did not finish within ${Math.round(plan.durationMs / 1000)} s` }
        : null,
  };
  return `${JSON.stringify(result, null, 2)}\n`;
}

export function extraJson(random: Random): string {
  return `${JSON.stringify({ top_accounts: [{ id: `acct-${String(random.int(1, 999_999)).padStart(6, '0')}`, revenue: round1(random.next() * 20_000) }], currency: 'EUR' })}\n`;
}

function exitCodeOf(status: RunStatus): number {
  return status === 'succeeded' ? 0 : status === 'timeout' ? 124 : status === 'cancelled' ? 130 : 3;
}

/** `2026-11-21T10:41:07.000+01:00`: the same instant, written in another zone. */
export function isoWithOffset(ms: number, offset: string | null): string {
  if (offset === null) return new Date(ms).toISOString();
  const sign = offset.startsWith('-') ? -1 : 1;
  const minutes = sign * (Number(offset.slice(1, 3)) * 60 + Number(offset.slice(4, 6)));
  return `${new Date(ms + minutes * 60_000).toISOString().slice(0, 23)}${offset}`;
}

function round1(value: number): number {
  return Math.round(value * 10) / 10;
}
