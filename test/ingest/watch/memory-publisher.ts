// A RunEventPublisher that keeps what it was given: for unit tests of the watcher's logic.
// Everything that is about Kafka itself runs against the real broker (kafka-topic.ts).
import { decodeEvent, type TopicEvent } from '../../../ingest/event/wire.ts';
import type { RunEventPublisher } from '../../../ingest/publish/run-event-publisher.ts';

export interface MemoryPublisher extends RunEventPublisher {
  events: TopicEvent[];
  /** Makes the next `n` publish calls reject, as a publisher with neither Kafka nor spool would. */
  failNext(n: number): void;
}

export function createMemoryPublisher(): MemoryPublisher {
  const events: TopicEvent[] = [];
  let failures = 0;
  return {
    events,
    failNext(n) {
      failures = n;
    },
    async publish(batch) {
      await Promise.resolve();
      if (failures > 0) {
        failures--;
        throw new Error('simulated: neither Kafka nor the spool accepted the batch');
      }
      events.push(...batch);
    },
    async publishMessages(messages) {
      const decoded = messages.map((message) => {
        const outcome = decodeEvent(message.value);
        if (!outcome.ok) throw new Error(`memory publisher: undecodable message: ${outcome.reason}`);
        return outcome.event;
      });
      await this.publish(decoded);
    },
    async close() {},
  };
}
