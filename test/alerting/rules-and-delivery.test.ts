// Delivery (retries, give-up, the log), rule files (a broken one is rejected precisely,
// reloads, the rest keeps running), silences and roles, through the routes.
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { Hono, type MiddlewareHandler } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Alerting } from '../../api/alerting/alerting.ts';
import { alertingRoutes, type AlertingRole } from '../../api/alerting/routes.ts';
import { createTestPipeline, type TestPipeline } from '../support/pipeline.ts';
import { pollUntil } from '../support/poll.ts';
import { makeRulesDir, notices, startReceiver, testAlerting, writeJson, type Receiver } from './support.ts';

let pipeline: TestPipeline;
let receiver: Receiver;
let alerting: Alerting;
let rulesDir: string;
let api: Hono;

const ORDER: AlertingRole[] = ['viewer', 'analyst', 'admin'];
/** Stands in for the API's auth: the role comes from an x-role header. */
const requireRole = (role: AlertingRole): MiddlewareHandler => async function requireRole(c, next) {
  const have = (c.req.header('x-role') ?? 'viewer') as AlertingRole;
  c.set('role' as never, have as never);
  if (ORDER.indexOf(have) < ORDER.indexOf(role)) throw new HTTPException(403, { message: `needs ${role}` });
  await next();
};

const constant = (name: string, value: number, extra: Record<string, unknown> = {}) => ({
  name, sql: `SELECT ${value} AS value`, condition: { op: '>', threshold: 0 }, every: '200ms', ...extra,
});

async function health(name: string): Promise<number> {
  const rule = alerting.rules().find((candidate) => candidate.name === name);
  return rule?.health?.lastEvaluationMs ?? 0;
}

beforeAll(async () => {
  pipeline = await createTestPipeline('alert_rules');
  receiver = await startReceiver();
  // The hook fails twice, then accepts; "dead" is a port nobody listens on.
  receiver.respond = (path, count) => (path === '/hook' && count <= 2 ? 503 : 200);
  rulesDir = makeRulesDir(receiver.url);
  writeJson(rulesDir, 'dead.json', { channels: { dead: { type: 'webhook', url: 'http://127.0.0.1:9/nobody' } } });
  writeJson(rulesDir, 'always.json', { rules: [constant('always', 1, { channels: ['webhook', 'dead'] })] });
  alerting = testAlerting(pipeline, { rulesDir });
  api = new Hono();
  api.route('/api/v1/alerts', alertingRoutes(alerting, { requireRole }));
  api.onError((error, c) => (error instanceof HTTPException ? error.getResponse() : c.json({ error: String(error) }, 500)));
  await alerting.start();
  await pollUntil(async () => alerting.isLeader(), Boolean, { timeoutMs: 20_000, what: 'leadership' });
}, 60_000);

afterAll(async () => {
  await alerting?.stop();
  await receiver?.close();
  await pipeline?.close();
});

describe('delivery', () => {
  it('retries a failing webhook with backoff, logs every attempt, and gives up on a dead one without holding up evaluation', async () => {
    await pollUntil(async () => notices(receiver, '/hook', 'always'), (list) => list.length === 1, { timeoutMs: 15_000, what: 'the third attempt delivered' });
    expect(receiver.requests.filter((request) => request.path === '/hook').map((request) => request.status)).toEqual([503, 503, 200]);
    const evaluatedBefore = await health('always');
    const body = await pollUntil(
      async () => (await (await api.request('/api/v1/alerts/deliveries?rule=always', { headers: { 'x-role': 'analyst' } })).json()) as { deliveries: Array<{ channel: string; attempt: number; status: string; httpStatus: number; error: string }> },
      (result) => result.deliveries.some((row) => row.channel === 'dead' && row.status === 'gave_up') && result.deliveries.some((row) => row.channel === 'webhook' && row.status === 'delivered'),
      { timeoutMs: 20_000, what: 'the dead channel given up' },
    );
    const byChannel = (channel: string) => body.deliveries.filter((row) => row.channel === channel).sort((a, b) => a.attempt - b.attempt);
    expect(byChannel('webhook').map((row) => `${row.attempt}:${row.status}:${row.httpStatus}`)).toEqual(['1:retrying:503', '2:retrying:503', '3:delivered:200']);
    expect(byChannel('dead').map((row) => row.status)).toEqual(['retrying', 'retrying', 'retrying', 'gave_up']);
    expect(byChannel('dead')[0]!.error).toMatch(/request failed/);
    // Meanwhile the rule kept being evaluated on schedule.
    expect(await health('always')).toBeGreaterThan(evaluatedBefore);
    expect(notices(receiver, '/hook', 'always')).toHaveLength(1);
  });
});

describe('rule files', () => {
  it('rejects a broken file with file:line:column and the field, and keeps evaluating the other rules', async () => {
    writeFileSync(join(rulesDir, 'broken.json'), [
      '{',
      '  "rules": [',
      '    {',
      '      "name": "bad-op",',
      '      "sql": "SELECT 1 AS value",',
      '      "condition": { "op": "=>", "threshold": 1 },',
      '      "every": "5 minutes"',
      '    }',
      '  ]',
      '}',
    ].join('\n'));
    const status = await pollUntil(async () => alerting.status(), (s) => s.files.some((file) => file.file === 'broken.json'), { what: 'the reload' });
    expect(status.files.find((file) => file.file === 'broken.json')?.status).toBe('rejected');
    expect(status.problems).toContain('broken.json:6:28: rules[0] ("bad-op").condition.op: Invalid option: expected one of ">"|">="|"<"|"<="|"=="|"!="');
    expect(status.problems.some((problem) => problem.startsWith('broken.json:7:16: rules[0] ("bad-op").every: "5 minutes" is not a duration'))).toBe(true);
    const before = await health('always');
    await pollUntil(() => health('always'), (at) => at > before, { what: 'always evaluated after the reload' });
    expect(alerting.rules().map((rule) => rule.name)).toEqual(['always']);
  });

  it('names the line and column of a JSON syntax error, and keeps the previous version of a file that loaded before', async () => {
    writeFileSync(join(rulesDir, 'always.json'), '{\n  "rules": [\n    { "name": "always", }\n  ]\n}\n');
    const status = await pollUntil(async () => alerting.status(), (s) => s.files.find((file) => file.file === 'always.json')?.status === 'kept-previous', { what: 'the reload' });
    expect(status.problems).toContain('always.json:3:25: (syntax): trailing comma before }');
    const before = await health('always');
    await pollUntil(() => health('always'), (at) => at > before, { what: 'always still evaluated' });
  });

  it('loads a fixed file on change', async () => {
    writeJson(rulesDir, 'broken.json', { rules: [constant('fixed', 0)] });
    await pollUntil(async () => alerting.rules().map((rule) => rule.name).sort(), (names) => names.includes('fixed'), { what: 'the fixed rule loaded' });
    expect(alerting.status().files.find((file) => file.file === 'broken.json')?.status).toBe('loaded');
  });
});

describe('a slow rule', () => {
  it('times out into the error state, is KILLed on the server, and does not hold up other rules', async () => {
    writeJson(rulesDir, 'slow.json', {
      rules: [{ name: 'slow', sql: 'SELECT count() AS value FROM (SELECT number FROM system.numbers LIMIT 100000000000)', condition: { op: '>', threshold: 0 }, every: '1s', timeout: '300ms' }],
    });
    const current = await pollUntil(
      async () => (await (await api.request('/api/v1/alerts?rule=slow')).json()) as { alerts: Array<{ state: string; error: string | null; fingerprint: string }> },
      (body) => body.alerts.some((alert) => alert.state === 'error'),
      { what: 'slow in error' },
    );
    expect(current.alerts[0]).toMatchObject({ fingerprint: '', state: 'error', error: 'the query did not finish within 300 ms' });
    const before = await health('always');
    await pollUntil(() => health('always'), (at) => at > before, { what: 'always still evaluated' });
    // Once the rule is gone, none of its queries may be left running (admin has no
    // max_execution_time: without the KILL they would run for minutes).
    writeJson(rulesDir, 'slow.json', { rules: [] });
    await pollUntil(async () => alerting.rules().some((rule) => rule.name === 'slow'), (present) => !present, { what: 'slow removed' });
    await pollUntil(
      () => pipeline.query<{ n: number }>("SELECT count() AS n FROM system.processes WHERE query_id LIKE 'runlens-alert-%' AND query LIKE '%system.numbers LIMIT%'"),
      (rows) => rows[0]?.n === 0,
      { timeoutMs: 3_000, what: 'the timed-out queries killed' },
    );
  });
});

describe('the API', () => {
  it('lets only admins change rules, and reports a bad rule body with its line', async () => {
    const put = (role: string, body: string) => api.request('/api/v1/alerts/rules/via-api', { method: 'PUT', headers: { 'x-role': role, 'content-type': 'application/json' }, body });
    expect((await put('analyst', JSON.stringify(constant('via-api', 1)))).status).toBe(403);
    const bad = await put('admin', '{\n  "sql": "SELECT 1 AS value",\n  "condition": { "op": ">", "threshold": "high" }\n}');
    expect(bad.status).toBe(400);
    const problems = ((await bad.json()) as { error: { problems: Array<{ line: number; field: string }> } }).error.problems;
    expect(problems).toContainEqual(expect.objectContaining({ line: 3, field: 'condition.threshold' }));
    expect((await put('admin', JSON.stringify({ sql: 'SELECT 1 AS value', condition: { op: '>', threshold: 0 }, every: '200ms' }))).status).toBe(200);
    const rules = (await (await api.request('/api/v1/alerts/rules')).json()) as { rules: Array<{ name: string; source: { kind: string } }> };
    expect(rules.rules.find((rule) => rule.name === 'via-api')?.source.kind).toBe('api');
    const conflict = await api.request('/api/v1/alerts/rules/always', { method: 'DELETE', headers: { 'x-role': 'admin' } });
    expect(conflict.status).toBe(409);
    expect((await api.request('/api/v1/alerts/rules/via-api', { method: 'DELETE', headers: { 'x-role': 'admin' } })).status).toBe(204);
  });

  it('silences matching alerts: they change state but notify nobody', async () => {
    const created = await api.request('/api/v1/alerts/silences', {
      method: 'POST',
      headers: { 'x-role': 'analyst', 'content-type': 'application/json' },
      body: JSON.stringify({ matchers: ['alertname=~"quiet.*"', 'severity="warning"'], endsAt: new Date(Date.now() + 60_000).toISOString(), comment: 'maintenance' }),
    });
    expect(created.status).toBe(201);
    writeJson(rulesDir, 'quiet.json', { rules: [constant('quiet-one', 1, { channels: ['webhook'] })] });
    const firing = await pollUntil(
      async () => (await (await api.request('/api/v1/alerts/history?rule=quiet-one')).json()) as { events: Array<{ to: string; silenced: boolean }> },
      (body) => body.events.some((event) => event.to === 'firing'),
      { what: 'quiet-one firing' },
    );
    expect(firing.events[0]).toMatchObject({ to: 'firing', silenced: true });
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(notices(receiver, '/hook', 'quiet-one')).toEqual([]);
    const { silences } = (await (await api.request('/api/v1/alerts/silences')).json()) as { silences: Array<{ id: string; matchers: string[] }> };
    const silence = silences.find((candidate) => candidate.matchers.includes('alertname=~"quiet.*"'))!;
    // Expiring it: the still-firing alert is announced once.
    expect((await api.request(`/api/v1/alerts/silences/${silence.id}`, { method: 'DELETE', headers: { 'x-role': 'analyst' } })).status).toBe(204);
    await pollUntil(async () => notices(receiver, '/hook', 'quiet-one'), (list) => list.length === 1, { what: 'the notification after the silence' });
  });
});
