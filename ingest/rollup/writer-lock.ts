// One rollup writer at a time per database: the maintainer(s) inside the sink processes and
// `runlens rebuild`. Two writers recomputing the same unit could interleave their reads and
// writes and leave a stale group behind, so writing needs the lock; noting dirty units
// does not.
//
// ClickHouse's only atomic primitive is DDL: `CREATE TABLE` without IF NOT EXISTS succeeds
// for exactly one caller (the migrator locks the same way). The holder keeps the table as
// a lease, appending a heartbeat row; a lease whose newest heartbeat is older than
// `staleMs` belonged to a crashed process and is taken over. A rebuild asks the
// maintainer to step aside by appending a `request` row; the maintainer releases the lock
// at its next cycle and stays away for a while. DDL needs the admin user (the ingest
// user has allow_ddl = 0).
//
// On a cluster (`runs` is a Distributed table) that TinyLog table would exist on one
// server only, and maintainers talking to two servers would both hold "the" lock; there
// the lock is a cluster-wide lease instead (cluster-lease.ts: numbered lease tables
// created ON CLUSTER, replicated to every server), with the same answers.
import type { ClickHouseClient } from '@clickhouse/client';
import { toClickHouseError } from '../../clickhouse/clickhouse-error.ts';
import { sql, SqlFragment, str } from '../../clickhouse/sql.ts';
import { ClusterLease } from './cluster-lease.ts';
import { clusterOf } from './placement.ts';

/** Where the cluster lease tables' replicas meet in ZooKeeper. */
export const LEASE_ZOOKEEPER_PREFIX = '/runlens/leases';

export interface WriterLockOptions {
  admin: ClickHouseClient;
  database: string;
  /** Who we are, in the lock's rows and in error messages. */
  holder: string;
  staleMs?: number;
  heartbeatMs?: number;
  now?: () => number;
}

export class WriterLock {
  private held = false;
  private lastBeat = 0;
  private readonly staleMs: number;
  private readonly heartbeatMs: number;
  private readonly now: () => number;

  constructor(private readonly options: WriterLockOptions) {
    this.staleMs = options.staleMs ?? 30_000;
    this.heartbeatMs = options.heartbeatMs ?? 5_000;
    this.now = options.now ?? Date.now;
  }

  /** Undefined until the first call has looked at the schema; null on a single node. */
  private cluster: ClusterLease | null | undefined;

  get isHeld(): boolean {
    return this.cluster ? this.cluster.held : this.held;
  }

  private async clusterLease(): Promise<ClusterLease | null> {
    if (this.cluster === undefined) {
      const cluster = await clusterOf(this.options.admin, this.options.database);
      this.cluster = cluster === null ? null : new ClusterLease({
        admin: this.options.admin,
        database: this.options.database,
        cluster,
        holder: this.options.holder,
        staleMs: this.staleMs,
        zooKeeperPrefix: LEASE_ZOOKEEPER_PREFIX,
      });
    }
    return this.cluster;
  }

  private async acquireLease(lease: ClusterLease, yieldOnRequest: boolean): Promise<'held' | 'busy' | 'yield'> {
    if (!lease.held) {
      if (!(await lease.take())) return 'busy';
      this.lastBeat = this.now();
      return 'held';
    }
    const state = await lease.check();
    if (state === 'lost') return 'busy';
    if (state === 'requested' && yieldOnRequest) {
      await lease.release();
      return 'yield';
    }
    if (this.now() - this.lastBeat >= this.heartbeatMs) {
      await lease.beat();
      this.lastBeat = this.now();
    }
    return 'held';
  }

  private get table(): string {
    return `${this.options.database}.rollup_writer_lock`;
  }

  /**
   * Takes the lock if it is free or stale, or keeps it if we hold it.
   * Returns 'held', 'busy' (someone else holds it) or 'yield' (we held it and a rebuild asked for it: released).
   */
  async acquire({ yieldOnRequest }: { yieldOnRequest: boolean }): Promise<'held' | 'busy' | 'yield'> {
    const lease = await this.clusterLease();
    if (lease) return this.acquireLease(lease, yieldOnRequest);
    if (this.held) return this.renew(yieldOnRequest);
    try {
      await this.command(`CREATE TABLE ${this.table} (holder String, kind String, at DateTime DEFAULT now()) ENGINE = TinyLog`);
    } catch (error) {
      const failure = toClickHouseError(error, 'taking the rollup writer lock');
      if (failure.code !== 57) throw failure; // 57: the table exists, someone holds it
      const age = await this.ageMs();
      if (age === null || age <= this.staleMs) return 'busy';
      // The holder stopped beating: take over. A contender doing the same at this moment
      // is caught by the check below (only the first row's holder owns the lock).
      await this.command(`DROP TABLE IF EXISTS ${this.table}`);
      return this.acquire({ yieldOnRequest });
    }
    await this.beat();
    const owner = await this.owner();
    this.held = owner === this.options.holder;
    return this.held ? 'held' : 'busy';
  }

  /** Asks the current holder to release the lock (a maintainer does, at its next cycle). */
  async request(): Promise<void> {
    const lease = await this.clusterLease();
    if (lease) return lease.request();
    await this.insert('request').catch(() => {}); // the lock vanished meanwhile: acquire will see it
  }

  async release(): Promise<void> {
    if (this.cluster) return this.cluster.release();
    if (!this.held) return;
    this.held = false;
    // Only drop the table if it is still ours (after a takeover it is someone else's).
    if ((await this.owner().catch(() => null)) === this.options.holder) await this.command(`DROP TABLE IF EXISTS ${this.table}`);
  }

  private async renew(yieldOnRequest: boolean): Promise<'held' | 'busy' | 'yield'> {
    let rows: Array<{ holder: string; kind: string }>;
    try {
      rows = await this.select<{ holder: string; kind: string }>(`SELECT holder, kind FROM ${this.table}`);
    } catch (error) {
      const failure = toClickHouseError(error, 'checking the rollup writer lock');
      if (failure.code !== 60) throw failure; // 60: dropped by a takeover
      this.held = false;
      return 'busy';
    }
    if (rows[0]?.holder !== this.options.holder) {
      this.held = false;
      return 'busy';
    }
    if (yieldOnRequest && rows.some((row) => row.kind === 'request')) {
      await this.release();
      return 'yield';
    }
    if (this.now() - this.lastBeat >= this.heartbeatMs) await this.beat();
    return 'held';
  }

  private async beat(): Promise<void> {
    await this.insert('hold');
    this.lastBeat = this.now();
  }

  private async insert(kind: 'hold' | 'request'): Promise<void> {
    try {
      await this.options.admin.insert({
        table: this.table,
        values: [{ holder: this.options.holder, kind }],
        format: 'JSONEachRow',
        // `at` is the server's clock: staleness never depends on two machines agreeing.
        columns: ['holder', 'kind'],
      });
    } catch (error) {
      throw toClickHouseError(error, 'writing the rollup writer lock');
    }
  }

  private async owner(): Promise<string | null> {
    const rows = await this.select<{ holder: string }>(`SELECT holder FROM ${this.table} LIMIT 1`);
    return rows[0]?.holder ?? null;
  }

  /** Milliseconds since the last heartbeat (or since the table was created, if it has none yet). */
  private async ageMs(): Promise<number | null> {
    try {
      const createdAt = sql`(SELECT any(metadata_modification_time) FROM system.tables WHERE database = ${str(this.options.database)} AND name = 'rollup_writer_lock')`;
      const rows = await this.select<{ age: string }>(
        sql`SELECT toString(toUInt64(now()) - toUInt64(if(count() = 0, ${createdAt}, max(at)))) AS age FROM ${SqlFragment.trusted(this.table)} WHERE kind = 'hold'`.text,
      );
      return rows[0] ? Number(rows[0].age) * 1000 : null;
    } catch {
      return null; // dropped meanwhile: the next CREATE will tell
    }
  }

  private async select<T>(query: string): Promise<T[]> {
    try {
      return await (await this.options.admin.query({ query, format: 'JSONEachRow' })).json<T>();
    } catch (error) {
      throw toClickHouseError(error, 'reading the rollup writer lock');
    }
  }

  private async command(query: string): Promise<void> {
    try {
      await this.options.admin.command({ query });
    } catch (error) {
      throw toClickHouseError(error, 'rollup writer lock');
    }
  }
}
