// Runs every rule on its own drift-free schedule while this instance leads: query with a
// timeout, state machine, store the transitions, then hand notifications to the notifier.
//
// - Independent rules: each has its own timer and timeout; a slow or failing rule only
//   affects itself (its `error` state), never the schedule of the others.
// - Drift-free: tick k of a rule is at origin + k·every, whatever an evaluation took;
//   ticks missed while an evaluation ran are skipped, not queued.
// - Store first, then notify: a transition is written to alert_events before its
//   notification is queued. If the write fails nothing changes in memory and the next
//   tick tries again, so a notification never goes out for a state nobody recorded.
//   The written row is the notification's outbox entry (see Alerting.takeOver).
// - Terms: an evaluation that started under an older leadership term is discarded.
import type { ClickHouseClient } from '@clickhouse/client';
import { evaluateInstances, type InstanceState, type Notice, type Step } from './alert-state.ts';
import type { AlertEventRow, AlertStore } from './alert-store.ts';
import { matchesAll } from './matchers.ts';
import { alertLabels, type AlertRule, type Silence } from './model.ts';
import type { NotificationPayload, Notifier } from './notifier.ts';
import { renderRuleSql, runRuleQuery } from './rule-query.ts';

export interface RuleHealth {
  state: 'ok' | 'error' | 'unknown';
  error: string;
  lastEvaluationMs: number | null;
  lastDurationMs: number | null;
  nextEvaluationMs: number | null;
}

export interface EvaluatorOptions {
  ruleClient: ClickHouseClient;
  store: AlertStore;
  notifier: Notifier;
  database: string;
  writer: string;
  clock: () => number;
  log: (line: string) => void;
  killQuery: (queryId: string) => Promise<void>;
  resolvedRetentionMs: number;
  silences: () => readonly Silence[];
}

interface Loop {
  rule: AlertRule;
  originMs: number;
  timer: NodeJS.Timeout | null;
  running: Promise<void> | null;
  nextMs: number | null;
}

export class Evaluator {
  private readonly loops = new Map<string, Loop>();
  private readonly states = new Map<string, Map<string, InstanceState>>();
  private readonly health = new Map<string, RuleHealth>();
  private rules = new Map<string, AlertRule>();
  /** Term of the current leadership; 0 while not leading. */
  private term = 0;
  private seq = 0;

  constructor(private readonly options: EvaluatorOptions) {}

  isActive(): boolean {
    return this.term !== 0;
  }

  /**
   * Starts evaluating under `term` from the stored state: the previous leader's firing
   * alerts stay firing (and notified) instead of being announced again.
   */
  async activate(term: number, rules: readonly AlertRule[]): Promise<void> {
    const stored = await this.options.store.currentStates(this.options.clock(), this.options.resolvedRetentionMs, 'writer');
    this.states.clear();
    this.health.clear();
    for (const state of stored) {
      if (state.fingerprint === '') {
        this.health.set(state.rule, { state: 'error', error: state.error, lastEvaluationMs: null, lastDurationMs: null, nextEvaluationMs: null });
        continue;
      }
      let perRule = this.states.get(state.rule);
      if (!perRule) this.states.set(state.rule, (perRule = new Map()));
      perRule.set(state.fingerprint, state);
    }
    this.term = term;
    this.rules = new Map();
    this.setRules(rules);
    // Instances of rules that no longer exist end now (resolved, notified as such).
    for (const name of new Set([...this.states.keys(), ...this.health.keys()])) {
      if (!this.rules.has(name)) await this.retire(name, term);
    }
  }

  deactivate(): void {
    this.term = 0;
    for (const loop of this.loops.values()) if (loop.timer) clearTimeout(loop.timer);
    this.loops.clear();
    this.states.clear();
    this.health.clear();
  }

  /** Applies a new rule set: new rules start, changed ones restart, removed ones retire. */
  setRules(rules: readonly AlertRule[]): void {
    const wanted = new Map(rules.filter((rule) => rule.enabled).map((rule) => [rule.name, rule]));
    const previous = this.rules;
    this.rules = wanted;
    if (this.term === 0) return;
    const term = this.term;
    for (const [name, loop] of this.loops) {
      const rule = wanted.get(name);
      if (rule && sameRule(rule, loop.rule)) continue;
      if (loop.timer) clearTimeout(loop.timer);
      this.loops.delete(name);
      if (!rule) void this.retire(name, term);
    }
    for (const rule of wanted.values()) {
      if (this.loops.has(rule.name)) continue;
      const loop: Loop = { rule, originMs: this.options.clock(), timer: null, running: null, nextMs: null };
      this.loops.set(rule.name, loop);
      this.schedule(loop, term, previous.has(rule.name) ? rule.everyMs : 0);
    }
  }

  ruleHealth(name: string): RuleHealth {
    const health = this.health.get(name) ?? { state: 'unknown', error: '', lastEvaluationMs: null, lastDurationMs: null, nextEvaluationMs: null };
    return { ...health, nextEvaluationMs: this.loops.get(name)?.nextMs ?? null };
  }

  instances(): InstanceState[] {
    return [...this.states.values()].flatMap((perRule) => [...perRule.values()]);
  }

  /** Waits for the evaluations now running (for shutdown and tests). */
  async settle(): Promise<void> {
    await Promise.all([...this.loops.values()].map((loop) => loop.running));
  }

  private schedule(loop: Loop, term: number, firstDelayMs: number): void {
    const now = this.options.clock();
    let next = loop.originMs + firstDelayMs;
    if (next < now) next = loop.originMs + Math.ceil((now - loop.originMs) / loop.rule.everyMs) * loop.rule.everyMs;
    loop.nextMs = next;
    loop.timer = setTimeout(() => {
      if (this.term !== term || this.loops.get(loop.rule.name) !== loop) return;
      if (loop.running === null) {
        loop.running = this.evaluate(loop.rule, term).finally(() => {
          loop.running = null;
        });
      } else {
        this.options.log(`alerting: rule ${loop.rule.name}: previous evaluation still running, tick skipped`);
      }
      this.schedule(loop, term, Math.floor((next - loop.originMs) / loop.rule.everyMs + 1) * loop.rule.everyMs);
    }, Math.max(0, next - now));
  }

  private async evaluate(rule: AlertRule, term: number): Promise<void> {
    const started = this.options.clock();
    let observations;
    try {
      observations = await runRuleQuery({
        client: this.options.ruleClient,
        sql: renderRuleSql(rule.sql, this.options.database),
        timeoutMs: rule.timeoutMs,
        killQuery: this.options.killQuery,
      });
    } catch (error) {
      if (this.term === term) await this.recordError(rule, term, started, (error as Error).message);
      return;
    }
    if (this.term !== term) return;
    const previous = this.states.get(rule.name) ?? new Map<string, InstanceState>();
    const { next, steps } = evaluateInstances({ rule, previous, observations, nowMs: started, isSilenced: (labels) => this.isSilenced(labels, started) });
    const paired = steps.map((step) => ({ step, row: this.eventRow(rule, step, started) }));
    const rows = paired.map(({ row }) => row);
    const health = this.health.get(rule.name);
    if (health?.state === 'error') rows.push(this.ruleRow(rule, started, 'error', 'inactive', ''));
    try {
      await this.options.store.writeEvents(rows);
    } catch (error) {
      if (this.term === term) this.setHealth(rule.name, 'error', `storing transitions failed, will retry: ${(error as Error).message}`, started);
      this.options.log(`alerting: rule ${rule.name}: storing ${rows.length} transition(s) failed: ${(error as Error).message}`);
      return;
    }
    if (this.term !== term) return; // written, and the next leader's outbox read picks up the notifications
    for (const [fp, state] of next) {
      if (state.state === 'resolved' && started - state.changedAtMs > this.options.resolvedRetentionMs) next.delete(fp);
    }
    this.states.set(rule.name, next);
    this.setHealth(rule.name, 'ok', '', started);
    for (const { step, row } of paired) if (step.notice) this.notify(rule, row, step.notice);
  }

  private async recordError(rule: AlertRule, term: number, atMs: number, message: string): Promise<void> {
    this.options.log(`alerting: rule ${rule.name}: ${message}`);
    const wasError = this.health.get(rule.name)?.state === 'error';
    this.setHealth(rule.name, 'error', message, atMs);
    if (wasError) return;
    try {
      await this.options.store.writeEvents([this.ruleRow(rule, atMs, 'inactive', 'error', message)]);
    } catch (error) {
      // The rule stays in error in memory; the error row is retried at the next failure.
      if (this.term === term) this.health.set(rule.name, { ...this.health.get(rule.name)!, state: 'unknown' });
      this.options.log(`alerting: rule ${rule.name}: storing its error state failed: ${(error as Error).message}`);
    }
  }

  private async retire(name: string, term: number): Promise<void> {
    const previous = this.states.get(name) ?? new Map<string, InstanceState>();
    const health = this.health.get(name);
    const now = this.options.clock();
    // A stand-in with the stored severity: the rule's definition is gone.
    const anyState = [...previous.values()][0];
    const rule: AlertRule = {
      name, description: '', enabled: false, sql: '', condition: { op: '>', threshold: 0 }, everyMs: 60_000, forMs: 0, keepFiringForMs: 0,
      timeoutMs: 1_000, severity: (anyState?.labels.severity as AlertRule['severity']) ?? 'warning', labels: {}, annotations: {}, channels: [],
      repeatIntervalMs: 3_600_000, source: { kind: 'api', updatedAtMs: now, updatedBy: '' },
    };
    const { steps } = evaluateInstances({ rule, previous, observations: [], nowMs: now, isSilenced: () => false, retire: true });
    const rows = steps.map((step) => ({ ...this.eventRow(rule, step, now), error: 'rule removed' }));
    if (health?.state === 'error') rows.push(this.ruleRow(rule, now, 'error', 'inactive', 'rule removed'));
    try {
      await this.options.store.writeEvents(rows);
    } catch (error) {
      this.options.log(`alerting: rule ${name} removed, but storing the end of its alerts failed: ${(error as Error).message}`);
      return;
    }
    if (this.term !== term) return;
    this.states.delete(name);
    this.health.delete(name);
  }

  private isSilenced(labels: Readonly<Record<string, string>>, nowMs: number): boolean {
    return this.options.silences().some((silence) => silence.startsAtMs <= nowMs && nowMs < silence.endsAtMs && matchesAll(silence.matchers, labels));
  }

  private setHealth(name: string, state: RuleHealth['state'], error: string, atMs: number): void {
    this.health.set(name, { state, error, lastEvaluationMs: atMs, lastDurationMs: this.options.clock() - atMs, nextEvaluationMs: null });
  }

  private eventRow(rule: AlertRule, step: Step, atMs: number): AlertEventRow {
    const after = step.after;
    return {
      atMs,
      seq: ++this.seq,
      rule: rule.name,
      fingerprint: after.fingerprint,
      labels: alertLabels(rule, after.labels),
      kind: step.kind,
      fromState: step.from,
      toState: after.state,
      value: after.value,
      severity: rule.severity,
      annotations: after.annotations,
      activeSinceMs: after.activeSinceMs,
      firingSinceMs: after.firingSinceMs,
      lastNotifiedMs: after.lastNotifiedMs,
      error: '',
      silenced: step.silenced,
      dedupKey: step.dedupKey,
      channels: step.notice ? rule.channels : [],
      writer: this.options.writer,
    };
  }

  private ruleRow(rule: AlertRule, atMs: number, from: 'inactive' | 'error', to: 'inactive' | 'error', error: string): AlertEventRow {
    return {
      atMs, seq: ++this.seq, rule: rule.name, fingerprint: '', labels: { alertname: rule.name }, kind: 'transition', fromState: from, toState: to,
      value: null, severity: rule.severity, annotations: {}, activeSinceMs: 0, firingSinceMs: 0, lastNotifiedMs: 0, error,
      silenced: false, dedupKey: '', channels: [], writer: this.options.writer,
    };
  }

  private notify(rule: AlertRule, row: AlertEventRow, notice: Notice): void {
    for (const channel of rule.channels) {
      this.options.notifier.enqueue({ channel, fingerprint: row.fingerprint, payload: payloadOf(row, notice) });
    }
  }
}

/** The notification body for a stored or just-written transition (same bytes either way). */
export function payloadOf(event: Pick<AlertEventRow, 'dedupKey' | 'rule' | 'severity' | 'labels' | 'annotations' | 'value' | 'firingSinceMs' | 'atMs'>, notice: Notice): NotificationPayload {
  return {
    version: 1,
    dedupKey: event.dedupKey,
    kind: notice,
    status: notice === 'resolved' ? 'resolved' : 'firing',
    rule: event.rule,
    severity: event.severity,
    labels: { ...event.labels },
    annotations: { ...event.annotations },
    value: event.value,
    startsAt: new Date(event.firingSinceMs).toISOString(),
    endsAt: notice === 'resolved' ? new Date(event.atMs).toISOString() : null,
    at: new Date(event.atMs).toISOString(),
  };
}

export function noticeOf(dedupKey: string): Notice | null {
  const notice = dedupKey.split('/')[3];
  return notice === 'firing' || notice === 'repeat' || notice === 'resolved' ? notice : null;
}

function sameRule(a: AlertRule, b: AlertRule): boolean {
  const { source: _a, ...restA } = a;
  const { source: _b, ...restB } = b;
  return JSON.stringify(restA) === JSON.stringify(restB);
}
