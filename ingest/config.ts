// The ingest processes' configuration (watch, publish, simulate, sink): a schema over the
// environment whose defaults are the local stack, parsed once, frozen, passed down.
// No other module under ingest/ reads process.env.
import { isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { localClickhouseUrl, localDefaults, localKafkaBrokers } from '../stack/local-defaults.ts';
import { repoRoot } from '../stack/config.ts';
import { describeEnvProblems } from '../stack/env-problems.ts';

const positiveInt = z.coerce.number().int().positive();

const envSchema = z.object({
  RUNLENS_STATE_DIR: z.string().min(1).default(localDefaults.stateDir),
  RUNLENS_KAFKA_BROKERS: z
    .string()
    .default(localKafkaBrokers)
    .refine((value) => value.split(',').every((broker) => /^[^\s:,]+:\d{1,5}$/.test(broker.trim())), 'must be host:port[,host:port…]'),
  RUNLENS_KAFKA_TOPIC: z
    .string()
    .regex(/^[a-zA-Z0-9._-]{1,249}$/, 'must be a legal Kafka topic name ([a-zA-Z0-9._-], at most 249)')
    .default(localDefaults.runEventsTopic),
  RUNLENS_KAFKA_CLIENT_ID: z.string().min(1).default('runlens-ingest'),
  RUNLENS_KAFKA_SINK_GROUP: z.string().min(1).default('runlens-clickhouse-sink'),
  RUNLENS_CLICKHOUSE_URL: z.url().default(localClickhouseUrl),
  RUNLENS_CLICKHOUSE_DATABASE: z
    .string()
    .regex(/^[a-zA-Z_][a-zA-Z0-9_]{0,63}$/, 'must be a plain identifier')
    .default(localDefaults.database),
  RUNLENS_CLICKHOUSE_INGEST_USER: z.string().min(1).default(localDefaults.users.ingest.name),
  RUNLENS_CLICKHOUSE_INGEST_PASSWORD: z.string().default(localDefaults.users.ingest.password),
  RUNLENS_CLICKHOUSE_ADMIN_USER: z.string().min(1).default(localDefaults.users.admin.name),
  RUNLENS_CLICKHOUSE_ADMIN_PASSWORD: z.string().default(localDefaults.users.admin.password),
  /** Where `publish` and the watcher keep events Kafka could not take yet. */
  RUNLENS_SPOOL_DIR: z.string().min(1).optional(),
  /** The watcher's checkpoint (what it has published, by file state). */
  RUNLENS_CHECKPOINT_DIR: z.string().min(1).optional(),
  /** The sink flushes a batch after this long or this many rows, whichever comes first. */
  RUNLENS_SINK_FLUSH_MS: positiveInt.default(200),
  RUNLENS_SINK_MAX_BATCH: positiveInt.default(20_000),
  /** Run the rollup maintainer inside the sink (one writer at a time, by a ClickHouse lease). */
  RUNLENS_ROLLUP_MAINTAIN: z.enum(['0', '1']).default('1'),
  /** How often the maintainer looks for dirty rollup units. */
  RUNLENS_ROLLUP_INTERVAL_MS: positiveInt.default(2_000),
  /** Label keys rolled up as dimensions `label.<key>`; changing them needs `runlens rebuild`. */
  RUNLENS_ROLLUP_LABEL_KEYS: z
    .string()
    .default('region,tier')
    .refine((value) => value === '' || value.split(',').every((key) => /^[A-Za-z0-9_.:-]{1,100}$/.test(key.trim())), 'must be label keys separated by commas'),
  /** Retention in days (0 = forever), applied by dropping whole months; rollups outlive runs. */
  RUNLENS_RETENTION_RUNS_DAYS: z.coerce.number().int().min(0).default(400),
  RUNLENS_RETENTION_MINUTE_DAYS: z.coerce.number().int().min(0).default(35),
  RUNLENS_RETENTION_HOUR_DAYS: z.coerce.number().int().min(0).default(800),
  RUNLENS_RETENTION_DAY_DAYS: z.coerce.number().int().min(0).default(0),
});

export type IngestConfig = Readonly<{
  stateDir: string;
  spoolDir: string;
  checkpointDir: string;
  kafka: Readonly<{ brokers: string[]; topic: string; clientId: string; sinkGroup: string }>;
  clickhouse: Readonly<{
    url: string;
    database: string;
    ingest: Readonly<{ username: string; password: string }>;
    admin: Readonly<{ username: string; password: string }>;
  }>;
  sink: Readonly<{ flushMs: number; maxBatch: number }>;
  rollup: Readonly<{ maintain: boolean; intervalMs: number; labelKeys: string[]; retention: RetentionDays }>;
}>;

/** Days to keep per table; 0 keeps forever. */
export type RetentionDays = Readonly<{ runs: number; minute: number; hour: number; day: number }>;

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

export function parseIngestConfig(env: NodeJS.ProcessEnv = process.env): IngestConfig {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const problems = describeEnvProblems(parsed.error.issues, env);
    throw new ConfigError(`invalid configuration: ${problems.join('; ')}`);
  }
  const e = parsed.data;
  const retention = {
    runs: e.RUNLENS_RETENTION_RUNS_DAYS,
    minute: e.RUNLENS_RETENTION_MINUTE_DAYS,
    hour: e.RUNLENS_RETENTION_HOUR_DAYS,
    day: e.RUNLENS_RETENTION_DAY_DAYS,
  };
  // The day tier is derived from the hour tier, and a unit is recomputed from raw runs:
  // hour rows must outlive runs, and day rows hour rows (0 = forever).
  const atLeast = (longer: number, shorter: number) => longer === 0 || (shorter !== 0 && longer >= shorter);
  if (!atLeast(retention.hour, retention.runs) || !atLeast(retention.day, retention.hour)) {
    throw new ConfigError(
      `invalid configuration: retention must satisfy runs ≤ hour ≤ day (0 = forever), got runs=${retention.runs} hour=${retention.hour} day=${retention.day}`,
    );
  }
  const stateDir = isAbsolute(e.RUNLENS_STATE_DIR) ? e.RUNLENS_STATE_DIR : resolve(repoRoot, e.RUNLENS_STATE_DIR);
  return deepFreeze({
    stateDir,
    spoolDir: resolve(stateDir, e.RUNLENS_SPOOL_DIR ?? 'spool'),
    checkpointDir: resolve(stateDir, e.RUNLENS_CHECKPOINT_DIR ?? 'checkpoints'),
    kafka: {
      brokers: e.RUNLENS_KAFKA_BROKERS.split(',').map((broker) => broker.trim()),
      topic: e.RUNLENS_KAFKA_TOPIC,
      clientId: e.RUNLENS_KAFKA_CLIENT_ID,
      sinkGroup: e.RUNLENS_KAFKA_SINK_GROUP,
    },
    clickhouse: {
      url: e.RUNLENS_CLICKHOUSE_URL,
      database: e.RUNLENS_CLICKHOUSE_DATABASE,
      ingest: { username: e.RUNLENS_CLICKHOUSE_INGEST_USER, password: e.RUNLENS_CLICKHOUSE_INGEST_PASSWORD },
      admin: { username: e.RUNLENS_CLICKHOUSE_ADMIN_USER, password: e.RUNLENS_CLICKHOUSE_ADMIN_PASSWORD },
    },
    sink: { flushMs: e.RUNLENS_SINK_FLUSH_MS, maxBatch: e.RUNLENS_SINK_MAX_BATCH },
    rollup: {
      maintain: e.RUNLENS_ROLLUP_MAINTAIN === '1',
      intervalMs: e.RUNLENS_ROLLUP_INTERVAL_MS,
      labelKeys: [...new Set(e.RUNLENS_ROLLUP_LABEL_KEYS.split(',').map((key) => key.trim()).filter((key) => key !== ''))],
      retention,
    },
  });
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
