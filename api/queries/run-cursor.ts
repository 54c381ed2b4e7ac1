// The opaque cursor of /api/v1/runs: base64url JSON of the last row's sort value and
// identity, plus the sort it belongs to. It is input like any other and is validated as
// such: a cursor that does not decode, or that belongs to another sort, is a 400.
import { z } from 'zod';
import { runDateSchema, runKeySchema } from '../../ingest/event/run-event.ts';
import { badParameter } from '../http/api-error.ts';

export const SORTS = ['time', 'duration'] as const;
export const ORDERS = ['asc', 'desc'] as const;

const cursorSchema = z.tuple([
  z.literal(1), // format version
  z.enum(SORTS),
  z.enum(ORDERS),
  z.number().int().min(-1).max(Number.MAX_SAFE_INTEGER), // sort value: ms (duration rounded down, -1 = none)
  runDateSchema,
  runKeySchema,
]);

export interface RunCursor { sort: (typeof SORTS)[number]; order: (typeof ORDERS)[number]; value: number; runDate: string; key: string }

export function encodeCursor(cursor: RunCursor): string {
  return Buffer.from(JSON.stringify([1, cursor.sort, cursor.order, cursor.value, cursor.runDate, cursor.key])).toString('base64url');
}

export function decodeCursor(text: string, expected: Pick<RunCursor, 'sort' | 'order'>): RunCursor {
  let json: unknown;
  try {
    if (!/^[A-Za-z0-9_-]{1,1000}$/.test(text)) throw new Error('not base64url');
    json = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    throw badParameter('cursor', 'is not a cursor returned by this endpoint');
  }
  const parsed = cursorSchema.safeParse(json);
  if (!parsed.success) throw badParameter('cursor', 'is not a cursor returned by this endpoint');
  const [, sort, order, value, runDate, key] = parsed.data;
  if (sort !== expected.sort || order !== expected.order) throw badParameter('cursor', `belongs to sort=${sort}&order=${order}; start again without a cursor`);
  return { sort, order, value, runDate, key };
}
