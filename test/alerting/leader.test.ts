// Any number of instances, exactly one evaluator: two instances share a Kafka group; the
// leader is SIGKILLed; the other takes over within the session timeout, loads the stored
// state and neither re-sends the firing notification nor misses the resolution that
// happened while nobody led.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Alerting } from '../../api/alerting/alerting.ts';
import { createPublisher, type Publisher } from '../../ingest/publish/publisher.ts';
import { createTestPipeline, type TestPipeline } from '../support/pipeline.ts';
import { pollUntil, uniqueName } from '../support/poll.ts';
import { makeRulesDir, notices, publishRuns, startReceiver, testAlerting, TEST_SECRET, writeJson, type Receiver } from './support.ts';

let pipeline: TestPipeline;
let publisher: Publisher;
let receiver: Receiver;
let rulesDir: string;
let child: ChildProcess | null = null;
let childRole = '';
let follower: Alerting;
const id = uniqueName('leader');
const leaderTopic = `t.${id}.leader`;
const leaderGroup = `t.${id}.group`;
const RULE = 'failed-runs';

beforeAll(async () => {
  pipeline = await createTestPipeline('alert_leader');
  await pipeline.startSink();
  publisher = await createPublisher(pipeline.config, { log: () => {}, spoolDir: join(makeRulesDir('http://unused'), 'spool') });
  receiver = await startReceiver();
  rulesDir = makeRulesDir(receiver.url);
  writeJson(rulesDir, 'leader.json', {
    rules: [{
      name: RULE,
      sql: "SELECT job, countIf(status = 'failed') AS value FROM {{database}}.runs FINAL WHERE run_date >= today() - 1 AND job = 'leader-job' GROUP BY job",
      condition: { op: '>', threshold: 0 },
      every: '300ms',
      channels: ['webhook'],
      annotations: { summary: '{{ $labels.job }} has {{ $value }} failed run(s)' },
    }],
  });
}, 60_000);

afterAll(async () => {
  child?.kill('SIGKILL');
  await follower?.stop();
  await publisher?.close();
  await receiver?.close();
  await pipeline?.close();
});

function startChild(): ChildProcess {
  const { config } = pipeline;
  const proc = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'fixtures', 'alerting-instance.ts')], {
    env: {
      ...process.env,
      RUNLENS_ALERT_RULES_DIR: rulesDir,
      RUNLENS_ALERT_WEBHOOK_SECRET: TEST_SECRET,
      RUNLENS_KAFKA_BROKERS: config.kafka.brokers.join(','),
      RUNLENS_ALERT_LEADER_TOPIC: leaderTopic,
      RUNLENS_ALERT_LEADER_GROUP: leaderGroup,
      RUNLENS_ALERT_SESSION_TIMEOUT_MS: '6000',
      RUNLENS_ALERT_HEARTBEAT_MS: '500',
      RUNLENS_ALERT_SYNC_INTERVAL_MS: '500',
      TEST_CLICKHOUSE_URL: config.clickhouse.url,
      TEST_CLICKHOUSE_USER: config.clickhouse.admin.username,
      TEST_CLICKHOUSE_PASSWORD: config.clickhouse.admin.password,
      TEST_DATABASE: config.clickhouse.database,
      // Members are ordered by id and the first gets partition 0: "a-…" leads while alive.
      TEST_CLIENT_ID: 'a-alerting',
      TEST_INSTANCE_ID: 'instance-a',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  proc.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    for (const line of chunk.split('\n')) if (line) childRole = line;
  });
  proc.stderr!.resume();
  return proc;
}

describe('leader election through a Kafka consumer group', () => {
  it('lets exactly one of two instances evaluate, and moves leadership within 30 s when the leader is killed, without duplicate or missed notifications', async () => {
    child = startChild();
    await pollUntil(async () => childRole, (role) => role === 'leader', { timeoutMs: 20_000, what: 'instance a to lead' });
    follower = testAlerting(pipeline, { rulesDir, instanceId: 'instance-b', leaderTopic, leaderGroup });
    await follower.start();
    // b joins, the group rebalances, and a (first in member order) leads again.
    await pollUntil(async () => [childRole, follower.isLeader()] as const, ([role, b]) => role === 'leader' && !b, { timeoutMs: 20_000, what: 'a leading, b following' });

    const [key] = await publishRuns(publisher, [{ job: 'leader-job', status: 'failed', startedAtMs: Date.now() - 60_000 }]);
    await pollUntil(async () => notices(receiver, '/hook', RULE), (list) => list.length === 1, { timeoutMs: 20_000, what: 'the firing notification' });
    // Delivered and logged by a (so no one has it left to do) before a dies.
    await pollUntil(
      () => pipeline.query<{ n: number }>(`SELECT count() AS n FROM ${pipeline.config.clickhouse.database}.alert_deliveries WHERE rule = '${RULE}' AND status = 'delivered'`),
      (rows) => rows[0]?.n === 1,
      { what: 'the delivery logged' },
    );
    expect(follower.isLeader()).toBe(false);

    child.kill('SIGKILL');
    const killedAt = Date.now();
    // While nobody leads, the job's run is retried and succeeds: the alert must resolve.
    await publishRuns(publisher, [{ job: 'leader-job', status: 'succeeded', startedAtMs: Date.now() - 60_000, key: key!, attempt: 2 }]);
    await pollUntil(async () => follower.isLeader(), Boolean, { timeoutMs: 30_000, intervalMs: 50, what: 'b to take over' });
    const takeoverMs = Date.now() - killedAt;
    expect(takeoverMs).toBeLessThan(30_000);

    const list = await pollUntil(async () => notices(receiver, '/hook', RULE), (all) => all.length >= 2, { timeoutMs: 20_000, what: 'the resolved notification' });
    // Give a duplicate the chance to show up before counting.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(notices(receiver, '/hook', RULE).map((n) => n.kind)).toEqual(['firing', 'resolved']);
    expect(new Set(list.map((n) => n.dedupKey)).size).toBe(2);

    const events = await pipeline.query<{ from_state: string; to_state: string; writer: string }>(
      `SELECT from_state, to_state, writer FROM ${pipeline.config.clickhouse.database}.alert_events WHERE rule = '${RULE}' AND kind = 'transition' ORDER BY version`,
    );
    expect(events.map((event) => `${event.from_state}->${event.to_state}@${event.writer}`)).toEqual([
      'inactive->firing@instance-a',
      'firing->resolved@instance-b',
    ]);
    console.error(`takeover after SIGKILL: ${takeoverMs} ms`);
  }, 90_000);
});
