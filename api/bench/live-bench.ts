// Live-stream figures (a script, not a test):
//   bash -c 'ulimit -n 20000; npx tsx api/bench/live-bench.ts [--levels 1000,5000,10000] [--seconds 30] [--rate 500]'
// Phase 1: publish → SSE client latency at `rate` runs/s for `seconds`, a few unfiltered clients.
// Phase 2: for each level N, N SSE clients (raw-socket readers, spread over two client
// processes), each subscribed to one job of JOBS, while runs are published at `rate`/s:
// delivery p50/p99 over every client, and the API process's RSS.
// The API (one hub + one HTTP server) runs in its own child process so its RSS is its own.
// Latency = receipt time − published_at_ms (stamped just before the Kafka send; one machine, one clock).
// `liveBench()` is also used by the benchmark suite (bench/), which reads its figures.
import { pathToFileURL } from 'node:url';
import { fork, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { serve } from '@hono/node-server';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { createLiveHub } from '../live/live-hub.ts';
import { liveRoutes } from '../live/live-routes.ts';
import { RUN_EVENT_SCHEMA_ID, type RunEvent } from '../../ingest/event/run-event.ts';
import { encodeEvent } from '../../ingest/event/wire.ts';
import { createKafka, createProducer, ensureTopic } from '../../ingest/kafka/index.ts';
import { localKafkaBrokers } from '../../stack/local-defaults.ts';

const JOBS = 100;
const brokers = localKafkaBrokers.split(',');
const MAX_MS = 60_000;
const PUBLISHED = Buffer.from('"published_at_ms":');

const args = process.argv.slice(2);
const flag = (name: string, fallback: string) => {
  const at = args.indexOf(`--${name}`);
  return at >= 0 ? args[at + 1] ?? fallback : fallback;
};

type ToParent = { type: 'ready'; port?: number } | { type: 'histogram'; counts: number[]; over: number; connected: number; failed: number };

const direct = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (direct && args[0] === 'serve') await serveApi(flag('topic', ''));
else if (direct && args[0] === 'clients') await runClients(flag('url', ''), Number(flag('count', '0')), Number(flag('offset', '0')), flag('filter', 'job'));
else if (direct) await main();

/** The API side: one hub and one HTTP server, as api/index.ts would wire them. */
async function serveApi(topic: string): Promise<void> {
  const hub = createLiveHub({ kafka: createKafka({ brokers, clientId: 'live-bench' }), topic, sinkGroup: 'live-bench-none', log: (line) => console.error(line) });
  await hub.start();
  const app = liveRoutes(hub);
  app.get('/bench/metrics', (c) => c.json({ ...hub.metrics(), rssMb: Math.round(process.memoryUsage().rss / 2 ** 20) }));
  const server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, (info: AddressInfo) => process.send!({ type: 'ready', port: info.port } satisfies ToParent));
  process.on('disconnect', () => void hub.stop().finally(() => { server.close(); process.exit(0); }));
}

/** A client process: `count` SSE readers; reports a latency histogram (1 ms buckets) when asked. */
async function runClients(url: string, count: number, offset: number, filter: string): Promise<void> {
  let counts = new Array<number>(MAX_MS).fill(0);
  let over = 0;
  let connected = 0;
  let failed = 0;
  const record = (at: number, publishedAtMs: number) => {
    const ms = at - publishedAtMs;
    if (ms >= 0 && ms < MAX_MS) counts[ms]!++;
    else over++;
  };
  process.on('message', (message: { type: string }) => {
    if (message.type === 'reset') {
      counts = new Array<number>(MAX_MS).fill(0);
      over = 0;
    }
    if (message.type === 'report') process.send!({ type: 'histogram', counts, over, connected, failed } satisfies ToParent);
  });
  process.on('disconnect', () => process.exit(0));
  const { hostname, port } = new URL(url);
  const open = (i: number) => new Promise<void>((resolve) => {
    const query = filter === 'all' ? '' : `?job=job-${(offset + i) % JOBS}`;
    let up = false;
    const socket = connectRawSse(hostname, Number(port), `/api/v1/live${query}`, {
      onHead(status) {
        up = status === 200;
        if (up) connected++;
        else socket.destroy();
        resolve();
      },
      onPublishedAt: record,
      onClose() {
        if (up) connected--;
        failed++;
        resolve();
      },
    });
  });
  // Ramp in steps, so the listen backlog (somaxconn) is not the thing being measured.
  for (let i = 0; i < count; i += 250) {
    await Promise.all(Array.from({ length: Math.min(250, count - i) }, (_, k) => open(i + k)));
  }
  process.send!({ type: 'ready' } satisfies ToParent);
}

/**
 * One SSE reader on a raw socket, as cheap as a reader can be: 10,000 of them share the
 * bench's CPU with the API. A message counts as received when its last byte has arrived (the
 * blank line ending it); each run in a `runs` message is timed by its `published_at_ms`. The
 * hub writes one whole message per HTTP chunk, so the chunk-size lines of the chunked
 * encoding fall between messages and never inside one.
 */
function connectRawSse(host: string, port: number, path: string, on: { onHead(status: number): void; onPublishedAt(at: number, publishedAtMs: number): void; onClose(): void }): Socket {
  const socket = connect(port, host);
  let head = true;
  // Bytes of a message not complete yet (rare: a frame split over two reads).
  let rest: Buffer | null = null;
  socket.setNoDelay(true);
  socket.on('connect', () => socket.write(`GET ${path} HTTP/1.1\r\nHost: ${host}:${port}\r\nAccept: text/event-stream\r\n\r\n`));
  socket.on('data', (chunk: Buffer) => {
    const at = Date.now();
    let data = rest ? Buffer.concat([rest, chunk]) : chunk;
    rest = null;
    if (head) {
      const end = data.indexOf('\r\n\r\n');
      if (end < 0) {
        rest = data;
        return;
      }
      head = false;
      on.onHead(Number(data.toString('latin1', 9, 12)));
      data = data.subarray(end + 4);
    }
    const last = data.lastIndexOf('\n\n');
    if (last < 0) {
      rest = data.length > 0 ? data : null;
      return;
    }
    for (let i = data.indexOf(PUBLISHED); i >= 0 && i < last; i = data.indexOf(PUBLISHED, i)) {
      i += PUBLISHED.length;
      let ms = 0;
      for (let c = data[i]!; c >= 48 && c <= 57; c = data[++i]!) ms = ms * 10 + (c - 48);
      on.onPublishedAt(at, ms);
    }
    if (last + 2 < data.length) rest = data.subarray(last + 2);
  });
  socket.on('error', () => {});
  socket.on('close', () => on.onClose());
  return socket;
}

async function main(): Promise<void> {
  await liveBench({
    seconds: Number(flag('seconds', '30')),
    rate: Number(flag('rate', '500')),
    levels: flag('levels', '1000,5000,10000').split(',').map(Number).filter((n) => n > 0),
    log: (line) => console.log(line),
  });
  process.exit(0);
}

export interface LiveLevel {
  clients: number; connected: number; failed: number; published: number; deliveries: number; p50Ms: number; p99Ms: number; rssMb: number;
  /** CPU used while publishing, in % of one core: the API process, and the bench's client processes summed. */
  apiCpuPct: number; clientsCpuPct: number;
  /** The machine's 1-minute load average when the level started (the bench shares it). */
  loadAverage: number;
}
export interface LiveBenchResult { latency: { p50Ms: number; p99Ms: number; deliveries: number } | null; rssIdleMb: number; levels: LiveLevel[] }

/** `unfiltered: false` skips phase 1 (the suite in bench/ reads only the levels). */
export async function liveBench({ seconds, rate, levels, log, unfiltered = true }: { seconds: number; rate: number; levels: number[]; log: (line: string) => void; unfiltered?: boolean }): Promise<LiveBenchResult> {
  const console = { log };
  const topic = `bench.live.${Date.now()}`;
  await ensureTopic(brokers, topic, 6);
  const api = fork(new URL(import.meta.url).pathname, ['serve', '--topic', topic], { execArgv: ['--import', 'tsx', ...profile('api')], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const { port } = await nextMessage(api, 'ready');
  const url = `http://127.0.0.1:${port}`;
  const rss = () => Math.round(Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${api.pid}/status`, 'utf8'))?.[1] ?? 0) / 1024);
  const rssIdleMb = rss();
  console.log(`topic ${topic}, API pid ${api.pid} at ${url}; publishing ${rate} runs/s over ${JOBS} jobs; API RSS idle ${rssIdleMb} MB`);

  const producer = createProducer(createKafka({ brokers, clientId: 'live-bench-producer' }));
  await producer.connect();
  let sequence = 0;
  /** Publishes at `rate` runs/s in 20 ms batches until `ms` elapsed. */
  const publishFor = async (ms: number) => {
    const started = Date.now();
    let sent = 0;
    while (Date.now() - started < ms) {
      const due = Math.floor(((Date.now() - started) / 1000) * rate) - sent;
      if (due > 0) {
        const now = Date.now();
        const events = Array.from({ length: due }, () => benchEvent(sequence++, now));
        await producer.send(topic, events.map(encodeEvent), 10_000);
        sent += due;
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return sent;
  };

  // Phase 1: latency with a few unfiltered clients.
  const result: LiveBenchResult = { latency: null, rssIdleMb: 0, levels: [] };
  if (unfiltered) {
    const phase1 = await startClients(url, 5, 'all', 1);
    await publishFor(2_000);
    await resetAll(phase1);
    const sent1 = await publishFor(seconds * 1000);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const h1 = await collect(phase1);
    result.latency = { p50Ms: quantileMs(h1, 0.5), p99Ms: quantileMs(h1, 0.99), deliveries: h1.total };
    console.log(`publish → SSE, ${rate} runs/s for ${seconds} s, 5 unfiltered clients: ${sent1} runs published, ${h1.total} deliveries; ${describe(h1)}; API RSS ${rss()} MB`);
    for (const child of phase1) child.disconnect();
  }

  // Phase 2: capacity.
  for (const level of levels) {
    const clients = await startClients(url, level, 'job', 2);
    await publishFor(3_000);
    await resetAll(clients);
    const levelSeconds = Math.min(seconds, 20);
    const cpuBefore = [api, ...clients].map((child) => cpuSeconds(child.pid));
    const loadBefore = loadavg()[0]!;
    const sent = await publishFor(levelSeconds * 1000);
    const [apiCpu, ...clientCpu] = [api, ...clients].map((child, i) => Math.round((100 * (cpuSeconds(child.pid) - cpuBefore[i]!)) / levelSeconds));
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const h = await collect(clients);
    const metrics = (await (await fetch(`${url}/bench/metrics`)).json()) as { connectedClients: number; cutoffs: Record<string, number>; pendingBytes: number };
    result.levels.push({ clients: level, connected: metrics.connectedClients, failed: h.failed, published: sent, deliveries: h.total, p50Ms: quantileMs(h, 0.5), p99Ms: quantileMs(h, 0.99), rssMb: rss(), apiCpuPct: apiCpu!, clientsCpuPct: clientCpu.reduce((a, b) => a + b, 0), loadAverage: loadBefore });
    console.log(`${level} clients (each job=1 of ${JOBS}; hub sees ${metrics.connectedClients} connected, ${h.failed} failed/closed), ${rate} runs/s for ${levelSeconds} s: ${sent} published, ${h.total} deliveries (expected ≈ ${Math.round((sent * level) / JOBS)}); ${describe(h)}; API RSS ${rss()} MB; CPU (% of one core) API ${apiCpu}, clients ${clientCpu.join(' + ')}; load average ${loadBefore.toFixed(1)} (${cpus().length} cores); cutoffs ${JSON.stringify(metrics.cutoffs)}`);
    for (const child of clients) child.disconnect();
    await new Promise((resolve) => setTimeout(resolve, 2_000));
  }
  await producer.disconnect();
  api.disconnect();
  return { ...result, rssIdleMb };
}

/** utime + stime of a process, in seconds (Linux /proc). */
function cpuSeconds(pid: number | undefined): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** RUNLENS_LIVE_BENCH_PROFILE=dir: CPU profiles of the API and client processes (written when they exit). */
function profile(name: string): string[] {
  const dir = process.env['RUNLENS_LIVE_BENCH_PROFILE'];
  return dir ? ['--cpu-prof', `--cpu-prof-dir=${dir}`] : [];
}

/** The q-quantile of a 1 ms histogram; Infinity when it lies beyond the histogram. */
function quantileMs({ counts, total }: { counts: number[]; total: number }, q: number): number {
  let seen = 0;
  for (let ms = 0; ms < counts.length; ms++) {
    seen += counts[ms]!;
    if (seen >= q * total && total > 0) return ms;
  }
  return Number.POSITIVE_INFINITY;
}

function benchEvent(i: number, now: number): RunEvent {
  const job = i % JOBS;
  return {
    schema: RUN_EVENT_SCHEMA_ID, run_date: '2026-11-21', key: `bench-${i}`, job: `job-${job}`, host: `host-${i % 17}`,
    attempt: 1, status: i % 13 === 0 ? 'failed' : 'succeeded', started_at_ms: now - 800, finished_at_ms: now, exit_code: 0,
    labels: { team: `team-${job % 7}`, env: 'prod' }, error_type: '', error_message: '', metrics: [], metrics_truncated: false,
    files: [{ name: 'result.json', content: JSON.stringify({ rows: i, note: 'x'.repeat(1_500) }), size: 1_520, truncated: false }],
    source: 'publish', origin: 'live-bench', written_at_ms: now, published_at_ms: now,
  };
}

async function startClients(url: string, total: number, filter: 'all' | 'job', processes: number): Promise<ChildProcess[]> {
  const children: ChildProcess[] = [];
  const per = Math.ceil(total / processes);
  for (let p = 0; p < processes; p++) {
    const count = Math.min(per, total - p * per);
    if (count <= 0) break;
    const child = fork(new URL(import.meta.url).pathname, ['clients', '--url', url, '--count', String(count), '--offset', String(p * per), '--filter', filter], {
      execArgv: ['--import', 'tsx', '--max-old-space-size=4096', ...profile('clients')], stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    children.push(child);
  }
  await Promise.all(children.map((child) => nextMessage(child, 'ready')));
  return children;
}

async function resetAll(children: ChildProcess[]): Promise<void> {
  for (const child of children) child.send({ type: 'reset' });
  await new Promise((resolve) => setTimeout(resolve, 50));
}

async function collect(children: ChildProcess[]): Promise<{ counts: number[]; over: number; total: number; failed: number }> {
  const reports = await Promise.all(children.map((child) => {
    const reply = nextMessage(child, 'histogram');
    child.send({ type: 'report' });
    return reply;
  }));
  const counts = new Array<number>(MAX_MS).fill(0);
  let over = 0;
  let failed = 0;
  for (const report of reports) {
    report.counts.forEach((n, ms) => { counts[ms]! += n; });
    over += report.over;
    failed += report.failed;
  }
  return { counts, over, failed, total: counts.reduce((a, b) => a + b, 0) + over };
}

function describe({ counts, over, total }: { counts: number[]; over: number; total: number }): string {
  if (total === 0) return 'no deliveries';
  const at = (q: number) => {
    let seen = 0;
    for (let ms = 0; ms < counts.length; ms++) {
      seen += counts[ms]!;
      if (seen >= q * total) return `${ms} ms`;
    }
    return `>${MAX_MS} ms`;
  };
  let max = 0;
  counts.forEach((n, ms) => { if (n > 0) max = ms; });
  return `p50 ${at(0.5)}, p99 ${at(0.99)}, max ${over > 0 ? `>${MAX_MS}` : max} ms`;
}

function nextMessage<T extends ToParent['type']>(child: ChildProcess, type: T): Promise<Extract<ToParent, { type: T }>> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: ToParent) => {
      if (message.type !== type) return;
      child.off('message', onMessage);
      resolve(message as Extract<ToParent, { type: T }>);
    };
    child.on('message', onMessage);
    child.once('exit', (code) => reject(new Error(`child exited (${code}) before '${type}'`)));
  });
}
