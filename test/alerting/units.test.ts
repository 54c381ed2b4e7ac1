// The pure parts: located JSON, durations, templates, matchers, the state machine.
import { describe, expect, it } from 'vitest';
import { evaluateInstances, fingerprint, type InstanceState } from '../../api/alerting/alert-state.ts';
import { parseDuration } from '../../api/alerting/duration.ts';
import { parseLocatedJson, JsonSyntaxError } from '../../api/alerting/json-locate.ts';
import { matchesAll, parseMatcher } from '../../api/alerting/matchers.ts';
import { toAlertRule, type AlertRule } from '../../api/alerting/model.ts';
import { parseRuleDocument } from '../../api/alerting/rule-files.ts';
import { ruleFileSchema, ruleSpecSchema } from '../../api/alerting/rule-schema.ts';
import { toObservations } from '../../api/alerting/rule-query.ts';
import { renderTemplate } from '../../api/alerting/template.ts';

function rule(overrides: Partial<AlertRule> = {}): AlertRule {
  const spec = ruleSpecSchema.parse({ name: 'r', sql: 'SELECT 1 AS value', condition: { op: '>', threshold: 10 }, annotations: { summary: '{{ $labels.job }} at {{ $value }}' } });
  return { ...toAlertRule(spec, { kind: 'api', updatedAtMs: 0, updatedBy: '' }, { everyMs: 1_000, timeoutMs: 1_000, repeatIntervalMs: 60_000 }), ...overrides };
}

function run(r: AlertRule, values: Array<number | null>, { stepMs = 1_000, silenced = false } = {}) {
  let previous = new Map<string, InstanceState>();
  const log: string[] = [];
  values.forEach((value, index) => {
    const { next, steps } = evaluateInstances({
      rule: r, previous, nowMs: 1_000_000 + index * stepMs, isSilenced: () => silenced,
      observations: value === null ? [] : [{ labels: { job: 'a' }, value }],
    });
    for (const step of steps) log.push(`${index}:${step.from}->${step.after.state}${step.notice ? `!${step.notice}` : ''}`);
    previous = next;
  });
  return log;
}

describe('located JSON', () => {
  it('knows the line and column of every value', () => {
    const located = parseLocatedJson('{\n  "a": [1,\n    {"b": true}]\n}');
    expect(located.value).toEqual({ a: [1, { b: true }] });
    expect(located.positions.get(['a', 1, 'b'].join('\u0000'))).toEqual({ line: 3, column: 11 });
  });

  it('reports syntax errors with their position', () => {
    expect(() => parseLocatedJson('{"a": 1 "b": 2}')).toThrow(JsonSyntaxError);
    try {
      parseLocatedJson('{\n "a": tru }');
    } catch (error) {
      expect((error as JsonSyntaxError).position).toEqual({ line: 2, column: 7 });
    }
  });

  it('points a missing field at the object that lacks it, and an unknown one at its parent', () => {
    const result = parseRuleDocument('f.json', '{\n  "rules": [\n    { "name": "x",\n      "sql": "SELECT 1 AS value" }\n  ]\n}', ruleFileSchema);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.problems[0]).toMatchObject({ line: 3, column: 5, field: 'rules[0] ("x").condition' });
  });
});

describe('rule validation', () => {
  it('refuses placeholders other than {{database}} in SQL and unknown ones in annotations', () => {
    const bad = ruleSpecSchema.safeParse({ name: 'x', sql: 'SELECT {{job}} AS value', condition: { op: '>', threshold: 1 }, annotations: { s: '{{ $foo }}' } });
    expect(bad.success).toBe(false);
    expect(bad.error?.issues.map((issue) => issue.path.join('.'))).toEqual(['sql', 'annotations.s']);
  });

  it('reads durations', () => {
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration('250ms')).toBe(250);
    expect(parseDuration('5 minutes')).toBeNull();
  });
});

describe('templates and matchers', () => {
  it('renders labels and the value', () => {
    expect(renderTemplate('{{ $labels.job }}: {{$value}} % ({{ $labels.nope }})', { job: 'etl' }, 12.345678)).toBe('etl: 12.3457 % ()');
  });

  it('matches labels like Prometheus: equality, negation, anchored regexes', () => {
    const labels = { job: 'x', severity: 'critical' };
    expect(matchesAll([parseMatcher('job="x"'), parseMatcher('severity=~"crit.*"')], labels)).toBe(true);
    expect(matchesAll([parseMatcher('severity=~"crit"')], labels)).toBe(false);
    expect(matchesAll([parseMatcher('job!="x"')], labels)).toBe(false);
    expect(matchesAll([parseMatcher('severity!~"info|debug"')], labels)).toBe(true);
    expect(() => parseMatcher('job=x')).toThrow(/not a matcher/);
  });
});

describe('the state machine', () => {
  it('goes inactive → pending → firing → resolved, notifying firing and resolved once', () => {
    expect(run(rule({ forMs: 2_000 }), [20, 20, 20, 20, 5, 5])).toEqual(['0:inactive->pending', '2:pending->firing!firing', '4:firing->resolved!resolved']);
  });

  it('drops a pending alert whose condition stops holding before `for`', () => {
    expect(run(rule({ forMs: 3_000 }), [20, 5, 20, 5])).toEqual(['0:inactive->pending', '1:pending->inactive', '2:inactive->pending', '3:pending->inactive']);
  });

  it('keeps firing through short gaps with keepFiringFor', () => {
    expect(run(rule({ keepFiringForMs: 2_500 }), [20, 5, 20, 5, 5, 5, 5])).toEqual(['0:inactive->firing!firing', '5:firing->resolved!resolved']);
  });

  it('reminds after repeatInterval, and treats a vanished label set as resolved', () => {
    expect(run(rule({ repeatIntervalMs: 2_000 }), [20, 20, 20, null])).toEqual(['0:inactive->firing!firing', '2:firing->firing!repeat', '3:firing->resolved!resolved']);
  });

  it('records a silenced alert without notifying it, nor its resolution', () => {
    expect(run(rule(), [20, 5], { silenced: true })).toEqual(['0:inactive->firing', '1:firing->resolved']);
  });

  it('gives one fingerprint per label set, whatever the column order', () => {
    expect(fingerprint({ a: '1', b: '2' })).toBe(fingerprint({ b: '2', a: '1' }));
  });
});

describe('rule query rows', () => {
  it('reads quoted 64-bit values, makes other columns labels, and refuses duplicate label sets', () => {
    expect(toObservations([{ job: 'a', n: 3, value: '42' }])).toEqual([{ labels: { job: 'a', n: '3' }, value: 42 }]);
    expect(toObservations([{ value: null }])).toEqual([{ labels: {}, value: null }]);
    expect(() => toObservations([{ job: 'a', value: 1 }, { job: 'a', value: 2 }])).toThrow(/same labels/);
    expect(() => toObservations([{ job: 'a' }])).toThrow(/no column named "value"/);
  });
});
