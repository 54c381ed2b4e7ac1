// The shapes of rule files and of the API's rule and silence bodies: one zod schema each,
// from which the types are inferred. Durations are strings ("5m") turned into ms here.
import { z } from 'zod';
import { durationSchema } from './duration.ts';
import { matcherSchema } from './matchers.ts';
import { invalidPlaceholder } from './template.ts';

export const NAME = /^[A-Za-z0-9_.:-]{1,100}$/;
const nameSchema = z.string().regex(NAME, 'must be 1–100 characters of A-Z a-z 0-9 . _ : -');
const labelNameSchema = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,99}$/, 'label names are [A-Za-z_][A-Za-z0-9_]*');

export const CONDITION_OPS = ['>', '>=', '<', '<=', '==', '!='] as const;
export type ConditionOp = (typeof CONDITION_OPS)[number];
export const SEVERITIES = ['critical', 'warning', 'info'] as const;
export type Severity = (typeof SEVERITIES)[number];

const templateSchema = z.string().max(4_000).superRefine((template, ctx) => {
  const bad = invalidPlaceholder(template);
  if (bad) ctx.addIssue({ code: 'custom', message: `unknown placeholder ${bad}: only {{ $value }} and {{ $labels.<name> }} exist` });
});

/**
 * Operator-written SQL, run as the read-only `sql` user. The only substitution is
 * `{{database}}`; anything else in braces is refused rather than sent as is.
 */
const ruleSqlSchema = z.string().min(1).max(20_000).superRefine((sql, ctx) => {
  const other = [...sql.matchAll(/\{\{\s*([^}]*?)\s*\}\}/g)].find((match) => match[1] !== 'database');
  if (other) ctx.addIssue({ code: 'custom', message: `unknown placeholder ${other[0]}: only {{database}} is substituted` });
  if (/;\s*\S/.test(sql)) ctx.addIssue({ code: 'custom', message: 'must be a single statement (nothing after a ";")' });
  if (/\bFORMAT\s+[A-Za-z]+\s*;?\s*$/i.test(sql)) ctx.addIssue({ code: 'custom', message: 'must not end with a FORMAT clause: the evaluator reads JSONEachRow' });
});

export const ruleSpecSchema = z.strictObject({
  name: nameSchema,
  description: z.string().max(2_000).optional(),
  enabled: z.boolean().default(true),
  sql: ruleSqlSchema,
  condition: z.strictObject({
    op: z.enum(CONDITION_OPS),
    threshold: z.number().refine(Number.isFinite, 'must be a finite number'),
  }),
  /** How often the query runs. Default: RUNLENS_ALERT_DEFAULT_EVERY. */
  every: durationSchema.refine((ms) => ms >= 100, 'must be at least 100ms').optional(),
  /** How long the condition must hold before pending becomes firing. */
  for: durationSchema.default(0),
  /** How long a firing alert stays firing after the condition stops holding (anti-flap). */
  keepFiringFor: durationSchema.default(0),
  /** Per evaluation; default min(every, RUNLENS_ALERT_EVAL_TIMEOUT_MS). */
  timeout: durationSchema.refine((ms) => ms >= 100, 'must be at least 100ms').optional(),
  severity: z.enum(SEVERITIES).default('warning'),
  /** Static labels added to every instance (for routing and silences). */
  labels: z.record(labelNameSchema, z.string().max(1_000)).default({}),
  annotations: z.record(labelNameSchema, templateSchema).default({}),
  channels: z.array(nameSchema).max(20).default([]),
  /** A firing alert is notified again after this long. Default: RUNLENS_ALERT_DEFAULT_REPEAT. */
  repeatInterval: durationSchema.refine((ms) => ms >= 1_000, 'must be at least 1s').optional(),
});
export type RuleSpec = z.output<typeof ruleSpecSchema>;

export const channelSpecSchema = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('webhook'),
    url: z.url({ protocol: /^https?$/ }),
  }),
  z.strictObject({
    type: z.literal('slack'),
    url: z.url({ protocol: /^https?$/ }),
  }),
]);
export type ChannelSpec = z.output<typeof channelSpecSchema>;

const instantSchema = z.iso.datetime({ offset: true }).transform((text) => Date.parse(text));

export const silenceSpecSchema = z
  .strictObject({
    id: nameSchema.optional(),
    matchers: z.array(matcherSchema).min(1, 'a silence needs at least one matcher'),
    startsAt: instantSchema.optional(),
    endsAt: instantSchema,
    comment: z.string().max(2_000).default(''),
    createdBy: z.string().max(200).default(''),
  })
  .refine((silence) => silence.endsAt > (silence.startsAt ?? 0), { message: 'endsAt must be after startsAt', path: ['endsAt'] });
export type SilenceSpec = z.output<typeof silenceSpecSchema>;

export const ruleFileSchema = z.strictObject({
  $comment: z.string().optional(),
  channels: z.record(nameSchema, channelSpecSchema).default({}),
  rules: z.array(ruleSpecSchema).default([]),
  silences: z.array(silenceSpecSchema).default([]),
});
export type RuleFile = z.output<typeof ruleFileSchema>;
