import { describe, expect, it } from 'vitest';
import { decodePosition, encodePosition, maxPosition } from '../../api/live/position.ts';
import { RetainedWindow } from '../../api/live/retained-window.ts';
import { summarize } from '../../api/live/run-summary.ts';
import { SubscriptionGroups, TickRuns } from '../../api/live/client-groups.ts';
import { matches, parseLiveQuery } from '../../api/live/subscription.ts';
import { backoffDelay, withFrom } from '../../dashboard/live/live-stream.ts';
import { RunSeries } from '../../dashboard/live/run-series.ts';
import { readSse, type SseMessage } from '../../dashboard/live/sse-reader.ts';
import { runEvent } from './live-support.ts';

describe('positions', () => {
  it('round-trip through their text form, sorted by partition', () => {
    const text = encodePosition(new Map([[2, 7], [0, 123], [1, 0]]));
    expect(text).toBe('0:123,1:0,2:7');
    expect(decodePosition(text)).toEqual(new Map([[0, 123], [1, 0], [2, 7]]));
  });

  it('refuse text that is not one', () => {
    for (const bad of ['', 'p0:1', '0:1,0:2', '0:-1', '0:1;1:2', '0:99999999999999999']) expect(decodePosition(bad), bad).toBeNull();
  });

  it('combine per partition by the larger offset', () => {
    expect(maxPosition(new Map([[0, 5], [1, 9]]), new Map([[0, 7], [1, 2]]))).toEqual(new Map([[0, 7], [1, 9]]));
  });
});

describe('a subscription', () => {
  const run = (overrides = {}) => summarize(runEvent('feed-eu-1', overrides));
  const parse = (query: Record<string, string[]>) => {
    const outcome = parseLiveQuery(query);
    if (!outcome.ok) throw new Error(outcome.message);
    return outcome.subscription;
  };

  it('treats repeated values as alternatives and different filters as all required', () => {
    const subscription = parse({ job: ['a,b', 'c'], status: ['failed'], label: ['team:x'] });
    expect(matches(subscription, run({ job: 'a,b', status: 'failed', labels: { team: 'x' } }))).toBe(true);
    expect(matches(subscription, run({ job: 'a', status: 'failed', labels: { team: 'x' } }))).toBe(false);
    expect(matches(subscription, run({ job: 'c', status: 'succeeded', labels: { team: 'x' } }))).toBe(false);
    expect(matches(subscription, run({ job: 'c', status: 'failed', labels: { team: 'y' } }))).toBe(false);
  });

  it('gives equal filters in any order the same key, so they share one frame', () => {
    expect(parse({ job: ['b', 'a'] }).key).toBe(parse({ job: ['a', 'b'] }).key);
    expect(parse({ job: ['a'] }).key).not.toBe(parse({ host: ['a'] }).key);
  });

  it('names the parameter that is wrong', () => {
    expect(parseLiveQuery({ status: ['bogus'] })).toMatchObject({ ok: false, parameter: 'status' });
    expect(parseLiveQuery({ jobs: ['x'] })).toMatchObject({ ok: false, parameter: 'jobs' });
    expect(parseLiveQuery({ from: ['0:1', '0:2'] })).toMatchObject({ ok: false, parameter: 'from' });
  });
});

describe('the retained window', () => {
  const add = (window: RetainedWindow, partition: number, offset: number) => {
    const run = summarize(runEvent(`k-${partition}-${offset}`));
    window.append(partition, offset, run, JSON.stringify(run));
  };

  it('covers a position only while it holds everything after it', () => {
    const window = new RetainedWindow(new Map([[0, 10], [1, 20]]), 3, 1e9);
    expect(window.covers(new Map([[0, 10], [1, 20]]))).toBe(true);
    expect(window.covers(new Map([[0, 9], [1, 20]]))).toBe(false);
    add(window, 0, 10);
    add(window, 1, 20);
    add(window, 0, 11);
    add(window, 1, 21); // evicts 0:10
    expect(window.covers(new Map([[0, 10], [1, 20]]))).toBe(false);
    expect(window.covers(new Map([[0, 11], [1, 20]]))).toBe(true);
    expect(window.since(new Map([[0, 11], [1, 21]])).map((e) => `${e.partition}:${e.offset}`)).toEqual(['0:11', '1:21']);
  });

  it('is capped in bytes as well as in events', () => {
    const window = new RetainedWindow(new Map([[0, 0]]), 1_000, 2_000);
    for (let offset = 0; offset < 100; offset++) add(window, 0, offset);
    expect(window.bytes).toBeLessThanOrEqual(2_000);
    expect(window.size).toBeLessThan(10);
    expect(window.fromSeq(0).map((e) => e.offset)).toEqual(window.since(new Map([[0, 0]])).map((e) => e.offset));
  });
});

describe('the dashboard series', () => {
  const run = (id: string, attempt: number, written: number, status = 'succeeded') => ({
    id, job: 'j', status: status as 'succeeded', attempt, written_at_ms: written, started_at_ms: 1_000_000, duration_ms: 2_000,
  });

  it('counts a run once whether it came from the query, the stream, or both', () => {
    const series = new RunSeries();
    series.merge([run('d/a', 1, 100), run('d/b', 1, 100)]); // the query
    const outcome = series.merge([run('d/b', 1, 100), run('d/c', 1, 100)]); // a delta repeating b
    expect(outcome).toEqual({ added: 1, replaced: 0, duplicate: 1, stale: 0 });
    expect(series.length).toBe(3);
    expect(series.statusCounts).toEqual({ succeeded: 3 });
  });

  it('replaces a run by a newer version and ignores an older one, moving the status counts', () => {
    const series = new RunSeries();
    series.merge([run('d/a', 1, 100, 'running')]);
    expect(series.upsert(run('d/a', 1, 200, 'failed'))).toBe('replaced');
    expect(series.upsert(run('d/a', 2, 50, 'succeeded'))).toBe('replaced'); // a newer attempt wins over a later write
    expect(series.upsert(run('d/a', 1, 900, 'failed'))).toBe('stale');
    expect(series.statusCounts).toEqual({ running: 0, failed: 0, succeeded: 1 });
    const [x, duration] = series.columns();
    expect([...x]).toEqual([1_000]);
    expect([...duration]).toEqual([2]);
  });
});

describe('the SSE reader', () => {
  it('parses messages split anywhere, with CRLF, comments, ids and retry', async () => {
    const text = ': hello\r\nevent: runs\r\nid: 0:1\r\ndata: [1,\r\ndata: 2]\r\n\r\nretry: 500\ndata: x\n\nevent: cutoff\nid: 0:2\ndata: {}\n\n';
    const bytes = new TextEncoder().encode(text);
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < bytes.length; i += 3) controller.enqueue(bytes.slice(i, i + 3));
        controller.close();
      },
    });
    const messages: SseMessage[] = [];
    await readSse(body, (message) => messages.push(message));
    expect(messages).toEqual([
      { event: 'runs', id: '0:1', data: '[1,\n2]', retry: null },
      { event: 'message', id: null, data: 'x', retry: 500 },
      { event: 'cutoff', id: '0:2', data: '{}', retry: null },
    ]);
  });
});

describe('the live client', () => {
  it('backs off exponentially up to a cap, with full jitter', () => {
    const limits = { initialMs: 500, maxMs: 15_000 };
    expect(backoffDelay(0, limits, () => 1)).toBe(500);
    expect(backoffDelay(3, limits, () => 1)).toBe(4_000);
    expect(backoffDelay(30, limits, () => 1)).toBe(15_000);
    expect(backoffDelay(30, limits, () => 0.5)).toBe(7_500);
  });

  it('puts its position in ?from= and keeps the subscription', () => {
    expect(withFrom('http://h:1/api/v1/live?job=a&from=0:1', '0:5,1:2')).toBe('http://h:1/api/v1/live?job=a&from=0%3A5%2C1%3A2');
    expect(withFrom('/api/v1/live?job=a', null)).toBe('/api/v1/live?job=a');
  });
});

describe('the fan-out helpers', () => {
  const parse = (query: Record<string, string[]>) => {
    const outcome = parseLiveQuery(query);
    if (!outcome.ok) throw new Error(outcome.message);
    return outcome.subscription;
  };
  const entries = (runs: Array<Partial<Parameters<typeof runEvent>[1]>>) => {
    const window = new RetainedWindow(new Map([[0, 0]]), 100, 1_000_000);
    runs.forEach((overrides, offset) => {
      const run = summarize(runEvent(`r-${offset}`, overrides));
      window.append(0, offset, run, JSON.stringify(run));
    });
    return window.fromSeq(0);
  };

  it('groups clients by subscription key and drops a group with its last client', () => {
    const groups = new SubscriptionGroups<{ subscription: ReturnType<typeof parse>; name: string }>();
    const a1 = { subscription: parse({ job: ['a', 'b'] }), name: 'a1' };
    const a2 = { subscription: parse({ job: ['b', 'a'] }), name: 'a2' };
    const c = { subscription: parse({ status: ['failed'] }), name: 'c' };
    for (const client of [a1, a2, c]) groups.add(client);
    expect(groups.size).toBe(2);
    expect([...groups.values()].map((group) => [...group.clients].map((client) => client.name))).toEqual([['a1', 'a2'], ['c']]);
    groups.delete(a1);
    groups.delete(a2);
    groups.delete(a2); // twice is harmless
    expect([...groups.values()].map((group) => group.subscription.key)).toEqual([c.subscription.key]);
  });

  it('selects exactly what matches() selects, in appended order, through the job index', () => {
    const tick = new TickRuns(entries([
      { job: 'a' }, { job: 'b', status: 'failed' }, { job: 'c' }, { job: 'a', status: 'failed' }, { job: 'b', labels: { team: 'x' } }, { job: 'a', host: 'h2' },
    ]));
    const queries: Array<Record<string, string[]>> = [{}, { job: ['a'] }, { job: ['b', 'a'] }, { job: ['zzz'] }, { job: ['a', 'b'], status: ['failed'] }, { host: ['h2'] }, { job: ['b'], label: ['team:x'] }];
    for (const query of queries) {
      const subscription = parse(query);
      const expected = tick.entries.filter((entry) => matches(subscription, entry.run)).map((entry) => entry.seq);
      expect(tick.matching(subscription).map((entry) => entry.seq), JSON.stringify(query)).toEqual(expected);
    }
    expect(tick.matching(parse({ job: ['b', 'a'] })).map((entry) => entry.run.key)).toEqual(['r-0', 'r-1', 'r-3', 'r-4', 'r-5']);
    expect(new TickRuns([]).matching(parse({ job: ['a'] }))).toEqual([]);
  });
});
