// Exactly one evaluator, elected by Kafka: every instance joins one consumer group on a
// single-partition topic; the member the group assigns partition 0 leads. Rebalances
// (a member joins, leaves, or misses its session timeout) move the partition, and with
// it the leadership. No consensus of our own: the group coordinator decides.
//
// Safety margins on top of the group protocol:
// - A rebalance starting, the consumer stopping or crashing: step down at once.
// - A lease: the leader steps down when its last successful heartbeat is older than half
//   the session timeout. The coordinator gives the partition to someone else only after a
//   full session timeout without heartbeats, so a leader cut off from Kafka has stopped
//   before a successor starts.
import type { Consumer, Kafka } from '../../ingest/kafka/index.ts';
import { createConsumer, ensureTopic } from '../../ingest/kafka/index.ts';

export interface LeaderElectionOptions {
  kafka: Kafka;
  brokers: readonly string[];
  topic: string;
  groupId: string;
  sessionTimeoutMs: number;
  heartbeatIntervalMs: number;
  log: (line: string) => void;
  clock: () => number;
  /** Called when this instance becomes leader; `term` identifies the leadership. */
  onElected: (term: number) => void;
  /** Called when it stops being leader (always after onElected of the same term). */
  onDeposed: (term: number, reason: string) => void;
}

export interface LeaderStatus {
  leader: boolean;
  term: number;
  memberId: string | null;
  since: number | null;
  lastHeartbeatMs: number | null;
  joined: boolean;
}

export class LeaderElection {
  private consumer: Consumer | null = null;
  private term = 0;
  private leading = false;
  private memberId: string | null = null;
  private since: number | null = null;
  private lastHeartbeatMs: number | null = null;
  private joined = false;
  private leaseTimer: NodeJS.Timeout | null = null;
  private restartTimer: NodeJS.Timeout | null = null;
  private stopped = true;

  constructor(private readonly options: LeaderElectionOptions) {}

  isLeader(): boolean {
    return this.leading && this.leaseValid();
  }

  status(): LeaderStatus {
    return { leader: this.isLeader(), term: this.term, memberId: this.memberId, since: this.since, lastHeartbeatMs: this.lastHeartbeatMs, joined: this.joined };
  }

  async start(): Promise<void> {
    this.stopped = false;
    await ensureTopic(this.options.brokers, this.options.topic, 1);
    await this.join();
    this.leaseTimer = setInterval(() => {
      if (this.leading && !this.leaseValid()) this.stepDown('no heartbeat within half the session timeout');
    }, Math.max(50, Math.floor(this.options.heartbeatIntervalMs / 2)));
  }

  /** Leaves the group: stepping down first, so the successor never overlaps with us. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.leaseTimer) clearInterval(this.leaseTimer);
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.leaseTimer = null;
    this.restartTimer = null;
    this.stepDown('stopping');
    const consumer = this.consumer;
    this.consumer = null;
    await consumer?.disconnect().catch((error: Error) => this.options.log(`alerting: leaving the leader group: ${error.message}`));
  }

  private leaseValid(): boolean {
    const last = this.lastHeartbeatMs ?? 0;
    return this.options.clock() - last < this.options.sessionTimeoutMs / 2;
  }

  private async join(): Promise<void> {
    const { kafka, topic, groupId, sessionTimeoutMs, heartbeatIntervalMs, log, clock } = this.options;
    const consumer = createConsumer(kafka, {
      groupId,
      sessionTimeout: sessionTimeoutMs,
      heartbeatInterval: heartbeatIntervalMs,
      rebalanceTimeout: sessionTimeoutMs,
      // An idle fetch returns after this long and the runner heartbeats: keep it under the
      // heartbeat interval so the lease stays fresh.
      maxWaitTimeInMs: heartbeatIntervalMs,
    });
    this.consumer = consumer;
    consumer.on(consumer.events.GROUP_JOIN, (event) => {
      if (consumer !== this.consumer) return;
      this.joined = true;
      this.memberId = event.payload.memberId;
      this.lastHeartbeatMs = clock();
      const partitions = event.payload.memberAssignment[topic] ?? [];
      if (partitions.includes(0)) this.stepUp();
      else this.stepDown('partition 0 is assigned to another member');
    });
    consumer.on(consumer.events.HEARTBEAT, () => {
      if (consumer === this.consumer) this.lastHeartbeatMs = clock();
    });
    consumer.on(consumer.events.REBALANCING, () => {
      if (consumer === this.consumer) this.stepDown('the group is rebalancing');
    });
    consumer.on(consumer.events.STOP, () => {
      if (consumer === this.consumer) this.stepDown('the consumer stopped');
    });
    consumer.on(consumer.events.CRASH, (event) => {
      if (consumer !== this.consumer) return;
      this.joined = false;
      this.stepDown(`the consumer crashed: ${event.payload.error.message}`);
      // kafkajs restarts by itself after a retriable crash; after another, we rejoin.
      if (!event.payload.restart) this.scheduleRejoin();
    });
    try {
      await consumer.connect();
      await consumer.subscribe({ topics: [topic], fromBeginning: false });
      // Nothing is ever produced to the topic: membership is the point.
      await consumer.run({ autoCommit: false, eachMessage: async () => {} });
    } catch (error) {
      log(`alerting: joining the leader group failed: ${(error as Error).message}`);
      this.scheduleRejoin();
    }
  }

  private scheduleRejoin(): void {
    if (this.stopped || this.restartTimer) return;
    const old = this.consumer;
    this.consumer = null;
    void old?.disconnect().catch(() => {});
    this.restartTimer = setTimeout(() => {
      this.restartTimer = null;
      if (!this.stopped) void this.join();
    }, this.options.heartbeatIntervalMs * 2);
  }

  private stepUp(): void {
    if (this.leading || this.stopped) return;
    this.leading = true;
    this.term++;
    this.since = this.options.clock();
    this.options.log(`alerting: this instance is now the evaluator (member ${this.memberId}, term ${this.term})`);
    this.options.onElected(this.term);
  }

  private stepDown(reason: string): void {
    if (!this.leading) return;
    this.leading = false;
    this.since = null;
    this.options.log(`alerting: no longer the evaluator: ${reason}`);
    this.options.onDeposed(this.term, reason);
  }
}
