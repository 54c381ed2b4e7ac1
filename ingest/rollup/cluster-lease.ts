// The rollup writer lock on a cluster: one lease for every node, so that maintainers and
// `runlens rebuild` talking to different ClickHouse servers still take turns.
//
// The single-node lock (writer-lock.ts) is a TinyLog table that exactly one CREATE makes;
// on a cluster that table would exist on one server only. Here the atomic step is a
// distributed DDL: `CREATE TABLE …rollup_writer_lease_<n> ON CLUSTER` goes through
// ZooKeeper's DDL queue, which every server executes in the same order, so of two
// contenders for lease <n> exactly one succeeds everywhere and the other gets "already
// exists" (57). The lease table is a ReplicatedMergeTree with one replica on every server
// (its ZooKeeper path has no {shard}), so the holder's heartbeat rows are readable on any
// node a contender talks to.
//
// Leases are numbered and never reused: a contender who finds the newest lease <n> stale
// (no heartbeat for `staleMs`) or released creates <n+1>; a holder whose lease is no
// longer the newest has lost it. No DROP decides anything, so a late contender cannot drop
// a lease someone else just took; the holder drops the superseded ones.
//
// While a server is down, distributed DDL cannot finish (`distributed_ddl_task_timeout`):
// taking a lease waits for it, keeping one only needs the holder's own server.
import type { ClickHouseClient } from '@clickhouse/client';
import { toClickHouseError } from '../../clickhouse/clickhouse-error.ts';
import { num, sql, SqlFragment, str } from '../../clickhouse/sql.ts';

export interface ClusterLeaseOptions {
  admin: ClickHouseClient;
  database: string;
  cluster: string;
  holder: string;
  staleMs: number;
  /** Where the lease tables' replicas meet in ZooKeeper (a random suffix makes each lease's path new). */
  zooKeeperPrefix: string;
  /** How long an ON CLUSTER statement may wait for every server. */
  ddlTimeoutS?: number;
}

const PREFIX = 'rollup_writer_lease_';

export type LeaseState = { lease: number; holder: string | null; ageMs: number; released: boolean; requested: boolean };

export class ClusterLease {
  /** The lease number we hold, or null. */
  private mine: number | null = null;

  constructor(private readonly options: ClusterLeaseOptions) {}

  get held(): boolean {
    return this.mine !== null;
  }

  /** Takes the lease if it is free, stale or released. True when we hold it. */
  async take(): Promise<boolean> {
    const newest = await this.newest();
    if (newest !== null) {
      const state = await this.state(newest);
      if (!state.released && state.ageMs <= this.options.staleMs) return false;
      // Heartbeats reach this node by replication: a replica that is behind (a server just
      // restarted, catching up) would see a live lease as stale. Only judge from one that is not.
      if (!state.released && (await this.lagging(newest))) return false;
    }
    const next = (newest ?? 0) + 1;
    try {
      await this.ddl(`CREATE TABLE ${this.table(next)} ON CLUSTER ${this.options.cluster} (holder String, kind String, at DateTime DEFAULT now())
ENGINE = ReplicatedMergeTree('${this.options.zooKeeperPrefix}/${this.options.database}/${PREFIX}${next}_${Math.random().toString(36).slice(2, 10)}', '{replica}')
ORDER BY at`);
    } catch (error) {
      const failure = toClickHouseError(error, `taking rollup writer lease ${next}`);
      if (failure.code === 57) return false; // another contender's CREATE came first in the queue
      // 159: some server has not run it yet (down). Every server that has reported
      // succeeded, and the queue's order is the same everywhere, so if it ran here we are
      // first for <next>; the others run it when they are back.
      if (failure.code !== 159 || (await this.newest()) !== next) throw failure;
    }
    this.mine = next;
    await this.insert('hold');
    // Superseded leases: nobody reads them any more. In the background: with a server down
    // each DROP … ON CLUSTER waits for the DDL timeout.
    void this.dropBelow(next);
    return true;
  }

  private async dropBelow(lease: number): Promise<void> {
    for (const old of await this.all().catch(() => [])) {
      if (old < lease) await this.ddl(`DROP TABLE IF EXISTS ${this.table(old)} ON CLUSTER ${this.options.cluster}`).catch(() => {});
    }
  }

  /** Whether we still hold the lease, and whether someone asked for it. */
  async check(): Promise<'held' | 'lost' | 'requested'> {
    if (this.mine === null) return 'lost';
    const newest = await this.newest();
    if (newest !== this.mine) {
      this.mine = null;
      return 'lost';
    }
    const state = await this.state(this.mine);
    if (state.released) {
      this.mine = null;
      return 'lost';
    }
    return state.requested ? 'requested' : 'held';
  }

  async beat(): Promise<void> {
    await this.insert('hold');
  }

  /** Asks the holder of the newest lease to release it. */
  async request(): Promise<void> {
    const newest = await this.newest();
    if (newest !== null) await this.insertInto(newest, 'request');
  }

  /** Marks our lease released: the next contender takes <n+1> at once. */
  async release(): Promise<void> {
    const mine = this.mine;
    this.mine = null;
    if (mine !== null) await this.insertInto(mine, 'release').catch(() => {});
  }

  async state(lease: number): Promise<LeaseState> {
    const createdAt = sql`(SELECT any(metadata_modification_time) FROM system.tables WHERE database = ${str(this.options.database)} AND name = ${str(`${PREFIX}${lease}`)})`;
    const rows = await this.select<{ holder: string; age: string; released: number; requested: number }>(
      sql`SELECT argMinIf(holder, at, kind = 'hold') AS holder,
  toString(toUInt64(now()) - toUInt64(if(countIf(kind = 'hold') = 0, ${createdAt}, maxIf(at, kind = 'hold')))) AS age,
  countIf(kind = 'release') AS released, countIf(kind = 'request') AS requested
FROM ${SqlFragment.trusted(this.table(lease))}`.text,
    );
    const row = rows[0];
    return {
      lease,
      holder: row?.holder || null,
      ageMs: Number(row?.age ?? 0) * 1000,
      released: Number(row?.released ?? 0) > 0,
      requested: Number(row?.requested ?? 0) > 0,
    };
  }

  private async lagging(lease: number): Promise<boolean> {
    const rows = await this.select<{ behind: number }>(
      sql`SELECT toUInt8(is_readonly OR is_session_expired OR inserts_in_queue > 0 OR absolute_delay > 0) AS behind
FROM system.replicas WHERE database = ${str(this.options.database)} AND table = ${str(`${PREFIX}${lease}`)}`.text,
    );
    return rows.length === 0 || Number(rows[0]!.behind) === 1;
  }

  /** The newest lease number that exists on the node we talk to, or null. */
  async newest(): Promise<number | null> {
    const all = await this.all();
    return all.length > 0 ? Math.max(...all) : null;
  }

  private async all(): Promise<number[]> {
    const rows = await this.select<{ name: string }>(
      sql`SELECT name FROM system.tables WHERE database = ${str(this.options.database)} AND startsWith(name, ${str(PREFIX)})`.text,
    );
    return rows.map((row) => Number(row.name.slice(PREFIX.length))).filter((n) => Number.isSafeInteger(n) && n > 0);
  }

  private table(lease: number): string {
    return `${this.options.database}.${PREFIX}${num(lease).text}`;
  }

  private async insert(kind: 'hold'): Promise<void> {
    if (this.mine === null) return;
    await this.insertInto(this.mine, kind);
  }

  private async insertInto(lease: number, kind: 'hold' | 'request' | 'release'): Promise<void> {
    try {
      await this.options.admin.insert({
        table: this.table(lease),
        values: [{ holder: this.options.holder, kind }],
        format: 'JSONEachRow',
        // `at` is the server's clock (DEFAULT now()); servers of a cluster keep NTP time.
        columns: ['holder', 'kind'],
      });
    } catch (error) {
      throw toClickHouseError(error, `writing rollup writer lease ${lease}`);
    }
  }

  private async select<T>(query: string): Promise<T[]> {
    try {
      return await (await this.options.admin.query({ query, format: 'JSONEachRow' })).json<T>();
    } catch (error) {
      throw toClickHouseError(error, 'reading the rollup writer lease');
    }
  }

  private async ddl(query: string): Promise<void> {
    await this.options.admin.command({ query, clickhouse_settings: { distributed_ddl_task_timeout: String(this.options.ddlTimeoutS ?? 30) } });
  }
}
