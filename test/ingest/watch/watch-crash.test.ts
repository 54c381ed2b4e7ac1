// The watcher SIGKILLed in the middle of its backfill: on restart every run reaches the
// topic, and what is published twice is bounded by what was in flight at the kill.
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKafka } from '../../../ingest/kafka/index.ts';
import { generateTree, type ExpectedTree } from '../../../ingest/simulate/generate-tree.ts';
import { createTestTopic, tapTopic, tempDir, type TestTopic, type TopicTap } from './helpers.ts';

const RUNS = 20_000;
const BATCH = 200;
const IN_FLIGHT = 2;
const REPO = join(import.meta.dirname, '../../..');

async function topicSize(topic: TestTopic): Promise<number> {
  const admin = createKafka({ brokers: topic.config.kafka.brokers, clientId: 'runlens-watch-crash-test' }).admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic.topic);
    return offsets.reduce((sum, o) => sum + Number(o.high), 0);
  } finally {
    await admin.disconnect();
  }
}

describe('watch killed mid-scan', () => {
  let topic: TestTopic;
  let tap: TopicTap;
  let root: string;
  let expected: ExpectedTree;

  beforeAll(async () => {
    topic = await createTestTopic('crash');
    root = join(tempDir('crash'), 'runs');
    expected = generateTree({ root, runs: RUNS, days: 3, seed: 42 });
  });

  afterAll(async () => {
    await tap?.close();
  });

  it('publishes every run after a restart, re-publishing no more than the in-flight batches', { timeout: 180_000 }, async () => {
    const env = { ...process.env, ...topic.env };
    const args = ['stack/runlens.mjs', 'watch', root, '--batch-size', String(BATCH), '--max-in-flight', String(IN_FLIGHT)];
    const child = spawn(process.execPath, args, { cwd: REPO, env, stdio: ['ignore', 'ignore', 'inherit'] });
    const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
    let sizeAtKill = 0;
    for (const deadline = Date.now() + 120_000; ; ) {
      sizeAtKill = await topicSize(topic);
      if (sizeAtKill >= RUNS / 4) break;
      if (Date.now() > deadline) throw new Error(`the watcher published only ${sizeAtKill} runs in 120 s`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    child.kill('SIGKILL');
    await exited;
    expect(sizeAtKill).toBeLessThan(RUNS); // killed during the scan, not after it

    const rerun = spawnSync(process.execPath, [...args, '--once'], { cwd: REPO, env, encoding: 'utf8', timeout: 150_000 });
    expect(rerun.status, rerun.stderr).toBe(0);

    tap = await tapTopic(topic.config);
    const total = await topicSize(topic);
    await tap.waitFor((events) => events.length >= total, `all ${total} events`, 60_000);
    const counts = new Map<string, number>();
    for (const { event } of tap.events) {
      if (event.schema !== 'runlens.run/1') continue;
      const id = `${event.run_date}/${event.key}`;
      counts.set(id, (counts.get(id) ?? 0) + 1);
    }
    expect([...expected.keys()].filter((id) => !counts.has(id))).toEqual([]);
    const republished = [...counts.values()].reduce((sum, n) => sum + n - 1, 0);
    console.log(`killed at ${sizeAtKill} events; ${republished} runs published twice (bound: ${BATCH * (IN_FLIGHT + 1)}); restart: ${rerun.stdout.trim()}`);
    // In flight at the kill: IN_FLIGHT batches awaiting acks, plus at most one batch whose
    // ack arrived but whose checkpoint append was not fsynced yet.
    expect(republished).toBeLessThanOrEqual(BATCH * (IN_FLIGHT + 1));
  });
});
