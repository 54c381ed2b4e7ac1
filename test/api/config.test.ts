import { describe, expect, it } from 'vitest';
import { DEV_TOKENS, parseApiConfig } from '../../api/config.ts';
import { parseTokens } from '../../api/auth/tokens.ts';

describe('the API config', () => {
  it('defaults to the local stack, loopback, the api user and the dev tokens', () => {
    const config = parseApiConfig({});
    expect(config).toMatchObject({ host: '127.0.0.1', port: 18080, clickhouse: { url: 'http://127.0.0.1:18123', database: 'runlens', api: { username: 'api' }, sql: { username: 'sql' } }, corsOrigins: [] });
    expect(config.tokens?.lookup('dev-viewer')).toBe('viewer');
    expect(config.tokens?.lookup('dev-admin')).toBe('admin');
    expect(Object.isFrozen(config)).toBe(true);
    expect(DEV_TOKENS).toContain('analyst:dev-analyst');
  });

  it('names the variable that is wrong, without echoing secrets', () => {
    expect(() => parseApiConfig({ RUNLENS_API_PORT: 'eighty' })).toThrow(/RUNLENS_API_PORT="eighty"/);
    expect(() => parseApiConfig({ RUNLENS_CLICKHOUSE_DATABASE: 'a-b' })).toThrow(/RUNLENS_CLICKHOUSE_DATABASE/);
    expect(() => parseApiConfig({ RUNLENS_API_AUTH: 'maybe' })).toThrow(/RUNLENS_API_AUTH/);
    expect(() => parseApiConfig({ RUNLENS_API_TOKENS: 'root:supersecret123' })).toThrow(/RUNLENS_API_TOKENS=<hidden>/);
    expect(() => parseApiConfig({ RUNLENS_API_TOKENS: 'root:supersecret123' })).not.toThrow(/supersecret/);
  });

  it('refuses the dev tokens when listening beyond loopback', () => {
    expect(() => parseApiConfig({ RUNLENS_API_HOST: '0.0.0.0' })).toThrow(/RUNLENS_API_TOKENS: must be set/);
    expect(parseApiConfig({ RUNLENS_API_HOST: '0.0.0.0', RUNLENS_API_TOKENS: 'viewer:long-enough-token' }).tokens?.size).toBe(1);
  });

  it('turns auth off only when told to', () => {
    expect(parseApiConfig({ RUNLENS_API_AUTH: 'off' }).tokens).toBeNull();
  });
});

describe('the token table', () => {
  it('maps tokens to roles and knows nothing else', () => {
    const table = parseTokens('viewer:aaaaaaaa1,admin:bbbbbbbb2,viewer:cccccccc3');
    expect(table.lookup('aaaaaaaa1')).toBe('viewer');
    expect(table.lookup('cccccccc3')).toBe('viewer');
    expect(table.lookup('bbbbbbbb2')).toBe('admin');
    expect(table.lookup('bbbbbbbb')).toBeNull();
    expect(table.lookup('')).toBeNull();
  });

  it('refuses unknown roles, short tokens and duplicates', () => {
    expect(() => parseTokens('owner:aaaaaaaa1')).toThrow(/viewer\|analyst\|admin/);
    expect(() => parseTokens('viewer:short')).toThrow(/shorter than 8/);
    expect(() => parseTokens('viewer:aaaaaaaa1,admin:aaaaaaaa1')).toThrow(/twice/);
    expect(() => parseTokens('')).toThrow(/no tokens/);
  });
});
