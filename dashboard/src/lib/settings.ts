// Per-browser settings, kept in localStorage: theme, time zone, API token.
import { effect, signal } from '@preact/signals';

export type Theme = 'light' | 'dark';
export type Tz = 'utc' | 'local';

const KEYS = { theme: 'runlens.theme', tz: 'runlens.tz', token: 'runlens.token' } as const;

function stored(key: string): string | null {
  try {
    return localStorage.getItem(key);
  } catch {
    return null;
  }
}

function store(key: string, value: string | null): void {
  try {
    if (value === null) localStorage.removeItem(key);
    else localStorage.setItem(key, value);
  } catch {
    // private mode: the setting lasts for this tab only
  }
}

const LOOPBACK = /^(localhost|127\.\d+\.\d+\.\d+|\[::1\])$/;

/** On loopback the API accepts the dev tokens: the dashboard needs no set-up there. */
export const isLoopback = () => LOOPBACK.test(location.hostname);

const prefersDark = typeof matchMedia === 'function' && matchMedia('(prefers-color-scheme: dark)').matches;

export const settings = {
  theme: signal<Theme>((stored(KEYS.theme) as Theme | null) ?? (prefersDark ? 'dark' : 'light')),
  tz: signal<Tz>((stored(KEYS.tz) as Tz | null) ?? 'utc'),
  token: signal<string | null>(stored(KEYS.token) ?? (isLoopback() ? 'dev-analyst' : null)),
  /** Set when the API answered 401: the token dialog opens. */
  askToken: signal(false),
};

effect(() => {
  document.documentElement.dataset['theme'] = settings.theme.value;
  store(KEYS.theme, settings.theme.value);
});
effect(() => store(KEYS.tz, settings.tz.value));

export function setToken(token: string | null): void {
  settings.token.value = token;
  store(KEYS.token, token);
  settings.askToken.value = false;
}
