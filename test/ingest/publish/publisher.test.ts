// The publisher against the real broker: straight to Kafka when it is up, into the spool
// when it is not, and out of the spool, in order and exactly once, when it is back.
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import { appendFile, mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeEvent, type TopicEvent } from '../../../ingest/event/wire.ts';
import { EventTooLargeError } from '../../../ingest/publish/errors.ts';
import { createPublisher, type Publisher, type PublisherOptions } from '../../../ingest/publish/publisher.ts';
import { SpoolFullError } from '../../../ingest/spool/errors.ts';
import { encodeFrame } from '../../../ingest/spool/frame.ts';
import { Spool } from '../../../ingest/spool/spool.ts';
import { configFor, createTestTopic, eventually, readTopic, runEvent, UNREACHABLE_BROKER } from './kafka-helpers.ts';

const open: Publisher[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((publisher) => publisher.close()));
});

async function publisherFor(topic: string, spoolDir: string, options: PublisherOptions & { brokers?: string } = {}): Promise<Publisher> {
  const publisher = await createPublisher(configFor(topic, options.brokers), { spoolDir, kafkaTimeoutMs: 2_000, backoff: { initialMs: 50, maxMs: 500 }, ...options });
  open.push(publisher);
  return publisher;
}

async function closeAll(): Promise<void> {
  await Promise.all(open.splice(0).map((publisher) => publisher.close()));
}

function spoolDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'runlens-publish-'));
}

const attempts = (values: readonly { value: string }[]) => values.map((m) => (JSON.parse(m.value) as { attempt: number }).attempt);

describe('publisher', () => {
  it('sends each event to Kafka, keyed by its run, one run on one partition in order', async () => {
    const topic = await createTestTopic('direct');
    const publisher = await publisherFor(topic, await spoolDir());
    const events = [runEvent('acct-1.sync', 1), runEvent('acct-2.sync', 1), runEvent('acct-1.sync', 2)];
    for (const event of events) expect(await publisher.publishWithReceipt([event])).toEqual({ route: 'kafka' });

    const read = await readTopic(topic, 3);
    expect(read).toHaveLength(3);
    expect(read.map((m) => m.key).sort()).toEqual(['2026-11-21/acct-1.sync', '2026-11-21/acct-1.sync', '2026-11-21/acct-2.sync']);
    const acct1 = read.filter((m) => m.key === '2026-11-21/acct-1.sync').sort((a, b) => a.offset - b.offset);
    expect(new Set(acct1.map((m) => m.partition)).size).toBe(1);
    expect(attempts(acct1)).toEqual([1, 2]);
    expect(read.map((m) => m.value).sort()).toEqual(events.map((e) => encodeEvent(e).value).sort());
  });

  it('spools while Kafka is unreachable, then a publisher that can reach it drains every event once, in order', async () => {
    const topic = await createTestTopic('spooled', 1);
    const dir = await spoolDir();
    const down = await publisherFor(topic, dir, { brokers: UNREACHABLE_BROKER });
    const first = await down.publishWithReceipt([runEvent('run', 1)]);
    expect(first).toMatchObject({ route: 'spool', reason: 'kafka unreachable' });
    for (let attempt = 2; attempt <= 50; attempt++) {
      expect(await down.publishWithReceipt([runEvent('run', attempt)])).toMatchObject({ route: 'spool', reason: 'earlier events are still spooled' });
    }
    expect(down.depth().records).toBe(50);
    await closeAll();

    const up = await publisherFor(topic, dir);
    // Published while the backlog drains: must queue behind it, not overtake it.
    for (let attempt = 51; attempt <= 60; attempt++) await up.publish([runEvent('run', attempt)]);
    await eventually(() => up.depth().records === 0, 'the spool is drained');

    const read = await readTopic(topic, 60);
    expect(attempts(read.sort((a, b) => a.offset - b.offset))).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
    expect((await readdir(dir)).filter((name) => name.startsWith('segment-'))).toEqual([]);
  });

  it('drains the intact part of a spool whose last append was torn by a crash', async () => {
    const topic = await createTestTopic('torn', 1);
    const dir = await spoolDir();
    const spool = await Spool.open(dir);
    for (let attempt = 1; attempt <= 3; attempt++) await spool.append([encodeEvent(runEvent('torn.run', attempt))]);
    await spool.close();
    const [segment] = (await readdir(dir)).filter((name) => name.startsWith('segment-'));
    await appendFile(join(dir, segment!), encodeFrame([encodeEvent(runEvent('torn.run', 4))]).subarray(0, 100));

    const logged: string[] = [];
    const publisher = await publisherFor(topic, dir, { log: (line) => logged.push(line) });
    await eventually(() => publisher.depth().records === 0, 'the spool is drained');
    expect(attempts(await readTopic(topic, 3))).toEqual([1, 2, 3]);
    expect(logged.join('\n')).toMatch(/torn tail of 100 bytes/);
  });

  it('refuses an event too large for a Kafka message and accepts nothing', async () => {
    const topic = await createTestTopic('large');
    const publisher = await publisherFor(topic, await spoolDir());
    const event = runEvent('large.run', 1);
    const huge: TopicEvent = { ...event, files: [{ name: 'result.json', content: randomText(3_000_000), size: 3_000_000, truncated: false }] };
    await expect(publisher.publish([runEvent('small.run', 1), huge])).rejects.toBeInstanceOf(EventTooLargeError);
    expect(publisher.depth().records).toBe(0);
  });

  it('loses nothing it acknowledged when the process is SIGKILLed: the next process drains it', async () => {
    const topic = await createTestTopic('killed', 1);
    const dir = await spoolDir();
    const fixture = fileURLToPath(new URL('./fixtures/publish-forever.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', fixture], {
      env: { ...process.env, RUNLENS_KAFKA_TOPIC: topic, RUNLENS_KAFKA_BROKERS: UNREACHABLE_BROKER, RUNLENS_SPOOL_DIR: dir },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let printed = 0;
    child.stdout.on('data', (chunk: Buffer) => (printed += chunk.toString().split('\n').filter((line) => line.startsWith('published')).length));
    const exited = new Promise((resolve) => child.on('exit', resolve));
    await eventually(() => printed >= 20, 'the child has acknowledged 20 publishes');
    child.kill('SIGKILL');
    await exited; // reaped, so its pid no longer counts as a live lock holder
    const acknowledged = printed;

    const publisher = await publisherFor(topic, dir);
    await eventually(() => publisher.depth().records === 0, 'the spool is drained');
    const got = attempts((await readTopic(topic, acknowledged)).sort((a, b) => a.offset - b.offset));
    // Everything acknowledged, in order, once; an append the kill interrupted may follow.
    expect(got.slice(0, acknowledged)).toEqual(Array.from({ length: acknowledged }, (_, i) => i + 1));
    expect(got).toEqual(Array.from({ length: got.length }, (_, i) => i + 1));
  });

  describe.skipIf(!canMountTmpfs())('with the spool on a full disk', () => {
    let mountPoint = '';
    afterEach(async () => {
      await closeAll(); // open files keep the mount busy
      execFileSync('umount', [mountPoint]);
      await rm(mountPoint, { recursive: true, force: true });
    });

    it('rejects a publish Kafka cannot take with SpoolFullError', async () => {
      mountPoint = await spoolDir();
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', mountPoint]);
      const dir = join(mountPoint, 'spool');
      await mkdir(dir);
      const down = await publisherFor('unused', dir, { brokers: UNREACHABLE_BROKER });
      const padded = (attempt: number): TopicEvent => ({ ...runEvent('full.run', attempt), error_message: 'x'.repeat(9_000) });
      let failure: unknown;
      let accepted = 0;
      for (let attempt = 1; attempt <= 50 && failure === undefined; attempt++) {
        await down.publish([padded(attempt)]).then(() => accepted++, (error: unknown) => (failure = error));
      }
      expect(failure).toBeInstanceOf(SpoolFullError);
      expect(down.depth().records).toBe(accepted);
    });
  });
});

function randomText(length: number): string {
  return Buffer.from(Array.from({ length: Math.ceil(length / 2) }, () => Math.floor(Math.random() * 256))).toString('hex').slice(0, length);
}

function canMountTmpfs(): boolean {
  if (process.getuid?.() !== 0) return false;
  const probe = spawnSync('sh', ['-c', 'd=$(mktemp -d) && mount -t tmpfs -o size=4k tmpfs "$d" && umount "$d"; s=$?; rmdir "$d"; exit $s']);
  return probe.status === 0;
}
