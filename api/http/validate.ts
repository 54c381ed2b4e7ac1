// Turns a request's query string or path into a validated object. Unknown parameters and
// scalar parameters given twice are refused too, so a typo (`stauts=failed`) is a 400
// rather than a silently unfiltered answer.
import type { Context } from 'hono';
import type { z } from 'zod';
import { badParameter, badRequest } from './api-error.ts';
import { REPEATABLE_PARAMS } from './params.ts';

export type QuerySchema = z.ZodObject<z.ZodRawShape>;

export function parseQuery<S extends QuerySchema>(c: Context, schema: S): z.output<S> {
  const raw = c.req.queries();
  const input: Record<string, string | string[]> = {};
  for (const [name, values] of Object.entries(raw)) {
    if (!(name in schema.shape)) throw badParameter(name.slice(0, 100), `unknown parameter (known: ${Object.keys(schema.shape).join(', ') || 'none'})`);
    if (REPEATABLE_PARAMS.has(name)) input[name] = values;
    else if (values.length > 1) throw badParameter(name, 'given more than once');
    else input[name] = values[0] ?? '';
  }
  return parseWith(schema, input);
}

export function parsePath<S extends QuerySchema>(c: Context, schema: S): z.output<S> {
  return parseWith(schema, c.req.param() as Record<string, string>);
}

function parseWith<S extends QuerySchema>(schema: S, input: Record<string, unknown>): z.output<S> {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  if (!issue) throw badRequest('invalid request');
  const name = issue.path[0];
  if (name === undefined) throw badRequest(issue.message);
  throw badParameter(String(name), issue.message);
}
