// /api/v1/alerts/…: a Hono sub-app over an Alerting instance. Any instance answers: states,
// history and deliveries are read from ClickHouse, so followers agree with the leader.
//
//   GET    /                      viewer   current alerts (pending, firing, error, recently resolved)
//   GET    /history               viewer   transitions, newest first (?rule=&from=&to=&limit=)
//   GET    /rules                 viewer   loaded rules (files and API), rule file problems
//   PUT    /rules/:name           admin    create or replace an API rule (JSON body)
//   DELETE /rules/:name           admin    delete an API rule
//   GET    /silences              viewer   active silences (files and API)
//   POST   /silences              analyst  create a silence
//   DELETE /silences/:id          analyst  expire a silence now
//   GET    /deliveries            analyst  delivery attempts, newest first (?rule=&dedupKey=&limit=)
//   GET    /status                viewer   this instance: leader or not, rule files, queue
import { Hono, type Context, type MiddlewareHandler } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { z } from 'zod';
import { AlertingInputError, type Alerting } from './alerting.ts';
import { ALERT_STATES } from './alert-state.ts';
import type { StoredEvent } from './alert-store.ts';
import { NAME } from './rule-schema.ts';

export type AlertingRole = 'viewer' | 'analyst' | 'admin';

export interface AlertingRouteDeps {
  /** The API's auth middleware factory (viewer < analyst < admin). */
  requireRole: (role: AlertingRole) => MiddlewareHandler;
  clock?: () => number;
  /** Largest accepted rule or silence body. */
  maxBodyBytes?: number;
}

const instant = z.union([
  z.string().regex(/^\d{10,13}$/).transform(Number),
  z.iso.datetime({ offset: true }).transform((text) => Date.parse(text)),
]);
const limit = (max: number, fallback: number) => z.coerce.number().int().min(1).max(max).default(fallback);

const currentQuery = z.strictObject({ state: z.enum(ALERT_STATES).optional(), rule: z.string().regex(NAME).optional() });
const historyQuery = z.strictObject({ rule: z.string().regex(NAME).optional(), from: instant.optional(), to: instant.optional(), limit: limit(1_000, 200) });
const deliveriesQuery = z.strictObject({ rule: z.string().regex(NAME).optional(), dedupKey: z.string().max(500).optional(), limit: limit(1_000, 200) });
const nameParam = z.string().regex(NAME, 'must be 1–100 characters of A-Z a-z 0-9 . _ : -');

/** History without a `from` reads the last week (partition pruning; the table grows). */
const DEFAULT_HISTORY_MS = 7 * 86_400_000;

export function alertingRoutes(alerting: Alerting, deps: AlertingRouteDeps): Hono {
  const clock = deps.clock ?? Date.now;
  const maxBody = deps.maxBodyBytes ?? 64 * 1024;
  const app = new Hono();
  const viewer = deps.requireRole('viewer');
  const analyst = deps.requireRole('analyst');
  const admin = deps.requireRole('admin');

  app.get('/', viewer, async (c) => {
    const query = parseQuery(c, currentQuery);
    const states = await alerting.store.currentStates(clock(), 15 * 60_000);
    const alerts = states
      .filter((state) => (query.state === undefined || state.state === query.state) && (query.rule === undefined || state.rule === query.rule))
      .map((state) => ({
        rule: state.rule,
        fingerprint: state.fingerprint,
        state: state.state,
        labels: state.labels,
        annotations: state.annotations,
        value: state.value,
        activeSince: iso(state.activeSinceMs),
        firingSince: iso(state.firingSinceMs),
        lastNotified: iso(state.lastNotifiedMs),
        since: iso(state.changedAtMs),
        error: state.error || null,
      }));
    return c.json({ alerts });
  });

  app.get('/history', viewer, async (c) => {
    const query = parseQuery(c, historyQuery);
    const events = await alerting.store.history({ rule: query.rule, fromMs: query.from ?? clock() - DEFAULT_HISTORY_MS, toMs: query.to, limit: query.limit });
    return c.json({ events: events.map(eventView) });
  });

  app.get('/rules', viewer, (c) => {
    const status = alerting.status();
    return c.json({ rules: alerting.rules(), files: status.files, problems: status.problems });
  });

  app.put('/rules/:name', admin, async (c) => {
    const name = parseParam(c, 'name');
    const rule = await guard(() => readBody(c, maxBody).then((body) => alerting.putRule(name, body, actor(c))));
    return c.json({ rule });
  });

  app.delete('/rules/:name', admin, async (c) => {
    const name = parseParam(c, 'name');
    await guard(() => alerting.deleteRule(name));
    return c.body(null, 204);
  });

  app.get('/silences', viewer, (c) => c.json({ silences: alerting.silences() }));

  app.post('/silences', analyst, async (c) => {
    const silence = await guard(() => readBody(c, maxBody).then((body) => alerting.createSilence(body, actor(c))));
    return c.json({ silence }, 201);
  });

  app.delete('/silences/:id', analyst, async (c) => {
    const id = parseParam(c, 'id');
    await guard(() => alerting.expireSilence(id));
    return c.body(null, 204);
  });

  app.get('/deliveries', analyst, async (c) => {
    const query = parseQuery(c, deliveriesQuery);
    const deliveries = await alerting.store.deliveries(query);
    return c.json({ deliveries: deliveries.map((row) => ({ ...row, at: new Date(row.atMs).toISOString() })) });
  });

  app.get('/status', viewer, (c) => c.json(alerting.status()));

  return app;
}

/** Who made a change, as far as auth tells (the token's role, set by requireRole). */
function actor(c: Context): string {
  const role = (c.var as Record<string, unknown>).role;
  return typeof role === 'string' ? role : '';
}

function iso(ms: number): string | null {
  return ms > 0 ? new Date(ms).toISOString() : null;
}

function eventView(event: StoredEvent) {
  return {
    at: new Date(event.atMs).toISOString(),
    rule: event.rule,
    fingerprint: event.fingerprint,
    from: event.fromState,
    to: event.toState,
    labels: event.labels,
    annotations: event.annotations,
    value: event.value,
    severity: event.severity,
    silenced: event.silenced,
    error: event.error || null,
    notified: event.dedupKey !== '' ? event.channels : [],
    dedupKey: event.dedupKey || null,
  };
}

/** Input errors become 4xx with every problem (file:line:column: field: message). */
async function guard<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof AlertingInputError) {
      const response = new Response(JSON.stringify({ error: { status: error.status, message: error.message, problems: error.problems } }), {
        status: error.status,
        headers: { 'content-type': 'application/json' },
      });
      throw new HTTPException(error.status, { message: error.message, res: response });
    }
    throw error;
  }
}

async function readBody(c: Context, maxBytes: number): Promise<string> {
  const type = c.req.header('content-type') ?? '';
  if (!/^application\/json\b/i.test(type)) throw new HTTPException(415, { message: 'the body must be application/json' });
  const text = await c.req.text();
  if (Buffer.byteLength(text) > maxBytes) throw new HTTPException(413, { message: `the body is larger than ${maxBytes} bytes` });
  return text;
}

function parseParam(c: Context, name: 'name' | 'id'): string {
  const parsed = nameParam.safeParse(c.req.param(name));
  if (!parsed.success) throw new HTTPException(400, { message: `parameter '${name}': ${parsed.error.issues[0]?.message ?? 'invalid'}` });
  return parsed.data;
}

function parseQuery<S extends z.ZodObject<z.ZodRawShape>>(c: Context, schema: S): z.output<S> {
  const input: Record<string, string> = {};
  for (const [name, values] of Object.entries(c.req.queries())) {
    if (values.length > 1) throw new HTTPException(400, { message: `parameter '${name}': given more than once` });
    input[name] = values[0] ?? '';
  }
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const name = issue?.code === 'unrecognized_keys' ? issue.keys[0] : issue?.path[0];
  const message = issue?.code === 'unrecognized_keys' ? `unknown parameter (known: ${Object.keys(schema.shape).join(', ')})` : issue?.message ?? 'invalid';
  throw new HTTPException(400, { message: `parameter '${String(name ?? '?')}': ${message}` });
}
