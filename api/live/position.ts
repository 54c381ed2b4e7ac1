// A position in the run-events topic: per partition, the next offset to read. It is the
// SSE event id of every live message, the `?from=` of a resume and the `complete_until`
// watermark of a query, so the three compare directly.
//
// Text form: `0:123,1:456,2:0` (partition:nextOffset, comma-separated) — short, legal in an
// SSE id (no CR/LF/NUL) and in a query string without escaping. Offsets are JS numbers:
// exact up to 2^53, which a partition would reach after 285 years at a million per second.
import { z } from 'zod';

export type Position = ReadonlyMap<number, number>;

const MAX_PARTITIONS = 1024;
const ENTRY = /^(\d{1,4}):(\d{1,16})$/;

export function encodePosition(position: Position): string {
  return [...position.entries()].sort(([a], [b]) => a - b).map(([partition, offset]) => `${partition}:${offset}`).join(',');
}

/** A position's text, validated; `null` when it is not one (the caller names the parameter). */
export const positionSchema = z
  .string()
  .min(1, 'must not be empty')
  .max(MAX_PARTITIONS * 22, 'is too long')
  .transform((text, ctx) => {
    const position = new Map<number, number>();
    for (const entry of text.split(',')) {
      const match = ENTRY.exec(entry.trim());
      const partition = Number(match?.[1]);
      const offset = Number(match?.[2]);
      if (!match || !Number.isSafeInteger(offset) || partition >= MAX_PARTITIONS) {
        ctx.addIssue({ code: 'custom', message: `must be partition:offset pairs like 0:123,1:456 (got ${JSON.stringify(entry.slice(0, 40))})` });
        return z.NEVER;
      }
      if (position.has(partition)) {
        ctx.addIssue({ code: 'custom', message: `names partition ${partition} twice` });
        return z.NEVER;
      }
      position.set(partition, offset);
    }
    return position as Position;
  });

export function decodePosition(text: string): Position | null {
  const parsed = positionSchema.safeParse(text);
  return parsed.success ? parsed.data : null;
}

/** Per partition the larger offset: where a client stands after also seeing `b`. */
export function maxPosition(a: Position, b: Position): Position {
  const out = new Map(a);
  for (const [partition, offset] of b) out.set(partition, Math.max(offset, out.get(partition) ?? 0));
  return out;
}

export function samePosition(a: Position, b: Position): boolean {
  if (a.size !== b.size) return false;
  for (const [partition, offset] of a) if (b.get(partition) !== offset) return false;
  return true;
}

/** Completes a client's position with the hub's partitions: a partition it does not name starts at 0. */
export function withPartitions(position: Position, partitions: number): Map<number, number> {
  const out = new Map<number, number>();
  for (let partition = 0; partition < partitions; partition++) out.set(partition, position.get(partition) ?? 0);
  return out;
}
