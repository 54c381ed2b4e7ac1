// The one promise every producer of run events makes to its caller.
import type { TopicEvent, WireMessage } from '../event/wire.ts';

export interface RunEventPublisher {
  /**
   * Resolves once every event is durable: acknowledged by Kafka (acks=all), or fsynced to
   * the local spool when Kafka is unreachable. Rejects only when neither is possible
   * (e.g. the spool's disk is full): then nothing was accepted and the caller must retry.
   */
  publish(events: readonly TopicEvent[]): Promise<void>;
  /**
   * As publish, for events already encoded by encodeEvent (the watcher encodes on its read
   * workers, so the main thread does not stringify every event a second time).
   */
  publishMessages(messages: readonly WireMessage[]): Promise<void>;
  /** Flushes what is in flight and releases connections; the spool keeps the rest. */
  close(): Promise<void>;
}
