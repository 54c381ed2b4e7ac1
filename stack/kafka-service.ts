// Apache Kafka 3.9 (KRaft, one node) as a ManagedService. Started with `java`
// directly rather than bin/kafka-server-start.sh: we only have the jars from Maven,
// and this way the command line (and so the PID we record) is the JVM itself.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { StackConfig } from './config.ts';
import { StackError } from './errors.ts';
import { ensureKafkaInstalled, javaBinary, kafkaInstalled } from './kafka-install.ts';
import { renderKafkaLog4j, renderKafkaServerProperties } from './kafka-properties.ts';
import { ensureTopic, withKafkaAdmin } from './kafka-topic.ts';
import type { StackPaths } from './paths.ts';
import { runCommand, type Log } from './run-command.ts';
import type { ManagedService } from './service.ts';

export function kafkaService(config: StackConfig, paths: StackPaths): ManagedService {
  const k = paths.kafka;
  const classpath = `${k.libDir}/*`;
  const log4jFlag = `-Dlog4j.configuration=file:${k.log4jFile}`;
  return {
    name: 'kafka',
    endpoint: config.kafka.brokers,
    isInstalled: () => kafkaInstalled(paths),
    install: (log) => ensureKafkaInstalled({ log, paths, stateDir: config.stateDir }),
    renderFiles: () => [
      { path: k.serverPropertiesFile, content: renderKafkaServerProperties(config, paths) },
      { path: k.log4jFile, content: renderKafkaLog4j(paths) },
    ],
    prepareStorage: async (log) => {
      mkdirSync(k.logDir, { recursive: true });
      await formatStorageOnce({ log, paths, classpath, log4jFlag });
    },
    daemon: {
      command: javaBinary,
      // 768 MB heap: plenty for a dev broker, and leaves room for ClickHouse on 2 cores.
      args: ['-Xmx768m', '-Xms256m', '-Djava.awt.headless=true', log4jFlag, '-cp', classpath, 'kafka.Kafka', k.serverPropertiesFile],
      cwd: k.dir,
      outputFile: k.stderrFile,
      pidFile: k.pidFile,
    },
    commandMarker: k.serverPropertiesFile,
    ports: [config.kafka.port, config.kafka.controllerPort],
    probe: async () => {
      try {
        // The same call a client makes first; fails until the broker has registered.
        await withKafkaAdmin(config.kafka.brokers, (admin) => admin.listTopics(), { connectionTimeoutMs: 1_000, retries: 0 });
        return { ok: true };
      } catch (error) {
        return { ok: false, reason: `listTopics: ${error instanceof Error ? error.message : String(error)}` };
      }
    },
    afterHealthy: async (log) => {
      const created = await ensureTopic(config.kafka.brokers, config.kafka.topic, config.kafka.partitions);
      if (created) log(`kafka: created topic ${config.kafka.topic} (${config.kafka.partitions} partitions)`);
    },
    logFiles: [k.stderrFile, k.logFile],
    // Controlled shutdown of a single node takes 1-5 s.
    stopGraceMs: 30_000,
  };
}

/**
 * KRaft needs its log dir formatted with a cluster id before the first start. Done
 * once: meta.properties in the data dir marks it. The id is generated here the way
 * Kafka's Uuid.randomUuid() does (16 random bytes, base64url, never starting with
 * "-"), which saves a JVM start for `StorageTool random-uuid`.
 */
async function formatStorageOnce({
  log,
  paths,
  classpath,
  log4jFlag,
}: {
  log: Log;
  paths: StackPaths;
  classpath: string;
  log4jFlag: string;
}): Promise<void> {
  const k = paths.kafka;
  if (existsSync(join(k.dataDir, 'meta.properties'))) return;
  let clusterId = '';
  do clusterId = randomBytes(16).toString('base64url');
  while (clusterId.startsWith('-'));
  log(`kafka: formatting storage (cluster id ${clusterId})`);
  const formatLog = join(k.dir, 'format.log');
  const { code } = await runCommand(
    javaBinary,
    [log4jFlag, '-cp', classpath, 'kafka.tools.StorageTool', 'format', '-t', clusterId, '-c', k.serverPropertiesFile],
    { log, logFile: formatLog },
  );
  if (code !== 0) throw new StackError('kafka', `StorageTool format failed with exit code ${code}`, [formatLog]);
  // Read back so a half-written dir fails here, not as a confusing broker error.
  if (!readFileSync(join(k.dataDir, 'meta.properties'), 'utf8').includes(clusterId)) {
    throw new StackError('kafka', `StorageTool did not write ${clusterId} into meta.properties`, [formatLog]);
  }
}
