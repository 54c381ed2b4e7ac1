// How a publish is cut into sends: in order, at most MAX_SEND_BYTES per partition (the
// broker's limit is per partition batch) and MAX_SEND_TOTAL_BYTES in all.
import { describe, expect, it } from 'vitest';
import type { WireMessage } from '../../../ingest/event/wire.ts';
import { MAX_SEND_BYTES, MAX_SEND_TOTAL_BYTES, sendChunks } from '../../../ingest/publish/publisher.ts';

const message = (i: number, bytes: number): WireMessage => ({ key: `k${String(i).padStart(5, '0')}`, value: 'x'.repeat(bytes - 6) });
const partitionOf = (key: string) => Number(key.slice(1)) % 6;
const sizeOf = (m: WireMessage) => Buffer.byteLength(m.key) + Buffer.byteLength(m.value);

describe('sendChunks', () => {
  it('keeps every message once, in order, and each partition of a send under the limit', () => {
    const messages = Array.from({ length: 5000 }, (_, i) => message(i, 2_000 + (i % 7) * 300));
    const chunks = [...sendChunks(messages, () => partitionOf)];
    expect(chunks.flat()).toEqual(messages);
    for (const chunk of chunks) {
      const perPartition = new Map<number, number>();
      for (const m of chunk) perPartition.set(partitionOf(m.key), (perPartition.get(partitionOf(m.key)) ?? 0) + sizeOf(m));
      expect(Math.max(...perPartition.values())).toBeLessThanOrEqual(MAX_SEND_BYTES);
      expect(chunk.reduce((sum, m) => sum + sizeOf(m), 0)).toBeLessThanOrEqual(MAX_SEND_TOTAL_BYTES);
    }
    // Six partitions' worth per send, not one.
    expect(chunks.length).toBeLessThanOrEqual(Math.ceil(messages.reduce((sum, m) => sum + sizeOf(m), 0) / (5 * MAX_SEND_BYTES)));
  });

  it('counts everything as one partition until the partitions are known, then asks again after each send', () => {
    const messages = Array.from({ length: 1500 }, (_, i) => message(i, 2_000));
    let known = false;
    const chunks: WireMessage[][] = [];
    for (const chunk of sendChunks(messages, () => (known ? partitionOf : null))) {
      chunks.push(chunk);
      known = true; // the first send taught the producer the partitions
    }
    expect(chunks.flat()).toEqual(messages);
    expect(chunks[0]!.reduce((sum, m) => sum + sizeOf(m), 0)).toBeLessThanOrEqual(MAX_SEND_BYTES);
    expect(chunks.length).toBe(2);
  });

  it('sends a message larger than the limit alone', () => {
    const messages = [message(0, 1000), message(1, MAX_SEND_BYTES + 10), message(2, 1000)];
    expect([...sendChunks(messages, () => null)].map((chunk) => chunk.length)).toEqual([1, 1, 1]);
  });
});
