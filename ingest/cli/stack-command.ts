// `runlens stack up|down|status [--json]`: the self-installing local ClickHouse + Kafka.
import { clusterDown, clusterIsUp, clusterStatus, clusterUp, type ClusterStatus } from '../../stack/cluster/cluster.ts';
import { stackDown, stackStatus, stackUp, type StackStatus } from '../../stack/stack.ts';
import { parseCommandArgs, UsageError, type Command } from './command.ts';

export const stackCommand: Command = {
  name: 'stack',
  summary: 'install, start, stop or inspect the local ClickHouse + Kafka',
  help: `usage: runlens stack up|down|status [--json] [--cluster]

  up       install what is missing (Debian's clickhouse-server, Kafka from Maven Central),
           start both on 127.0.0.1, wait until healthy; a no-op when already up
  down     stop what 'up' started (by PID)
  status   print every endpoint and whether it answers; exit 1 when something is down

options:
  --json      machine-readable output (status and up)
  --cluster   the local cluster instead (under .runlens/cluster, ports 26xxx): ZooKeeper,
              3 Kafka brokers (KRaft, RF 3), ClickHouse 2 shards with a replica for shard 1
              (RUNLENS_CLUSTER_REPLICA=0: none); see clickhouse/cluster/DEPLOYMENT.md

environment: RUNLENS_STATE_DIR (default .runlens), RUNLENS_CLICKHOUSE_URL,
RUNLENS_KAFKA_BROKERS, RUNLENS_KAFKA_TOPIC (see README, "Configuration")`,
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs(argv, { json: { type: 'boolean', default: false }, cluster: { type: 'boolean', default: false } });
    const [action, ...extra] = positionals;
    if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}"`);
    const log = values.json ? () => {} : io.err;
    if (values.cluster) return runCluster(action, values.json, log, io.out);
    switch (action) {
      case 'up': {
        const status = await stackUp({ log });
        io.out(values.json ? JSON.stringify(status, null, 2) : describe(status));
        return 0;
      }
      case 'down':
        await stackDown({ log });
        return 0;
      case 'status': {
        const status = await stackStatus({ log });
        io.out(values.json ? JSON.stringify(status, null, 2) : describe(status));
        return status.clickhouse.up && status.kafka.up ? 0 : 1;
      }
      default:
        throw new UsageError(action === undefined ? 'say up, down or status' : `unknown action "${action}" (up, down or status)`);
    }
  },
};

function describe(status: StackStatus): string {
  const line = (name: string, endpoint: string, up: boolean, pid: number | null) =>
    `${name.padEnd(11)} ${endpoint.padEnd(28)} ${up ? 'up' : 'DOWN'}${pid ? ` (pid ${pid})` : ''}`;
  return [
    line('clickhouse', status.clickhouse.httpUrl, status.clickhouse.up, status.clickhouse.pid),
    line('kafka', status.kafka.brokers, status.kafka.up, status.kafka.pid),
  ].join('\n');
}

async function runCluster(action: string | undefined, json: boolean, log: (line: string) => void, out: (line: string) => void): Promise<number> {
  switch (action) {
    case 'up': {
      const status = await clusterUp({ log });
      out(json ? JSON.stringify(status, null, 2) : describeCluster(status));
      return 0;
    }
    case 'down':
      await clusterDown({ log });
      return 0;
    case 'status': {
      const status = await clusterStatus({ log });
      out(json ? JSON.stringify(status, null, 2) : describeCluster(status));
      return clusterIsUp(status) ? 0 : 1;
    }
    default:
      throw new UsageError(action === undefined ? 'say up, down or status' : `unknown action "${action}" (up, down or status)`);
  }
}

function describeCluster(status: ClusterStatus): string {
  const line = (name: string, endpoint: string, up: boolean, pid: number | null) =>
    `${name.padEnd(11)} ${endpoint.padEnd(28)} ${up ? 'up' : 'DOWN'}${pid ? ` (pid ${pid})` : ''}`;
  return [
    line('zookeeper', status.zookeeper.address, status.zookeeper.up, status.zookeeper.pid),
    ...status.kafka.map((k) => line(k.node, k.address, k.up, k.pid)),
    ...status.clickhouse.map((c) => line(`${c.node} s${c.shard}`, c.httpUrl, c.up, c.pid)),
    '',
    ...Object.entries(status.env).map(([name, value]) => `${name}=${value}`),
  ].join('\n');
}
