// The OpenAPI 3.1 document, generated from the route table and its zod schemas, so it
// cannot drift from what the handlers validate and return (the tests also parse every
// response with the same schemas).
import { z } from 'zod';
import { COMPLETE_UNTIL_RULE } from './queries/timeseries.ts';
import type { RouteSpec } from './routes.ts';

const errorBody = z.object({ error: z.object({ status: z.number().int(), message: z.string() }) });

const ERROR_TEXT: Record<number, string> = {
  400: 'Invalid parameter; the message names it.',
  401: 'No bearer token, or an unknown one.',
  403: "The token's role is below the route's.",
  404: 'Not found.',
  415: 'The body must be application/json.',
  429: 'Rate limit or quota reached; see Retry-After.',
  503: 'ClickHouse unreachable or overloaded, or the module is not enabled on this instance; see Retry-After.',
};

const DESCRIPTION = [
  'Run history: time series, breakdowns, run search and detail. Bearer tokens with roles viewer < analyst < admin.',
  '',
  'Where the answers come from: /timeseries, /jobs, /breakdown and /job-series read the rollup tables (runs per minute, hour and day',
  'by job, host, rolled-up label and status; see clickhouse/README.md) whenever those hold the answer exactly, and `runs FINAL` otherwise',
  '(two filter dimensions at once, a label key that is not rolled up, error_type, a leaf filtered by anything but the job, minutes older',
  'than the minute tier keeps, or rollups no maintainer has written yet). Each response says which in `source`. A long range reads whole',
  'days from the day tier (when the step allows) and only its edges from the hour and minute tiers. From the rollups, /jobs and',
  '/breakdown count the window widened to whole minutes (`from`/`to` in the response), /jobs gives last_run_at_ms as the start of the',
  'newest bucket with runs, and duration percentiles come from merged TDigest states (close to, not identical with, the raw ones).',
  'The raw source counts a run only when its run_date is within a day of the range; the rollups count every run where it started.',
  '',
  `complete_until: ${COMPLETE_UNTIL_RULE}`,
].join('\n');

export function buildOpenApi(routes: readonly RouteSpec[], version: string): object {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const path = route.path.replace(/:([A-Za-z_]+)/g, '{$1}');
    const errors = [
      ...(route.query || route.params || route.body ? [400] : []),
      ...(route.role === 'public' ? [] : [401, 403]),
      ...(route.params ? [404] : []),
      ...(route.body ? [415] : []),
      ...(route.rateLimited ? [429] : []),
      ...(route.usesClickHouse || route.requires ? [503] : []),
    ];
    paths[path] = {
      ...paths[path],
      [route.method.toLowerCase()]: {
        operationId: route.operationId,
        summary: route.summary,
        'x-runlens-role': route.role,
        security: route.role === 'public' ? [] : [{ bearer: [] }],
        parameters: [...(route.params ? parameters(route.params, 'path') : plainPathParameters(route.path)), ...parameters(route.query, 'query')],
        ...(route.body ? { requestBody: { required: true, content: { 'application/json': { schema: jsonSchema(route.body, 'input') } } } } : {}),
        ...(route.requires ? { 'x-runlens-module': route.requires } : {}),
        responses: {
          [route.successStatus ?? 200]: {
            description: route.response.description,
            content: {
              [route.response.contentType]: route.response.schema ? { schema: jsonSchema(route.response.schema, 'output') } : { schema: { type: 'string' } },
            },
          },
          ...(route.response.alsoStatus ? { [route.response.alsoStatus]: { description: route.response.alsoDescription ?? '', content: { 'application/json': { schema: jsonSchema(route.response.schema!, 'output') } } } } : {}),
          ...Object.fromEntries(errors.map((status) => [status, { description: ERROR_TEXT[status], content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } }])),
        },
      },
    };
  }
  return {
    openapi: '3.1.0',
    info: { title: 'runlens query API', version, description: DESCRIPTION },
    servers: [{ url: '/' }],
    paths,
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      schemas: { Error: jsonSchema(errorBody, 'output') },
    },
  };
}

/** Path parameters of a route without a params schema (the alerting sub-app validates its own). */
function plainPathParameters(path: string): object[] {
  return [...path.matchAll(/:([A-Za-z_]+)/g)].map((match) => ({ name: match[1], in: 'path', required: true, schema: { type: 'string' } }));
}

function parameters(schema: z.ZodObject<z.ZodRawShape> | undefined, location: 'query' | 'path'): object[] {
  if (!schema) return [];
  const json = jsonSchema(schema, 'input') as { properties?: Record<string, { description?: string }>; required?: string[] };
  return Object.entries(json.properties ?? {}).map(([name, property]) => {
    const { description, ...propertySchema } = property;
    return {
      name,
      in: location,
      required: location === 'path' || (json.required ?? []).includes(name),
      ...(description ? { description } : {}),
      schema: propertySchema,
    };
  });
}

function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): object {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as Record<string, unknown>;
  return rest;
}
