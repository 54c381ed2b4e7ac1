// A plain Kafka producer for tests that must send what our publisher never would (poison
// messages, hand-ordered versions), built through the project's one Kafka module.
import { createKafka, type Kafka } from '../../ingest/kafka/index.ts';

export type PlainProducer = ReturnType<Kafka['producer']>;

export async function plainProducer(brokers: readonly string[], clientId: string): Promise<PlainProducer> {
  const producer = createKafka({ brokers, clientId, requestTimeoutMs: 30_000 }).producer();
  await producer.connect();
  return producer;
}
