// /healthz: which dependency is down. ClickHouse's /ping answers without checking the
// password (18.16), so a `SELECT 1` as the API's own user proves the credentials too.
// Kafka is optional for the API (it only reads ClickHouse): its failure degrades, not fails.
import type { ClickHouseClient } from '@clickhouse/client';
import { z } from 'zod';

const check = z.object({ ok: z.boolean(), latency_ms: z.number(), error: z.string().optional() });
export const healthResponse = z.object({
  status: z.enum(['ok', 'degraded', 'unavailable']),
  checks: z.object({ clickhouse_ping: check, clickhouse_query: check, kafka: check.optional() }),
});
export type HealthReport = z.infer<typeof healthResponse>;
/** /livez: the process answers; nothing else is asked. */
export const livenessResponse = z.object({ status: z.literal('ok') });

export interface HealthDeps {
  clickhouse: ClickHouseClient;
  /** Resolves when Kafka is reachable; absent when this process does not use Kafka. */
  kafkaCheck?: (() => Promise<void>) | undefined;
  timeoutMs?: number;
}

export async function checkHealth({ clickhouse, kafkaCheck, timeoutMs = 3000 }: HealthDeps): Promise<HealthReport> {
  const [ping, query, kafka] = await Promise.all([
    timed(async () => {
      const result = await clickhouse.ping();
      if (!result.success) throw result.error;
    }, timeoutMs),
    timed(async (signal) => {
      const result = await clickhouse.query({ query: 'SELECT 1 AS ok', format: 'JSONEachRow', abort_signal: signal });
      const rows = await result.json<{ ok: number }>();
      if (rows[0]?.ok !== 1) throw new Error('SELECT 1 returned something else');
    }, timeoutMs),
    kafkaCheck ? timed(() => kafkaCheck(), timeoutMs) : Promise.resolve(undefined),
  ]);
  const clickhouseOk = ping.ok && query.ok;
  const status = !clickhouseOk ? 'unavailable' : kafka && !kafka.ok ? 'degraded' : 'ok';
  return { status, checks: { clickhouse_ping: ping, clickhouse_query: query, ...(kafka ? { kafka } : {}) } };
}

async function timed(probe: (signal: AbortSignal) => Promise<void>, timeoutMs: number): Promise<z.infer<typeof check>> {
  const started = performance.now();
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  try {
    await Promise.race([
      probe(controller.signal),
      new Promise<never>((_, reject) => controller.signal.addEventListener('abort', () => reject(new Error(`no answer within ${timeoutMs} ms`)))),
    ]);
    return { ok: true, latency_ms: Math.round(performance.now() - started) };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return { ok: false, latency_ms: Math.round(performance.now() - started), error: message.split('\n')[0]!.slice(0, 300) };
  } finally {
    clearTimeout(timer);
  }
}
