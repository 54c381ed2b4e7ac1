// The hand-written hot-path checks against the zod schemas they stand in for: whatever
// they accept, zod accepts with the same result; valid events and headers take the quick
// path; everything else is left to zod (null), never judged differently.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { quickRunEvent, quickRunHeader } from '../../../ingest/event/quick-check.ts';
import { RUN_EVENT_SCHEMA_ID, runEventSchema, type RunEvent } from '../../../ingest/event/run-event.ts';
import { parseIsoTimestamp, runHeaderSchema } from '../../../ingest/event/run-header.ts';

const validEvent: RunEvent = {
  schema: RUN_EVENT_SCHEMA_ID,
  run_date: '2026-11-21',
  key: 'acct-0000001.daily',
  job: 'invoice-sync',
  host: 'h1',
  attempt: 2,
  status: 'failed',
  started_at_ms: 1_763_715_600_000,
  finished_at_ms: 1_763_715_601_000,
  exit_code: 1,
  labels: { region: 'eu', tier: 'gold' },
  error_type: 'Timeout',
  error_message: 'took too long',
  metrics: [{ file: 'result.json', path: 'timings_ms.fetch', value: 812.4 }],
  metrics_truncated: false,
  files: [{ name: 'run.json', content: '{}', size: 2, truncated: false }],
  source: 'watch',
  origin: '/runs/2026-11-21/acct-0000001.daily',
  written_at_ms: 1_763_715_601_500,
  published_at_ms: 1_763_715_602_000,
};

const validHeader = {
  key: 'acct-0000001.daily', job: 'invoice-sync', host: 'h1', attempt: 1, status: 'succeeded',
  started_at: '2026-11-21T10:00:00.000Z', finished_at: '2026-11-21T10:00:01+01:00', exit_code: 0, labels: { region: 'eu' },
};

/** Values near every boundary the schemas draw, and arbitrary JSON. */
const edgy = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.constantFrom(
    null, undefined, true, 0, -1, 1, 1.5, -0, Number.NaN, Infinity, 2 ** 53, 2 ** 31, -(2 ** 31) - 1, 1_000_001, 4_102_444_800_000, 4_102_444_800_001,
    '', '.', '..', 'a b', 'x'.repeat(200), 'x'.repeat(201), 'x'.repeat(256), '2026-02-30', '2026-02-28', '２０２６-01-01', 'running', 'bogus',
    'watch', 'simulate', '2026-11-21T10:00:00Z', '2026-13-01T00:00:00Z', { __proto__: null }, JSON.parse('{"__proto__":"x"}'),
    [], [{}], [{ file: 'f', path: 'p', value: 1 }], [{ name: 'n', content: '', size: 0, truncated: true }], { a: 'b' }, { ['k'.repeat(201)]: 'v' },
  ),
);

function overridden<T extends object>(base: T, keys: readonly string[]) {
  return fc.dictionary(fc.constantFrom(...keys, 'extra'), edgy, { maxKeys: 4 }).map((overrides) => ({ ...base, ...overrides }));
}

describe('the quick run-event check', () => {
  it('takes the quick path for a valid event and returns what zod returns', () => {
    expect(quickRunEvent(validEvent)).toEqual(runEventSchema.parse(validEvent));
    expect(quickRunEvent(JSON.parse(JSON.stringify(validEvent)))).toEqual(validEvent);
  });

  it('accepts nothing zod refuses, and gives zod\'s result for what it accepts', () => {
    fc.assert(fc.property(overridden(validEvent, Object.keys(validEvent)), (document) => {
      const quick = quickRunEvent(document);
      const judged = runEventSchema.safeParse(document);
      if (quick !== null) {
        expect(judged.success).toBe(true);
        expect(quick).toStrictEqual(judged.data);
      }
    }), { numRuns: 3000 });
  });

  it('accepts nothing zod refuses in nested metrics, files and labels', () => {
    const metric = fc.record({ file: edgy, path: edgy, value: edgy }, { requiredKeys: [] });
    const file = fc.record({ name: edgy, content: edgy, size: edgy, truncated: edgy }, { requiredKeys: [] });
    fc.assert(fc.property(fc.array(metric, { maxLength: 3 }), fc.array(file, { maxLength: 3 }), fc.dictionary(fc.string({ maxLength: 210 }), edgy, { maxKeys: 3 }), (metrics, files, labels) => {
      for (const document of [{ ...validEvent, metrics }, { ...validEvent, files }, { ...validEvent, labels }]) {
        const quick = quickRunEvent(document);
        const judged = runEventSchema.safeParse(document);
        if (quick !== null) {
          expect(judged.success).toBe(true);
          expect(quick).toStrictEqual(judged.data);
        }
      }
    }), { numRuns: 2000 });
  });
});

describe('the quick run.json check', () => {
  it('takes the quick path for a valid header and returns what zod returns', () => {
    expect(quickRunHeader(validHeader)).toEqual({ header: runHeaderSchema.parse(validHeader), startedAtMs: Date.parse(validHeader.started_at), finishedAtMs: Date.parse(validHeader.finished_at) });
    const { labels: _labels, ...withoutLabels } = validHeader;
    expect(quickRunHeader(withoutLabels)?.header).toEqual(runHeaderSchema.parse(withoutLabels));
  });

  it('accepts nothing zod refuses, and gives zod\'s result for what it accepts', () => {
    fc.assert(fc.property(overridden(validHeader, Object.keys(validHeader)), (document) => {
      const quick = quickRunHeader(document);
      const judged = runHeaderSchema.safeParse(document);
      if (quick !== null) {
        expect(judged.success).toBe(true);
        expect(quick.header).toEqual(judged.data);
        expect(quick.startedAtMs).toBe(parseIsoTimestamp(quick.header.started_at));
      }
    }), { numRuns: 3000 });
  });
});
