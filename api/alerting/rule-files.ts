// Loads the rules folder: every *.json file holds { channels, rules, silences }. A file
// that does not parse or validate is rejected as a whole, with one message per problem
// naming file:line:column and the field; the other files load. A rejected file that
// loaded before keeps its last good version (see RuleFolder), so a typo saved in an
// editor does not switch its alerts off.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { z } from 'zod';
import { formatPath, JsonSyntaxError, locate, parseLocatedJson, type LocatedJson } from './json-locate.ts';
import { toAlertRule, toSilence, type AlertRule, type Channel, type RuleDefaults, type Silence } from './model.ts';
import { ruleFileSchema, type RuleFile } from './rule-schema.ts';

export interface RuleProblem {
  file: string;
  line: number;
  column: number;
  /** e.g. `rules[1].condition.op`. */
  field: string;
  message: string;
}

export function formatProblem(problem: RuleProblem): string {
  return `${problem.file}:${problem.line}:${problem.column}: ${problem.field}: ${problem.message}`;
}

export type ParsedFile =
  | { ok: true; file: string; content: RuleFile; located: LocatedJson }
  | { ok: false; file: string; problems: RuleProblem[] };

/** Parses and validates one document (a file, or an API body named `file`). */
export function parseRuleDocument<S extends z.ZodType>(file: string, text: string, schema: S):
  | { ok: true; value: z.output<S>; located: LocatedJson }
  | { ok: false; problems: RuleProblem[] } {
  let located: LocatedJson;
  try {
    located = parseLocatedJson(text);
  } catch (error) {
    if (!(error instanceof JsonSyntaxError)) throw error;
    return { ok: false, problems: [{ file, ...error.position, field: '(syntax)', message: error.message }] };
  }
  const parsed = schema.safeParse(located.value);
  if (parsed.success) return { ok: true, value: parsed.data, located };
  const problems = parsed.error.issues.slice(0, 20).map((issue) => {
    const position = locate(located, issue.path);
    return { file, ...position, field: describeField(located.value, issue.path), message: issue.message };
  });
  return { ok: false, problems };
}

/** `rules[1] ("job-failure-rate").condition.op`: the rule's name helps more than its index. */
function describeField(document: unknown, path: readonly PropertyKey[]): string {
  const text = formatPath(path);
  if (path[0] === 'rules' && typeof path[1] === 'number') {
    const rules = (document as { rules?: unknown }).rules;
    const name = Array.isArray(rules) ? (rules[path[1]] as { name?: unknown } | undefined)?.name : undefined;
    if (typeof name === 'string') return text.replace(`rules[${path[1]}]`, `rules[${path[1]}] ("${name.slice(0, 100)}")`);
  }
  return text;
}

export function parseRuleFile(dir: string, file: string): ParsedFile {
  let text: string;
  try {
    text = readFileSync(join(dir, file), 'utf8');
  } catch (error) {
    return { ok: false, file, problems: [{ file, line: 1, column: 1, field: '(file)', message: `cannot read: ${(error as Error).message}` }] };
  }
  const result = parseRuleDocument(file, text, ruleFileSchema);
  return result.ok ? { ok: true, file, content: result.value, located: result.located } : { ok: false, file, problems: result.problems };
}

export function listRuleFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.json') && !entry.name.startsWith('.'))
    .map((entry) => entry.name)
    .sort();
}

export interface RuleSet {
  rules: AlertRule[];
  channels: Map<string, Channel>;
  silences: Silence[];
}

export interface MergeResult extends RuleSet {
  /** Files rejected by the cross-file checks (duplicate names, unknown channels). */
  problems: RuleProblem[];
  rejected: Set<string>;
}

/**
 * Combines valid files in name order. Channels are gathered first (a rule may use a channel
 * of another file); then a file whose rule repeats an earlier name or names an unknown
 * channel is rejected as a whole.
 */
export function mergeRuleFiles(files: readonly Extract<ParsedFile, { ok: true }>[], defaults: RuleDefaults, nowMs: number): MergeResult {
  const problems: RuleProblem[] = [];
  const rejected = new Set<string>();
  const channels = new Map<string, Channel>();
  const channelFile = new Map<string, string>();
  for (const parsed of files) {
    for (const [name, spec] of Object.entries(parsed.content.channels)) {
      const earlier = channelFile.get(name);
      if (earlier !== undefined) {
        problems.push(at(parsed, ['channels', name], `channel "${name}" is already defined in ${earlier}`));
        rejected.add(parsed.file);
        continue;
      }
      channels.set(name, { ...spec, name });
      channelFile.set(name, parsed.file);
    }
  }
  const rules: AlertRule[] = [];
  const ruleFile = new Map<string, string>();
  const silences: Silence[] = [];
  for (const parsed of files) {
    if (rejected.has(parsed.file)) continue;
    const fileProblems: RuleProblem[] = [];
    const seenHere = new Set<string>();
    parsed.content.rules.forEach((spec, index) => {
      const earlier = ruleFile.get(spec.name) ?? (seenHere.has(spec.name) ? parsed.file : undefined);
      if (earlier !== undefined) fileProblems.push(at(parsed, ['rules', index, 'name'], `rule "${spec.name}" is already defined in ${earlier}`));
      seenHere.add(spec.name);
      spec.channels.forEach((channel, channelIndex) => {
        if (!channels.has(channel)) {
          fileProblems.push(at(parsed, ['rules', index, 'channels', channelIndex], `unknown channel "${channel}" (defined: ${[...channels.keys()].join(', ') || 'none'})`));
        }
      });
    });
    if (fileProblems.length > 0) {
      problems.push(...fileProblems);
      rejected.add(parsed.file);
      continue;
    }
    parsed.content.rules.forEach((spec, index) => {
      const line = locate(parsed.located, ['rules', index]).line;
      rules.push(toAlertRule(spec, { kind: 'file', file: parsed.file, line }, defaults));
      ruleFile.set(spec.name, parsed.file);
    });
    parsed.content.silences.forEach((spec, index) => {
      silences.push(toSilence(spec, spec.id ?? `${parsed.file}#${index}`, 'file', nowMs));
    });
  }
  return { rules, channels, silences, problems, rejected };
}

function at(parsed: Extract<ParsedFile, { ok: true }>, path: PropertyKey[], message: string): RuleProblem {
  return { file: parsed.file, ...locate(parsed.located, path), field: describeField(parsed.located.value, path), message };
}
