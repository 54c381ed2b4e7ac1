// How kafkajs failures are classified decides whether the publisher spools and retries,
// replaces its producer, or gives up: a wrong class either loses events or retries forever.
import { KafkaJSConnectionError, KafkaJSNumberOfRetriesExceeded, KafkaJSProtocolError } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { KafkaProducerStateError, KafkaRejectedError, KafkaRetriableError, KafkaUnavailableError, toKafkaError } from '../../../ingest/kafka/index.ts';

/** What kafkajs throws for a broker's error code (kafkajs/src/protocol/error.js). */
function brokerAnswer(type: string, code: number, retriable: boolean): Error {
  return new KafkaJSProtocolError({ type, code, retriable, message: `broker said ${type}` } as never);
}

/** kafkajs' retrier wraps the last failure once it runs out of retries. */
function afterRetries(cause: Error): Error {
  return new KafkaJSNumberOfRetriesExceeded(cause, { retryCount: 2, retryTime: 1000 });
}

describe('toKafkaError', () => {
  it('an unreachable broker is "unavailable", also behind kafkajs\' retries-exceeded wrapper', () => {
    const direct = toKafkaError(new KafkaJSConnectionError('connect ECONNREFUSED 127.0.0.1:29092'));
    const wrapped = toKafkaError(afterRetries(new KafkaJSConnectionError('connect ECONNREFUSED 127.0.0.1:29092')));
    expect(direct).toBeInstanceOf(KafkaUnavailableError);
    expect(wrapped).toBeInstanceOf(KafkaUnavailableError);
    expect(wrapped.message).toContain('ECONNREFUSED');
  });

  it.each([
    ['OUT_OF_ORDER_SEQUENCE_NUMBER', 45],
    ['UNKNOWN_PRODUCER_ID', 59],
    ['INVALID_PRODUCER_EPOCH', 47],
    ['INVALID_PRODUCER_ID_MAPPING', 49],
  ])('%s condemns the producer, not the events: retriable with a new producer', (type, code) => {
    for (const error of [brokerAnswer(type, code, false), afterRetries(brokerAnswer(type, code, false))]) {
      const mapped = toKafkaError(error);
      expect(mapped).toBeInstanceOf(KafkaProducerStateError);
      expect((mapped as KafkaProducerStateError).retriable).toBe(true);
      expect((mapped as KafkaProducerStateError).kafkaName).toBe(`KafkaJSProtocolError(${type})`);
    }
  });

  it('a transient broker answer is retriable; a request the broker refuses for good is not', () => {
    expect(toKafkaError(brokerAnswer('NOT_LEADER_FOR_PARTITION', 6, true))).toBeInstanceOf(KafkaRetriableError);
    const tooLarge = toKafkaError(brokerAnswer('MESSAGE_TOO_LARGE', 10, false));
    expect(tooLarge).toBeInstanceOf(KafkaRejectedError);
    expect((tooLarge as KafkaRejectedError).retriable).toBe(false);
  });

  it('leaves errors that are not kafkajs\' alone', () => {
    const error = new TypeError('not a kafka problem');
    expect(toKafkaError(error)).toBe(error);
  });
});
