// Faults and abuse at the API: an instance SIGKILLed under 500 SSE clients, ClickHouse hung
// and then down while the API is under load, the publish spool's disk full, and a SQL
// console user trying to write or run away. The API runs as real `runlens api` children on
// the fault suite's own stack, against its `runlens` database.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openLiveStream, type LiveStream } from '../../dashboard/live/index.ts';
import { createPublisher } from '../../ingest/publish/publisher.ts';
import { SpoolFullError } from '../../ingest/spool/errors.ts';
import { buildTreeEvents, samplesRoot } from '../support/sample-events.ts';
import type { RunEvent } from '../../ingest/event/run-event.ts';
import { createTestPipeline, type TestPipeline } from '../support/pipeline.ts';
import { pollUntil } from '../support/poll.ts';
import { faultPortBase, faultStackEnv, pipelineEnv, runlens, type RunlensChild } from './private-stack.ts';
import { recordOutcome } from './report.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const AUTH = { Authorization: 'Bearer dev-analyst' };
const PORTS = { a: faultPortBase + 181, b: faultPortBase + 182 };

let pipeline: TestPipeline;
let work: string;
let env: NodeJS.ProcessEnv;
const children: RunlensChild[] = [];
const apis: Partial<Record<'a' | 'b', RunlensChild>> = {};

function startApi(name: 'a' | 'b'): RunlensChild {
  const child = runlens(`api-${name}`, ['api'], { ...env, RUNLENS_API_PORT: String(PORTS[name]), RUNLENS_API_QUERY_TIMEOUT_MS: '3000' }, work);
  children.push(child);
  apis[name] = child;
  return child;
}

async function waitHealthy(name: 'a' | 'b'): Promise<void> {
  await pollUntil(() => fetch(`http://127.0.0.1:${PORTS[name]}/healthz`).then((r) => r.status), (status) => status === 200, { timeoutMs: 60_000, what: `api ${name} healthy` });
}

function rssMb(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:')) ?? 'VmRSS: 0 kB';
  return Number(/\d+/.exec(line)?.[0] ?? 0) / 1024;
}

function template(): RunEvent {
  const built = buildTreeEvents(samplesRoot).find(({ outcome }) => outcome.ok)!.outcome;
  if (!built.ok) throw new Error('no sample');
  return built.event;
}

beforeAll(async () => {
  // The API's ClickHouse users may only read the `runlens` database: on this private
  // server, that database is the suite's to create and drop.
  pipeline = await createTestPipeline('api_faults', { ...faultStackEnv, RUNLENS_CLICKHOUSE_DATABASE: 'runlens' });
  work = mkdtempSync(join(tmpdir(), 'runlens-api-faults-'));
  env = { ...pipelineEnv(pipeline, work), RUNLENS_ALERTING: '0' };
  children.push(runlens('sink', ['sink'], env, work));
  startApi('a');
  startApi('b');
  await Promise.all([waitHealthy('a'), waitHealthy('b')]);
}, 240_000);

afterAll(async () => {
  await Promise.all(children.map((child) => child.kill('SIGKILL')));
  await pipeline?.close();
});

describe('the API under faults and abuse', () => {
  it('an API instance SIGKILLed under 500 connected SSE clients: every client resumes on the other instance without gap or repeat', async () => {
    const clients = 500;
    const published = 300;
    const received = Array.from({ length: clients }, () => new Map<string, number>());
    const streams: LiveStream[] = [];
    for (let i = 0; i < clients; i++) {
      streams.push(openLiveStream({
        urls: [`http://127.0.0.1:${PORTS.a}/api/v1/live`, `http://127.0.0.1:${PORTS.b}/api/v1/live`],
        headers: AUTH,
        backoff: { initialMs: 100, maxMs: 2_000 },
        onRuns: (runs) => {
          for (const run of runs) received[i]!.set(run.id, (received[i]!.get(run.id) ?? 0) + 1);
        },
      }));
    }
    await pollUntil(async () => streams.filter((s) => s.connections > 0).length, (n) => n === clients, { timeoutMs: 60_000, what: 'all clients connected' });

    const publisher = await createPublisher(pipeline.config, { log: () => {}, spoolDir: join(work, 'spool-live') });
    const base = template();
    const doomed = apis.a!;
    for (let i = 0; i < published; i++) {
      await publisher.publish([{ ...base, run_date: '2026-11-21', key: `failover-${i}`, written_at_ms: Date.now() }]);
      if (i === published / 3) await doomed.kill('SIGKILL'); // instance a dies mid-stream
      await sleep(10);
    }
    await publisher.close();

    const complete = (counts: Map<string, number>) => Array.from({ length: published }, (_, i) => counts.get(`2026-11-21/failover-${i}`) ?? 0);
    await pollUntil(async () => received.filter((counts) => complete(counts).every((n) => n >= 1)).length, (n) => n === clients, {
      timeoutMs: 90_000,
      what: 'every client to have every run',
    });
    for (const stream of streams) stream.close();
    const missing = received.reduce((sum, counts) => sum + complete(counts).filter((n) => n === 0).length, 0);
    const repeated = received.reduce((sum, counts) => sum + complete(counts).filter((n) => n > 1).length, 0);
    recordOutcome({
      family: 'fault',
      what: 'API instance SIGKILL with 500 SSE clients connected; clients move to the other instance',
      load: `${clients} SSE clients, ${published} runs published`,
      expected: clients * published,
      found: clients * published - missing,
      lost: missing,
      duplicated: repeated,
      outcome: missing + repeated === 0 ? 'every client got every run exactly once' : 'FAILED',
    });
    expect(missing).toBe(0);
    expect(repeated).toBe(0);
  });

  it('ClickHouse hung (SIGSTOP) under a burst of requests: the API answers 503 with Retry-After within its deadline, never hangs, memory stays bounded, and recovers', async () => {
    const api = apis.b!;
    const clickhousePid = Number(readFileSync(join(faultStackEnv.RUNLENS_STATE_DIR, 'clickhouse', 'clickhouse.pid'), 'utf8').trim());
    const url = `http://127.0.0.1:${PORTS.b}/api/v1/runs?from=2026-11-01T00:00:00Z&to=2026-11-22T00:00:00Z`;
    const rssBefore = rssMb(api.process.pid!);
    const outcomes: Array<{ status: number; retryAfter: string | null; ms: number }> = [];
    const burst = async (n: number) => {
      await Promise.all(Array.from({ length: n }, async (_, i) => {
        const started = Date.now();
        // Distinct queries, so coalescing does not fold them into one.
        const response = await fetch(`${url}&key_prefix=probe-${i}`, { headers: AUTH, signal: AbortSignal.timeout(30_000) });
        outcomes.push({ status: response.status, retryAfter: response.headers.get('retry-after'), ms: Date.now() - started });
        await response.arrayBuffer();
      }));
    };
    process.kill(clickhousePid, 'SIGSTOP');
    try {
      await burst(200);
    } finally {
      process.kill(clickhousePid, 'SIGCONT');
    }
    const rssAfter = rssMb(api.process.pid!);
    const unavailable = outcomes.filter((o) => o.status === 503 && o.retryAfter !== null);
    const slowest = Math.max(...outcomes.map((o) => o.ms));
    recordOutcome({
      family: 'load',
      what: 'ClickHouse hung (SIGSTOP) while 200 search requests arrive at once',
      load: '200 concurrent /api/v1/runs requests, query timeout 3 s',
      expected: 200,
      found: outcomes.length,
      lost: 200 - outcomes.length,
      duplicated: 0,
      outcome: `${unavailable.length} × 503 + Retry-After, slowest answer ${slowest} ms, API RSS ${rssBefore.toFixed(0)} → ${rssAfter.toFixed(0)} MB`,
    });
    expect(outcomes).toHaveLength(200);
    expect(unavailable).toHaveLength(200);
    expect(slowest).toBeLessThan(3_000 + 5_000 + 2_000); // the query timeout, the client's grace, slack
    expect(rssAfter - rssBefore).toBeLessThan(200);
    // And answers again once ClickHouse is back.
    await pollUntil(() => fetch(url, { headers: AUTH }).then((r) => r.status), (status) => status === 200, { timeoutMs: 30_000, what: 'the API answering again' });
  });

  it('publish with a full spool disk fails loudly, and nothing it accepted is lost', async () => {
    const spoolDir = join(work, 'tiny-spool');
    mkdirSync(spoolDir, { recursive: true });
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', spoolDir]);
    } catch (error) {
      throw new Error(`this test needs root to mount a small tmpfs: ${(error as Error).message}`);
    }
    try {
      const unreachable = { ...pipeline.config, kafka: { ...pipeline.config.kafka, brokers: ['127.0.0.1:1'] } };
      const offline = await createPublisher(unreachable, { log: () => {}, spoolDir, kafkaTimeoutMs: 500, connectionTimeoutMs: 300 });
      const base = template();
      let accepted = 0;
      let refusal: unknown = null;
      for (let i = 0; i < 10_000 && refusal === null; i++) {
        try {
          await offline.publish([{ ...base, key: `spool-${i}`, written_at_ms: Date.now() }]);
          accepted++;
        } catch (error) {
          refusal = error;
        }
      }
      await offline.close();
      expect(refusal).toBeInstanceOf(SpoolFullError);
      expect(String((refusal as Error).message)).toMatch(/spool|space|full/i);

      const online = await createPublisher(pipeline.config, { log: () => {}, spoolDir });
      const drained = await online.drain({ timeoutMs: 60_000 });
      await online.close();
      const db = pipeline.config.clickhouse.database;
      const stored = await pollUntil(
        () => pipeline.query<{ n: number }>(`SELECT uniqExact(key) AS n FROM ${db}.runs WHERE key LIKE 'spool-%'`),
        (rows) => rows[0]?.n === accepted,
        { timeoutMs: 60_000, what: `${accepted} spooled runs in ClickHouse` },
      );
      recordOutcome({
        family: 'fault',
        what: 'spool on a full 256 KiB tmpfs while Kafka is unreachable',
        load: 'publish until refused, then drain',
        expected: accepted,
        found: stored[0]!.n,
        lost: accepted - stored[0]!.n,
        duplicated: 0,
        outcome: `refused with ${(refusal as Error).name} after ${accepted} accepted; ${drained.sent} drained`,
      });
    } finally {
      execFileSync('umount', [spoolDir]);
    }
  });

  it('the SQL console refuses writes, settings and system changes, stops runaway queries, caps huge results and rate-limits a token', async () => {
    const sqlUrl = `http://127.0.0.1:${PORTS.b}/api/v1/sql`;
    const ask = (query: string, token = 'dev-analyst') => fetch(sqlUrl, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ query }),
    });
    const refused: string[] = [];
    for (const query of [
      `INSERT INTO runlens.runs (key) VALUES ('x')`,
      'ALTER TABLE runlens.runs DELETE WHERE 1',
      'DROP TABLE runlens.runs',
      'SET max_threads = 1',
      'SYSTEM STOP MERGES',
      'CREATE TABLE runlens.evil (x UInt8) ENGINE = Memory',
      'KILL QUERY WHERE 1',
      'OPTIMIZE TABLE runlens.runs FINAL',
    ]) {
      const response = await ask(query);
      if (response.status >= 400 && response.status < 500) refused.push(query);
      await response.arrayBuffer();
    }
    const huge = await ask('SELECT number FROM system.numbers LIMIT 1000000');
    const hugeBody = await huge.json() as { rows?: unknown[]; truncated?: boolean; error?: { message: string } };
    const runaway = await ask('SELECT count() FROM system.numbers WHERE sipHash64(number) = 0');
    await runaway.arrayBuffer();
    const limited: number[] = [];
    for (let i = 0; i < 70; i++) {
      const response = await ask('SELECT 1', 'dev-admin');
      limited.push(response.status);
      await response.arrayBuffer();
    }
    const tableCount = await pipeline.query<{ n: number }>(`SELECT count() AS n FROM system.tables WHERE database = 'runlens' AND name = 'evil'`);
    recordOutcome({
      family: 'security',
      what: 'SQL console: INSERT, ALTER, DROP, SET, SYSTEM, CREATE, KILL, OPTIMIZE; a 1M-row result; a runaway scan; 70 queries/min from one token',
      load: '8 writes, 1 huge result, 1 runaway, 70 quick queries',
      expected: 8,
      found: refused.length,
      lost: 0,
      duplicated: 0,
      outcome: `${refused.length}/8 writes refused; huge result ${huge.status}${hugeBody.truncated ? ' (capped)' : ''}; runaway ${runaway.status}; ${limited.filter((s) => s === 429).length} of 70 rate-limited`,
    });
    expect(refused).toHaveLength(8);
    expect(tableCount[0]?.n).toBe(0);
    expect(huge.status === 400 || hugeBody.truncated === true).toBe(true);
    expect(runaway.status).toBeGreaterThanOrEqual(400);
    expect(runaway.status).toBeLessThan(500);
    expect(limited).toContain(429);
  });
});
