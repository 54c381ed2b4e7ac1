// Gets a runnable Kafka broker: Java and Maven from apt if missing, then the jars
// pinned in stack/kafka/pom.xml copied from Maven Central into .runlens/kafka/lib.
// A stamp (hash of the pom) is written only after a complete copy, so an
// interrupted download is redone and a version bump in the pom re-resolves.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { aptInstall } from './apt-install.ts';
import { repoRoot } from './config.ts';
import { StackError } from './errors.ts';
import type { StackPaths } from './paths.ts';
import { runCommand, type Log } from './run-command.ts';

export const kafkaPom = join(repoRoot, 'stack', 'kafka', 'pom.xml');
// Debian's alternatives put both here; checked by path so we need not read $PATH.
export const javaBinary = '/usr/bin/java';
const mvnBinary = '/usr/bin/mvn';

/** Java, Maven, and jars copied from the current pom (stamp matches). */
export function kafkaInstalled(paths: StackPaths): boolean {
  return (
    existsSync(javaBinary) &&
    existsSync(mvnBinary) &&
    existsSync(paths.kafka.libStampFile) &&
    readFileSync(paths.kafka.libStampFile, 'utf8') === pomStamp()
  );
}

function pomStamp(): string {
  return createHash('sha256').update(readFileSync(kafkaPom)).digest('hex');
}

export async function ensureKafkaInstalled({
  log,
  paths,
  stateDir,
}: {
  log: Log;
  paths: StackPaths;
  stateDir: string;
}): Promise<void> {
  if (!existsSync(javaBinary) || !existsSync(mvnBinary)) {
    log('kafka: java or mvn is missing');
    await aptInstall('kafka', ['default-jre-headless', 'maven'], { log, stateDir });
  }
  if (kafkaInstalled(paths)) return;
  const stamp = pomStamp();
  const libs = paths.kafka.libDir;

  log('kafka: resolving the broker from Maven Central (about 50 s with a cold ~/.m2 cache)');
  rmSync(libs, { recursive: true, force: true }); // no stale jars from an older pom on the classpath
  mkdirSync(libs, { recursive: true });
  const started = Date.now();
  const { code } = await runCommand(
    mvnBinary,
    ['-q', '-B', '-f', kafkaPom, 'dependency:copy-dependencies', `-DoutputDirectory=${libs}`, '-DincludeScope=runtime'],
    { log, logFile: paths.kafka.mavenLogFile, heartbeat: 'kafka: still resolving jars' },
  );
  if (code !== 0) {
    throw new StackError('kafka', `mvn dependency:copy-dependencies failed with exit code ${code}`, [paths.kafka.mavenLogFile]);
  }
  if (!hasKafkaJar(libs)) {
    throw new StackError('kafka', `Maven finished but no kafka_2.13 jar is in ${libs}`, [paths.kafka.mavenLogFile]);
  }
  writeFileSync(paths.kafka.libStampFile, stamp);
  log(`kafka: jars ready in ${Math.round((Date.now() - started) / 100) / 10} s`);
}

function hasKafkaJar(dir: string): boolean {
  // The version lives in the pom; accept whatever kafka_2.13 it pinned.
  return readdirNames(dir).some((name) => /^kafka_2\.13-.*\.jar$/.test(name));
}

function readdirNames(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
