// A durable local spool: what Kafka could not take yet, kept on disk in order.
//
// Layout of a spool directory (one writer, see spool-lock.ts):
//   segment-0000000001.log …   append-only frames (frame.ts), oldest first
//   position                   how far the drainer got (position-file.ts)
//   lock                       the owner's pid
// `append` resolves only after fdatasync, so an acknowledged append survives SIGKILL and
// power loss. Draining reads frames from the position, and `commit` moves the position
// durably before fully drained segments are deleted: a crash in between re-sends a batch
// (duplicates, which the sink tolerates) but never loses one.
import { mkdir, open, readdir, readFile, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { WireMessage } from '../event/wire.ts';
import { fsyncDir } from './durable-fs.ts';
import { SpoolCorruptError, SpoolFullError } from './errors.ts';
import { decodeFramePayload, encodeFrame, FRAME_HEADER_BYTES, frameMessageCount, readFrameHeader } from './frame.ts';
import { Mutex } from './mutex.ts';
import { peekPosition, PositionFile, type Position } from './position-file.ts';
import { acquireSpoolLock, type SpoolLock } from './spool-lock.ts';

export interface SpoolOptions {
  /** How long to wait for another process's lock before SpoolLockedError. */
  lockWaitMs?: number;
  /** A new segment is started once the current one reaches this size. */
  segmentBytes?: number;
  log?: (line: string) => void;
}

export interface SpoolPosition {
  segment: number;
  offset: number;
}

/** What is waiting to be drained: messages, and their bytes on disk (frame headers included). */
export interface SpoolDepth {
  records: number;
  bytes: number;
  segments: number;
}

export interface SpoolBatch {
  messages: WireMessage[];
  /** Where the position moves once these messages are in Kafka. */
  end: SpoolPosition;
  diskBytes: number;
}

interface Segment {
  seq: number;
  /** Bytes of whole, checked frames; appends go here. */
  size: number;
}

const SEGMENT_FILE = /^segment-(\d{10})\.log$/;
const POSITION_FILE = 'position';

export class Spool {
  private readonly mutex = new Mutex();
  private tailHandle: FileHandle | undefined;
  private closed = false;

  private constructor(
    readonly dir: string,
    private readonly lock: SpoolLock,
    private readonly positionFile: PositionFile,
    private readonly segments: Segment[],
    private position: SpoolPosition,
    private nextSeq: number,
    private pending: { records: number; bytes: number },
    private readonly segmentBytes: number,
  ) {}

  static async open(dir: string, options: SpoolOptions = {}): Promise<Spool> {
    const log = options.log ?? (() => {});
    await mkdir(dir, { recursive: true });
    const lock = await acquireSpoolLock(dir, options.lockWaitMs ?? 10_000);
    try {
      const state = await recover(dir, log);
      return new Spool(dir, lock, state.positionFile, state.segments, state.position, state.nextSeq, state.pending, options.segmentBytes ?? 64 * 1024 * 1024);
    } catch (error) {
      await lock.release();
      throw error;
    }
  }

  depth(): SpoolDepth {
    return { records: this.pending.records, bytes: this.pending.bytes, segments: this.segments.length };
  }

  isEmpty(): boolean {
    return this.pending.records === 0;
  }

  /**
   * Appends the messages as one frame and fdatasyncs it. All or nothing: on a full disk
   * the partial frame is cut off again and SpoolFullError says nothing was accepted.
   */
  append(messages: readonly WireMessage[]): Promise<void> {
    if (messages.length === 0) return Promise.resolve();
    const frame = encodeFrame(messages);
    return this.mutex.run(async () => {
      this.assertOpen();
      try {
        const tail = await this.tailFor(frame.length);
        const handle = this.tailHandle!;
        try {
          await writeFully(handle, frame, tail.size);
          await handle.datasync();
        } catch (error) {
          // Best effort: the next append writes at tail.size anyway, and a reader stops at
          // the first frame whose CRC fails, so leftovers can never be read as data.
          await handle.truncate(tail.size).catch(() => {});
          throw error;
        }
        tail.size += frame.length;
        this.pending.records += messages.length;
        this.pending.bytes += frame.length;
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'ENOSPC' || code === 'EDQUOT') throw new SpoolFullError(this.dir, { cause: error });
        throw error;
      }
    });
  }

  /**
   * The oldest undrained frames, whole, until adding the next frame would pass `maxMessages`
   * or `maxBytes` of message data (at least one frame). Null when the spool is empty.
   */
  read({ maxMessages, maxBytes }: { maxMessages: number; maxBytes: number }): Promise<SpoolBatch | null> {
    return this.mutex.run(async () => {
      this.assertOpen();
      const messages: WireMessage[] = [];
      let dataBytes = 0;
      let diskBytes = 0;
      let end = { ...this.position };
      for (const segment of this.segments) {
        if (segment.seq < this.position.segment) continue;
        let offset = segment.seq === this.position.segment ? this.position.offset : 0;
        if (offset >= segment.size) continue;
        const handle = await open(this.segmentPath(segment.seq), 'r');
        try {
          while (offset < segment.size) {
            const frame = await readFrameAt(handle, offset);
            if (!frame.ok) throw new SpoolCorruptError(`${this.segmentPath(segment.seq)} at ${offset}: ${frame.reason} (checked at open, so the file changed under the spool)`);
            const frameData = frame.messages.reduce((sum, m) => sum + m.key.length + m.value.length, 0);
            if (messages.length > 0 && (messages.length + frame.messages.length > maxMessages || dataBytes + frameData > maxBytes)) {
              return { messages, end, diskBytes };
            }
            messages.push(...frame.messages);
            dataBytes += frameData;
            diskBytes += frame.length;
            offset += frame.length;
            end = { segment: segment.seq, offset };
          }
        } finally {
          await handle.close();
        }
      }
      return messages.length > 0 ? { messages, end, diskBytes } : null;
    });
  }

  /** Records durably that `batch` is in Kafka, and deletes segments that are fully drained. */
  commit(batch: SpoolBatch): Promise<void> {
    return this.mutex.run(async () => {
      this.assertOpen();
      let position = batch.end;
      // Past the end of a segment means the start of the next one; a fully drained last
      // segment is retired too, so the next append starts a fresh file.
      for (const segment of this.segments) {
        if (segment.seq === position.segment && position.offset >= segment.size) position = { segment: segment.seq + 1, offset: 0 };
      }
      await this.positionFile.write(position);
      this.position = position;
      this.pending.records -= batch.messages.length;
      this.pending.bytes -= batch.diskBytes;
      this.nextSeq = Math.max(this.nextSeq, position.segment);
      let removed = false;
      while (this.segments.length > 0 && this.segments[0]!.seq < position.segment) {
        const segment = this.segments.shift()!;
        if (this.segments.length === 0) await this.closeTail();
        await unlink(this.segmentPath(segment.seq));
        removed = true;
      }
      if (removed) await fsyncDir(this.dir);
    });
  }

  close(): Promise<void> {
    return this.mutex.run(async () => {
      if (this.closed) return;
      this.closed = true;
      await this.closeTail();
      await this.positionFile.close();
      await this.lock.release();
    });
  }

  /** The segment the next frame goes to: the last one, or a new one when it is full or retired. */
  private async tailFor(frameBytes: number): Promise<Segment> {
    const last = this.segments.at(-1);
    // An empty segment takes any frame: a frame larger than segmentBytes still has a home.
    if (last && (last.size === 0 || last.size + frameBytes <= this.segmentBytes)) {
      this.tailHandle ??= await open(this.segmentPath(last.seq), 'r+');
      return last;
    }
    await this.closeTail();
    const seq = Math.max(this.nextSeq, (last?.seq ?? 0) + 1);
    this.tailHandle = await open(this.segmentPath(seq), 'wx');
    this.nextSeq = seq + 1;
    const segment = { seq, size: 0 };
    this.segments.push(segment);
    await fsyncDir(this.dir); // the new file's directory entry must survive a crash too
    return segment;
  }

  private async closeTail(): Promise<void> {
    const handle = this.tailHandle;
    this.tailHandle = undefined;
    await handle?.close();
  }

  private segmentPath(seq: number): string {
    return join(this.dir, segmentName(seq));
  }

  private assertOpen(): void {
    if (this.closed) throw new Error(`spool ${this.dir} is closed`);
  }
}

/**
 * Without taking the lock: true only when no undrained byte can exist. Errors count as
 * "not empty", so a caller that then takes the lock and looks properly is never misled.
 */
export async function spoolLooksEmpty(dir: string): Promise<boolean> {
  try {
    const names = await readdir(dir);
    const segments = names.filter((name) => SEGMENT_FILE.test(name));
    if (segments.length === 0) return true;
    if (segments.length > 1) return false;
    const position = await peekPosition(join(dir, POSITION_FILE));
    if (!position) return false;
    const handle = await open(join(dir, segments[0]!), 'r');
    try {
      const { size } = await handle.stat();
      return segments[0] === segmentName(position.segment) && size <= position.offset;
    } finally {
      await handle.close();
    }
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ENOENT' && !(await pathExists(dir));
  }
}

async function pathExists(path: string): Promise<boolean> {
  return readdir(path).then(() => true, () => false);
}

function segmentName(seq: number): string {
  return `segment-${String(seq).padStart(10, '0')}.log`;
}

/** Reads the position and checks every frame after it; cuts a torn tail off the last segment. */
async function recover(dir: string, log: (line: string) => void) {
  const seqs = (await readdir(dir))
    .map((name) => SEGMENT_FILE.exec(name)?.[1])
    .filter((seq): seq is string => seq !== undefined)
    .map(Number)
    .sort((a, b) => a - b);
  const { file: positionFile, position } = await PositionFile.open(join(dir, POSITION_FILE), log);
  try {
    return { positionFile, ...(await recoverSegments(dir, seqs, position, log)) };
  } catch (error) {
    await positionFile.close();
    throw error;
  }
}

async function recoverSegments(dir: string, seqs: number[], stored: Position, log: (line: string) => void) {
  let position = stored;
  // Segments before the position were drained; a crash came between commit and unlink.
  while (seqs.length > 0 && seqs[0]! < position.segment) await unlink(join(dir, segmentName(seqs.shift()!)));
  if (seqs.length > 0 && seqs[0]! > position.segment) position = { segment: seqs[0]!, offset: 0 };

  const segments: Segment[] = [];
  const pending = { records: 0, bytes: 0 };
  for (const [index, seq] of seqs.entries()) {
    const path = join(dir, segmentName(seq));
    const bytes = await readFile(path);
    let offset = seq === position.segment ? Math.min(position.offset, bytes.length) : 0;
    let problem: string | null = null;
    while (offset < bytes.length) {
      const frame = checkFrame(bytes, offset);
      if (!frame.ok) {
        problem = frame.reason;
        break;
      }
      pending.records += frame.count;
      pending.bytes += frame.length;
      offset += frame.length;
    }
    if (problem !== null) {
      const lost = bytes.length - offset;
      if (index === seqs.length - 1) {
        // The expected case: a crash mid-append. That append was never acknowledged.
        log(`spool: cut a torn tail of ${lost} bytes off ${path} (${problem})`);
        const handle = await open(path, 'r+');
        try {
          await handle.truncate(offset);
          await handle.sync();
        } finally {
          await handle.close();
        }
      } else {
        log(`spool: ${path} is damaged at byte ${offset} (${problem}); skipping its last ${lost} bytes`);
      }
    }
    segments.push({ seq, size: offset });
  }
  const nextSeq = Math.max(position.segment, (seqs.at(-1) ?? 0) + 1);
  return { segments, position, nextSeq, pending };
}

function checkFrame(bytes: Buffer, offset: number): { ok: true; count: number; length: number } | { ok: false; reason: string } {
  const header = readFrameHeader(bytes.subarray(offset, offset + FRAME_HEADER_BYTES));
  if (!header.ok) return header;
  const end = offset + FRAME_HEADER_BYTES + header.payloadLength;
  if (end > bytes.length) return { ok: false, reason: `frame of ${header.payloadLength} bytes, only ${bytes.length - offset - FRAME_HEADER_BYTES} present` };
  const payload = bytes.subarray(offset + FRAME_HEADER_BYTES, end);
  const decoded = decodeFramePayload(payload, header.crc);
  if (!decoded.ok) return decoded;
  return { ok: true, count: frameMessageCount(payload), length: end - offset };
}

async function readFrameAt(handle: FileHandle, offset: number): Promise<{ ok: true; messages: WireMessage[]; length: number } | { ok: false; reason: string }> {
  const headerBytes = Buffer.alloc(FRAME_HEADER_BYTES);
  const { bytesRead } = await handle.read(headerBytes, 0, FRAME_HEADER_BYTES, offset);
  const header = readFrameHeader(headerBytes.subarray(0, bytesRead));
  if (!header.ok) return header;
  const payload = Buffer.alloc(header.payloadLength);
  const got = await handle.read(payload, 0, header.payloadLength, offset + FRAME_HEADER_BYTES);
  if (got.bytesRead !== header.payloadLength) return { ok: false, reason: 'frame cut short' };
  const decoded = decodeFramePayload(payload, header.crc);
  return decoded.ok ? { ok: true, messages: decoded.messages, length: FRAME_HEADER_BYTES + header.payloadLength } : decoded;
}

async function writeFully(handle: FileHandle, data: Buffer, position: number): Promise<void> {
  let written = 0;
  while (written < data.length) {
    const { bytesWritten } = await handle.write(data, written, data.length - written, position + written);
    written += bytesWritten;
  }
}
