// For running the stack's own smoke test on its own (`npx vitest run -c
// stack/vitest.stack.config.ts`); the project's vitest.config.ts uses the same
// global setup for every test.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/stack/**/*.test.ts'],
    globalSetup: ['stack/vitest-global-setup.ts'],
    testTimeout: 30_000,
  },
});
