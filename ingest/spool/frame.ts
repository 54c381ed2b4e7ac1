// One spool record ("frame") holds the messages of one append, so an append is all or
// nothing: a crash or a full disk mid-write leaves a frame whose length or CRC does not
// match, and the reader drops it whole instead of keeping half a batch.
//
//   u32 BE payload length | u32 BE crc32(payload) | payload
//   payload = u8 version (1) | u32 count | count × (u32 key length, key, u32 value length, value)
import { crc32 } from 'node:zlib';
import type { WireMessage } from '../event/wire.ts';

export const FRAME_HEADER_BYTES = 8;
const VERSION = 1;
/** Far above any real append; a larger length field means a damaged header, not a frame. */
export const MAX_FRAME_PAYLOAD = 256 * 1024 * 1024;

export function encodeFrame(messages: readonly WireMessage[]): Buffer {
  const parts = messages.map((message) => [Buffer.from(message.key, 'utf8'), Buffer.from(message.value, 'utf8')] as const);
  const payloadLength = 1 + 4 + parts.reduce((sum, [key, value]) => sum + 8 + key.length + value.length, 0);
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + payloadLength);
  let at = FRAME_HEADER_BYTES;
  at = frame.writeUInt8(VERSION, at);
  at = frame.writeUInt32BE(parts.length, at);
  for (const [key, value] of parts) {
    at = frame.writeUInt32BE(key.length, at);
    at += key.copy(frame, at);
    at = frame.writeUInt32BE(value.length, at);
    at += value.copy(frame, at);
  }
  frame.writeUInt32BE(payloadLength, 0);
  frame.writeUInt32BE(crc32(frame.subarray(FRAME_HEADER_BYTES)), 4);
  return frame;
}

export type FrameHeader = { ok: true; payloadLength: number; crc: number } | { ok: false; reason: string };

export function readFrameHeader(header: Buffer): FrameHeader {
  if (header.length < FRAME_HEADER_BYTES) return { ok: false, reason: `only ${header.length} header bytes` };
  const payloadLength = header.readUInt32BE(0);
  if (payloadLength < 5 || payloadLength > MAX_FRAME_PAYLOAD) return { ok: false, reason: `implausible length ${payloadLength}` };
  return { ok: true, payloadLength, crc: header.readUInt32BE(4) };
}

export type DecodedFrame = { ok: true; messages: WireMessage[] } | { ok: false; reason: string };

/** Checks the CRC, then decodes; never throws on damaged bytes. */
export function decodeFramePayload(payload: Buffer, expectedCrc: number): DecodedFrame {
  if (crc32(payload) !== expectedCrc) return { ok: false, reason: 'CRC mismatch' };
  if (payload.readUInt8(0) !== VERSION) return { ok: false, reason: `unknown frame version ${payload.readUInt8(0)}` };
  const count = payload.readUInt32BE(1);
  const messages: WireMessage[] = [];
  let at = 5;
  for (let i = 0; i < count; i++) {
    const key = readField(payload, at);
    if (!key) return { ok: false, reason: `message ${i}: key runs past the frame` };
    const value = readField(payload, key.next);
    if (!value) return { ok: false, reason: `message ${i}: value runs past the frame` };
    messages.push({ key: key.text, value: value.text });
    at = value.next;
  }
  if (at !== payload.length) return { ok: false, reason: `${payload.length - at} stray bytes after ${count} messages` };
  return { ok: true, messages };
}

/** The message count without decoding the messages (for depth at open). */
export function frameMessageCount(payload: Buffer): number {
  return payload.readUInt32BE(1);
}

function readField(payload: Buffer, at: number): { text: string; next: number } | null {
  if (at + 4 > payload.length) return null;
  const length = payload.readUInt32BE(at);
  const end = at + 4 + length;
  if (end > payload.length) return null;
  return { text: payload.toString('utf8', at + 4, end), next: end };
}
