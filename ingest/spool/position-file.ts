// How far the drainer got, stored so that moving it needs no free disk space: a full disk
// is exactly when the spool must still drain (and delete segments) to make room. So no
// write-temp-and-rename (that allocates a new file); instead a preallocated 64-byte file
// with two checksummed slots, written alternately in place with fdatasync. A torn write
// can only damage the slot being written; the other still holds the previous position.
//
//   slot (32 bytes) = u64 generation | u64 segment | u64 offset | u32 crc32(first 24) | 4 zero bytes
import { open, type FileHandle } from 'node:fs/promises';
import { crc32 } from 'node:zlib';
import { fsyncDir } from './durable-fs.ts';
import { dirname } from 'node:path';

export interface Position {
  segment: number;
  offset: number;
}

const SLOT = 32;

export class PositionFile {
  private constructor(private readonly handle: FileHandle, private generation: bigint) {}

  /** Opens (creating when missing) and returns the newest intact position. */
  static async open(path: string, log: (line: string) => void): Promise<{ file: PositionFile; position: Position }> {
    let handle: FileHandle;
    try {
      handle = await open(path, 'r+');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      handle = await open(path, 'wx+');
      await handle.write(Buffer.alloc(2 * SLOT), 0, 2 * SLOT, 0);
      await handle.sync();
      await fsyncDir(dirname(path));
      return { file: new PositionFile(handle, 0n), position: { segment: 0, offset: 0 } };
    }
    const newest = await readNewest(handle);
    if (!newest) {
      // Never written (generation 0 is all zeros and valid), so this is outside damage.
      // Draining from the oldest segment re-sends (harmless duplicates) but loses nothing.
      log(`spool: ${path} is unreadable; draining from the oldest segment`);
      return { file: new PositionFile(handle, 0n), position: { segment: 0, offset: 0 } };
    }
    return { file: new PositionFile(handle, newest.generation), position: { segment: newest.segment, offset: newest.offset } };
  }

  async write(position: Position): Promise<void> {
    const generation = this.generation + 1n;
    const slot = Buffer.alloc(SLOT);
    slot.writeBigUInt64BE(generation, 0);
    slot.writeBigUInt64BE(BigInt(position.segment), 8);
    slot.writeBigUInt64BE(BigInt(position.offset), 16);
    slot.writeUInt32BE(crc32(slot.subarray(0, 24)), 24);
    await this.handle.write(slot, 0, SLOT, Number(generation % 2n) * SLOT);
    await this.handle.datasync();
    this.generation = generation;
  }

  close(): Promise<void> {
    return this.handle.close();
  }
}

/** The position without opening for writing (spoolLooksEmpty); null when missing or unreadable. */
export async function peekPosition(path: string): Promise<Position | null> {
  const handle = await open(path, 'r');
  try {
    return await readNewest(handle);
  } finally {
    await handle.close();
  }
}

async function readNewest(handle: FileHandle) {
  const bytes = Buffer.alloc(2 * SLOT);
  const { bytesRead } = await handle.read(bytes, 0, 2 * SLOT, 0);
  const slots = [readSlot(bytes.subarray(0, Math.min(SLOT, bytesRead))), readSlot(bytes.subarray(SLOT, bytesRead))].filter((slot) => slot !== null);
  if (slots.length === 0) return null;
  return slots.reduce((a, b) => (b.generation > a.generation ? b : a));
}

function readSlot(slot: Buffer): { generation: bigint; segment: number; offset: number } | null {
  if (slot.length < SLOT) return null;
  if (slot.every((byte) => byte === 0)) return { generation: 0n, segment: 0, offset: 0 };
  if (crc32(slot.subarray(0, 24)) !== slot.readUInt32BE(24)) return null;
  return { generation: slot.readBigUInt64BE(0), segment: Number(slot.readBigUInt64BE(8)), offset: Number(slot.readBigUInt64BE(16)) };
}
