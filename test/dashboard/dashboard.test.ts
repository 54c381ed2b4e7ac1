// The dashboard in a real browser against the real API and pipeline: every page shows
// data without console errors, zoom refetches at a finer step, search and the run drawer,
// a SQL query charted, and a run written to the tree appearing on the open Overview.
// Screenshots of every page go to test-results/screenshots/.
import { readdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Locator, Page } from 'playwright-core';
import { createDashboardFixture, screenshotDir, writeRun, type DashboardFixture } from './dashboard-fixture.ts';

let fx: DashboardFixture;

beforeAll(async () => {
  fx = await createDashboardFixture('dashboard');
}, 120_000);

afterAll(async () => {
  await fx?.close();
});

/** Waits until no panel is loading, then returns each panel's state by id. */
async function settled(page: Page): Promise<Record<string, string>> {
  const states = () => page.evaluate(() => Object.fromEntries([
    ['health-strip', document.querySelector('.health-strip')?.getAttribute('data-state') ?? 'missing'],
    ...[...document.querySelectorAll('section.panel')].map((panel, index) => [panel.id || `panel-${index}`, panel.getAttribute('data-state') ?? '']),
  ]));
  try {
    await page.waitForFunction(() => {
      const panels = [...document.querySelectorAll('section.panel')];
      return panels.length > 0 && panels.every((panel) => panel.getAttribute('data-state') !== 'loading') && document.querySelector('.health-strip')?.getAttribute('data-state') !== 'loading';
    }, undefined, { timeout: 15_000 });
  } catch (error) {
    throw new Error(`${page.url()} did not settle: ${JSON.stringify(await states())}`, { cause: error });
  }
  return states();
}


/** Polls a locator until the check holds (playwright-core has no web-first assertions). */
async function until(what: string, probe: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await probe().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
const hasAttribute = (locator: Locator, name: string, value: string, timeoutMs?: number) =>
  until(`${name}=${value}`, async () => (await locator.getAttribute(name, { timeout: 500 })) === value, timeoutMs);
const hasText = (locator: Locator, pattern: RegExp | string, timeoutMs?: number) =>
  until(`text ${pattern}`, async () => {
    const text = (await locator.textContent({ timeout: 500 })) ?? '';
    return typeof pattern === 'string' ? text.includes(pattern) : pattern.test(text);
  }, timeoutMs);
const hasCount = (locator: Locator, count: number) => until(`${count} elements`, async () => (await locator.count()) === count);

const shot = (page: Page, name: string) => page.screenshot({ path: `${screenshotDir}${name}.png`, fullPage: true });

describe('the dashboard', () => {
  it('serves the app with its JS under the 150 KB gzip budget', () => {
    expect(fx.build.jsGzipBytes).toBeGreaterThan(0);
    expect(fx.build.jsGzipBytes).toBeLessThan(150 * 1024);
  });

  it('shows every page with data and no console errors', async () => {
    const { page, problems } = await fx.openPage();
    const pages: Array<[string, string, string[]]> = [
      ['overview', '/?range=7d', ['chart-runs', 'chart-failure', 'chart-duration', 'chart-failing']],
      ['jobs', '/jobs?range=7d', ['chart-jobs', 'jobs-table']],
      ['runs', '/runs?range=7d', ['chart-runs-search', 'runs-table']],
      ['metrics', '/leaves?range=7d', ['leaves', 'chart-leaf-jobs', 'chart-leaf-overall']],
      ['alerts', '/alerts?range=7d', ['alerts-rules']],
      ['errors', '/errors?range=7d', ['chart-errors', 'errors-table']],
      ['sql', '/sql', ['sql-editor']],
    ];
    for (const [name, url, ready] of pages) {
      await page.goto(url);
      const states = await settled(page);
      for (const id of ready) expect(states[id], `${name}: ${id}`).toBe('ready');
      await hasAttribute(page.locator('.health-strip'), 'data-state', 'ready');
      await shot(page, name);
    }
    expect(problems).toEqual([]);
    await page.close();
  });

  it('zooms by dragging on a chart and refetches at a finer step', async () => {
    const { page, problems } = await fx.openPage();
    await page.goto('/?range=7d');
    await settled(page);
    const before = await page.locator('#chart-runs').getAttribute('data-state');
    expect(before).toBe('ready');
    const over = page.locator('#chart-runs .u-over');
    const box = (await over.boundingBox())!;
    // Waits for the refetch itself (a response handler's body could still be pending when
    // the chart reports ready): a runs timeseries at a step finer than the 7-day view's.
    const finer = page.waitForResponse(async (response) => {
      if (!response.url().includes('/api/v1/timeseries') || !response.url().includes('metric=runs')) return false;
      const body = (await response.json().catch(() => null)) as { step: number } | null;
      return body !== null && body.step < 600;
    }, { timeout: 30_000 });
    await page.mouse.move(box.x + box.width * 0.55, box.y + box.height / 2);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.6, box.y + box.height / 2, { steps: 5 });
    await page.mouse.up();
    await page.waitForURL(/from=\d+&to=\d+/);
    const zoomed = (await (await finer).json()) as { step: number };
    expect(zoomed.step).toBeLessThan(600);
    await settled(page);
    await page.waitForFunction(() => document.querySelector('#chart-runs')?.getAttribute('data-state') !== 'loading');
    // Back returns to the 7-day view.
    await page.goBack();
    await page.waitForURL(/range=7d/);
    expect(problems).toEqual([]);
    await page.close();
  });

  it('searches runs by key prefix and opens a run with its files; Esc closes it', async () => {
    const { page, problems } = await fx.openPage();
    // acct-000117.* are runs of the shared samples, in day folders of a fixed date: the range
    // reaches back to the oldest day folder, however long ago (a 7-day preset lost them a week on).
    const firstDay = readdirSync(fx.root).filter((name) => /^\d{4}-\d{2}-\d{2}$/.test(name)).sort()[0]!;
    await page.goto(`/runs?from=${Date.parse(firstDay) / 1000 - 86_400}&to=${Math.ceil(Date.now() / 1000)}`);
    await settled(page);
    await page.keyboard.press('/');
    await page.keyboard.type('acct-000117');
    await page.waitForURL(/key=acct-000117/);
    await page.waitForFunction(() => {
      const rows = [...document.querySelectorAll('#runs-table .vt-row')];
      return rows.length > 0 && rows.every((row) => (row.getAttribute('data-key') ?? '').split('/')[1]?.startsWith('acct-000117'));
    });
    await page.locator('#runs-table .vt-row').first().click();
    await page.waitForURL(/run=/);
    const drawer = page.locator('aside.drawer');
    await hasAttribute(drawer, 'data-state', 'ready');
    await drawer.locator('details.file').first().waitFor();
    await hasText(drawer.locator('.file-name').first(), /\.json$/);
    await shot(page, 'run-drawer');
    await page.keyboard.press('Escape');
    await hasCount(drawer, 0);
    expect(problems).toEqual([]);
    await page.close();
  });

  it('runs a SQL query, charts it, and shows a write refused', async () => {
    const { page, problems } = await fx.openPage();
    await page.goto('/sql');
    await page.locator('textarea.editor').fill("SELECT toStartOfHour(started_at) AS hour, count() AS runs, countIf(status = 'failed') AS failed FROM runs FINAL GROUP BY hour ORDER BY hour");
    await page.locator('#sql-run').click();
    await hasText(page.locator('#sql-stats'), 'rows');
    await page.locator('#sql-chart select').selectOption('hour');
    await page.locator('#sql-chart label.check', { hasText: 'runs' }).locator('input').check();
    await hasAttribute(page.locator('#sql-chart'), 'data-state', 'ready');
    await hasCount(page.locator('#sql-chart canvas'), 1);
    await page.locator('#sql-results .vt-row').first().waitFor();
    await shot(page, 'sql-chart');
    await page.locator('textarea.editor').fill('INSERT INTO runs (key) VALUES (1)');
    await page.locator('#sql-run').click();
    await hasText(page.locator('#sql-error'), 'read-only');
    expect(problems.filter((problem) => !problem.includes('/api/v1/sql') && !problem.includes('400'))).toEqual([]);
    await page.close();
  });

  it('shows a run written to the tree on the open Overview within 2 s, without reload', async () => {
    const { page, problems } = await fx.openPage();
    await page.goto('/?range=1h');
    await settled(page);
    await hasAttribute(page.locator('#live-badge'), 'data-status', 'live');
    const before = Number(await page.locator('#live-count').textContent());
    const key = `live-${Date.now()}`;
    const written = Date.now();
    writeRun(fx.root, fx.today, key, { job: 'live-probe', status: 'succeeded', startedMs: written - 1500, durationMs: 1000 });
    await page.locator(`#live-feed li[data-key="${key}"]`).waitFor({ timeout: 2_000 });
    const seenAfter = Date.now() - written;
    expect(seenAfter).toBeLessThan(2_000);
    expect(Number(await page.locator('#live-count').textContent())).toBeGreaterThan(before);
    await shot(page, 'overview-live');
    // The reconciling refetch keeps it in the chart once stored.
    await page.waitForTimeout(2_500);
    expect(problems).toEqual([]);
    await page.close();
  });

  it('works at 768 px wide and in the dark theme, in local time', async () => {
    const { page, problems } = await fx.openPage({ width: 768, height: 1000 });
    await page.goto('/?range=7d');
    await settled(page);
    await page.locator('#theme-toggle').click();
    await page.locator('#tz-toggle').click();
    await settled(page);
    expect(await page.evaluate(() => document.documentElement.dataset['theme'])).toBe('dark');
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    await shot(page, 'overview-768-dark');
    await page.goto('/runs?range=7d');
    await settled(page);
    await shot(page, 'runs-768-dark');
    expect(problems).toEqual([]);
    await page.close();
  });
});
