// Flapping data does not flap notifications: a job that runs every ~3 s against a rule
// "no run for more than 1 s" is true and false in turns. A rule without `for` or
// `keepFiringFor` notifies at every gap (the control, proving the data flapped); `for`
// longer than the gaps never fires; `keepFiringFor` longer than the pauses fires once.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Alerting } from '../../api/alerting/alerting.ts';
import { createPublisher, type Publisher } from '../../ingest/publish/publisher.ts';
import { createTestPipeline, type TestPipeline } from '../support/pipeline.ts';
import { pollUntil } from '../support/poll.ts';
import { makeRulesDir, notices, publishRuns, startReceiver, testAlerting, writeJson, type Receiver } from './support.ts';

let pipeline: TestPipeline;
let publisher: Publisher;
let receiver: Receiver;
let alerting: Alerting;

const sql = "SELECT job, toUInt32(now()) - toUInt32(max(started_at)) AS value FROM {{database}}.runs WHERE run_date >= today() - 1 AND job = 'flappy' GROUP BY job";
const rule = (name: string, extra: Record<string, string>) => ({ name, sql, condition: { op: '>', threshold: 1 }, every: '200ms', channels: ['webhook'], ...extra });

beforeAll(async () => {
  pipeline = await createTestPipeline('alert_flap');
  await pipeline.startSink();
  publisher = await createPublisher(pipeline.config, { log: () => {}, spoolDir: join(makeRulesDir('http://unused'), 'spool') });
  receiver = await startReceiver();
  const rulesDir = makeRulesDir(receiver.url);
  writeJson(rulesDir, 'flap.json', {
    rules: [
      rule('flap-naive', { for: '0s', keepFiringFor: '0s' }),
      rule('flap-for', { for: '8s', keepFiringFor: '0s' }),
      rule('flap-keep', { for: '0s', keepFiringFor: '6s' }),
    ],
  });
  alerting = testAlerting(pipeline, { rulesDir });
  await alerting.start();
  await pollUntil(async () => alerting.isLeader(), Boolean, { timeoutMs: 20_000, what: 'leadership' });
}, 60_000);

afterAll(async () => {
  await alerting?.stop();
  await publisher?.close();
  await receiver?.close();
  await pipeline?.close();
});

describe('flapping data', () => {
  it('does not flap notifications of rules with for or keepFiringFor', async () => {
    for (let gap = 0; gap < 5; gap++) {
      await publishRuns(publisher, [{ job: 'flappy', status: 'succeeded', startedAtMs: Date.now() }]);
      await new Promise((resolve) => setTimeout(resolve, 3_000));
    }
    await publishRuns(publisher, [{ job: 'flappy', status: 'succeeded', startedAtMs: Date.now() }]);
    await new Promise((resolve) => setTimeout(resolve, 500));

    const naive = notices(receiver, '/hook', 'flap-naive').map((n) => n.kind);
    expect(naive.filter((kind) => kind === 'firing').length).toBeGreaterThanOrEqual(3);
    expect(notices(receiver, '/hook', 'flap-for')).toEqual([]);
    expect(notices(receiver, '/hook', 'flap-keep').map((n) => n.kind)).toEqual(['firing']);
  }, 40_000);
});
