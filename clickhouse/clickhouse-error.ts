// Errors from ClickHouse, with the server's code. @clickhouse/client cannot parse 18.16's
// error text (no "(TYPE)" suffix), so its errors arrive as plain Error objects; the code
// is read from the "Code: N" prefix every version sends.
export class ClickHouseError extends Error {
  override readonly name = 'ClickHouseError';
  constructor(
    message: string,
    /** The server's error code, or null when the server was not reached at all. */
    readonly code: number | null,
    /** True when the same request may succeed later: connection problems, timeouts, overload. */
    readonly retriable: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

// Codes worth a retry: timeouts, too many parts/queries, memory, network, table being
// dropped/attached, readonly replica; and the set-up problems an operator fixes without
// touching the data (unknown database/table before `runlens migrate`, authentication,
// access): a writer must wait for those, never drop what it holds.
// Everything else (syntax, types, values) is final.
// On a cluster (clickhouse/cluster): a shard with no live replica (279), ZooKeeper
// unreachable or its session lost (225, 999): a Distributed insert or read succeeds again
// once the server or ZooKeeper is back, and must never be treated as a bad row.
// A server killed while another one talks to it (measured: SIGKILL of a shard during a
// Distributed insert with insert_distributed_sync=1) answers the client with the broken
// server-to-server read: 32 "Attempt to read after eof: while receiving packet from …:
// Insertion status: …", 33 "Cannot read all data", 23/24 stream errors, 100/101 a packet
// cut in half. The insert's outcome is unknown, so it is retried (Replicated tables drop
// a repeated block; ReplacingMergeTree folds a repeated version); treated as a refusal it
// made the sink split the batch and file its rows as ingest errors.
const RETRIABLE_CODES = new Set([
  159, 160, 164, 202, 203, 209, 210, 241, 242, 252, 285, 319, 425,
  60, 81, 192, 193, 194, 497, 516,
  279, 225, 999,
  23, 24, 32, 33, 100, 101,
]);
const CONNECTION_ERRORS = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'UND_ERR_SOCKET']);

export function toClickHouseError(error: unknown, context: string): ClickHouseError {
  if (error instanceof ClickHouseError) return error;
  const cause = error instanceof Error ? error : new Error(String(error));
  const code = /Code: (\d+)/.exec(cause.message)?.[1];
  const systemCode = (cause as NodeJS.ErrnoException).code;
  if (code !== undefined) {
    const numeric = Number(code);
    const firstLine = cause.message.split('\n')[0] ?? cause.message;
    return new ClickHouseError(`${context}: ${firstLine.slice(0, 2000)}`, numeric, RETRIABLE_CODES.has(numeric), { cause });
  }
  const unreachable = (systemCode !== undefined && CONNECTION_ERRORS.has(systemCode)) || /timeout/i.test(cause.name) || cause.message === 'Timeout error.';
  return new ClickHouseError(`${context}: ${cause.message}`, null, unreachable, { cause });
}
