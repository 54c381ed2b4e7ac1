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
    // 18.16 closes a connection idle for 3 s (keep_alive_timeout). With the client's default
    // of 2.5 s, a socket idle just under that and reused after a busy event loop delayed its
    // timer met a closed connection: 'socket hang up' (seen on the sink's lookups and the
    // bench's inserts). Half the server's timeout, and stale sockets checked before reuse.
    keep_alive: { enabled: true, idle_socket_ttl: 1500, eagerly_destroy_stale_sockets: true },
    clickhouse_settings: {},
    // Errors reach the caller as exceptions; the client's own logging would print them twice.
    log: { level: ClickHouseLogLevel.OFF },
  });
}

export type { ClickHouseClient };
