// A stack of the fault suite's own, on other ports and in its own state folder: the suite
// kills and restarts Kafka and ClickHouse, which must never hit the stack that the other
// tests (or a developer's demo) are using.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseStackConfig, repoRoot } from '../../stack/config.ts';
import { stackUp, startService, stopService, type ServiceName } from '../../stack/stack.ts';
import type { TestPipeline } from '../support/pipeline.ts';

export const faultStateDir = join(repoRoot, '.runlens', 'fault-stack');

/**
 * Ports from RUNLENS_FAULT_PORT_BASE (default 28000): HTTP base+123, native base+1000,
 * Kafka base+1092, … Moving the base lets a second checkout run the suite beside this one.
 */
export const faultPortBase = Number(process.env['RUNLENS_FAULT_PORT_BASE'] ?? 28_000);
if (!Number.isInteger(faultPortBase) || faultPortBase < 1024 || faultPortBase > 60_000) {
  throw new Error(`RUNLENS_FAULT_PORT_BASE=${JSON.stringify(process.env['RUNLENS_FAULT_PORT_BASE'])}: must be a whole number from 1024 to 60000`);
}

export const faultStackEnv = Object.freeze({
  RUNLENS_STATE_DIR: faultStateDir,
  RUNLENS_CLICKHOUSE_URL: `http://127.0.0.1:${faultPortBase + 123}`,
  RUNLENS_CLICKHOUSE_TCP_PORT: String(faultPortBase + 1000),
  RUNLENS_CLICKHOUSE_INTERSERVER_PORT: String(faultPortBase + 1009),
  RUNLENS_KAFKA_BROKERS: `127.0.0.1:${faultPortBase + 1092}`,
  RUNLENS_KAFKA_CONTROLLER_PORT: String(faultPortBase + 1093),
});

const stackConfig = parseStackConfig({ ...process.env, ...faultStackEnv });
const log = (line: string) => process.stderr.write(`[fault-stack] ${line}\n`);

export async function faultStackUp(): Promise<void> {
  await stackUp({ config: stackConfig, log });
}

export async function crash(service: ServiceName): Promise<void> {
  await stopService(service, 'SIGKILL', { config: stackConfig, log });
}

export async function restart(service: ServiceName): Promise<void> {
  await startService(service, { config: stackConfig, log });
}

/** The environment a runlens child process needs to work on this pipeline. */
export function pipelineEnv(pipeline: TestPipeline, work: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    ...faultStackEnv,
    RUNLENS_CLICKHOUSE_DATABASE: pipeline.config.clickhouse.database,
    RUNLENS_KAFKA_TOPIC: pipeline.config.kafka.topic,
    RUNLENS_KAFKA_SINK_GROUP: pipeline.config.kafka.sinkGroup,
    RUNLENS_SINK_FLUSH_MS: '100',
    RUNLENS_ROLLUP_INTERVAL_MS: '500',
    RUNLENS_SPOOL_DIR: join(work, 'spool'),
    RUNLENS_CHECKPOINT_DIR: join(work, 'checkpoints'),
  };
}

export interface RunlensChild {
  process: ChildProcess;
  exited: Promise<number | null>;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/** `runlens <args>` as a child process, its output appended to <work>/<name>.log. */
export function runlens(name: string, args: string[], env: NodeJS.ProcessEnv, work: string): RunlensChild {
  mkdirSync(work, { recursive: true });
  const logFile = createWriteStream(join(work, `${name}.log`), { flags: 'a' });
  const child = spawn(process.execPath, [join(repoRoot, 'stack', 'runlens.mjs'), ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.pipe(logFile);
  child.stderr!.pipe(logFile);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    process: child,
    exited,
    async kill(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}
