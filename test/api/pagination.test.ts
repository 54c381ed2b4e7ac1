// Walking /api/v1/runs page by page returns every run exactly once, even when runs are
// inserted (before and after the walk's position) and replaced between pages.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runsResponse } from '../../api/queries/runs-search.ts';
import { createApiFixture, query, runEvent, type ApiFixture } from './api-fixture.ts';

let fx: ApiFixture;
const DAY = '2026-08-10';
const START = Date.parse(`${DAY}T00:00:00Z`);

// Ties on purpose: ten runs share each start second and durations repeat, so the
// identity has to break them.
const original = Array.from({ length: 230 }, (_, i) => runEvent({
  run_date: DAY,
  key: `page-${String(i).padStart(4, '0')}`,
  started_at_ms: START + Math.floor(i / 10) * 1000,
  finished_at_ms: START + Math.floor(i / 10) * 1000 + (i % 7) * 250,
  status: i % 13 === 0 ? 'running' : 'succeeded',
}));

beforeAll(async () => {
  fx = await createApiFixture('api_pages');
  await fx.send(original.map((event) => (event.status === 'running' ? { ...event, finished_at_ms: null, exit_code: null } : event)));
  await fx.waitForRuns(230);
});

afterAll(async () => {
  await fx?.close();
});

async function walk(sort: 'time' | 'duration', order: 'asc' | 'desc', between: (page: number) => Promise<void>): Promise<string[]> {
  const seen: string[] = [];
  let cursor: string | null = null;
  for (let page = 0; page < 100; page += 1) {
    const params: Record<string, string | number> = { from: DAY, to: '2026-08-11', sort, order, limit: 25 };
    if (cursor) params.cursor = cursor;
    const { status, body } = await fx.get(`/api/v1/runs?${query(params)}`);
    expect(status).toBe(200);
    const data = runsResponse.parse(body);
    seen.push(...data.runs.map((run) => run.key));
    cursor = data.next_cursor;
    if (!cursor) return seen;
    await between(page);
  }
  throw new Error('the walk did not end');
}

describe('cursor pagination', () => {
  it('walks every run exactly once by time, newest first', async () => {
    const seen = await walk('time', 'desc', async () => {});
    expect(seen).toHaveLength(230);
    expect(new Set(seen).size).toBe(230);
    expect(seen[0]).toBe('page-0229');
  });

  it('stays complete and duplicate-free while runs are inserted and replaced between pages', async () => {
    let added = 0;
    const seen = await walk('duration', 'asc', async (page) => {
      // New runs at both ends of the order, and a new version of an original run.
      await fx.send([
        runEvent({ run_date: DAY, key: `late-${page}-short`, started_at_ms: START + 5000, finished_at_ms: START + 5000 }),
        runEvent({ run_date: DAY, key: `late-${page}-long`, started_at_ms: START + 5000, finished_at_ms: START + 999_000 }),
        { ...original[page]!, written_at_ms: original[page]!.written_at_ms + 1 },
      ]);
      added += 2;
    });
    const originals = seen.filter((key) => key.startsWith('page-'));
    expect(new Set(originals).size).toBe(230);
    expect(originals).toHaveLength(230);
    expect(new Set(seen).size).toBe(seen.length);
    // Every long run was inserted ahead of the walk, so each was reached.
    expect(seen.filter((key) => key.endsWith('-long'))).toHaveLength(added / 2);
  });

  it('walks ascending by time too, and an identical walk gives the identical order', async () => {
    const first = await walk('time', 'asc', async () => {});
    const second = await walk('time', 'asc', async () => {});
    expect(first).toEqual(second);
    expect(new Set(first).size).toBe(first.length);
  });

  it('refuses a cursor from another sort or a forged one', async () => {
    const { body } = await fx.get(`/api/v1/runs?${query({ from: DAY, to: '2026-08-11', limit: 5 })}`);
    const cursor = runsResponse.parse(body).next_cursor!;
    const other = await fx.get(`/api/v1/runs?${query({ from: DAY, to: '2026-08-11', limit: 5, sort: 'duration', cursor })}`);
    expect(other.status).toBe(400);
    expect(other.body.error.message).toMatch(/^parameter 'cursor'/);
    const forged = Buffer.from(JSON.stringify([1, 'time', 'desc', 0, DAY, "x' OR 1=1 --"])).toString('base64url');
    const bad = await fx.get(`/api/v1/runs?${query({ from: DAY, to: '2026-08-11', cursor: forged })}`);
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toMatch(/^parameter 'cursor'/);
    expect((await fx.get(`/api/v1/runs?${query({ cursor: '!!!' })}`)).status).toBe(400);
  });
});
