// `npm run test:faults`: crashes and restarts Kafka, ClickHouse and runlens processes under
// a steady flow of runs, on a stack of its own (test/faults/private-stack.ts), one file at
// a time, and counts what survived.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/faults/**/*.test.ts'],
    globalSetup: ['test/faults/global-setup.ts'],
    testTimeout: 300_000,
    hookTimeout: 180_000,
    fileParallelism: false,
    pool: 'forks',
  },
});
