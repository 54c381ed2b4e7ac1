// The URL is the state: the page is the path, everything else (range, filters, the open
// run, the chosen leaf) is the query string, so every view is a deep link and the back
// button walks through what the operator looked at.
import { computed, signal } from '@preact/signals';

// `/metrics` is the API's Prometheus endpoint, so the Metrics page lives at /leaves.
export const PAGES = ['overview', 'jobs', 'runs', 'leaves', 'sql', 'alerts', 'errors'] as const;
export type Page = (typeof PAGES)[number];

interface Location {
  page: Page;
  params: URLSearchParams;
}

function read(): Location {
  const name = location.pathname.replace(/^\/+|\/+$/g, '') || 'overview';
  const page = (PAGES as readonly string[]).includes(name) ? (name as Page) : 'overview';
  return { page, params: new URLSearchParams(location.search) };
}

export const route = signal<Location>(read());
export const page = computed(() => route.value.page);

addEventListener('popstate', () => {
  route.value = read();
});

export function href(page: Page, params: URLSearchParams | Record<string, string | undefined>): string {
  const search = params instanceof URLSearchParams ? params : new URLSearchParams(Object.entries(params).filter((entry): entry is [string, string] => entry[1] !== undefined && entry[1] !== ''));
  const text = search.toString();
  return `/${page === 'overview' ? '' : page}${text ? `?${text}` : ''}`;
}

/** Goes to a page; `keep` carries the range (and tz-independent view state) along. */
export function navigate(target: Page, params: Record<string, string | undefined> = {}, { replace = false, keepRange = true } = {}): void {
  const next = new URLSearchParams();
  if (keepRange) for (const name of ['range', 'from', 'to']) {
    const value = route.value.params.get(name);
    if (value !== null && !(name in params)) next.set(name, value);
  }
  for (const [name, value] of Object.entries(params)) if (value !== undefined && value !== '') next.set(name, value);
  go(href(target, next), replace);
}

/** Changes some parameters of the current page; undefined or '' removes one. */
export function setParams(changes: Record<string, string | undefined | null>, { replace = false } = {}): void {
  const next = new URLSearchParams(route.value.params);
  for (const [name, value] of Object.entries(changes)) {
    if (value === undefined || value === null || value === '') next.delete(name);
    else next.set(name, value);
  }
  go(href(route.value.page, next), replace);
}

function go(url: string, replace: boolean): void {
  if (url === `${location.pathname}${location.search}`) return;
  if (replace) history.replaceState(null, '', url);
  else history.pushState(null, '', url);
  route.value = read();
}

export function param(name: string): string | null {
  return route.value.params.get(name);
}
