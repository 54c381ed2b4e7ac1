// Bad input is a 400 whose message names the parameter; hostile input through every
// parameter of every route is only ever 2xx/4xx, and a filter means its literal value.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROUTES } from '../../api/routes.ts';
import { runsResponse } from '../../api/queries/runs-search.ts';
import { timeseriesResponse } from '../../api/queries/timeseries.ts';
import { createApiFixture, query, runEvent, type ApiFixture } from './api-fixture.ts';

let fx: ApiFixture;
const DAY = '2026-07-01';
const WEIRD_HOST = `it's "odd" \\ host ') OR 1=1 -- ключ🙂`;
const WEIRD_JOB = 'job\\\'; DROP TABLE runs; --';

beforeAll(async () => {
  fx = await createApiFixture('api_validation');
  await fx.send([
    runEvent({ run_date: DAY, key: 'plain-1', host: 'h1', job: 'j1', labels: { team: 'a' } }),
    runEvent({ run_date: DAY, key: 'plain-2', host: 'h2', job: 'j1', labels: { team: 'b' } }),
    runEvent({ run_date: DAY, key: 'weird-1', host: WEIRD_HOST, job: WEIRD_JOB, labels: { "q'uote": "v\\al'ue" } }),
  ]);
  await fx.waitForRuns(3);
});

afterAll(async () => {
  await fx?.close();
});

const range = { from: DAY, to: '2026-07-02' };

describe('validation', () => {
  it.each([
    ['/api/v1/timeseries', { from: 'yesterday' }, 'from'],
    ['/api/v1/timeseries', { from: '2026-07-02', to: DAY }, 'to'],
    ['/api/v1/timeseries', { from: '2020-01-01', to: '2026-01-01' }, 'from'],
    ['/api/v1/timeseries', { ...range, metric: 'bytes' }, 'metric'],
    ['/api/v1/timeseries', { ...range, step: '61' }, 'step'],
    ['/api/v1/timeseries', { from: '2026-01-01', to: '2026-07-01', step: '60' }, 'step'],
    ['/api/v1/timeseries', { ...range, metric: 'leaf', leaf_file: 'result.json' }, 'leaf_path'],
    ['/api/v1/timeseries', { ...range, leaf_file: 'result.json' }, 'leaf_file'],
    ['/api/v1/timeseries', { ...range, status: 'ok' }, 'status'],
    ['/api/v1/timeseries', { ...range, label: 'nocolon' }, 'label'],
    ['/api/v1/timeseries', { ...range, stauts: 'failed' }, 'stauts'],
    ['/api/v1/breakdown', { ...range }, 'by'],
    ['/api/v1/breakdown', { ...range, by: 'colour' }, 'by'],
    ['/api/v1/breakdown', { ...range, by: 'job', limit: '0' }, 'limit'],
    ['/api/v1/breakdown', { ...range, by: 'job', limit: '1e3' }, 'limit'],
    ['/api/v1/runs', { ...range, sort: 'size' }, 'sort'],
    ['/api/v1/runs', { ...range, order: 'up' }, 'order'],
    ['/api/v1/runs', { ...range, limit: '501' }, 'limit'],
    ['/api/v1/runs', { ...range, job: '' }, 'job'],
    ['/api/v1/runs', { ...range, key_prefix: 'k'.repeat(201) }, 'key_prefix'],
    ['/api/v1/jobs', { from: '1700000000000' }, 'from'],
    ['/api/v1/jobs', { to: '2026-07-01T10:00:00' }, 'to'],
  ])('%s?%o is a 400 naming %s', async (path, params, name) => {
    const { status, body } = await fx.get(`${path}?${query(params as Record<string, string>)}`);
    expect(status).toBe(400);
    expect(body.error.message).toMatch(new RegExp(`^parameter '${name}': `));
  });

  it('refuses a scalar parameter given twice', async () => {
    const { status, body } = await fx.get(`/api/v1/runs?${query({ job: ['a', 'b'] })}`);
    expect(status).toBe(400);
    expect(body.error.message).toBe("parameter 'job': given more than once");
  });

  it('accepts Unix seconds and ISO times with a zone', async () => {
    const from = String(Date.parse(`${DAY}T00:00:00Z`) / 1000);
    expect((await fx.get(`/api/v1/runs?${query({ from, to: '2026-07-01T23:00:00+02:00' })}`)).status).toBe(200);
  });
});

const HOSTILE = [
  "'", '"', '\\', "\\'", "') OR 1=1 --", "' OR '1'='1", '`', '%', '_', '*', '\n', '\r\n', '\t',
  '\u0000', 'a\u0000b', 'ключ🙂', '\u202e', '\ud800', '${x}', '{k:String}', '1; DROP TABLE runs',
  'x'.repeat(100_000), "label:' OR 1=1 --", '::', ':',
];

describe('hostile input through every parameter of every route', () => {
  const targets = ROUTES.flatMap((route) => Object.keys(route.query?.shape ?? {}).map((name) => ({ route, name })));

  it.each(targets.map(({ route, name }) => [route.path, name]))('%s ?%s= never causes a 5xx', async (path, name) => {
    const concrete = path.replace(':date', DAY).replace(':key', 'plain-1');
    for (const value of HOSTILE) {
      const params: Record<string, string> = { [name]: value };
      if (path === '/api/v1/breakdown' && name !== 'by') params.by = 'job';
      const { status, body } = await fx.get(`${concrete}?${query(params)}`);
      expect(status, `${name}=${JSON.stringify(value).slice(0, 60)} → ${JSON.stringify(body).slice(0, 200)}`).toBeLessThan(500);
    }
  });

  it.each(['date', 'key'])('the path parameter :%s never causes a 5xx', async (which) => {
    // Already-encoded segments too, including malformed escapes and a lone surrogate.
    const segments = [...HOSTILE.filter((value) => value !== '\ud800').map(encodeURIComponent), '%ED%A0%80', '%E0%A4%A', '%', '..', '%2e%2e', '%00'];
    for (const segment of segments) {
      const path = which === 'date' ? `/api/v1/runs/${segment}/plain-1` : `/api/v1/runs/${DAY}/${segment}`;
      const { status } = await fx.get(path);
      expect([400, 404]).toContain(status);
    }
  });

  it('a filter holding quotes, backslashes and SQL matches exactly the run with that literal value', async () => {
    for (const [name, value, expected] of [
      ['host', WEIRD_HOST, ['weird-1']],
      ['job', WEIRD_JOB, ['weird-1']],
      ['label', "q'uote:v\\al'ue", ['weird-1']],
      ['host', "h1' OR '1'='1", []],
      ['job', "j1') OR 1=1 --", []],
      ['key_prefix', "plain' OR 1=1 --", []],
      ['key_prefix', "'", []],
      ['key_prefix', '%', []],
      ['key_prefix', '_lain', []],
      ['key_prefix', 'plain-', ['plain-1', 'plain-2']],
      ['label', "team:a' OR 1=1 --", []],
      ['host', 'h1\u0000', []],
    ] as const) {
      const { status, body } = await fx.get(`/api/v1/runs?${query({ ...range, [name]: value })}`);
      expect(status, `${name}=${value}`).toBe(200);
      expect(runsResponse.parse(body).runs.map((run) => run.key).sort(), `${name}=${value}`).toEqual([...expected]);
    }
    const series = timeseriesResponse.parse((await fx.get(`/api/v1/timeseries?${query({ ...range, host: WEIRD_HOST, step: 86_400 })}`)).body);
    expect(series.series.total).toEqual([1]);
  });
});
