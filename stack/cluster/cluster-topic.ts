// The run-events topic on the cluster: replication factor 3, min.insync.replicas 2, so a
// producer with acks=all (kafkajs' default, and ours) keeps writing with one broker down.
// Like stack/kafka-topic.ts, an existing topic of another shape is an error, not altered.
import { setTimeout as sleep } from 'node:timers/promises';
import { TopicMismatchError } from '../kafka-topic.ts';
import { withKafkaAdmin } from '../kafka-topic.ts';

export async function ensureReplicatedTopic(
  bootstrap: string,
  topic: string,
  { partitions, replicationFactor, minInsyncReplicas }: { partitions: number; replicationFactor: number; minInsyncReplicas: number },
): Promise<boolean> {
  return withKafkaAdmin(bootstrap, async (admin) => {
    let created = false;
    try {
      created = await admin.createTopics({
        topics: [{ topic, numPartitions: partitions, replicationFactor, configEntries: [{ name: 'min.insync.replicas', value: String(minInsyncReplicas) }] }],
        // kafkajs' own wait fails with UNKNOWN_TOPIC_OR_PARTITION when the broker it asks has
        // not yet seen the new topic in the KRaft metadata log: the loop below waits instead.
        waitForLeaders: false,
      });
    } catch (error) {
      // TOPIC_ALREADY_EXISTS from a concurrent creator is fine; anything else is not.
      if ((error as { type?: string }).type !== 'TOPIC_ALREADY_EXISTS') throw error;
    }
    const deadline = Date.now() + 30_000;
    for (;;) {
      let found;
      try {
        found = (await admin.fetchTopicMetadata({ topics: [topic] })).topics[0]?.partitions ?? [];
      } catch (error) {
        // Right after creation a broker may not know the topic yet (UNKNOWN_TOPIC_OR_PARTITION).
        if (Date.now() > deadline) throw error;
        await sleep(200);
        continue;
      }
      if (found.length !== partitions) throw new TopicMismatchError(`topic ${topic} has ${found.length} partitions, expected ${partitions}`);
      const short = found.filter((p) => p.replicas.length !== replicationFactor);
      if (short.length > 0) throw new TopicMismatchError(`topic ${topic} has replication factor ${short[0]!.replicas.length}, expected ${replicationFactor}`);
      if (found.every((p) => p.leader >= 0)) return created;
      if (Date.now() > deadline) throw new Error(`topic ${topic}: partitions still without a leader after 30 s`);
      await sleep(200);
    }
  }, { connectionTimeoutMs: 3_000, retries: 5 });
}
