// Poll a check until it passes or a deadline expires (never a fixed sleep: a warm
// ClickHouse answers in 300 ms, a cold JVM takes seconds). Returns the last failure
// so the caller's error can say *why* the service never became healthy.
import { setTimeout as sleep } from 'node:timers/promises';

export type Probe = () => Promise<{ ok: true } | { ok: false; reason: string }>;

export async function waitUntil(
  probe: Probe,
  { timeoutMs, intervalMs = 200, abortIf }: { timeoutMs: number; intervalMs?: number; abortIf?: () => string | null },
): Promise<{ ok: true } | { ok: false; reason: string }> {
  const deadline = Date.now() + timeoutMs;
  let last: { ok: false; reason: string } = { ok: false, reason: 'never checked' };
  for (;;) {
    const result = await probe();
    if (result.ok) return result;
    last = result;
    // e.g. "the process exited": no point waiting out the deadline.
    const fatal = abortIf?.();
    if (fatal !== null && fatal !== undefined) return { ok: false, reason: fatal };
    if (Date.now() >= deadline) return { ok: false, reason: `timed out after ${timeoutMs} ms; last: ${last.reason}` };
    await sleep(intervalMs);
  }
}
