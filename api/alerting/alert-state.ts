// The state machine of one rule's alert instances, as a pure function of the previous
// states, one evaluation's rows and the time; the evaluator persists what it returns.
//
//   inactive ─met─▶ pending ─met for `for`─▶ firing ─not met for `keepFiringFor`─▶ resolved
//      ▲               │ not met                 │ met again after repeatInterval: repeat
//      └───────────────┘                         (resolved ─met─▶ pending, as inactive)
//
// With `for` = 0 an instance goes from inactive straight to firing. A label set missing
// from the rows counts as "not met". Rule-level errors are the evaluator's business: a
// failed query leaves every instance as it was (a flaky ClickHouse must not resolve alerts).
import { createHash } from 'node:crypto';
import type { AlertRule } from './model.ts';
import { alertLabels } from './model.ts';
import { renderTemplate } from './template.ts';

export const ALERT_STATES = ['inactive', 'pending', 'firing', 'resolved', 'error'] as const;
export type AlertStateName = (typeof ALERT_STATES)[number];
export type Notice = 'firing' | 'repeat' | 'resolved';

export interface InstanceState {
  rule: string;
  /** Of the query's label columns; '' is the rule itself (its error state). */
  fingerprint: string;
  /** The query's label columns. */
  labels: Readonly<Record<string, string>>;
  state: AlertStateName;
  value: number | null;
  /** When the condition started to hold (pending/firing), else 0. */
  activeSinceMs: number;
  firingSinceMs: number;
  lastMetMs: number;
  /** Last notification of this firing episode; 0 = not notified (yet, or silenced). */
  lastNotifiedMs: number;
  annotations: Readonly<Record<string, string>>;
  changedAtMs: number;
  error: string;
}

export interface Observation {
  labels: Record<string, string>;
  value: number | null;
}

export interface Step {
  from: AlertStateName;
  after: InstanceState;
  kind: 'transition' | 'repeat';
  /** What to send, unless silenced (then null and `silenced`). */
  notice: Notice | null;
  silenced: boolean;
  dedupKey: string;
}

export function fingerprint(labels: Readonly<Record<string, string>>): string {
  const pairs = Object.keys(labels).sort().map((key) => [key, labels[key]]);
  return createHash('sha256').update(JSON.stringify(pairs)).digest('hex').slice(0, 16);
}

export function dedupKey(rule: string, fp: string, firingSinceMs: number, notice: Notice, atMs: number): string {
  return `${rule}/${fp}/${firingSinceMs}/${notice}${notice === 'repeat' ? `/${atMs}` : ''}`;
}

export interface StepInput {
  rule: AlertRule;
  previous: ReadonlyMap<string, InstanceState>;
  observations: readonly Observation[];
  nowMs: number;
  isSilenced: (labels: Readonly<Record<string, string>>) => boolean;
  /** The rule is being removed: every instance ends now, ignoring keepFiringFor. */
  retire?: boolean;
}

export interface StepOutput {
  /** Instances still worth remembering (pending, firing, resolved). */
  next: Map<string, InstanceState>;
  steps: Step[];
}

export function evaluateInstances({ rule, previous, observations, nowMs, isSilenced, retire = false }: StepInput): StepOutput {
  const observed = new Map<string, Observation>();
  for (const observation of observations) observed.set(fingerprint(observation.labels), observation);
  const next = new Map<string, InstanceState>();
  const steps: Step[] = [];
  const fingerprints = new Set([...previous.keys(), ...observed.keys()]);

  for (const fp of fingerprints) {
    if (fp === '') continue; // the rule's own error state is not an instance
    const observation = observed.get(fp);
    const value = observation?.value ?? null;
    const met = !retire && value !== null && conditionMet(rule, value);
    const before = previous.get(fp) ?? inactive(rule.name, fp, observation?.labels ?? {});
    const labels = observation?.labels ?? before.labels;
    const silenced = isSilenced(alertLabels(rule, labels));
    const annotate = (shownValue: number | null) => renderAnnotations(rule, labels, shownValue);
    const base = { ...before, labels, value: value ?? before.value };

    const emit = (after: InstanceState, kind: Step['kind'], notice: Notice | null) => {
      const send = notice !== null && (notice === 'resolved' || !silenced) ? notice : null;
      steps.push({
        from: before.state,
        after,
        kind,
        notice: send,
        silenced: notice !== null && send === null,
        dedupKey: send ? dedupKey(rule.name, fp, after.firingSinceMs, send, nowMs) : '',
      });
    };

    switch (before.state) {
      case 'inactive':
      case 'resolved':
      case 'error': {
        if (!met) {
          if (before.state === 'resolved') next.set(fp, before);
          break;
        }
        if (rule.forMs === 0) {
          const after = fire(base, nowMs, silenced, annotate(value));
          emit(after, 'transition', 'firing');
          next.set(fp, after);
        } else {
          const after: InstanceState = { ...base, state: 'pending', activeSinceMs: nowMs, firingSinceMs: 0, lastMetMs: nowMs, lastNotifiedMs: 0, annotations: annotate(value), changedAtMs: nowMs, error: '' };
          emit(after, 'transition', null);
          next.set(fp, after);
        }
        break;
      }
      case 'pending': {
        if (!met) {
          emit({ ...base, state: 'inactive', activeSinceMs: 0, changedAtMs: nowMs }, 'transition', null);
          break;
        }
        if (nowMs - before.activeSinceMs >= rule.forMs) {
          const after = fire({ ...base, activeSinceMs: before.activeSinceMs }, nowMs, silenced, annotate(value));
          emit(after, 'transition', 'firing');
          next.set(fp, after);
        } else {
          next.set(fp, { ...base, lastMetMs: nowMs });
        }
        break;
      }
      case 'firing': {
        if (met) {
          const kept: InstanceState = { ...base, lastMetMs: nowMs };
          const due = before.lastNotifiedMs === 0 || nowMs - before.lastNotifiedMs >= rule.repeatIntervalMs;
          if (due && !silenced) {
            // First notification of an episode that began silenced, or a reminder.
            const notice: Notice = before.lastNotifiedMs === 0 ? 'firing' : 'repeat';
            const after: InstanceState = { ...kept, lastNotifiedMs: nowMs, annotations: annotate(value) };
            emit(after, 'repeat', notice);
            next.set(fp, after);
          } else {
            next.set(fp, kept);
          }
          break;
        }
        if (!retire && rule.keepFiringForMs > 0 && nowMs - before.lastMetMs < rule.keepFiringForMs) {
          next.set(fp, base);
          break;
        }
        const after: InstanceState = { ...base, state: 'resolved', activeSinceMs: 0, annotations: annotate(base.value), changedAtMs: nowMs };
        // Receivers only hear "resolved" for an alert they were told about.
        emit(after, 'transition', before.lastNotifiedMs > 0 ? 'resolved' : null);
        next.set(fp, after);
        break;
      }
    }
  }
  return { next, steps };
}

function fire(base: InstanceState, nowMs: number, silenced: boolean, annotations: Record<string, string>): InstanceState {
  return {
    ...base,
    state: 'firing',
    activeSinceMs: base.activeSinceMs || nowMs,
    firingSinceMs: nowMs,
    lastMetMs: nowMs,
    lastNotifiedMs: silenced ? 0 : nowMs,
    annotations,
    changedAtMs: nowMs,
    error: '',
  };
}

export function inactive(rule: string, fp: string, labels: Readonly<Record<string, string>>): InstanceState {
  return { rule, fingerprint: fp, labels, state: 'inactive', value: null, activeSinceMs: 0, firingSinceMs: 0, lastMetMs: 0, lastNotifiedMs: 0, annotations: {}, changedAtMs: 0, error: '' };
}

function conditionMet(rule: AlertRule, value: number): boolean {
  const { op, threshold } = rule.condition;
  switch (op) {
    case '>':
      return value > threshold;
    case '>=':
      return value >= threshold;
    case '<':
      return value < threshold;
    case '<=':
      return value <= threshold;
    case '==':
      return value === threshold;
    case '!=':
      return value !== threshold;
  }
}

export function renderAnnotations(rule: AlertRule, labels: Readonly<Record<string, string>>, value: number | null): Record<string, string> {
  const all = alertLabels(rule, labels);
  return Object.fromEntries(Object.entries(rule.annotations).map(([name, template]) => [name, renderTemplate(template, all, value)]));
}
