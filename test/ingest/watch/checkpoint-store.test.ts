// The checkpoint's day logs: survive a restart, shrug off a torn tail, compact when bloated.
import { appendFileSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openCheckpointStore } from '../../../ingest/watch/checkpoint-store.ts';
import { tempDir } from './helpers.ts';

describe('checkpoint store', () => {
  it('gives back after a restart what was recorded and flushed, one log per day', async () => {
    const checkpointDir = tempDir('ck');
    const store = openCheckpointStore({ checkpointDir, root: '/runs' });
    store.record('2026-11-21', 'a', '1:10:100');
    store.record('2026-11-21', 'a', '2:20:200');
    store.record('2026-11-20', 'bad key\n', '!badkey');
    await store.flush();
    const again = openCheckpointStore({ checkpointDir, root: '/runs' });
    expect(again.get('2026-11-21', 'a')).toBe('2:20:200');
    expect(again.get('2026-11-20', 'bad key\n')).toBe('!badkey');
    expect(readdirSync(again.directory).sort()).toEqual(['2026-11-20.log', '2026-11-21.log', 'root.txt']);
  });

  it('ignores a torn or zero-filled tail left by a crash', async () => {
    const checkpointDir = tempDir('ck');
    const store = openCheckpointStore({ checkpointDir, root: '/runs' });
    store.record('2026-11-21', 'a', '1:10:100');
    await store.flush();
    appendFileSync(join(store.directory, '2026-11-21.log'), 'b\t1:1\0\0\0\n\0\0\0\0c\t1:2');
    const again = openCheckpointStore({ checkpointDir, root: '/runs' });
    expect(again.get('2026-11-21', 'a')).toBe('1:10:100');
    expect(again.get('2026-11-21', 'b')).toBeUndefined();
    expect(again.get('2026-11-21', 'c')).toBeUndefined();
  });

  it('compacts a day log holding far more lines than runs', async () => {
    const store = openCheckpointStore({ checkpointDir: tempDir('ck'), root: '/runs' });
    for (let i = 0; i < 12_000; i++) {
      store.record('2026-11-21', 'same-run', `1:${i}:0`);
      if (i % 1000 === 999) await store.flush();
    }
    await store.flush();
    const lines = readFileSync(join(store.directory, '2026-11-21.log'), 'utf8').split('\n').filter(Boolean);
    expect(lines.length).toBeLessThan(2000);
    expect(store.get('2026-11-21', 'same-run')).toBe('1:11999:0');
  });
});
