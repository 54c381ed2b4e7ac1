// Every file the stack writes, in one place, so stackDown/status and the start code
// cannot disagree about where a PID file or log lives. All under the state dir,
// which is git-ignored; `rm -rf .runlens` (after `stack down`) is a full reset.
import { join } from 'node:path';
import type { StackConfig } from './config.ts';

export type StackPaths = ReturnType<typeof stackPaths>;

export function stackPaths(config: StackConfig) {
  const ch = join(config.stateDir, 'clickhouse');
  const kafka = join(config.stateDir, 'kafka');
  return {
    clickhouse: {
      dir: ch,
      configFile: join(ch, 'config.xml'),
      usersFile: join(ch, 'users.xml'),
      // The `default` user's password: random, generated once, never used by runlens.
      defaultPasswordFile: join(ch, 'default-user-password'),
      dataDir: join(ch, 'data') + '/',
      tmpDir: join(ch, 'tmp') + '/',
      userFilesDir: join(ch, 'user_files') + '/',
      formatSchemaDir: join(ch, 'format_schemas') + '/',
      logDir: join(ch, 'log'),
      logFile: join(ch, 'log', 'clickhouse-server.log'),
      errorLogFile: join(ch, 'log', 'clickhouse-server.err.log'),
      // librdkafka (the Kafka engine) writes its connection errors only here.
      stderrFile: join(ch, 'stderr.log'),
      pidFile: join(ch, 'clickhouse.pid'),
    },
    kafka: {
      dir: kafka,
      libDir: join(kafka, 'lib'),
      // Hash of stack/kafka/pom.xml written after a complete Maven copy.
      libStampFile: join(kafka, 'lib', '.resolved-from-pom'),
      mavenLogFile: join(kafka, 'maven.log'),
      serverPropertiesFile: join(kafka, 'server.properties'),
      log4jFile: join(kafka, 'log4j.properties'),
      dataDir: join(kafka, 'data'),
      logFile: join(kafka, 'log', 'server.log'),
      logDir: join(kafka, 'log'),
      stderrFile: join(kafka, 'stderr.log'),
      pidFile: join(kafka, 'kafka.pid'),
    },
  } as const;
}
