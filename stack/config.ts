// The local stack's configuration: a schema over the environment, parsed once,
// frozen and passed down. This is the only module in stack/ that reads process.env.
//
// The stack only ever runs on this machine, so the URL and broker variables must
// point at 127.0.0.1 (or localhost): the same variables tell the app processes
// where to connect, so deriving the listening ports from them keeps the stack and
// its clients in agreement when someone moves the stack to other ports.
import { dirname, isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { localClickhouseUrl, localDefaults, localKafkaBrokers } from './local-defaults.ts';
import { describeEnvProblems } from './env-problems.ts';

// stack/ lives directly under the repo root; a relative state dir is resolved
// against the root rather than the cwd, so `npm test` from a sub-folder and the CLI
// agree on where the data is.
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');

const localHosts = new Set(['127.0.0.1', 'localhost']);

const port = z.coerce.number().int().min(1).max(65535);

const envSchema = z.object({
  RUNLENS_STATE_DIR: z.string().min(1).default(localDefaults.stateDir),
  RUNLENS_CLICKHOUSE_URL: z
    .url()
    .default(localClickhouseUrl)
    .refine((value) => {
      const url = new URL(value);
      return url.protocol === 'http:' && localHosts.has(url.hostname) && url.port !== '';
    }, 'must be http://127.0.0.1:<port>: the local stack only listens on loopback'),
  RUNLENS_CLICKHOUSE_TCP_PORT: port.default(localDefaults.clickhouseTcpPort),
  RUNLENS_CLICKHOUSE_INTERSERVER_PORT: port.default(localDefaults.clickhouseInterserverPort),
  RUNLENS_KAFKA_BROKERS: z
    .string()
    .default(localKafkaBrokers)
    .refine((value) => {
      const [host, portText, ...rest] = value.split(':');
      return rest.length === 0 && host !== undefined && localHosts.has(host) && port.safeParse(portText).success;
    }, 'must be a single 127.0.0.1:<port>: the local stack runs one broker on loopback'),
  RUNLENS_KAFKA_CONTROLLER_PORT: port.default(localDefaults.kafkaControllerPort),
  RUNLENS_KAFKA_TOPIC: z
    .string()
    .regex(/^[a-zA-Z0-9._-]{1,249}$/, 'must be a legal Kafka topic name ([a-zA-Z0-9._-], at most 249)')
    .default(localDefaults.runEventsTopic),
  // How long one service may take to become healthy. CI machines are slower than
  // laptops; a cold JVM plus a first ClickHouse start is ~10 s here.
  RUNLENS_STACK_START_TIMEOUT_MS: z.coerce.number().int().positive().default(90_000),
});

export type StackConfig = Readonly<{
  stateDir: string;
  clickhouse: Readonly<{
    httpUrl: string;
    httpPort: number;
    tcpPort: number;
    interserverPort: number;
    database: string;
    users: typeof localDefaults.users;
  }>;
  kafka: Readonly<{
    brokers: string;
    port: number;
    controllerPort: number;
    topic: string;
    partitions: number;
  }>;
  startTimeoutMs: number;
}>;

export class StackConfigError extends Error {
  override readonly name = 'StackConfigError';
}

/** Parses an environment (process.env by default) into a frozen StackConfig. */
export function parseStackConfig(env: NodeJS.ProcessEnv = process.env): StackConfig {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    // Name each variable precisely: "RUNLENS_KAFKA_BROKERS='x': must be ..."
    const lines = describeEnvProblems(parsed.error.issues, env);
    throw new StackConfigError(`invalid stack configuration:\n  ${lines.join('\n  ')}`);
  }
  const e = parsed.data;
  const httpUrl = new URL(e.RUNLENS_CLICKHOUSE_URL);
  const kafkaPort = Number(e.RUNLENS_KAFKA_BROKERS.split(':')[1]);
  const stateDir = isAbsolute(e.RUNLENS_STATE_DIR) ? e.RUNLENS_STATE_DIR : resolve(repoRoot, e.RUNLENS_STATE_DIR);
  return deepFreeze({
    stateDir,
    clickhouse: {
      // Normalised to 127.0.0.1: "localhost" may resolve to ::1 first, where we don't listen.
      httpUrl: `http://127.0.0.1:${httpUrl.port}`,
      httpPort: Number(httpUrl.port),
      tcpPort: e.RUNLENS_CLICKHOUSE_TCP_PORT,
      interserverPort: e.RUNLENS_CLICKHOUSE_INTERSERVER_PORT,
      database: localDefaults.database,
      users: localDefaults.users,
    },
    kafka: {
      brokers: `127.0.0.1:${kafkaPort}`,
      port: kafkaPort,
      controllerPort: e.RUNLENS_KAFKA_CONTROLLER_PORT,
      topic: e.RUNLENS_KAFKA_TOPIC,
      partitions: localDefaults.runEventsPartitions,
    },
    startTimeoutMs: e.RUNLENS_STACK_START_TIMEOUT_MS,
  });
}

function deepFreeze<T extends object>(value: T): T {
  for (const child of Object.values(value)) {
    if (typeof child === 'object' && child !== null) deepFreeze(child);
  }
  return Object.freeze(value);
}
