// The local spool on its own (no Kafka): order, durability across reopen, torn tails,
// the single-writer lock and a full disk.
import { execFileSync, spawnSync } from 'node:child_process';
import { appendFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { WireMessage } from '../../../ingest/event/wire.ts';
import { SpoolFullError, SpoolLockedError } from '../../../ingest/spool/errors.ts';
import { encodeFrame } from '../../../ingest/spool/frame.ts';
import { Spool } from '../../../ingest/spool/spool.ts';

const opened: Spool[] = [];
async function closeAll(): Promise<void> {
  await Promise.all(opened.splice(0).map((spool) => spool.close()));
}
afterEach(closeAll);

async function freshDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'runlens-spool-'));
}

async function openSpool(dir: string, options: Parameters<typeof Spool.open>[1] = {}): Promise<Spool> {
  const spool = await Spool.open(dir, options);
  opened.push(spool);
  return spool;
}

function messages(from: number, count: number, key = 'run'): WireMessage[] {
  return Array.from({ length: count }, (_, i) => ({ key: `${key}-${(from + i) % 3}`, value: JSON.stringify({ n: from + i }) }));
}

async function readAll(spool: Spool): Promise<WireMessage[]> {
  const all: WireMessage[] = [];
  for (;;) {
    const batch = await spool.read({ maxMessages: 7, maxBytes: 1 << 20 });
    if (!batch) return all;
    all.push(...batch.messages);
    await spool.commit(batch);
  }
}

async function segmentFiles(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((name) => name.startsWith('segment-')).sort();
}

describe('spool', () => {
  it('gives back appended messages in order, across segments, and deletes what was drained', async () => {
    const dir = await freshDir();
    const spool = await openSpool(dir, { segmentBytes: 300 });
    for (let i = 0; i < 30; i += 3) await spool.append(messages(i, 3));
    expect(spool.depth().records).toBe(30);
    expect((await segmentFiles(dir)).length).toBeGreaterThan(2);

    expect((await readAll(spool)).map((m) => JSON.parse(m.value).n)).toEqual(Array.from({ length: 30 }, (_, i) => i));
    expect(spool.depth()).toEqual({ records: 0, bytes: 0, segments: 0 });
    expect(await segmentFiles(dir)).toEqual([]);

    await spool.append(messages(30, 1));
    expect((await readAll(spool)).map((m) => JSON.parse(m.value).n)).toEqual([30]);
  });

  it('resumes after a reopen from where draining stopped, without repeating committed messages', async () => {
    const dir = await freshDir();
    const first = await openSpool(dir, { segmentBytes: 200 });
    for (let i = 0; i < 10; i++) await first.append(messages(i, 1));
    const batch = (await first.read({ maxMessages: 4, maxBytes: 1 << 20 }))!;
    await first.commit(batch);
    await first.read({ maxMessages: 3, maxBytes: 1 << 20 }); // read but never committed: comes again
    await first.close();

    const second = await openSpool(dir, { segmentBytes: 200 });
    expect(second.depth().records).toBe(6);
    expect((await readAll(second)).map((m) => JSON.parse(m.value).n)).toEqual([4, 5, 6, 7, 8, 9]);
  });

  it('cuts a torn last frame off at open and keeps every frame before it', async () => {
    const dir = await freshDir();
    const spool = await openSpool(dir);
    await spool.append(messages(0, 2));
    await spool.append(messages(2, 2));
    await spool.close();
    const [segment] = await segmentFiles(dir);
    const path = join(dir, segment!);
    const intact = (await readFile(path)).length;
    // A crash mid-append: only part of the next frame reached the disk.
    await appendFile(path, encodeFrame(messages(4, 5)).subarray(0, 40));

    const logged: string[] = [];
    const reopened = await openSpool(dir, { log: (line) => logged.push(line) });
    expect(reopened.depth().records).toBe(4);
    expect(logged.join('\n')).toMatch(/torn tail of 40 bytes/);
    expect((await readFile(path)).length).toBe(intact);
    await reopened.append(messages(10, 1));
    expect((await readAll(reopened)).map((m) => JSON.parse(m.value).n)).toEqual([0, 1, 2, 3, 10]);
  });

  it('drops a last frame whose bytes were damaged (CRC mismatch), not the ones before', async () => {
    const dir = await freshDir();
    const spool = await openSpool(dir);
    await spool.append(messages(0, 1));
    await spool.append(messages(1, 1));
    await spool.close();
    const path = join(dir, (await segmentFiles(dir))[0]!);
    const bytes = await readFile(path);
    bytes.writeUInt8(bytes.readUInt8(bytes.length - 3) ^ 0xff, bytes.length - 3);
    await writeFile(path, bytes);

    const reopened = await openSpool(dir);
    expect((await readAll(reopened)).map((m) => JSON.parse(m.value).n)).toEqual([0]);
  });

  it('lets one process write a spool directory and names the holder to a second opener', async () => {
    const dir = await freshDir();
    await openSpool(dir);
    const second = Spool.open(dir, { lockWaitMs: 100 });
    await expect(second).rejects.toBeInstanceOf(SpoolLockedError);
    await expect(second).rejects.toMatchObject({ holderPid: process.pid });
  });

  it('takes over a lock left by a process that no longer runs', async () => {
    const dir = await freshDir();
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    await writeFile(join(dir, 'lock'), `${dead.stdout}\n`);
    const spool = await openSpool(dir, { lockWaitMs: 0 });
    await spool.append(messages(0, 1));
    expect((await readFile(join(dir, 'lock'), 'utf8')).trim()).toBe(String(process.pid));
  });

  describe.skipIf(!canMountTmpfs())('on a full disk', () => {
    let mountPoint = '';
    afterEach(async () => {
      await closeAll(); // open files keep the mount busy
      if (mountPoint) execFileSync('umount', [mountPoint]);
      await rm(mountPoint, { recursive: true, force: true });
      mountPoint = '';
    });

    it('rejects an append with SpoolFullError and keeps exactly the appends it acknowledged', async () => {
      mountPoint = await freshDir();
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', mountPoint]);
      const dir = join(mountPoint, 'spool');
      await mkdir(dir);
      const spool = await openSpool(dir);
      const big = (i: number): WireMessage[] => [{ key: 'k', value: JSON.stringify({ n: i, pad: 'x'.repeat(5_000) }) }];
      let accepted = 0;
      let failure: unknown;
      for (let i = 0; i < 100 && failure === undefined; i++) {
        await spool.append(big(i)).then(() => accepted++, (error: unknown) => (failure = error));
      }
      expect(failure).toBeInstanceOf(SpoolFullError);
      expect(accepted).toBeGreaterThan(0);
      expect(spool.depth().records).toBe(accepted);
      await closeAll();

      const reopened = await openSpool(dir);
      expect((await readAll(reopened)).map((m) => JSON.parse(m.value).n)).toEqual(Array.from({ length: accepted }, (_, i) => i));
    });
  });
});

/** tmpfs needs root (CAP_SYS_ADMIN); elsewhere the full-disk case is skipped, and says so. */
function canMountTmpfs(): boolean {
  if (process.getuid?.() !== 0) return false;
  const probe = spawnSync('sh', ['-c', 'd=$(mktemp -d) && mount -t tmpfs -o size=4k tmpfs "$d" && umount "$d"; s=$?; rmdir "$d"; exit $s']);
  return probe.status === 0;
}
