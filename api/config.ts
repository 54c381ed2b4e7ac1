// The API process's configuration: a schema over the environment whose defaults are the
// local stack, parsed once, frozen and passed down. No other module under api/ reads
// process.env (api/index.ts hands it to parseApiConfig).
import { isIP } from 'node:net';
import { z } from 'zod';
import { fileURLToPath } from 'node:url';
import { localClickhouseUrl, localDefaults, localKafkaBrokers } from '../stack/local-defaults.ts';
import { parseAlertingConfig, type AlertingConfig } from './alerting/config.ts';
import { parseTokens, type TokenTable } from './auth/tokens.ts';
import { describeEnvProblems } from '../stack/env-problems.ts';

/** Where `vite build` puts the dashboard (dashboard/vite.config.ts). */
export const defaultDashboardDir = fileURLToPath(new URL('../dashboard/dist', import.meta.url));

/**
 * Tokens used when RUNLENS_API_TOKENS is unset: for the local stack only, documented so
 * a developer can curl the API (`Authorization: Bearer dev-admin`). They are refused
 * unless the API listens on loopback, so a deployment cannot start with them by accident.
 */
export const DEV_TOKENS = 'viewer:dev-viewer,analyst:dev-analyst,admin:dev-admin';

const positiveInt = z.coerce.number().int().positive();
const identifier = z.string().regex(/^[a-zA-Z_][a-zA-Z0-9_]{0,63}$/, 'must be a plain identifier');

const envSchema = z.object({
  RUNLENS_API_HOST: z.string().min(1).default('127.0.0.1'),
  /** 0 picks a free port (tests); startApi reports the one bound. */
  RUNLENS_API_PORT: z.coerce.number().int().min(0).max(65535).default(localDefaults.apiPort),
  RUNLENS_CLICKHOUSE_URL: z.url().default(localClickhouseUrl),
  RUNLENS_CLICKHOUSE_DATABASE: identifier.default(localDefaults.database),
  RUNLENS_CLICKHOUSE_API_USER: z.string().min(1).default(localDefaults.users.api.name),
  RUNLENS_CLICKHOUSE_API_PASSWORD: z.string().default(localDefaults.users.api.password),
  RUNLENS_CLICKHOUSE_SQL_USER: z.string().min(1).default(localDefaults.users.sql.name),
  RUNLENS_CLICKHOUSE_SQL_PASSWORD: z.string().default(localDefaults.users.sql.password),
  RUNLENS_API_TOKENS: z.string().optional(),
  RUNLENS_API_AUTH: z.enum(['on', 'off']).default('on'),
  /** Also ClickHouse's max_execution_time for the API's queries (rounded up to seconds). */
  RUNLENS_API_QUERY_TIMEOUT_MS: positiveInt.max(600_000).default(15_000),
  /** How far behind real time ingestion may be: buckets after now − lag are marked incomplete. */
  RUNLENS_API_INGEST_LAG_MS: z.coerce.number().int().min(0).default(5_000),
  /** Comma-separated origins allowed by CORS; empty (the default) sends no CORS headers at all. */
  RUNLENS_API_CORS_ORIGINS: z.string().default(''),
  /** The live stream (GET /api/v1/live) reads the run-events topic itself; 0 turns it off. */
  RUNLENS_API_LIVE: z.enum(['0', '1']).default('1'),
  RUNLENS_KAFKA_BROKERS: z
    .string()
    .default(localKafkaBrokers)
    .refine((value) => value.split(',').every((broker) => /^[^\s:,]+:\d{1,5}$/.test(broker.trim())), 'must be host:port[,host:port…]'),
  RUNLENS_KAFKA_TOPIC: z.string().regex(/^[a-zA-Z0-9._-]{1,249}$/, 'must be a legal Kafka topic name').default(localDefaults.runEventsTopic),
  /** The sink's consumer group: its committed offsets are the live watermark. */
  RUNLENS_KAFKA_SINK_GROUP: z.string().min(1).default('runlens-clickhouse-sink'),
  /** The built dashboard served at `/`; empty serves no dashboard. */
  RUNLENS_DASHBOARD_DIR: z.string().default(defaultDashboardDir),
  /** SQL console: queries per minute per token (a token bucket; bursts up to a fifth of it). */
  RUNLENS_SQL_RATE_PER_MINUTE: positiveInt.max(100_000).default(60),
  /** SQL console: rows returned to the browser; the sql user's max_result_rows still bounds the query. */
  RUNLENS_SQL_MAX_ROWS: positiveInt.max(100_000).default(10_000),
  /** Read the rollup tables where they answer exactly; 0: every query reads `runs`. */
  RUNLENS_API_ROLLUPS: z.enum(['0', '1']).default('1'),
  /** The sink's rollup label keys and minute-tier retention (same variables, same defaults as ingest/config.ts): what the rollups hold. */
  RUNLENS_ROLLUP_LABEL_KEYS: z.string().default('region,tier'),
  RUNLENS_RETENTION_MINUTE_DAYS: z.coerce.number().int().min(0).default(35),
  /** Where the local watcher/publish spool lives, for the pipeline strip's spool depth (same machine only). */
  RUNLENS_SPOOL_DIR: z.string().default(''),
});

export type ApiConfig = Readonly<{
  host: string;
  port: number;
  clickhouse: Readonly<{
    url: string;
    database: string;
    api: Readonly<{ username: string; password: string }>;
    sql: Readonly<{ username: string; password: string }>;
  }>;
  /** null when RUNLENS_API_AUTH=off. */
  tokens: TokenTable | null;
  queryTimeoutMs: number;
  ingestLagMs: number;
  corsOrigins: readonly string[];
  /** The API listens on loopback only (dev tokens and the dev webhook secret are allowed). */
  loopback: boolean;
  kafka: Readonly<{ brokers: readonly string[]; topic: string; sinkGroup: string }>;
  live: boolean;
  /** '' when the dashboard is not served. */
  dashboardDir: string;
  sqlConsole: Readonly<{ ratePerMinute: number; maxRows: number }>;
  spoolDir: string;
  /** null: RUNLENS_API_ROLLUPS=0. */
  rollups: Readonly<{ labelKeys: readonly string[]; minuteRetentionDays: number }> | null;
  alerting: AlertingConfig;
}>;

export class ApiConfigError extends Error {
  override readonly name = 'ApiConfigError';
}

export function parseApiConfig(env: NodeJS.ProcessEnv): ApiConfig {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const problems = describeEnvProblems(parsed.error.issues, env);
    throw new ApiConfigError(`invalid API configuration: ${problems.join('; ')}`);
  }
  const e = parsed.data;
  const loopback = e.RUNLENS_API_HOST === 'localhost' || (isIP(e.RUNLENS_API_HOST) !== 0 && /^(127\.|::1$)/.test(e.RUNLENS_API_HOST));
  let tokens: TokenTable | null = null;
  if (e.RUNLENS_API_AUTH === 'on') {
    if (e.RUNLENS_API_TOKENS === undefined && !loopback) {
      throw new ApiConfigError(`RUNLENS_API_TOKENS: must be set when RUNLENS_API_HOST=${JSON.stringify(e.RUNLENS_API_HOST)} is not loopback (the dev tokens are for the local stack only)`);
    }
    try {
      tokens = parseTokens(e.RUNLENS_API_TOKENS ?? DEV_TOKENS);
    } catch (error) {
      throw new ApiConfigError(`RUNLENS_API_TOKENS=<hidden>: ${(error as Error).message}`);
    }
  }
  let alerting: AlertingConfig;
  try {
    alerting = parseAlertingConfig(env);
  } catch (error) {
    throw new ApiConfigError((error as Error).message);
  }
  const corsOrigins = e.RUNLENS_API_CORS_ORIGINS.split(',').map((origin) => origin.trim()).filter(Boolean);
  for (const origin of corsOrigins) {
    if (!/^https?:\/\/[^/\s]+$/.test(origin)) throw new ApiConfigError(`RUNLENS_API_CORS_ORIGINS: ${JSON.stringify(origin)} is not an origin like https://host[:port]`);
  }
  return Object.freeze({
    host: e.RUNLENS_API_HOST,
    port: e.RUNLENS_API_PORT,
    clickhouse: Object.freeze({
      url: e.RUNLENS_CLICKHOUSE_URL,
      database: e.RUNLENS_CLICKHOUSE_DATABASE,
      api: Object.freeze({ username: e.RUNLENS_CLICKHOUSE_API_USER, password: e.RUNLENS_CLICKHOUSE_API_PASSWORD }),
      sql: Object.freeze({ username: e.RUNLENS_CLICKHOUSE_SQL_USER, password: e.RUNLENS_CLICKHOUSE_SQL_PASSWORD }),
    }),
    tokens,
    queryTimeoutMs: e.RUNLENS_API_QUERY_TIMEOUT_MS,
    ingestLagMs: e.RUNLENS_API_INGEST_LAG_MS,
    corsOrigins: Object.freeze(corsOrigins),
    loopback,
    kafka: Object.freeze({ brokers: Object.freeze(e.RUNLENS_KAFKA_BROKERS.split(',').map((broker) => broker.trim())), topic: e.RUNLENS_KAFKA_TOPIC, sinkGroup: e.RUNLENS_KAFKA_SINK_GROUP }),
    live: e.RUNLENS_API_LIVE === '1',
    dashboardDir: e.RUNLENS_DASHBOARD_DIR,
    sqlConsole: Object.freeze({ ratePerMinute: e.RUNLENS_SQL_RATE_PER_MINUTE, maxRows: e.RUNLENS_SQL_MAX_ROWS }),
    spoolDir: e.RUNLENS_SPOOL_DIR,
    rollups: e.RUNLENS_API_ROLLUPS === '1'
      ? Object.freeze({ labelKeys: Object.freeze([...new Set(e.RUNLENS_ROLLUP_LABEL_KEYS.split(',').map((key) => key.trim()).filter((key) => key !== ''))]), minuteRetentionDays: e.RUNLENS_RETENTION_MINUTE_DAYS })
      : null,
    alerting,
  });
}
