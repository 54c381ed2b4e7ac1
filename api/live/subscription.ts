// A client's subscription, from the query string of GET /api/v1/live. Repeated values of
// one filter are alternatives (job=a&job=b: either job); different filters must all hold
// (label=team:x&label=env:prod: both labels). Unknown parameters are refused, so a typo is
// a 400 rather than an unfiltered firehose.
import { z } from 'zod';
import { runStatusSchema } from '../../ingest/event/run-event.ts';
import { labelParam } from '../http/params.ts';
import { positionSchema, type Position } from './position.ts';
import type { LiveRun } from './run-summary.ts';

const MAX_VALUES = 50;

const many = <T extends z.ZodType>(item: T) => z.array(item).max(MAX_VALUES, `may be given at most ${MAX_VALUES} times`).optional();

// The same `key:value` label filter as the query API's, so a dashboard filter means the
// same thing in a query and in the live stream.
const labelSchema = labelParam;

export const liveQuerySchema = z.object({
  job: many(z.string().min(1, 'must not be empty').max(500, 'must be at most 500 characters')),
  host: many(z.string().min(1, 'must not be empty').max(500, 'must be at most 500 characters')),
  status: many(runStatusSchema),
  key_prefix: z.string().min(1, 'must not be empty').max(200, 'must be at most 200 characters').optional(),
  label: many(labelSchema),
  /** Where to resume; the Last-Event-ID header wins over it (see live-routes.ts). */
  from: positionSchema.optional(),
});

const REPEATABLE = new Set(['job', 'host', 'status', 'label']);

export interface Subscription {
  jobs: ReadonlySet<string> | null;
  hosts: ReadonlySet<string> | null;
  statuses: ReadonlySet<string> | null;
  keyPrefix: string | null;
  labels: ReadonlyArray<{ key: string; value: string }>;
  /** Equal keys mean equal filters: the hub serialises one frame per key and tick. */
  key: string;
}

export type ParseOutcome =
  | { ok: true; subscription: Subscription; from: Position | null }
  | { ok: false; parameter: string; message: string };

/** Validates a query string given as name → values (hono's `c.req.queries()`). */
export function parseLiveQuery(queries: Record<string, string[]>): ParseOutcome {
  const input: Record<string, string | string[]> = {};
  for (const [name, values] of Object.entries(queries)) {
    if (!(name in liveQuerySchema.shape)) {
      return { ok: false, parameter: name.slice(0, 100), message: `unknown parameter (known: ${Object.keys(liveQuerySchema.shape).join(', ')})` };
    }
    // Repeated, never comma-split: a job name may contain a comma.
    if (REPEATABLE.has(name)) input[name] = values;
    else if (values.length > 1) return { ok: false, parameter: name, message: 'given more than once' };
    else input[name] = values[0] ?? '';
  }
  const parsed = liveQuerySchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { ok: false, parameter: String(issue?.path[0] ?? 'query'), message: issue?.message ?? 'invalid' };
  }
  const q = parsed.data;
  const set = (values: readonly string[] | undefined) => (values && values.length > 0 ? new Set(values) : null);
  const subscription: Omit<Subscription, 'key'> = {
    jobs: set(q.job),
    hosts: set(q.host),
    statuses: set(q.status),
    keyPrefix: q.key_prefix ?? null,
    labels: q.label ?? [],
  };
  const key = JSON.stringify([
    [...(subscription.jobs ?? [])].sort(),
    [...(subscription.hosts ?? [])].sort(),
    [...(subscription.statuses ?? [])].sort(),
    subscription.keyPrefix,
    subscription.labels.map(({ key: k, value }) => `${k}:${value}`).sort(),
  ]);
  return { ok: true, subscription: { ...subscription, key }, from: q.from ?? null };
}

export const EVERYTHING: Subscription = parseEverything();

function parseEverything(): Subscription {
  const outcome = parseLiveQuery({});
  if (!outcome.ok) throw new Error('unreachable');
  return outcome.subscription;
}

export function matches(subscription: Subscription, run: LiveRun): boolean {
  if (subscription.jobs && !subscription.jobs.has(run.job)) return false;
  if (subscription.hosts && !subscription.hosts.has(run.host)) return false;
  if (subscription.statuses && !subscription.statuses.has(run.status)) return false;
  if (subscription.keyPrefix !== null && !run.key.startsWith(subscription.keyPrefix)) return false;
  for (const label of subscription.labels) if (run.labels[label.key] !== label.value) return false;
  return true;
}
