// Topic creation for the local stack and for tests (each integration test makes its
// own topic). The broker runs with auto.create.topics.enable=false so a typo in a
// topic name fails loudly instead of creating a 6-partition topic nobody reads.
import { Kafka, logLevel, type Admin } from 'kafkajs';

export class TopicMismatchError extends Error {
  override readonly name = 'TopicMismatchError';
}

/** A short-lived kafkajs admin; quiet, and quick to give up so callers can poll. */
export async function withKafkaAdmin<T>(
  brokers: string,
  fn: (admin: Admin) => Promise<T>,
  { connectionTimeoutMs = 3_000, retries = 2 }: { connectionTimeoutMs?: number; retries?: number } = {},
): Promise<T> {
  const kafka = new Kafka({
    clientId: 'runlens-stack',
    brokers: brokers.split(','),
    logLevel: logLevel.NOTHING, // failures surface as thrown errors; its logs would only duplicate them
    connectionTimeout: connectionTimeoutMs,
    retry: { retries, initialRetryTime: 200, maxRetryTime: 1_000 },
  });
  const admin = kafka.admin();
  try {
    await admin.connect();
    return await fn(admin);
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

/**
 * Creates `topic` with `partitions` partitions unless it exists. Idempotent and
 * safe when two processes race (both end up seeing the topic). Throws
 * TopicMismatchError if the topic exists with another partition count: silently
 * adding partitions would move keys between partitions, and per-key ordering of run
 * events depends on the key -> partition mapping.
 * Returns true if this call created the topic.
 */
export async function ensureTopic(brokers: string, topic: string, partitions: number): Promise<boolean> {
  return withKafkaAdmin(brokers, async (admin) => {
    let created = false;
    try {
      // false (no throw) when it already exists
      created = await admin.createTopics({
        topics: [{ topic, numPartitions: partitions, replicationFactor: 1 }],
        waitForLeaders: true,
      });
    } catch (error) {
      // A concurrent creator wins the race: fine if the topic is there now.
      const existing = await admin.listTopics();
      if (!existing.includes(topic)) throw error;
    }
    const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
    const actual = metadata.topics[0]?.partitions.length ?? 0;
    if (actual !== partitions) {
      throw new TopicMismatchError(`topic ${topic} has ${actual} partitions, expected ${partitions}; delete it or use another name`);
    }
    return created;
  });
}
