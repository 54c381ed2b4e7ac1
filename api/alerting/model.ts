// The evaluator's view of rules, channels and silences, after validation and defaults.
import type { ChannelSpec, ConditionOp, RuleSpec, Severity, SilenceSpec } from './rule-schema.ts';
import { parseMatcher, type LabelMatcher } from './matchers.ts';

export type RuleSource =
  | { kind: 'file'; file: string; line: number }
  | { kind: 'api'; updatedAtMs: number; updatedBy: string };

export interface AlertRule {
  name: string;
  description: string;
  enabled: boolean;
  sql: string;
  condition: { op: ConditionOp; threshold: number };
  everyMs: number;
  forMs: number;
  keepFiringForMs: number;
  timeoutMs: number;
  severity: Severity;
  labels: Readonly<Record<string, string>>;
  annotations: Readonly<Record<string, string>>;
  channels: readonly string[];
  repeatIntervalMs: number;
  source: RuleSource;
}

export type Channel = ChannelSpec & { name: string };

export interface Silence {
  id: string;
  matchers: readonly LabelMatcher[];
  startsAtMs: number;
  endsAtMs: number;
  comment: string;
  createdBy: string;
  source: 'file' | 'api';
}

export interface RuleDefaults {
  everyMs: number;
  timeoutMs: number;
  repeatIntervalMs: number;
}

export function toAlertRule(spec: RuleSpec, source: RuleSource, defaults: RuleDefaults): AlertRule {
  const everyMs = spec.every ?? defaults.everyMs;
  return {
    name: spec.name,
    description: spec.description ?? '',
    enabled: spec.enabled,
    sql: spec.sql,
    condition: spec.condition,
    everyMs,
    forMs: spec.for,
    keepFiringForMs: spec.keepFiringFor,
    // An evaluation never outlives its slot: the next tick finds the rule idle.
    timeoutMs: Math.min(spec.timeout ?? defaults.timeoutMs, everyMs),
    severity: spec.severity,
    labels: spec.labels,
    annotations: spec.annotations,
    channels: spec.channels,
    repeatIntervalMs: spec.repeatInterval ?? defaults.repeatIntervalMs,
    source,
  };
}

export function toSilence(spec: SilenceSpec, id: string, source: 'file' | 'api', nowMs: number): Silence {
  return {
    id,
    matchers: spec.matchers.map(parseMatcher),
    startsAtMs: spec.startsAt ?? nowMs,
    endsAtMs: spec.endsAt,
    comment: spec.comment,
    createdBy: spec.createdBy,
    source,
  };
}

/** The labels silences and receivers see: the query's, the rule's static ones, alertname, severity. */
export function alertLabels(rule: AlertRule, queryLabels: Readonly<Record<string, string>>): Record<string, string> {
  return { ...queryLabels, ...rule.labels, alertname: rule.name, severity: rule.severity };
}
