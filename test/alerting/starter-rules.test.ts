// The shipped starter rules, with their SQL as written, fire and resolve on runs published
// through the real pipeline (publisher → Kafka → sink → ClickHouse); only thresholds and
// schedules are shortened for the test.
import { createHmac } from 'node:crypto';
import { join } from 'node:path';
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Alerting } from '../../api/alerting/alerting.ts';
import { alertingRoutes } from '../../api/alerting/routes.ts';
import { createPublisher, type Publisher } from '../../ingest/publish/publisher.ts';
import { createTestPipeline, type TestPipeline } from '../support/pipeline.ts';
import { pollUntil } from '../support/poll.ts';
import { makeRulesDir, notices, publishRuns, starterRule, startReceiver, testAlerting, TEST_SECRET, writeJson, type Receiver } from './support.ts';

let pipeline: TestPipeline;
let publisher: Publisher;
let receiver: Receiver;
let alerting: Alerting;
let api: Hono;
const fast = { every: '300ms', for: '0s', keepFiringFor: '0s' };
const MINUTE = 60_000;
const WEEK = 7 * 86_400_000;

beforeAll(async () => {
  pipeline = await createTestPipeline('alert_starter');
  await pipeline.startSink();
  publisher = await createPublisher(pipeline.config, { log: () => {}, spoolDir: join(makeRulesDir('http://unused'), 'spool') });
  receiver = await startReceiver();
  const rulesDir = makeRulesDir(receiver.url);
  writeJson(rulesDir, 'starter.json', {
    rules: [
      starterRule('job-failure-rate', { ...fast, for: '600ms' }),
      starterRule('job-not-running', { ...fast, condition: { op: '>', threshold: 120 } }),
      starterRule('job-p95-duration-regression', fast),
    ],
  });
  alerting = testAlerting(pipeline, { rulesDir });
  api = new Hono();
  api.route('/api/v1/alerts', alertingRoutes(alerting, { requireRole: () => async (_c, next) => next() }));
  await alerting.start();
  await pollUntil(async () => alerting.isLeader(), Boolean, { timeoutMs: 20_000, what: 'the only instance to lead' });
}, 60_000);

afterAll(async () => {
  await alerting?.stop();
  await publisher?.close();
  await receiver?.close();
  await pipeline?.close();
});

async function stored(job: string, count: number): Promise<void> {
  await pollUntil(
    () => pipeline.query<{ n: number }>(`SELECT count() AS n FROM ${pipeline.config.clickhouse.database}.runs FINAL WHERE job = '${job}'`),
    (rows) => (rows[0]?.n ?? 0) >= count,
    { timeoutMs: 20_000, what: `${count} runs of ${job} stored` },
  );
}

describe('the starter rules', () => {
  it('fire on runs published through the pipeline, each once, signed, with templated annotations', async () => {
    const now = Date.now();
    await publishRuns(publisher, [
      // billing: 8 of 10 runs failed in the last 15 minutes (80 % > 20 %; any 5 of them
      // that reach ClickHouse first are above 20 % too, so the history is the same whatever
      // order the sink stores them in).
      ...Array.from({ length: 10 }, (_, i) => ({ job: 'billing', status: i % 5 ? 'failed' : 'succeeded', startedAtMs: now - (10 - i) * MINUTE }) as const),
      // etl-hourly: 24 runs over the last day, the latest 10 minutes ago (> 120 s).
      ...Array.from({ length: 24 }, (_, i) => ({ job: 'etl-hourly', status: 'succeeded', startedAtMs: now - 10 * MINUTE - i * 55 * MINUTE }) as const),
      // report: 6 runs of 10 s in the same hour last week, 6 of 30 s in the last hour (+200 %).
      ...Array.from({ length: 6 }, (_, i) => ({ job: 'report', status: 'succeeded', startedAtMs: now - WEEK - 30 * MINUTE + i * MINUTE, durationMs: 10_000 }) as const),
      ...Array.from({ length: 6 }, (_, i) => ({ job: 'report', status: 'succeeded', startedAtMs: now - 30 * MINUTE + i * MINUTE, durationMs: 30_000 }) as const),
    ]);
    for (const rule of ['job-failure-rate', 'job-not-running', 'job-p95-duration-regression']) {
      await pollUntil(async () => notices(receiver, '/hook', rule), (list) => list.length > 0, { timeoutMs: 20_000, what: `${rule} firing` });
    }
    const failure = notices(receiver, '/hook', 'job-failure-rate');
    expect(failure).toHaveLength(1);
    expect(failure[0]).toMatchObject({ kind: 'firing', status: 'firing', labels: { job: 'billing', alertname: 'job-failure-rate', severity: 'critical' } });
    const request = receiver.delivered('/hook').find((candidate) => candidate.json.rule === 'job-failure-rate')!;
    // Rendered with the value at the transition (the sink may still be storing the batch).
    expect((request.json.annotations as Record<string, string>).summary).toMatch(/^billing: \d+(\.\d+)? % of runs failed in the last 15 minutes$/);
    expect(request.headers['x-runlens-signature']).toBe(`sha256=${createHmac('sha256', TEST_SECRET).update(request.body).digest('hex')}`);
    expect(notices(receiver, '/hook', 'job-not-running')[0]?.labels.job).toBe('etl-hourly');
    expect(notices(receiver, '/hook', 'job-p95-duration-regression')[0]?.labels.job).toBe('report');
    const body = (await (await api.request('/api/v1/alerts?state=firing')).json()) as { alerts: Array<{ rule: string; labels: Record<string, string> }> };
    expect(body.alerts.map((alert) => `${alert.rule}/${alert.labels.job}`).sort()).toEqual(['job-failure-rate/billing', 'job-not-running/etl-hourly', 'job-p95-duration-regression/report']);
  });

  it('resolve once the runs say so, and notify each resolution once', async () => {
    const now = Date.now();
    await publishRuns(publisher, [
      // billing: 40 more successes: 8 of 50 failed (16 %).
      ...Array.from({ length: 40 }, () => ({ job: 'billing', status: 'succeeded', startedAtMs: now - 2 * MINUTE }) as const),
      // etl-hourly runs again.
      { job: 'etl-hourly', status: 'running', startedAtMs: now },
      // report: 120 fast runs push the 30 s ones above the 95th percentile.
      ...Array.from({ length: 120 }, () => ({ job: 'report', status: 'succeeded', startedAtMs: now - 20 * MINUTE, durationMs: 10_000 }) as const),
    ]);
    await stored('report', 132);
    // (report's 120 runs make it a frequent job too: job-not-running may fire for it later.)
    const jobOf: Record<string, string> = { 'job-failure-rate': 'billing', 'job-not-running': 'etl-hourly', 'job-p95-duration-regression': 'report' };
    for (const [rule, job] of Object.entries(jobOf)) {
      const forJob = () => notices(receiver, '/hook', rule).filter((n) => n.labels.job === job);
      const list = await pollUntil(async () => forJob(), (all) => all.some((n) => n.kind === 'resolved'), { timeoutMs: 20_000, what: `${rule} resolved` });
      expect(list.map((n) => `${rule}:${n.kind}`)).toEqual([`${rule}:firing`, `${rule}:resolved`]);
    }
    const history = (await (await api.request('/api/v1/alerts/history?rule=job-failure-rate')).json()) as { events: Array<{ from: string; to: string }> };
    expect(history.events.map((event) => `${event.from}->${event.to}`).reverse()).toEqual(['inactive->pending', 'pending->firing', 'firing->resolved']);
  });

  it('ingest-lag fires while the sink is stopped and resolves when it catches up (rule added through the API)', async () => {
    await publishRuns(publisher, [{ job: 'lag-probe', status: 'succeeded', startedAtMs: Date.now() }]);
    await stored('lag-probe', 1);
    const put = await api.request('/api/v1/alerts/rules/ingest-lag', {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(starterRule('ingest-lag', { ...fast, condition: { op: '>', threshold: 3 }, channels: ['webhook', 'slack'] })),
    });
    expect(put.status).toBe(200);
    await pipeline.stopSink();
    await publishRuns(publisher, [{ job: 'lag-probe', status: 'succeeded', startedAtMs: Date.now() }]);
    await pollUntil(async () => notices(receiver, '/hook', 'ingest-lag'), (list) => list.length === 1, { timeoutMs: 20_000, what: 'ingest-lag firing' });
    const slack = receiver.delivered('/slack').map((request) => request.json as { text: string });
    expect(slack.at(-1)?.text).toMatch(/^:rotating_light: \[FIRING\] ingest-lag \(critical\)/);
    await pipeline.startSink();
    const list = await pollUntil(async () => notices(receiver, '/hook', 'ingest-lag'), (all) => all.length === 2, { timeoutMs: 30_000, what: 'ingest-lag resolved' });
    expect(list.map((n) => n.kind)).toEqual(['firing', 'resolved']);
  });
});
