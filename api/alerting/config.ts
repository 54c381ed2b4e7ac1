// Alerting's configuration: a schema over the environment whose defaults are the local
// stack, parsed once and frozen. api/index.ts passes process.env here; nothing else under
// api/alerting reads it. ClickHouse's URL, database and the `sql` user come from the API's
// own config; this one adds what only alerting needs.
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { localDefaults, localKafkaBrokers } from '../../stack/local-defaults.ts';
import { parseDuration } from './duration.ts';
import { describeEnvProblems } from '../../stack/env-problems.ts';

/** Used when RUNLENS_ALERT_WEBHOOK_SECRET is unset: local stack only (refused off loopback by index.ts). */
export const DEV_WEBHOOK_SECRET = 'local-alert-secret';
export const starterRulesDir = join(dirname(fileURLToPath(import.meta.url)), 'rules');

const positiveInt = z.coerce.number().int().positive();
const duration = (fallback: string) =>
  z.string().default(fallback).transform((text, ctx) => {
    const ms = parseDuration(text);
    if (ms === null) {
      ctx.addIssue({ code: 'custom', message: 'must be a duration like "30s", "5m", "1h"' });
      return z.NEVER;
    }
    return ms;
  });

const envSchema = z.object({
  /** 0 turns alerting off in this process (it still serves /api/v1/alerts from ClickHouse). */
  RUNLENS_ALERTING: z.enum(['0', '1']).default('1'),
  RUNLENS_ALERT_RULES_DIR: z.string().min(1).default(starterRulesDir),
  RUNLENS_ALERT_WEBHOOK_SECRET: z.string().min(16, 'must be at least 16 characters').optional(),
  RUNLENS_ALERT_DEFAULT_EVERY: duration('1m'),
  RUNLENS_ALERT_DEFAULT_REPEAT: duration('4h'),
  /** Per evaluation, unless a rule says otherwise; the sql user's max_execution_time is 20 s. */
  RUNLENS_ALERT_EVAL_TIMEOUT_MS: positiveInt.default(20_000),
  RUNLENS_ALERT_RESOLVED_RETENTION: duration('15m'),
  RUNLENS_ALERT_RELOAD_DEBOUNCE_MS: positiveInt.default(300),
  /** How often the leader re-reads API rules and silences written through other instances. */
  RUNLENS_ALERT_SYNC_INTERVAL_MS: positiveInt.default(10_000),
  RUNLENS_ALERT_DELIVERY_TIMEOUT_MS: positiveInt.default(5_000),
  RUNLENS_ALERT_DELIVERY_MAX_ATTEMPTS: positiveInt.max(100).default(8),
  RUNLENS_ALERT_DELIVERY_BACKOFF_MS: positiveInt.default(1_000),
  RUNLENS_ALERT_DELIVERY_MAX_BACKOFF_MS: positiveInt.default(60_000),
  RUNLENS_ALERT_DELIVERY_CONCURRENCY: positiveInt.max(64).default(4),
  RUNLENS_KAFKA_BROKERS: z
    .string()
    .default(localKafkaBrokers)
    .refine((value) => value.split(',').every((broker) => /^[^\s:,]+:\d{1,5}$/.test(broker.trim())), 'must be host:port[,host:port…]'),
  RUNLENS_ALERT_LEADER_TOPIC: z.string().regex(/^[a-zA-Z0-9._-]{1,249}$/, 'must be a legal Kafka topic name').default('runlens.alerting-leader'),
  RUNLENS_ALERT_LEADER_GROUP: z.string().min(1).default('runlens-alerting'),
  RUNLENS_ALERT_SESSION_TIMEOUT_MS: z.coerce.number().int().min(6_000).max(300_000).default(10_000),
  RUNLENS_ALERT_HEARTBEAT_MS: positiveInt.default(1_000),
  /** Writes alert_events/alert_deliveries/rules/silences: a user that may INSERT (not `sql`). */
  RUNLENS_ALERT_CLICKHOUSE_USER: z.string().min(1).default(localDefaults.users.ingest.name),
  RUNLENS_ALERT_CLICKHOUSE_PASSWORD: z.string().default(localDefaults.users.ingest.password),
});

export type AlertingConfig = Readonly<{
  enabled: boolean;
  rulesDir: string;
  webhookSecret: string;
  /** True when the secret is the local-stack default. */
  devSecret: boolean;
  defaults: Readonly<{ everyMs: number; repeatIntervalMs: number; timeoutMs: number }>;
  resolvedRetentionMs: number;
  reloadDebounceMs: number;
  syncIntervalMs: number;
  delivery: Readonly<{ timeoutMs: number; maxAttempts: number; backoff: Readonly<{ initialMs: number; maxMs: number }>; concurrency: number }>;
  leader: Readonly<{ brokers: readonly string[]; topic: string; groupId: string; sessionTimeoutMs: number; heartbeatIntervalMs: number }>;
  writer: Readonly<{ username: string; password: string }>;
}>;

export class AlertingConfigError extends Error {
  override readonly name = 'AlertingConfigError';
}

export function parseAlertingConfig(env: NodeJS.ProcessEnv): AlertingConfig {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const problems = describeEnvProblems(parsed.error.issues, env);
    throw new AlertingConfigError(`invalid alerting configuration: ${problems.join('; ')}`);
  }
  const e = parsed.data;
  if (e.RUNLENS_ALERT_HEARTBEAT_MS * 3 > e.RUNLENS_ALERT_SESSION_TIMEOUT_MS) {
    throw new AlertingConfigError('RUNLENS_ALERT_HEARTBEAT_MS must be at most a third of RUNLENS_ALERT_SESSION_TIMEOUT_MS (Kafka\'s rule)');
  }
  return Object.freeze({
    enabled: e.RUNLENS_ALERTING === '1',
    rulesDir: isAbsolute(e.RUNLENS_ALERT_RULES_DIR) ? e.RUNLENS_ALERT_RULES_DIR : resolve(e.RUNLENS_ALERT_RULES_DIR),
    webhookSecret: e.RUNLENS_ALERT_WEBHOOK_SECRET ?? DEV_WEBHOOK_SECRET,
    devSecret: e.RUNLENS_ALERT_WEBHOOK_SECRET === undefined,
    defaults: Object.freeze({ everyMs: e.RUNLENS_ALERT_DEFAULT_EVERY, repeatIntervalMs: e.RUNLENS_ALERT_DEFAULT_REPEAT, timeoutMs: e.RUNLENS_ALERT_EVAL_TIMEOUT_MS }),
    resolvedRetentionMs: e.RUNLENS_ALERT_RESOLVED_RETENTION,
    reloadDebounceMs: e.RUNLENS_ALERT_RELOAD_DEBOUNCE_MS,
    syncIntervalMs: e.RUNLENS_ALERT_SYNC_INTERVAL_MS,
    delivery: Object.freeze({
      timeoutMs: e.RUNLENS_ALERT_DELIVERY_TIMEOUT_MS,
      maxAttempts: e.RUNLENS_ALERT_DELIVERY_MAX_ATTEMPTS,
      backoff: Object.freeze({ initialMs: e.RUNLENS_ALERT_DELIVERY_BACKOFF_MS, maxMs: e.RUNLENS_ALERT_DELIVERY_MAX_BACKOFF_MS }),
      concurrency: e.RUNLENS_ALERT_DELIVERY_CONCURRENCY,
    }),
    leader: Object.freeze({
      brokers: Object.freeze(e.RUNLENS_KAFKA_BROKERS.split(',').map((broker) => broker.trim())),
      topic: e.RUNLENS_ALERT_LEADER_TOPIC,
      groupId: e.RUNLENS_ALERT_LEADER_GROUP,
      sessionTimeoutMs: e.RUNLENS_ALERT_SESSION_TIMEOUT_MS,
      heartbeatIntervalMs: e.RUNLENS_ALERT_HEARTBEAT_MS,
    }),
    writer: Object.freeze({ username: e.RUNLENS_ALERT_CLICKHOUSE_USER, password: e.RUNLENS_ALERT_CLICKHOUSE_PASSWORD }),
  });
}
