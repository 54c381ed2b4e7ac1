// `npm run test:cluster`: the pipeline on a local cluster (ZooKeeper, 3 Kafka brokers,
// 3 ClickHouse servers; stack/cluster). Long and heavy, so neither npm test nor CI runs it.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/cluster/cluster.test.ts'],
    testTimeout: 1_800_000,
    hookTimeout: 600_000,
    fileParallelism: false,
    pool: 'forks',
  },
});
