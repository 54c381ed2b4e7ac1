// Topic creation: the stack's helper (stack/kafka-topic.ts) already does it idempotently and
// refuses a topic with another partition count; we only map its kafkajs errors to ours.
import { ensureTopic as ensureStackTopic, TopicMismatchError } from '../../stack/kafka-topic.ts';
import { toKafkaError } from './errors.ts';

export { TopicMismatchError };

/** Creates `topic` unless it exists. Returns true if this call created it. */
export async function ensureTopic(brokers: readonly string[] | string, topic: string, partitions: number): Promise<boolean> {
  try {
    return await ensureStackTopic(typeof brokers === 'string' ? brokers : brokers.join(','), topic, partitions);
  } catch (error) {
    throw error instanceof TopicMismatchError ? error : toKafkaError(error);
  }
}
