// The file caps of buildRunEvent: files that fit once JSON-escaped are carried whole,
// whichever way the fit was established (worst-case bound or exact count).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildRunEvent, defaultEventLimits, type EventLimits } from '../../../ingest/event/build-run-event.ts';

const KEY = 'acct-0000001.daily';
const header = JSON.stringify({ key: KEY, job: 'j', host: 'h', attempt: 1, status: 'succeeded', started_at: '2026-11-21T00:00:00Z', finished_at: '2026-11-21T00:00:01Z', exit_code: 0 });

function build(result: string, limits: EventLimits) {
  const outcome = buildRunEvent({
    runDate: '2026-11-21',
    key: KEY,
    files: [{ name: 'run.json', bytes: Buffer.from(header) }, { name: 'result.json', bytes: Buffer.from(result) }],
    writtenAtMs: 1_763_715_601_500,
    publishedAtMs: 1_763_715_602_000,
    source: 'watch',
    origin: 'test',
    limits,
  });
  if (!outcome.ok) throw new Error(outcome.reason);
  return outcome.event;
}

const escapedBytes = (contents: string[]) => contents.reduce((sum, content) => sum + Buffer.byteLength(JSON.stringify(content)), 0);

describe('buildRunEvent file caps', () => {
  it('carries files whole when they fit, for any text and budget', () => {
    fc.assert(fc.property(fc.string({ unit: fc.constantFrom('a', '"', '\\', '\n', '\u0001', 'é', '€', '😀'), maxLength: 400 }), fc.integer({ min: 0, max: 3000 }), (text, budget) => {
      const result = JSON.stringify({ note: text });
      const limits = { ...defaultEventLimits, maxTotalFileBytes: budget };
      const event = build(result, limits);
      const files = event.files;
      expect(files.map((file) => file.name)).toEqual(['run.json', 'result.json']);
      const whole = escapedBytes([header, result]) <= budget;
      if (whole) {
        expect(files.map((file) => file.content)).toEqual([header, result]);
        expect(files.every((file) => !file.truncated)).toBe(true);
      }
      for (const file of files) {
        expect(file.size).toBe(Buffer.byteLength(file.name === 'run.json' ? header : result));
        if (!file.truncated) expect(file.content).toBe(file.name === 'run.json' ? header : result);
      }
    }), { numRuns: 300 });
  });

  it('cuts a file over the per-file cap even when the total budget would hold it', () => {
    const result = JSON.stringify({ note: 'x'.repeat(5000) });
    const event = build(result, { ...defaultEventLimits, maxFileBytes: 1000 });
    const file = event.files.find((f) => f.name === 'result.json')!;
    expect(file.truncated).toBe(true);
    expect(Buffer.byteLength(file.content)).toBeLessThanOrEqual(1000);
    expect(file.size).toBe(result.length);
  });
});
