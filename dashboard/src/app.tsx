// The shell: header (pages, run search, range, zone, theme), the pipeline-health strip,
// the page, the run drawer and the token dialog. Keys: `/` focuses search, Esc closes.
import { useEffect } from 'preact/hooks';
import { HealthStrip } from './components/health-strip.tsx';
import { RangeBar } from './components/range-bar.tsx';
import { closeDrawer, RunDrawer } from './components/run-drawer.tsx';
import { TokenDialog } from './components/token-dialog.tsx';
import { href, navigate, page, param, route, type Page } from './lib/router.ts';
import { setToken, settings } from './lib/settings.ts';
import { Alerts } from './pages/alerts.tsx';
import { Errors } from './pages/errors.tsx';
import { Jobs } from './pages/jobs.tsx';
import { Metrics } from './pages/metrics.tsx';
import { LiveBadge, Overview } from './pages/overview.tsx';
import { Runs } from './pages/runs.tsx';
import { Sql } from './pages/sql.tsx';

const NAV: Array<{ page: Page; label: string }> = [
  { page: 'overview', label: 'Overview' },
  { page: 'jobs', label: 'Jobs' },
  { page: 'runs', label: 'Runs' },
  { page: 'leaves', label: 'Metrics' },
  { page: 'sql', label: 'SQL' },
  { page: 'alerts', label: 'Alerts' },
];

const PAGES: Record<Page, () => preact.JSX.Element> = { overview: Overview, jobs: Jobs, runs: Runs, leaves: Metrics, sql: Sql, alerts: Alerts, errors: Errors };
const TITLES: Record<Page, string> = { overview: 'Overview', jobs: 'Jobs', runs: 'Runs', leaves: 'Metrics', sql: 'SQL console', alerts: 'Alerts', errors: 'Ingest errors' };

export function App() {
  const current = page.value;
  const Current = PAGES[current];
  useEffect(() => {
    document.title = `${TITLES[current]} · runlens`;
  }, [current]);
  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      const target = event.target as HTMLElement | null;
      const typing = target && (target.tagName === 'INPUT' || target.tagName === 'TEXTAREA' || target.tagName === 'SELECT' || target.isContentEditable);
      if (event.key === '/' && !typing) {
        event.preventDefault();
        const search = document.querySelector<HTMLInputElement>('main [data-search]') ?? document.querySelector<HTMLInputElement>('#global-search');
        search?.focus();
        search?.select();
      } else if (event.key === 'Escape') {
        if (param('run')) closeDrawer();
        else if (typing) target.blur();
      }
    };
    addEventListener('keydown', onKey);
    return () => removeEventListener('keydown', onKey);
  }, []);
  const usesRange = current !== 'sql';
  return (
    <>
      <header class="top">
        <a class="brand" href="/" onClick={(event) => { event.preventDefault(); navigate('overview'); }}>runlens</a>
        <nav>
          {NAV.map((item) => (
            <a key={item.page} href={href(item.page, carry())} class={current === item.page ? 'active' : ''} aria-current={current === item.page ? 'page' : undefined}
              onClick={(event) => { event.preventDefault(); navigate(item.page); }}>
              {item.label}
            </a>
          ))}
        </nav>
        <form class="global-search" role="search" onSubmit={(event) => {
          event.preventDefault();
          const input = (event.currentTarget as HTMLFormElement).elements.namedItem('key') as HTMLInputElement;
          navigate('runs', { key: input.value.trim() || undefined });
        }}>
          <input id="global-search" name="key" type="search" placeholder="run key…  ( / )" aria-label="search runs by key prefix" />
        </form>
        <div class="toggles">
          {current === 'overview' ? <LiveBadge id="live-badge" /> : null}
          <button type="button" class="seg" onClick={() => (settings.tz.value = settings.tz.value === 'utc' ? 'local' : 'utc')} title="times in UTC or local" id="tz-toggle">
            {settings.tz.value === 'utc' ? 'UTC' : 'local'}
          </button>
          <button type="button" class="seg" onClick={() => (settings.theme.value = settings.theme.value === 'dark' ? 'light' : 'dark')} title="light or dark" aria-label="toggle theme" id="theme-toggle">
            {settings.theme.value === 'dark' ? '☀' : '☾'}
          </button>
          <button type="button" class="seg" onClick={() => setToken(null)} title="change the API token" aria-label="change token">token</button>
        </div>
      </header>
      <HealthStrip />
      <main>
        <div class="page-head">
          <h1>{TITLES[current]}</h1>
          {usesRange ? <RangeBar /> : null}
        </div>
        <Current />
      </main>
      <RunDrawer />
      <TokenDialog />
    </>
  );
}

/** The range moves with the operator between pages. */
function carry(): Record<string, string | undefined> {
  const params = route.value.params;
  return { range: params.get('range') ?? undefined, from: params.get('from') ?? undefined, to: params.get('to') ?? undefined };
}
