// The stack's public surface: what the `runlens stack` CLI, vitest's global setup and
// fault-injection tests call. Every function takes its config as an option and
// otherwise parses the environment once (stack/config.ts).
import { parseStackConfig, type StackConfig } from './config.ts';
import { clickhouseService } from './clickhouse-service.ts';
import { StackError, type ServiceName } from './errors.ts';
import { kafkaService } from './kafka-service.ts';
import { stackPaths } from './paths.ts';
import type { Log } from './run-command.ts';
import type { ManagedService } from './service.ts';
import { ensureRunning, status, stop } from './service-lifecycle.ts';
import { withStackLock } from './stack-lock.ts';

export type { ServiceName } from './errors.ts';
export { StackError } from './errors.ts';
export { ensureTopic, TopicMismatchError } from './kafka-topic.ts';
export { parseStackConfig, type StackConfig } from './config.ts';

export type StackOptions = { log?: Log; config?: StackConfig };

export type StackStatus = {
  clickhouse: { httpUrl: string; up: boolean; pid: number | null };
  kafka: { brokers: string; up: boolean; pid: number | null };
};

let envConfig: StackConfig | undefined;
function resolveConfig(options: StackOptions): StackConfig {
  if (options.config) return options.config;
  envConfig ??= parseStackConfig();
  return envConfig;
}

function services(config: StackConfig): Record<ServiceName, ManagedService> {
  const paths = stackPaths(config);
  return { clickhouse: clickhouseService(config, paths), kafka: kafkaService(config, paths) };
}

const quiet: Log = () => {};

/**
 * Installs what is missing, renders configs, starts what is not running and waits
 * until both answer. Idempotent: a second call with everything up takes well under
 * a second. Throws StackError naming the failed service and its log files.
 */
export async function stackUp(options: StackOptions = {}): Promise<StackStatus> {
  const config = resolveConfig(options);
  const log = options.log ?? quiet;
  const all = services(config);
  // Lock wait covers a cold install by another process (Maven ~50 s) plus startup.
  await withStackLock(config.stateDir, config.startTimeoutMs + 180_000, async () => {
    // Both at once: they don't depend on each other to start (ClickHouse's Kafka
    // tables retry until the broker answers), and a cold start is ~2x faster.
    const results = await Promise.allSettled([
      ensureRunning(all.kafka, { log, timeoutMs: config.startTimeoutMs }),
      ensureRunning(all.clickhouse, { log, timeoutMs: config.startTimeoutMs }),
    ]);
    const failures = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
    if (failures.length === 1) throw failures[0];
    if (failures.length > 1) {
      throw new StackError('stack', failures.map((f) => (f instanceof Error ? f.message : String(f))).join('\n'));
    }
  });
  return stackStatus(options);
}

/**
 * Stops both services by their PID files: ClickHouse first, because with Kafka gone
 * each Kafka engine table makes ClickHouse's shutdown wait ~3 s. Data is kept.
 */
export async function stackDown(options: StackOptions = {}): Promise<void> {
  const config = resolveConfig(options);
  const log = options.log ?? quiet;
  const all = services(config);
  await withStackLock(config.stateDir, 120_000, async () => {
    await stop(all.clickhouse, { log });
    await stop(all.kafka, { log });
  });
}

/** For `runlens stack status --json`: never throws because a service is down. */
export async function stackStatus(options: StackOptions = {}): Promise<StackStatus> {
  const config = resolveConfig(options);
  const all = services(config);
  const [clickhouse, kafka] = await Promise.all([status(all.clickhouse), status(all.kafka)]);
  return {
    clickhouse: { httpUrl: config.clickhouse.httpUrl, ...clickhouse },
    kafka: { brokers: config.kafka.brokers, ...kafka },
  };
}

/**
 * Fault injection: signals one service (SIGKILL to simulate a crash) and waits until
 * it is gone; SIGTERM escalates to SIGKILL after the service's grace period.
 */
export async function stopService(
  name: ServiceName,
  signal: NodeJS.Signals = 'SIGTERM',
  options: StackOptions = {},
): Promise<'exited' | 'killed' | 'not-running'> {
  const config = resolveConfig(options);
  return stop(services(config)[name], { log: options.log ?? quiet, signal });
}

/** Starts one service if it is not running and waits until it is healthy. */
export async function startService(name: ServiceName, options: StackOptions = {}): Promise<{ pid: number; started: boolean }> {
  const config = resolveConfig(options);
  const service = services(config)[name];
  return withStackLock(config.stateDir, config.startTimeoutMs + 180_000, () =>
    ensureRunning(service, { log: options.log ?? quiet, timeoutMs: config.startTimeoutMs }),
  );
}
