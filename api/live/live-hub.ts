// The live hub of one API instance: it reads the whole run-events topic itself, keeps a
// capped window of recent run summaries, and every tick (250 ms) sends each connected client
// one frame with the runs it subscribed to since its last frame. Clients are transport-
// agnostic outlets (LiveOutlet); live-routes.ts adapts Node's response (node-outlet.ts), or
// hono's SSE stream where there is none, to one.
//
// Scale (10,000 clients on one instance): a tick's work grows with the distinct
// subscriptions, not the clients. Live clients are grouped by subscription key; per group
// the runs are selected and the frame serialised once (client-groups.ts) and the same bytes
// are written to each client in step. Writes are never awaited and carry no promise or timer
// per client: backpressure is the outlet's pending byte count, read once per tick.
//
// Why a consumer group per instance: kafkajs only consumes through a group (no manual
// assignment). A group of its own (`runlens-live-<uuid>`) makes this instance the only
// member, so it is assigned every partition and sees every event whatever other instances
// do. It starts at the topic's end offsets read at start (explicit seeks, so the hub's
// position is exact from the first message) and commits what it has read, only so that a
// kafkajs rejoin (after a session timeout or a retriable crash) resumes at that point
// instead of "latest"; messages below the hub's head are skipped, so a re-read after a
// rejoin never duplicates. The group is deleted on stop.
import { randomUUID } from 'node:crypto';
import { createConsumer, KafkaRetriableError, toKafkaError, type Consumer, type EachBatchPayload, type Kafka } from '../../ingest/kafka/index.ts';
import { decodeEvent } from '../../ingest/event/wire.ts';
import { RUN_EVENT_SCHEMA_ID } from '../../ingest/event/run-event.ts';
import { readRange } from './kafka-range.ts';
import { encodePosition, maxPosition, samePosition, withPartitions, type Position } from './position.ts';
import { RetainedWindow, type WindowEntry } from './retained-window.ts';
import { summarize } from './run-summary.ts';
import { SubscriptionGroups, TickRuns } from './client-groups.ts';
import { matches, type Subscription } from './subscription.ts';

export interface LiveHubOptions {
  /** At most one `runs` frame per client per tick. */
  tickMs: number;
  /** A frame carrying only the position after this long without one (keeps ids fresh, proxies open). */
  heartbeatMs: number;
  windowMaxEvents: number;
  /** Bytes of summary JSON the window may hold. */
  windowMaxBytes: number;
  /** Bytes written to a client and not yet taken by its socket; beyond this it is cut off. */
  clientMaxPendingBytes: number;
  /** A client whose writes have not drained for this long is cut off. */
  clientStallMs: number;
  /** After a cutoff or reload frame, how long the socket may take to flush it before it is destroyed. */
  closeGraceMs: number;
  /** Runs per frame when a backlog (window or Kafka) is replayed. */
  backlogFrameRuns: number;
  /** A resume further behind than this (events summed over partitions) gets `reload` instead. */
  maxCatchUpEvents: number;
  catchUpTimeoutMs: number;
  maxConcurrentCatchUps: number;
  maxClients: number;
}

export const DEFAULT_LIVE_OPTIONS: LiveHubOptions = {
  tickMs: 250,
  heartbeatMs: 15_000,
  windowMaxEvents: 50_000,
  windowMaxBytes: 32 * 1024 * 1024,
  clientMaxPendingBytes: 1024 * 1024,
  clientStallMs: 10_000,
  closeGraceMs: 2_000,
  backlogFrameRuns: 1_000,
  maxCatchUpEvents: 500_000,
  catchUpTimeoutMs: 30_000,
  maxConcurrentCatchUps: 4,
  maxClients: 20_000,
};

export interface LiveHubDeps {
  /** From ingest/kafka createKafka: the hub never imports kafkajs itself. */
  kafka: Kafka;
  topic: string;
  /** The ClickHouse sink's consumer group: its committed offsets are the query watermark. */
  sinkGroup: string;
  instanceId?: string;
  options?: Partial<LiveHubOptions>;
  log?: (line: string) => void;
  now?: () => number;
}

/** One connected client, as the hub sees it. */
export interface LiveOutlet {
  /** Queues the bytes for the client; never blocks (the hub watches `pendingBytes`). */
  write(frame: Uint8Array): void;
  /** Bytes written and not yet taken by the transport: socket backpressure. */
  pendingBytes(): number;
  /** Ends the stream after what was written; `destroy` ends it even if the socket is stuck. */
  close(): void;
  destroy(): void;
}

export interface AttachRequest {
  subscription: Subscription;
  /** Resume position (Last-Event-ID or ?from=); null starts at the hub's head. */
  from: Position | null;
  outlet: LiveOutlet;
}

export interface LiveSession {
  /** Resolves when the hub is done with the client (cutoff, reload, stop, or detach). */
  readonly done: Promise<void>;
  /** The client went away: forget it. */
  detach(): void;
}

export type CutoffReason = 'slow-client' | 'overrun' | 'catch-up-failed' | 'shutdown' | 'hub-failed';

export interface LiveMetrics {
  connectedClients: number;
  catchingUpClients: number;
  /** Messages read from Kafka (any kind) and run events among them. */
  messagesIn: number;
  runsIn: number;
  undecodable: number;
  framesOut: number;
  runsOut: number;
  bytesOut: number;
  pendingBytes: number;
  cutoffs: Record<CutoffReason, number>;
  reloads: number;
  resumesFromWindow: number;
  resumesFromKafka: number;
  windowEvents: number;
  windowBytes: number;
}

export interface LiveHub {
  start(): Promise<void>;
  /** Ends every client with `cutoff` (reason shutdown), stops reading, deletes the group. */
  stop(): Promise<void>;
  attach(request: AttachRequest): LiveSession;
  /** Per partition the next offset the hub will read. */
  head(): Position;
  /** The query watermark: every event before it is stored in ClickHouse (see README). */
  watermark(): Promise<Position>;
  metrics(): LiveMetrics;
  readonly instanceId: string;
  readonly accepting: boolean;
}

interface Client {
  subscription: Subscription;
  outlet: LiveOutlet;
  /** Everything before this position has been considered for the client (sent or filtered out). */
  cursor: Position;
  live: boolean;
  closed: boolean;
  /** The first tick that found bytes pending (drained since: null). */
  pendingSince: number | null;
  lastFrameAt: number;
  resolveDone: () => void;
}

const encoder = new TextEncoder();

/** One SSE message: `data` must be a single line (JSON never contains a raw newline). */
export function sseFrame(event: string, id: string | null, data: string, retryMs?: number): Uint8Array {
  return encoder.encode(`event: ${event}\n${id === null ? '' : `id: ${id}\n`}${retryMs === undefined ? '' : `retry: ${retryMs}\n`}data: ${data}\n\n`);
}

export function createLiveHub(deps: LiveHubDeps): LiveHub {
  const options: LiveHubOptions = { ...DEFAULT_LIVE_OPTIONS, ...deps.options };
  const log = deps.log ?? ((line: string) => console.error(line));
  const now = deps.now ?? Date.now;
  const instanceId = deps.instanceId ?? randomUUID();
  const groupId = `runlens-live-${instanceId}`;
  const admin = deps.kafka.admin();
  const clients = new Set<Client>();
  /** The live clients (caught up), by subscription: what a tick fans out to. */
  const groups = new SubscriptionGroups<Client>();
  const metrics = {
    messagesIn: 0, runsIn: 0, undecodable: 0, framesOut: 0, runsOut: 0, bytesOut: 0,
    cutoffs: { 'slow-client': 0, overrun: 0, 'catch-up-failed': 0, shutdown: 0, 'hub-failed': 0 } as Record<CutoffReason, number>,
    reloads: 0, resumesFromWindow: 0, resumesFromKafka: 0,
  };
  let consumer: Consumer | null = null;
  let window: RetainedWindow | null = null;
  let headPosition = new Map<number, number>();
  let partitions = 0;
  let timer: NodeJS.Timeout | null = null;
  let accepting = false;
  let tickSeq = 0;
  let tickHead: Position = new Map();
  let catchUpsRunning = 0;
  const catchUpQueue: Array<() => void> = [];

  function take({ batch }: EachBatchPayload): Promise<void> {
    const partition = batch.partition;
    for (const message of batch.messages) {
      const offset = Number(message.offset);
      // Below the head: a re-read after a kafkajs rejoin; the hub has it already.
      if (offset < (headPosition.get(partition) ?? 0)) continue;
      metrics.messagesIn++;
      headPosition.set(partition, offset + 1);
      const decoded = decodeEvent(message.value);
      if (!decoded.ok) {
        metrics.undecodable++;
        continue;
      }
      if (decoded.event.schema !== RUN_EVENT_SCHEMA_ID) continue;
      metrics.runsIn++;
      const run = summarize(decoded.event);
      window!.append(partition, offset, run, JSON.stringify(run));
    }
    return Promise.resolve();
  }

  function write(client: Client, frame: Uint8Array, runs: number, at: number): void {
    if (client.closed) return;
    client.lastFrameAt = at;
    metrics.framesOut++;
    metrics.runsOut += runs;
    metrics.bytesOut += frame.byteLength;
    client.outlet.write(frame);
  }

  /**
   * Writes and waits until the socket took everything (catch-up only: a backlog is sent frame
   * by frame, never queued whole). False when the client stalls: no byte taken for clientStallMs.
   */
  async function writeAndWait(client: Client, frame: Uint8Array, runs: number): Promise<boolean> {
    if (client.closed) return false;
    write(client, frame, runs, now());
    let pending = client.outlet.pendingBytes();
    let progressAt = now();
    while (pending > 0 && !client.closed) {
      await new Promise((resolve) => setTimeout(resolve, 5));
      const left = client.outlet.pendingBytes();
      if (left < pending) progressAt = now();
      else if (now() - progressAt > options.clientStallMs) return false;
      pending = left;
    }
    return !client.closed;
  }

  function forget(client: Client): void {
    client.closed = true;
    clients.delete(client);
    if (client.live) groups.delete(client);
    client.resolveDone();
  }

  function finish(client: Client, frame: Uint8Array | null): void {
    if (client.closed) return;
    if (frame) write(client, frame, 0, now());
    forget(client);
    client.outlet.close();
    // A stuck socket never drains the final frame: it must not hold the client's memory.
    if (client.outlet.pendingBytes() > 0) setTimeout(() => { if (client.outlet.pendingBytes() > 0) client.outlet.destroy(); }, options.closeGraceMs).unref();
  }

  /** Over the pending-bytes cap, or not drained for clientStallMs: the client cannot keep up. */
  function stalled(client: Client, at: number): boolean {
    const pending = client.outlet.pendingBytes();
    if (pending === 0) {
      client.pendingSince = null;
      return false;
    }
    client.pendingSince ??= at;
    return pending > options.clientMaxPendingBytes || at - client.pendingSince > options.clientStallMs;
  }

  function cutoff(client: Client, reason: CutoffReason): void {
    metrics.cutoffs[reason]++;
    const id = encodePosition(client.cursor);
    finish(client, sseFrame('cutoff', id, JSON.stringify({ position: id, reason })));
  }

  function reload(client: Client, reason: string): void {
    metrics.reloads++;
    // No id: the client's position is unusable; it reloads from a query and subscribes anew.
    finish(client, sseFrame('reload', null, JSON.stringify({ reason })));
  }

  function runsFrame(id: string, entries: readonly WindowEntry[]): Uint8Array {
    return sseFrame('runs', id, `[${entries.map((entry) => entry.json).join(',')}]`);
  }

  /** One frame per client with its runs since the last tick; slow clients are cut off. */
  function tick(): void {
    if (!window) return;
    const t0 = tickHead;
    const t1: Position = new Map(headPosition);
    const overrun = tickSeq < window.endSeq - window.size; // the window evicted runs no tick has sent
    const runs = new TickRuns(window.fromSeq(tickSeq));
    tickSeq = window.endSeq;
    tickHead = t1;
    const t1Id = encodePosition(t1);
    let heartbeat: Uint8Array | null = null;
    const at = now();
    for (const group of groups.values()) {
      // Built for the group's first client in step with the hub, then shared: null = nothing matched.
      let shared: { frame: Uint8Array; runs: number } | null | undefined;
      for (const client of group.clients) {
        // Only a client that needed what was evicted (one that caught up since still has it all).
        if (overrun && !window.covers(client.cursor)) { cutoff(client, 'overrun'); continue; }
        if (stalled(client, at)) { cutoff(client, 'slow-client'); continue; }
        let out: { frame: Uint8Array; runs: number } | null;
        if (client.cursor === t0 || samePosition(client.cursor, t0)) {
          if (shared === undefined) {
            const mine = runs.matching(group.subscription);
            shared = mine.length > 0 ? { frame: runsFrame(t1Id, mine), runs: mine.length } : null;
          }
          out = shared;
          client.cursor = t1;
        } else {
          // Joined mid-tick, or ahead of this hub (resumed from a position another instance gave).
          const cursor = client.cursor;
          const mine = runs.matching(group.subscription).filter((entry) => entry.offset >= (cursor.get(entry.partition) ?? 0));
          client.cursor = maxPosition(cursor, t1);
          out = mine.length > 0 ? { frame: runsFrame(encodePosition(client.cursor), mine), runs: mine.length } : null;
        }
        if (out) {
          write(client, out.frame, out.runs, at);
        } else if (at - client.lastFrameAt >= options.heartbeatMs) {
          const id = encodePosition(client.cursor);
          const frame = id === t1Id ? (heartbeat ??= sseFrame('heartbeat', t1Id, `{"position":"${t1Id}"}`)) : sseFrame('heartbeat', id, `{"position":"${id}"}`);
          write(client, frame, 0, at);
        }
      }
    }
  }

  /** Brings a resuming client from its position to the hub's head, then makes it live. */
  async function catchUp(client: Client): Promise<void> {
    let fromKafka = false;
    try {
      // A position beyond what Kafka holds can only come from another topic or cluster.
      if ([...client.cursor].some(([partition, offset]) => offset > (headPosition.get(partition) ?? 0))) {
        const offsets = await admin.fetchTopicOffsets(deps.topic);
        const beyond = offsets.find((entry) => (client.cursor.get(entry.partition) ?? 0) > Number(entry.high));
        if (beyond) return reload(client, `position ${client.cursor.get(beyond.partition)} on partition ${beyond.partition} is beyond the topic's end ${beyond.high}`);
      }
      for (let rounds = 0; !client.closed; rounds++) {
        if (rounds > 20) return cutoff(client, 'catch-up-failed'); // the client cannot keep up with the rate
        if (window!.covers(client.cursor)) {
          const backlog = window!.since(client.cursor);
          if (backlog.length === 0) {
            client.cursor = maxPosition(client.cursor, headPosition);
            if (!fromKafka) metrics.resumesFromWindow++;
            return goLive(client, fromKafka ? 'kafka' : 'window');
          }
          if (!(await sendBacklog(client, backlog))) return client.closed ? undefined : cutoff(client, 'slow-client');
          continue;
        }
        fromKafka = true;
        const done = await fromKafkaRange(client);
        if (done !== 'ok') return done === 'reload' || client.closed ? undefined : cutoff(client, 'catch-up-failed');
      }
    } catch (error) {
      log(`live: catch-up failed: ${(toKafkaError(error) as Error).message}`);
      if (!client.closed) cutoff(client, 'catch-up-failed');
    }
  }

  async function sendBacklog(client: Client, backlog: readonly WindowEntry[]): Promise<boolean> {
    const cursor = new Map(client.cursor);
    let chunk: WindowEntry[] = [];
    for (const entry of backlog) {
      cursor.set(entry.partition, entry.offset + 1);
      if (matches(client.subscription, entry.run)) chunk.push(entry);
      if (chunk.length >= options.backlogFrameRuns) {
        client.cursor = new Map(cursor);
        if (!(await writeAndWait(client, runsFrame(encodePosition(cursor), chunk), chunk.length))) return false;
        chunk = [];
      }
    }
    client.cursor = cursor;
    if (chunk.length > 0) return writeAndWait(client, runsFrame(encodePosition(cursor), chunk), chunk.length);
    return true;
  }

  async function fromKafkaRange(client: Client): Promise<'ok' | 'reload' | 'failed'> {
    await acquireCatchUpSlot();
    try {
      if (client.closed) return 'failed';
      const offsets = await admin.fetchTopicOffsets(deps.topic);
      const target: Position = new Map(headPosition);
      let behind = 0;
      for (const entry of offsets) {
        const at = client.cursor.get(entry.partition) ?? 0;
        if (at < Number(entry.low)) {
          reload(client, `Kafka no longer holds offset ${at} of partition ${entry.partition} (it starts at ${entry.low})`);
          return 'reload';
        }
        behind += Math.max(0, (target.get(entry.partition) ?? 0) - at);
      }
      if (behind > options.maxCatchUpEvents) {
        reload(client, `${behind} events behind, more than the ${options.maxCatchUpEvents} a resume replays`);
        return 'reload';
      }
      metrics.resumesFromKafka++;
      const cursor = new Map(client.cursor);
      const ok = await readRange({
        kafka: deps.kafka,
        topic: deps.topic,
        from: client.cursor,
        to: target,
        timeoutMs: options.catchUpTimeoutMs,
        onMessages: async (partition, messages) => {
          const chunk: WindowEntry[] = [];
          for (const message of messages) {
            cursor.set(partition, message.offset + 1);
            const decoded = decodeEvent(message.value);
            if (!decoded.ok || decoded.event.schema !== RUN_EVENT_SCHEMA_ID) continue;
            const run = summarize(decoded.event);
            if (matches(client.subscription, run)) chunk.push({ seq: -1, partition, offset: message.offset, run, json: JSON.stringify(run) });
          }
          // Per-partition progress is a valid resume point: partitions are independent.
          for (let start = 0; start < chunk.length; start += options.backlogFrameRuns) {
            const part = chunk.slice(start, start + options.backlogFrameRuns);
            const id = new Map(client.cursor);
            id.set(partition, start + part.length >= chunk.length ? cursor.get(partition)! : part[part.length - 1]!.offset + 1);
            if (!(await writeAndWait(client, runsFrame(encodePosition(id), part), part.length))) return false;
            client.cursor = id;
          }
          client.cursor = new Map(client.cursor).set(partition, cursor.get(partition)!);
          return !client.closed;
        },
      });
      if (!ok) return 'failed';
      client.cursor = maxPosition(client.cursor, target);
      return 'ok';
    } finally {
      releaseCatchUpSlot();
    }
  }

  function acquireCatchUpSlot(): Promise<void> {
    if (catchUpsRunning < options.maxConcurrentCatchUps) {
      catchUpsRunning++;
      return Promise.resolve();
    }
    return new Promise((resolve) => catchUpQueue.push(() => { catchUpsRunning++; resolve(); }));
  }

  function releaseCatchUpSlot(): void {
    catchUpsRunning--;
    catchUpQueue.shift()?.();
  }

  function goLive(client: Client, resumed: 'new' | 'window' | 'kafka'): void {
    if (client.closed) return;
    client.live = true;
    groups.add(client);
    const id = encodePosition(client.cursor);
    // `retry` tells a browser EventSource how soon to reconnect on its own.
    write(client, sseFrame('ready', id, JSON.stringify({ position: id, resumed, instance: instanceId }), 1_000), 0, now());
  }

  /**
   * The topic's offsets at start. While a partition's leader is being elected (a topic just
   * created, a broker just restarted) the broker answers NOT_LEADER_FOR_PARTITION or
   * LEADER_NOT_AVAILABLE: asked again for up to 30 s instead of failing the instance's start
   * (seen once in the live benchmark, right after it created its topic).
   */
  async function topicOffsetsOnceLed(): ReturnType<typeof admin.fetchTopicOffsets> {
    const deadline = Date.now() + 30_000;
    for (;;) {
      try {
        return await admin.fetchTopicOffsets(deps.topic);
      } catch (error) {
        const kafkaError = toKafkaError(error);
        if (!(kafkaError instanceof KafkaRetriableError) || Date.now() > deadline) throw error;
        log(`live: reading the offsets of ${deps.topic}: ${kafkaError.message}; asking again in 500 ms`);
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    }
  }

  const hub: LiveHub = {
    instanceId,
    get accepting() {
      return accepting;
    },

    async start() {
      await admin.connect();
      const offsets = await topicOffsetsOnceLed();
      partitions = offsets.length;
      headPosition = new Map(offsets.map((entry) => [entry.partition, Number(entry.high)]));
      window = new RetainedWindow(headPosition, options.windowMaxEvents, options.windowMaxBytes);
      tickHead = new Map(headPosition);
      tickSeq = window.endSeq;
      consumer = createConsumer(deps.kafka, { groupId, maxWaitTimeInMs: 100, sessionTimeout: 30_000, heartbeatInterval: 3_000 });
      const joined = new Promise<void>((resolve) => consumer!.on(consumer!.events.GROUP_JOIN, () => resolve()));
      consumer.on(consumer.events.CRASH, (event) => {
        if (event.payload.restart) return; // kafkajs rejoins; the committed offsets keep the position
        log(`live: the Kafka consumer stopped for good: ${(toKafkaError(event.payload.error) as Error).message}`);
        accepting = false;
        for (const client of [...clients]) cutoff(client, 'hub-failed');
      });
      await consumer.connect();
      await consumer.subscribe({ topic: deps.topic, fromBeginning: false });
      await consumer.run({ autoCommit: true, autoCommitInterval: 5_000, partitionsConsumedConcurrently: 1, eachBatch: take });
      await Promise.race([joined, new Promise((_, reject) => setTimeout(() => reject(new Error('live: joining the Kafka group took over 30 s')), 30_000).unref())]);
      // Only after the join: kafkajs refuses a seek before its group exists ("consumer#run must
      // be called first" even after run() resolved, seen on a loaded machine). Anything fetched
      // before the seek lies at or after the head position and is read again from there, where
      // the hub's own position skips what it has already taken.
      for (const [partition, offset] of headPosition) consumer.seek({ topic: deps.topic, partition, offset: String(offset) });
      timer = setInterval(tick, options.tickMs);
      accepting = true;
    },

    async stop() {
      accepting = false;
      if (timer) clearInterval(timer);
      for (const client of [...clients]) cutoff(client, 'shutdown');
      try {
        await consumer?.disconnect();
        await admin.deleteGroups([groupId]).catch(() => {}); // an empty group of our own; best effort
      } finally {
        await admin.disconnect();
      }
    },

    attach({ subscription, from, outlet }) {
      let resolveDone!: () => void;
      const done = new Promise<void>((resolve) => { resolveDone = resolve; });
      const client: Client = {
        subscription, outlet, cursor: tickHead, live: false, closed: false, pendingSince: null, lastFrameAt: now(), resolveDone,
      };
      clients.add(client);
      if (from === null) goLive(client, 'new');
      else {
        client.cursor = withPartitions(from, partitions);
        void catchUp(client);
      }
      return {
        done,
        detach() {
          if (!client.closed) forget(client);
        },
      };
    },

    head: () => new Map(headPosition),

    async watermark() {
      const [committed, offsets] = await Promise.all([
        admin.fetchOffsets({ groupId: deps.sinkGroup, topics: [deps.topic] }),
        admin.fetchTopicOffsets(deps.topic),
      ]);
      const low = new Map(offsets.map((entry) => [entry.partition, Number(entry.low)]));
      const position = new Map<number, number>();
      for (const entry of committed.find((topic) => topic.topic === deps.topic)?.partitions ?? []) {
        // -1: the sink never committed this partition, so nothing of it is stored yet.
        const offset = Number(entry.offset);
        position.set(entry.partition, offset < 0 ? low.get(entry.partition) ?? 0 : offset);
      }
      for (const [partition, start] of low) if (!position.has(partition)) position.set(partition, start);
      return position;
    },

    metrics() {
      let pendingBytes = 0;
      let catchingUp = 0;
      for (const client of clients) {
        pendingBytes += client.outlet.pendingBytes();
        if (!client.live) catchingUp++;
      }
      return {
        ...metrics,
        cutoffs: { ...metrics.cutoffs },
        connectedClients: clients.size,
        catchingUpClients: catchingUp,
        pendingBytes,
        windowEvents: window?.size ?? 0,
        windowBytes: window?.bytes ?? 0,
      };
    },
  };
  return hub;
}
