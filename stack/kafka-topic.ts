// Topic creation for the local stack and for tests (each integration test makes its
// own topic). The broker runs with auto.create.topics.enable=false so a typo in a
// topic name fails loudly instead of creating a 6-partition topic nobody reads.
import { setTimeout as sleep } from 'node:timers/promises';
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
    // Wait until every partition has a leader: right after a broker restart the topic
    // is listed before its partitions are writable, and callers (fault-injection
    // tests) want "ensureTopic returned" to mean "producing works".
    const deadline = Date.now() + 30_000;
    for (;;) {
      const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
      const found = metadata.topics[0]?.partitions ?? [];
      if (found.length !== partitions) {
        throw new TopicMismatchError(`topic ${topic} has ${found.length} partitions, expected ${partitions}; delete it or use another name`);
      }
      const leaderless = found.filter((p) => p.leader < 0).length;
      if (leaderless === 0) return created;
      if (Date.now() > deadline) throw new Error(`topic ${topic}: ${leaderless} partitions still have no leader after 30 s`);
      await sleep(200);
    }
  });
}
