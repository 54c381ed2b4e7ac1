// One ClickHouse server of the cluster: the single-node service (stack/clickhouse-service.ts:
// same install, users, health check, database) with the cluster's sections added to its
// config.xml and users.xml. Nothing is copied from the single-node renderers: a fix there
// (a new profile setting, a new user) reaches the cluster too.
import { join } from 'node:path';
import { clickhouseService } from '../clickhouse-service.ts';
import type { StackConfig } from '../config.ts';
import { stackPaths } from '../paths.ts';
import type { ManagedService } from '../service.ts';
import { sha256Hex } from '../clickhouse-users-xml.ts';
import { xmlText } from '../xml-text.ts';
import type { ClickhouseNode, ClusterConfig } from './cluster-config.ts';

/**
 * ClickHouse's ZooKeeper session timeout. Short, because a restarted ZooKeeper restores the
 * previous run's sessions and expires them only after this long: a server that starts
 * while its old session (and its replicas' `is_active` nodes) still exists aborts or hangs
 * on 18.16 (seen: glibc's robust-mutex assertion). cluster.ts waits this out.
 */
export const zooKeeperSessionTimeoutMs = 6_000;

export function clickhouseNodeConfig(config: ClusterConfig, node: ClickhouseNode): StackConfig {
  const first = config.kafka.brokers[0]!;
  return {
    stateDir: join(config.dir, node.name),
    clickhouse: {
      httpUrl: node.httpUrl,
      httpPort: node.httpPort,
      tcpPort: node.tcpPort,
      interserverPort: node.interserverPort,
      database: config.clickhouse.database,
      users: config.clickhouse.users,
    },
    // Unused by ClickHouse (18.16's Kafka engine is not used), required by the type.
    kafka: { brokers: first.address, port: first.port, controllerPort: first.controllerPort, topic: config.kafka.topic, partitions: config.kafka.partitions },
    startTimeoutMs: config.startTimeoutMs,
  };
}

export function clickhouseNodeService(config: ClusterConfig, node: ClickhouseNode): ManagedService {
  const nodeConfig = clickhouseNodeConfig(config, node);
  const base = clickhouseService(nodeConfig, stackPaths(nodeConfig));
  return {
    ...base,
    renderFiles: () =>
      base.renderFiles().map((file) => {
        if (file.path.endsWith('config.xml')) return { ...file, content: insertBefore(file.content, '</yandex>', clusterConfigXml(config, node)) };
        if (file.path.endsWith('users.xml')) return { ...file, content: clusterUsersXml(config, file.content) };
        return file;
      }),
  };
}

/** remote_servers, zookeeper, macros and the distributed DDL queue. */
export function clusterConfigXml(config: ClusterConfig, node: ClickhouseNode): string {
  const shards = [...new Set(config.clickhouse.nodes.map((n) => n.shard))].sort((a, b) => a - b);
  const who = config.clickhouse.interserver;
  const replica = (n: ClickhouseNode) =>
    `                <replica><host>127.0.0.1</host><port>${n.tcpPort}</port><user>${xmlText(who.name)}</user><password>${xmlText(who.password)}</password></replica>`;
  const shardXml = shards.map((shard) => `            <shard>
                <!-- The Distributed table writes each block to one replica; the
                     Replicated table copies it to the others. -->
                <internal_replication>true</internal_replication>
${config.clickhouse.nodes.filter((n) => n.shard === shard).map(replica).join('\n')}
            </shard>`).join('\n');
  return `
    <!-- Cluster sections, added by stack/cluster/clickhouse-node-service.ts. -->
    <remote_servers>
        <${config.name}>
${shardXml}
        </${config.name}>
    </remote_servers>
    <zookeeper>
        <node index="1"><host>127.0.0.1</host><port>${config.zookeeper.port}</port></node>
        <session_timeout_ms>${zooKeeperSessionTimeoutMs}</session_timeout_ms>
    </zookeeper>
    <!-- {shard} and {replica} in the Replicated tables' ZooKeeper paths (clickhouse/cluster/render.ts). -->
    <macros>
        <cluster>${config.name}</cluster>
        <shard>${String(node.shard).padStart(2, '0')}</shard>
        <replica>${node.name}</replica>
    </macros>
    <distributed_ddl>
        <path>/runlens/clickhouse/task_queue/ddl</path>
    </distributed_ddl>
`;
}

// Added to the `default` profile, which every runlens profile inherits:
// - insert_distributed_sync: an INSERT into a Distributed table returns once every shard
//   has stored its rows. Asynchronous (the default) would acknowledge rows still queued on
//   the receiving node: the sink would commit Kafka offsets for them, and the rollup
//   maintainer, reading `runs` right after, would recompute without them.
// - load_balancing in_order: reads and writes use the first healthy replica of a shard,
//   so a reader sees what a writer just wrote (the other replica may lag by a fetch).
// - prefer_localhost_replica 0: the server's own shard is queried over TCP like the
//   others. 18.16's in-process shortcut fails `SELECT status FROM runs FINAL` (a FINAL
//   read that does not select the sorting key) with "Cannot find column run_date in source
//   stream" on every node that holds a replica; through TCP the same query works (measured).
// - distributed_product_mode global: `x IN (SELECT … FROM <Distributed>)` inside a query on
//   a Distributed table (the rollup recompute has one) runs the subquery once, on the
//   initiator, and ships the set to the shards. The default 'deny' refuses it (Code 288);
//   'local' would be wrong wherever the two sides are not co-located by shard.
// - connect_timeout_with_failover_ms: the default 50 ms fails over to another replica
//   when a busy two-core machine is merely slow.
const clusterProfileSettings: Record<string, string | number> = {
  insert_distributed_sync: 1,
  load_balancing: 'in_order',
  prefer_localhost_replica: 0,
  distributed_product_mode: 'global',
  connect_timeout_with_failover_ms: 1000,
};

export function clusterUsersXml(config: ClusterConfig, usersXml: string): string {
  const settings = Object.entries(clusterProfileSettings).map(([key, value]) => `            <${key}>${xmlText(value)}</${key}>\n`).join('');
  const withSettings = insertAfter(usersXml, '<profiles>\n        <default>\n', settings);
  const who = config.clickhouse.interserver;
  // The servers' own user for remote_servers: full access, loopback only. Its queries
  // carry the settings of the query that started them (readonly included).
  const user = `        <${who.name}>
            <password_sha256_hex>${sha256Hex(who.password)}</password_sha256_hex>
            <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
            <profile>default</profile>
            <quota>default</quota>
        </${who.name}>
`;
  // 18.16 runs an ON CLUSTER statement as `default` with an empty password (its DDL worker
  // has no credentials), and a replica that is not its shard's leader forwards ALTER …
  // DROP PARTITION (retention) and OPTIMIZE to the leader under that identity: with a
  // password on `default` they fail with "Password required for user default" (measured).
  // So on the cluster `default` has none; it stays loopback-only (DEPLOYMENT.md: the
  // servers' addresses only).
  const defaultUser = /(<users>\s*<default>\s*)<password_sha256_hex>[0-9a-f]+<\/password_sha256_hex>/;
  if (!defaultUser.test(withSettings)) throw new Error('cluster config: the `default` user of the single-node rendering has no password_sha256_hex');
  const withDefault = withSettings.replace(defaultUser, '$1<password></password>');
  return insertBefore(withDefault, '    </users>', user);
}

function insertBefore(text: string, marker: string, insert: string): string {
  const at = text.lastIndexOf(marker);
  if (at < 0) throw new Error(`cluster config: "${marker.trim()}" not found in the single-node rendering`);
  return text.slice(0, at) + insert + text.slice(at);
}

function insertAfter(text: string, marker: string, insert: string): string {
  const at = text.indexOf(marker);
  if (at < 0) throw new Error(`cluster config: "${marker.trim()}" not found in the single-node rendering`);
  return text.slice(0, at + marker.length) + insert + text.slice(at + marker.length);
}
