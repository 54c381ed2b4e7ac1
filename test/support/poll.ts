// Poll until a condition holds or a deadline passes: tests wait for the real pipeline
// instead of sleeping for a guessed time.
export async function pollUntil<T>(
  probe: () => Promise<T>,
  accept: (value: T) => boolean,
  { timeoutMs = 20_000, intervalMs = 100, what = 'condition' }: { timeoutMs?: number; intervalMs?: number; what?: string } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      last = await probe();
      if (accept(last)) return last;
    } catch (error) {
      lastError = error;
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  const shown = last instanceof Map ? Object.fromEntries(last) : last;
  const seen = lastError ? `last error: ${String(lastError)}` : `last value: ${JSON.stringify(shown)?.slice(0, 2000)}`;
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; ${seen}`);
}

/** A name unique to this test run, legal as a ClickHouse identifier and a Kafka topic. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
}
