// Tests run against the real local stack: the global setup installs and starts ClickHouse
// and Kafka when needed. Every test file uses its own database, topic and consumer group,
// so files can run side by side.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The fault suite (npm run test:faults) and the cluster test (npm run test:cluster)
    // bring up stacks of their own and have their own configs.
    exclude: ['test/faults/**', 'test/cluster/cluster.test.ts', 'node_modules/**'],
    globalSetup: ['stack/vitest-global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 180_000,
    // Two cores: more workers only make the services and the tests fight for CPU.
    maxWorkers: 2,
    pool: 'forks',
  },
});
