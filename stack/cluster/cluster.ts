// The local cluster's public surface (`runlens stack up|down|status --cluster`, the cluster
// test): ZooKeeper, three Kafka brokers and two or three ClickHouse servers on loopback,
// everything under <stateDir>/cluster. Each process is a ManagedService run by the same
// lifecycle code as the single-node stack (PID files, health checks, restart on a
// changed config), so the guarantees are the same; only the layout is new.
import { StackError } from '../errors.ts';
import { stackPaths } from '../paths.ts';
import { parseStackConfig } from '../config.ts';
import type { Log } from '../run-command.ts';
import type { ManagedService } from '../service.ts';
import { ensureRunning, status, stop } from '../service-lifecycle.ts';
import { withStackLock } from '../stack-lock.ts';
import { setTimeout as sleep } from 'node:timers/promises';
import { clickhouseNodeService, zooKeeperSessionTimeoutMs } from './clickhouse-node-service.ts';
import { parseClusterConfig, type ClusterConfig } from './cluster-config.ts';
import { ensureReplicatedTopic } from './cluster-topic.ts';
import { kafkaBrokerService } from './kafka-broker-service.ts';
import { zookeeperService } from './zookeeper-service.ts';

export { parseClusterConfig, type ClusterConfig } from './cluster-config.ts';

export type ClusterOptions = { log?: Log; config?: ClusterConfig };

export interface ClusterStatus {
  /** What every runlens process needs to use this cluster. */
  env: { RUNLENS_CLICKHOUSE_URL: string; RUNLENS_KAFKA_BROKERS: string; RUNLENS_KAFKA_TOPIC: string };
  zookeeper: { address: string; up: boolean; pid: number | null };
  kafka: Array<{ node: string; id: number; address: string; up: boolean; pid: number | null }>;
  clickhouse: Array<{ node: string; shard: number; httpUrl: string; up: boolean; pid: number | null }>;
}

type Node = { label: string; service: ManagedService };

function nodes(config: ClusterConfig): { zookeeper: Node; kafka: Node[]; clickhouse: Node[] } {
  // The Kafka jars are the single-node stack's: one Maven resolution for both.
  const singleNodePaths = stackPaths(parseStackConfig({ RUNLENS_STATE_DIR: config.stateDir }));
  return {
    zookeeper: { label: 'zookeeper', service: zookeeperService(config) },
    kafka: config.kafka.brokers.map((broker) => ({ label: `kafka${broker.id}`, service: kafkaBrokerService(config, broker, singleNodePaths) })),
    clickhouse: config.clickhouse.nodes.map((node) => ({ label: node.name, service: clickhouseNodeService(config, node) })),
  };
}

export type ClusterNodeName = 'zookeeper' | `kafka${number}` | `ch${number}`;

function findNode(config: ClusterConfig, name: string): Node {
  const all = nodes(config);
  const found = [all.zookeeper, ...all.kafka, ...all.clickhouse].find((node) => node.label === name);
  if (!found) throw new StackError('stack', `no cluster node "${name}" (zookeeper, kafka1-3, ${config.clickhouse.nodes.map((n) => n.name).join(', ')})`);
  return found;
}

let envConfig: ClusterConfig | undefined;
function resolveConfig(options: ClusterOptions): ClusterConfig {
  if (options.config) return options.config;
  envConfig ??= parseClusterConfig();
  return envConfig;
}

/** Lines and errors of the shared lifecycle say "kafka:"/"clickhouse:"; say which node. */
function relabel(label: string, log: Log): Log {
  return (line) => log(line.replace(/^(kafka|clickhouse): /, `${label}: `));
}

async function up(node: Node, log: Log, timeoutMs: number): Promise<{ pid: number; started: boolean }> {
  const labelled = relabel(node.label, log);
  try {
    // A ClickHouse server answers within seconds or not at all: see the retry below.
    const firstTimeoutMs = node.label.startsWith('ch') ? Math.min(timeoutMs, 45_000) : timeoutMs;
    return await ensureRunning(node.service, { log: labelled, timeoutMs: firstTimeoutMs });
  } catch (error) {
    if (!(error instanceof StackError)) throw error;
    if (node.label.startsWith('ch')) {
      // Seen here a few times in ~20 cold starts: 18.16 (Debian's build) aborts at startup with
      // glibc's "__pthread_mutex_lock_full: Assertion `e != ESRCH || !robust'" or hangs before
      // listening, once Replicated tables exist; a second start has always worked.
      labelled(`clickhouse: did not start (${error.message.split('\n')[0]}); killing it and starting it once more`);
      await stop(node.service, { log: labelled, signal: 'SIGKILL' });
      try {
        return await ensureRunning(node.service, { log: labelled, timeoutMs });
      } catch (again) {
        if (!(again instanceof StackError)) throw again;
        error = again;
      }
    }
    const failure = error as StackError;
    throw new StackError('stack', `${node.label}: ${failure.message.replace(/^(kafka|clickhouse): /, '').split('\n  see:')[0]}`, failure.logFiles, { cause: failure });
  }
}

async function all<T>(steps: Array<Promise<T>>): Promise<T[]> {
  const results = await Promise.allSettled(steps);
  const failures = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
  if (failures.length === 1) throw failures[0];
  if (failures.length > 1) throw new StackError('stack', failures.map((f) => (f instanceof Error ? f.message : String(f))).join('\n'));
  return results.map((r) => (r as PromiseFulfilledResult<T>).value);
}

/**
 * Starts what is not running and waits until all of it answers: ZooKeeper first (the
 * Replicated tables attach read-only without it), then the brokers and the ClickHouse
 * servers together, then the run-events topic (RF 3, min ISR 2). Idempotent.
 */
export async function clusterUp(options: ClusterOptions = {}): Promise<ClusterStatus> {
  const config = resolveConfig(options);
  const log = options.log ?? (() => {});
  const n = nodes(config);
  await withStackLock(config.dir, config.startTimeoutMs + 180_000, async () => {
    const zookeeper = await up(n.zookeeper, log, config.startTimeoutMs);
    // A ZooKeeper that just started still holds the previous run's ClickHouse sessions
    // until they time out; a server started before that aborts or hangs (see
    // zooKeeperSessionTimeoutMs). The brokers need no ZooKeeper and start at once.
    const sessionsExpired = zookeeper.started ? sleep(2 * zooKeeperSessionTimeoutMs) : Promise.resolve();
    await all([
      ...n.kafka.map((node) => up(node, log, config.startTimeoutMs)),
      ...n.clickhouse.map(async (node) => {
        await sessionsExpired;
        return up(node, log, config.startTimeoutMs);
      }),
    ]);
    const created = await ensureReplicatedTopic(config.kafka.bootstrap, config.kafka.topic, config.kafka);
    if (created) log(`kafka: created topic ${config.kafka.topic} (${config.kafka.partitions} partitions, replication factor ${config.kafka.replicationFactor})`);
  });
  return clusterStatus(options);
}

/** Stops everything by PID: ClickHouse, then Kafka, then ZooKeeper. Data is kept. */
export async function clusterDown(options: ClusterOptions = {}): Promise<void> {
  const config = resolveConfig(options);
  const log = options.log ?? (() => {});
  const n = nodes(config);
  await withStackLock(config.dir, 180_000, async () => {
    await all(n.clickhouse.map((node) => stop(node.service, { log: relabel(node.label, log) })));
    await all(n.kafka.map((node) => stop(node.service, { log: relabel(node.label, log) })));
    await stop(n.zookeeper.service, { log: relabel('zookeeper', log) });
  });
}

export async function clusterStatus(options: ClusterOptions = {}): Promise<ClusterStatus> {
  const config = resolveConfig(options);
  const n = nodes(config);
  const [zookeeper, kafka, clickhouse] = await Promise.all([
    status(n.zookeeper.service),
    Promise.all(n.kafka.map((node) => status(node.service))),
    Promise.all(n.clickhouse.map((node) => status(node.service))),
  ]);
  return {
    env: { RUNLENS_CLICKHOUSE_URL: config.clickhouse.nodes[0]!.httpUrl, RUNLENS_KAFKA_BROKERS: config.kafka.bootstrap, RUNLENS_KAFKA_TOPIC: config.kafka.topic },
    zookeeper: { address: config.zookeeper.address, ...zookeeper },
    kafka: config.kafka.brokers.map((broker, i) => ({ node: `kafka${broker.id}`, id: broker.id, address: broker.address, ...kafka[i]! })),
    clickhouse: config.clickhouse.nodes.map((node, i) => ({ node: node.name, shard: node.shard, httpUrl: node.httpUrl, ...clickhouse[i]! })),
  };
}

export function clusterIsUp(s: ClusterStatus): boolean {
  return s.zookeeper.up && s.kafka.every((k) => k.up) && s.clickhouse.every((c) => c.up);
}

/** Fault injection: signal one node (SIGKILL = crash) and wait until it is gone. */
export async function stopClusterNode(name: ClusterNodeName, signal: NodeJS.Signals = 'SIGTERM', options: ClusterOptions = {}): Promise<'exited' | 'killed' | 'not-running'> {
  const config = resolveConfig(options);
  const node = findNode(config, name);
  return stop(node.service, { log: relabel(node.label, options.log ?? (() => {})), signal });
}

/** Starts one node if it is not running and waits until it is healthy. */
export async function startClusterNode(name: ClusterNodeName, options: ClusterOptions = {}): Promise<{ pid: number; started: boolean }> {
  const config = resolveConfig(options);
  const node = findNode(config, name);
  return withStackLock(config.dir, config.startTimeoutMs + 60_000, () => up(node, options.log ?? (() => {}), config.startTimeoutMs));
}
