// The local cluster's layout: which processes, on which loopback ports, under which
// directories. A schema over the environment, parsed once and frozen; the only module in
// stack/cluster that reads process.env.
//
// Ports come from one base (RUNLENS_CLUSTER_PORT_BASE, default 26000), far from the
// single-node stack's 18xxx/19xxx (and the fault suite's 28xxx/29xxx), so the stacks can run side by side:
//   ZooKeeper            base+181
//   Kafka broker n=1..3  base+91+n (26092..26094), controller base+191+n (26192..26194)
//   ClickHouse node i    HTTP base+123+i (26123..), TCP base+900+i, interserver base+950+i
import { isAbsolute, join, resolve } from 'node:path';
import { z } from 'zod';
import { DEFAULT_ZOOKEEPER_PREFIX } from '../../clickhouse/cluster/render.ts';
import { repoRoot } from '../config.ts';
import { localDefaults } from '../local-defaults.ts';

const envSchema = z.object({
  RUNLENS_STATE_DIR: z.string().min(1).default(localDefaults.stateDir),
  RUNLENS_CLUSTER_PORT_BASE: z.coerce.number().int().min(1024).max(64_000).default(26_000),
  // 1: shard 1 gets a second replica (3 ClickHouse servers); 0: two servers, no replicas.
  RUNLENS_CLUSTER_REPLICA: z.enum(['0', '1']).default('1'),
  RUNLENS_KAFKA_TOPIC: z
    .string()
    .regex(/^[a-zA-Z0-9._-]{1,249}$/, 'must be a legal Kafka topic name')
    .default(localDefaults.runEventsTopic),
  RUNLENS_STACK_START_TIMEOUT_MS: z.coerce.number().int().positive().default(120_000),
});

export interface ClickhouseNode {
  /** ch1, ch2…: the directory name, the {replica} macro and the label in logs. */
  name: string;
  /** 1-based; the {shard} macro is this number, zero-padded. */
  shard: number;
  httpPort: number;
  tcpPort: number;
  interserverPort: number;
  httpUrl: string;
}

export interface KafkaBroker {
  id: number;
  port: number;
  controllerPort: number;
  address: string;
}

export type ClusterConfig = Readonly<{
  /** The single-node stack's state dir: the Kafka jars are shared with it. */
  stateDir: string;
  /** Everything the cluster writes: <stateDir>/cluster. */
  dir: string;
  /** The <remote_servers> name and the ON CLUSTER target. */
  name: string;
  zooKeeperPrefix: string;
  zookeeper: Readonly<{ port: number; address: string }>;
  kafka: Readonly<{ brokers: readonly KafkaBroker[]; bootstrap: string; topic: string; partitions: number; replicationFactor: number; minInsyncReplicas: number }>;
  clickhouse: Readonly<{
    nodes: readonly ClickhouseNode[];
    database: string;
    users: typeof localDefaults.users;
    /** Who one server connects as when it queries or inserts into another (remote_servers). */
    interserver: Readonly<{ name: string; password: string }>;
  }>;
  startTimeoutMs: number;
}>;

export function parseClusterConfig(env: NodeJS.ProcessEnv = process.env): ClusterConfig {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => `${String(issue.path[0])}=${JSON.stringify(env[String(issue.path[0])] ?? '')}: ${issue.message}`);
    throw new Error(`invalid cluster configuration:\n  ${lines.join('\n  ')}`);
  }
  const e = parsed.data;
  const base = e.RUNLENS_CLUSTER_PORT_BASE;
  const stateDir = isAbsolute(e.RUNLENS_STATE_DIR) ? e.RUNLENS_STATE_DIR : resolve(repoRoot, e.RUNLENS_STATE_DIR);
  const brokers = [1, 2, 3].map((id) => ({ id, port: base + 91 + id, controllerPort: base + 191 + id, address: `127.0.0.1:${base + 91 + id}` }));
  // Shard 1 on ch1 (+ ch3 as its replica), shard 2 on ch2: ch1 and ch2 are always there.
  const shards = e.RUNLENS_CLUSTER_REPLICA === '1' ? [1, 2, 1] : [1, 2];
  const nodes = shards.map((shard, i) => ({
    name: `ch${i + 1}`,
    shard,
    httpPort: base + 123 + i,
    tcpPort: base + 900 + i,
    interserverPort: base + 950 + i,
    httpUrl: `http://127.0.0.1:${base + 123 + i}`,
  }));
  return deepFreeze({
    stateDir,
    dir: join(stateDir, 'cluster'),
    name: 'runlens',
    zooKeeperPrefix: DEFAULT_ZOOKEEPER_PREFIX,
    zookeeper: { port: base + 181, address: `127.0.0.1:${base + 181}` },
    kafka: {
      brokers,
      bootstrap: brokers.map((b) => b.address).join(','),
      topic: e.RUNLENS_KAFKA_TOPIC,
      partitions: localDefaults.runEventsPartitions,
      replicationFactor: 3,
      minInsyncReplicas: 2,
    },
    clickhouse: {
      nodes,
      database: localDefaults.database,
      users: localDefaults.users,
      interserver: { name: 'cluster', password: 'local-cluster' },
    },
    startTimeoutMs: e.RUNLENS_STACK_START_TIMEOUT_MS,
  });
}

function deepFreeze<T extends object>(value: T): T {
  for (const child of Object.values(value)) if (typeof child === 'object' && child !== null) deepFreeze(child);
  return Object.freeze(value);
}
