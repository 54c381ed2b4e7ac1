// run.json, the header every run writes at start and rewrites at the end
// (../shared/legacy-layout.md). Validated strictly: anything else is a reason to re-read
// the file later, never a guess.
import { z } from 'zod';
import { runKeySchema, runStatusSchema } from './run-event.ts';

/** ISO-8601 with seconds, an optional fraction and a zone: `Z` or an offset. */
const ISO_TIMESTAMP = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:?\d{2})$/;

/** Epoch milliseconds of an ISO-8601 timestamp, or null when it is not one. */
export function parseIsoTimestamp(text: string): number | null {
  const match = ISO_TIMESTAMP.exec(text);
  if (!match) return null;
  const [, date, time, fraction = '', zone = 'Z'] = match;
  // Date.parse accepts only 3 fraction digits portably; finer precision is dropped.
  const millis = fraction.padEnd(3, '0').slice(0, 3);
  const normalizedZone = zone === 'Z' ? zone : `${zone.slice(0, 3)}:${zone.slice(-2)}`;
  const ms = Date.parse(`${date}T${time}.${millis}${normalizedZone}`);
  if (Number.isNaN(ms)) return null;
  // Date.parse rolls 2026-02-30 over to March; a timestamp that does not round-trip is invalid.
  const [year, month, day] = (date ?? '').split('-').map(Number);
  const probe = new Date(Date.UTC(year ?? 0, (month ?? 1) - 1, day ?? 0));
  if (probe.getUTCDate() !== day || probe.getUTCMonth() !== (month ?? 0) - 1) return null;
  return ms;
}

const isoTimestampSchema = z
  .string()
  .refine((text) => parseIsoTimestamp(text) !== null, 'must be an ISO-8601 timestamp with a zone, e.g. 2026-11-21T09:15:00.500Z');

export const runHeaderSchema = z.object({
  key: runKeySchema,
  job: z.string().min(1, 'must not be empty').max(500),
  host: z.string().max(500),
  attempt: z.number().int('must be a whole number').min(1, 'must be at least 1').max(1_000_000),
  status: runStatusSchema,
  started_at: isoTimestampSchema,
  finished_at: isoTimestampSchema.nullable(),
  exit_code: z.number().int('must be a whole number').min(-2_147_483_648).max(2_147_483_647).nullable(),
  labels: z.record(z.string().max(200), z.string().max(2000)).optional(),
});
export type RunHeader = z.infer<typeof runHeaderSchema>;
