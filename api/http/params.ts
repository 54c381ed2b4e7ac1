// Zod pieces shared by the endpoints' parameters. Query-string values arrive as strings;
// each piece validates the text and turns it into the typed value the queries use.
import { z } from 'zod';
import { runStatusSchema } from '../../ingest/event/run-event.ts';

const MAX_EPOCH_MS = 4_102_444_800_000; // 2100-01-01, what DateTime holds comfortably
const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;
const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;

/** A point in time: Unix seconds, `YYYY-MM-DD` (UTC midnight) or ISO 8601 with a zone. Parsed to epoch ms. */
export const instantParam = z
  .string()
  .max(40, 'is too long for a time')
  .transform((text, ctx) => {
    let ms = Number.NaN;
    if (/^\d{1,11}$/.test(text)) ms = Number(text) * 1000;
    else if (ISO_DATE.test(text)) ms = Date.parse(`${text}T00:00:00Z`);
    else if (ISO_DATE_TIME.test(text)) ms = Date.parse(text);
    if (!Number.isFinite(ms) || ms < 0 || ms > MAX_EPOCH_MS) {
      ctx.addIssue({ code: 'custom', message: 'must be Unix seconds, YYYY-MM-DD or an ISO 8601 time with a zone (e.g. 2026-11-21T10:00:00Z), between 1970 and 2100' });
      return z.NEVER;
    }
    return ms;
  })
  .meta({ description: 'Unix seconds, YYYY-MM-DD (UTC) or ISO 8601 with a zone.' });

export const rangeParams = {
  from: instantParam.optional().meta({ description: 'Start (inclusive), on started_at. Default: `to` minus 24 hours.' }),
  to: instantParam.optional().meta({ description: 'End (exclusive), on started_at. Default: now.' }),
};

/** Bounded free text: any characters (it only ever reaches SQL as an escaped literal). */
const text = (max: number, description: string) => z.string().min(1, 'must not be empty').max(max, `must be at most ${max} characters`).meta({ description });

export const LABEL_PARAM_MAX = 10;

export const labelParam = z
  .string()
  .max(2300, 'is too long')
  .transform((value, ctx) => {
    const colon = value.indexOf(':');
    if (colon < 1) {
      ctx.addIssue({ code: 'custom', message: 'must be key:value' });
      return z.NEVER;
    }
    return { key: value.slice(0, colon), value: value.slice(colon + 1) };
  });

export const filterParams = {
  job: text(500, 'Only runs of this job.').optional(),
  host: text(500, 'Only runs on this host.').optional(),
  status: runStatusSchema.optional().meta({ description: 'Only runs with this status.' }),
  label: z
    .array(labelParam)
    .max(LABEL_PARAM_MAX, `may be given at most ${LABEL_PARAM_MAX} times`)
    .optional()
    .meta({ description: 'key:value, repeatable; a run must carry every label given.' }),
};

export function intParam(min: number, max: number, fallback: number, description: string) {
  return z
    .string()
    .regex(/^\d{1,9}$/, 'must be a whole number')
    .transform(Number)
    .pipe(z.number().min(min, `must be at least ${min}`).max(max, `must be at most ${max}`))
    .optional()
    .transform((value) => value ?? fallback)
    .meta({ description: `${description} ${min}–${max}, default ${fallback}.` });
}

/** Parameters that may be repeated in a query string; every other one must appear once. */
export const REPEATABLE_PARAMS: ReadonlySet<string> = new Set(['label']);

export type Filters = { job?: string | undefined; host?: string | undefined; status?: z.infer<typeof runStatusSchema> | undefined; label?: Array<{ key: string; value: string }> | undefined };

export interface TimeRange { fromMs: number; toMs: number }

export const DAY_MS = 86_400_000;
export const MAX_RANGE_MS = 400 * DAY_MS;
