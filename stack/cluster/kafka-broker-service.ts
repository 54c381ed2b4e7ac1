// One of three Kafka 3.9 brokers, KRaft, each both broker and controller: a quorum of
// three controllers survives one node down, and so does every partition (replication
// factor 3, min.insync.replicas 2: acks=all writes keep working with two in sync).
// The jars are the single-node stack's (stack/kafka/pom.xml), shared, not copied.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { StackError } from '../errors.ts';
import { ensureKafkaInstalled, javaBinary, kafkaInstalled } from '../kafka-install.ts';
import type { StackPaths } from '../paths.ts';
import { runCommand, type Log } from '../run-command.ts';
import type { ManagedService } from '../service.ts';
import type { ClusterConfig, KafkaBroker } from './cluster-config.ts';

export function brokerPaths(config: ClusterConfig, broker: KafkaBroker) {
  const dir = join(config.dir, `kafka${broker.id}`);
  return {
    dir,
    serverPropertiesFile: join(dir, 'server.properties'),
    log4jFile: join(dir, 'log4j.properties'),
    dataDir: join(dir, 'data'),
    logDir: join(dir, 'log'),
    logFile: join(dir, 'log', 'server.log'),
    stderrFile: join(dir, 'stderr.log'),
    pidFile: join(dir, 'kafka.pid'),
  } as const;
}

export function kafkaBrokerService(config: ClusterConfig, broker: KafkaBroker, singleNodePaths: StackPaths): ManagedService {
  const p = brokerPaths(config, broker);
  const classpath = `${singleNodePaths.kafka.libDir}/*`;
  const log4jFlag = `-Dlog4j.configuration=file:${p.log4jFile}`;
  return {
    name: 'kafka',
    endpoint: broker.address,
    isInstalled: () => kafkaInstalled(singleNodePaths),
    install: (log) => ensureKafkaInstalled({ log, paths: singleNodePaths, stateDir: config.stateDir }),
    renderFiles: () => [
      { path: p.serverPropertiesFile, content: renderBrokerProperties(config, broker, p.dataDir) },
      { path: p.log4jFile, content: renderLog4j(p.logFile) },
    ],
    prepareStorage: async (log) => {
      mkdirSync(p.logDir, { recursive: true });
      await formatOnce(config, p, classpath, log4jFlag, log);
    },
    daemon: {
      command: javaBinary,
      // Small heaps: six JVM-ish processes share two cores and the other engineers' tests.
      args: ['-Xmx384m', '-Xms128m', '-XX:+UseSerialGC', '-Djava.awt.headless=true', log4jFlag, '-cp', classpath, 'kafka.Kafka', p.serverPropertiesFile],
      cwd: p.dir,
      outputFile: p.stderrFile,
      pidFile: p.pidFile,
    },
    commandMarker: p.serverPropertiesFile,
    ports: [broker.port, broker.controllerPort],
    probe: async () => {
      // Registered with the quorum = listed by itself as a live broker.
      const kafka = new Kafka({ clientId: 'runlens-cluster-probe', brokers: [broker.address], logLevel: logLevel.NOTHING, connectionTimeout: 1_000, retry: { retries: 0 } });
      const admin = kafka.admin();
      try {
        await admin.connect();
        const { brokers } = await admin.describeCluster();
        return brokers.some((b) => b.nodeId === broker.id) ? { ok: true } : { ok: false, reason: `broker ${broker.id} not yet registered` };
      } catch (error) {
        return { ok: false, reason: `describeCluster: ${error instanceof Error ? error.message : String(error)}` };
      } finally {
        await admin.disconnect().catch(() => {});
      }
    },
    afterHealthy: async () => {},
    logFiles: [p.stderrFile, p.logFile],
    stopGraceMs: 30_000,
  };
}

export function renderBrokerProperties(config: ClusterConfig, broker: KafkaBroker, dataDir: string): string {
  const k = config.kafka;
  const lines: Array<[string, string | number]> = [
    ['process.roles', 'broker,controller'],
    ['node.id', broker.id],
    ['controller.quorum.voters', k.brokers.map((b) => `${b.id}@127.0.0.1:${b.controllerPort}`).join(',')],
    ['listeners', `PLAINTEXT://127.0.0.1:${broker.port},CONTROLLER://127.0.0.1:${broker.controllerPort}`],
    ['advertised.listeners', `PLAINTEXT://127.0.0.1:${broker.port}`],
    ['listener.security.protocol.map', 'PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT'],
    ['inter.broker.listener.name', 'PLAINTEXT'],
    ['controller.listener.names', 'CONTROLLER'],
    ['log.dirs', dataDir],
    ['num.partitions', k.partitions],
    // Every topic, the internal ones included, on all three brokers; a write is
    // acknowledged (acks=all) once two of them have it, so one broker may be down.
    ['default.replication.factor', k.replicationFactor],
    ['min.insync.replicas', k.minInsyncReplicas],
    ['offsets.topic.replication.factor', k.replicationFactor],
    ['offsets.topic.num.partitions', 10],
    ['transaction.state.log.replication.factor', k.replicationFactor],
    ['transaction.state.log.min.isr', k.minInsyncReplicas],
    // Never elect a replica that missed acknowledged writes.
    ['unclean.leader.election.enable', 'false'],
    ['group.initial.rebalance.delay.ms', 0],
    // A SIGKILLed broker is fenced after this long and may then re-register.
    ['broker.session.timeout.ms', 6000],
    ['broker.heartbeat.interval.ms', 1000],
    ['auto.create.topics.enable', 'false'],
    // Few threads: three brokers on two busy cores.
    ['num.network.threads', 2],
    ['num.io.threads', 2],
    ['num.replica.fetchers', 1],
    ['background.threads', 2],
    ['log.retention.hours', 168],
    ['log.retention.bytes', 1_073_741_824],
  ];
  return ['# Generated by stack/cluster/kafka-broker-service.ts on every `stack up --cluster`.', ...lines.map(([key, value]) => `${key}=${value}`), ''].join('\n');
}

function renderLog4j(logFile: string): string {
  return `# Generated by stack/cluster/kafka-broker-service.ts.
log4j.rootLogger=WARN, file
log4j.appender.file=org.apache.log4j.RollingFileAppender
log4j.appender.file.File=${logFile}
log4j.appender.file.MaxFileSize=50MB
log4j.appender.file.MaxBackupIndex=2
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.server.KafkaRaftServer=INFO
`;
}

/** All three brokers are formatted with one cluster id, generated once and kept beside them. */
async function formatOnce(config: ClusterConfig, p: ReturnType<typeof brokerPaths>, classpath: string, log4jFlag: string, log: Log): Promise<void> {
  if (existsSync(join(p.dataDir, 'meta.properties'))) return;
  const idFile = join(config.dir, 'kafka-cluster-id');
  if (!existsSync(idFile)) {
    let id = '';
    do id = randomBytes(16).toString('base64url');
    while (id.startsWith('-'));
    mkdirSync(config.dir, { recursive: true });
    writeFileSync(idFile, id);
  }
  const clusterId = readFileSync(idFile, 'utf8').trim();
  const formatLog = join(p.dir, 'format.log');
  const { code } = await runCommand(
    javaBinary,
    ['-Xmx128m', log4jFlag, '-cp', classpath, 'kafka.tools.StorageTool', 'format', '-t', clusterId, '-c', p.serverPropertiesFile],
    { log, logFile: formatLog },
  );
  if (code !== 0) throw new StackError('kafka', `StorageTool format failed with exit code ${code}`, [formatLog]);
}
