// Vitest global setup: `npm test` brings up the local stack it needs (installing it
// on a fresh machine) before any test file runs.
//
// There is deliberately no teardown: the stack stays running after the tests. A warm
// `stackUp` is a ~0.2 s no-op, while a cold start costs ~5-10 s (JVM, ClickHouse
// loading parts) and a first install far more; tests give every run its own table
// and topic names, so leftover state from a previous run does no harm. Stop it with
// `runlens stack down` when you are done.
import { stackUp } from './stack.ts';

export default async function setup(): Promise<void> {
  await stackUp({ log: (line) => console.log(`[stack] ${line}`) });
}
