// The dashboard's live client against an API instance that does not serve live
// (RUNLENS_API_LIVE=0): the badge must say so and the client must ask again only after
// the server's Retry-After, not spin through "connecting" with a short backoff.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type Api } from '../../api/app.ts';
import { parseApiConfig } from '../../api/config.ts';
import { createClickHouseClient, type ClickHouseClient } from '../../clickhouse/clickhouse-client.ts';
import { openLiveStream, retryAfterMs, type LiveState } from '../../dashboard/live/live-stream.ts';

let api: Api;
let clickhouse: ClickHouseClient;

beforeAll(() => {
  const config = parseApiConfig({ RUNLENS_API_TOKENS: 'viewer:viewer-token-1', RUNLENS_API_LIVE: '0' });
  clickhouse = createClickHouseClient({ url: config.clickhouse.url, ...config.clickhouse.api });
  api = createApp({ clickhouse, config, log: () => {} });
});

afterAll(async () => {
  await clickhouse?.close();
});

describe('live on an instance that does not serve it', () => {
  it('reports unavailable with the server\'s reason and waits for Retry-After before asking again', async () => {
    const requests: number[] = [];
    const states: Array<[LiveState, string | undefined]> = [];
    const stream = openLiveStream({
      urls: ['/api/v1/live'],
      headers: { Authorization: 'Bearer viewer-token-1' },
      onRuns: () => {},
      onState: (state, detail) => states.push([state, detail]),
      fetch: (async (url: string, init?: RequestInit) => {
        requests.push(Date.now());
        return api.app.request(url, init);
      }) as typeof fetch,
      backoff: { initialMs: 1, maxMs: 1 },
    });
    try {
      await expect.poll(() => states.some(([state]) => state === 'unavailable'), { timeout: 5_000 }).toBe(true);
      // Retry-After is 60 s: with a 1 ms backoff a failing client would have asked dozens of times by now.
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(requests).toHaveLength(1);
      expect(states).toEqual([['connecting', '/api/v1/live'], ['unavailable', 'live is not enabled on this instance']]);
    } finally {
      stream.close();
    }
  });

  it('bounds Retry-After to 5 s … 5 min and ignores what is not a number of seconds', () => {
    expect(retryAfterMs('60')).toBe(60_000);
    expect(retryAfterMs('0')).toBe(5_000);
    expect(retryAfterMs('86400')).toBe(300_000);
    expect(retryAfterMs('Wed, 21 Oct 2026 07:28:00 GMT')).toBeNull();
    expect(retryAfterMs(null)).toBeNull();
  });
});
