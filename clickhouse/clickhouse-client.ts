// The one place that builds @clickhouse/client instances, with the options 18.16 needs:
// no response compression (breaks readonly=1 users), no query_params (not supported).
import { ClickHouseLogLevel, createClient, type ClickHouseClient } from '@clickhouse/client';

export interface ClickHouseConnection {
  url: string;
  username: string;
  password: string;
  /** Omit to connect without a default database (e.g. to create it). */
  database?: string;
  requestTimeoutMs?: number;
}

export function createClickHouseClient(connection: ClickHouseConnection): ClickHouseClient {
  return createClient({
    url: connection.url,
    username: connection.username,
    password: connection.password,
    ...(connection.database ? { database: connection.database } : {}),
    request_timeout: connection.requestTimeoutMs ?? 30_000,
    compression: { request: false, response: false },
    clickhouse_settings: {},
    // Errors reach the caller as exceptions; the client's own logging would print them twice.
    log: { level: ClickHouseLogLevel.OFF },
  });
}

export type { ClickHouseClient };
