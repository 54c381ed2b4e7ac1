// Kafka failures as our own classes, so callers decide by class (spool and retry, or give
// up) and never by message text. Classification uses what kafkajs itself says: the error's
// class name, its `retriable` flag and, for broker answers, the protocol error `type`.
// https://kafka.js.org/docs/retry-detailed

export abstract class KafkaError extends Error {
  /** True when the same request can succeed later without anything being changed. */
  abstract readonly retriable: boolean;
  constructor(
    message: string,
    /** The kafkajs class name (and protocol error type) behind it, for logs. */
    readonly kafkaName: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** No broker answered in time (refused, unreachable, timed out): spool and retry later. */
export class KafkaUnavailableError extends KafkaError {
  override readonly name = 'KafkaUnavailableError';
  readonly retriable = true;
}

/** The broker answered with a transient error (leader moving, topic not there yet). */
export class KafkaRetriableError extends KafkaError {
  override readonly name = 'KafkaRetriableError';
  readonly retriable = true;
}

/**
 * The broker no longer agrees with this idempotent producer's id or sequence numbers, e.g.
 * after a broker was killed mid-request and rebuilt its producer state from the log. The
 * same producer is refused for good (kafkajs does not reset itself); a new producer, with a
 * new id, succeeds. Whatever the old one may have written is a duplicate the sink collapses.
 */
export class KafkaProducerStateError extends KafkaError {
  override readonly name = 'KafkaProducerStateError';
  readonly retriable = true;
}

/** The broker refused the request for good (too large, not authorised, bad topic). */
export class KafkaRejectedError extends KafkaError {
  override readonly name = 'KafkaRejectedError';
  readonly retriable = false;
}

/** Raised by our own deadline around a kafkajs call that did not settle in time. */
export class KafkaTimeoutError extends KafkaUnavailableError {
  constructor(operation: string, timeoutMs: number) {
    super(`${operation} did not finish within ${timeoutMs} ms`, 'deadline');
  }
}

// Classes kafkajs throws when it could not reach a broker at all (kafkajs/src/errors.js).
const UNREACHABLE = new Set([
  'KafkaJSConnectionError',
  'KafkaJSConnectionClosedError',
  'KafkaJSRequestTimeoutError',
  'KafkaJSNoBrokerAvailableError',
  'KafkaJSBrokerNotFound',
  'KafkaJSMetadataNotLoaded',
  'KafkaJSTopicMetadataNotLoaded',
  'KafkaJSLockTimeout',
]);

// Broker answers that condemn the producer, not the request (kafkajs/src/protocol/error.js).
const PRODUCER_STATE = new Set(['OUT_OF_ORDER_SEQUENCE_NUMBER', 'UNKNOWN_PRODUCER_ID', 'INVALID_PRODUCER_EPOCH', 'INVALID_PRODUCER_ID_MAPPING']);

interface KafkaJsLike {
  name: string;
  message: string;
  retriable?: unknown;
  type?: unknown;
  cause?: unknown;
}

/** Maps anything a kafkajs call threw to a KafkaError; non-kafkajs errors are returned as is. */
export function toKafkaError(error: unknown): KafkaError | Error {
  if (error instanceof KafkaError) return error;
  if (!isKafkaJs(error)) return error instanceof Error ? error : new Error(String(error));
  // "Number of retries exceeded" is non-retriable for kafkajs' own loop only; what matters
  // is why it kept retrying, which it keeps as the cause.
  const root = rootCause(error);
  const name = typeof root.type === 'string' ? `${root.name}(${root.type})` : root.name;
  const message = root === error || error.message === root.message ? root.message : `${error.message}: ${root.message}`;
  if (UNREACHABLE.has(root.name)) return new KafkaUnavailableError(message, name, { cause: error });
  if (typeof root.type === 'string' && PRODUCER_STATE.has(root.type)) return new KafkaProducerStateError(message, name, { cause: error });
  if (root.retriable === true) return new KafkaRetriableError(message, name, { cause: error });
  return new KafkaRejectedError(message, name, { cause: error });
}

export function isRetriable(error: unknown): boolean {
  const mapped = toKafkaError(error);
  return mapped instanceof KafkaError && mapped.retriable;
}

function rootCause(error: KafkaJsLike): KafkaJsLike {
  let current = error;
  for (let depth = 0; depth < 5; depth++) {
    const next = current.cause;
    if (!isKafkaJs(next)) break;
    current = next;
  }
  return current;
}

function isKafkaJs(error: unknown): error is KafkaJsLike {
  return error instanceof Error && error.name.startsWith('KafkaJS');
}
