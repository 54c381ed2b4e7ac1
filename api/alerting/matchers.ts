// Label matchers for silences, in Prometheus' syntax: job="x", job!="x",
// severity=~"crit.*", severity!~"info|debug". Regexes match the whole value.
import { z } from 'zod';

export type MatchOp = '=' | '!=' | '=~' | '!~';

export interface LabelMatcher {
  name: string;
  op: MatchOp;
  value: string;
  /** The matcher as written, for display. */
  text: string;
  test(labels: Readonly<Record<string, string>>): boolean;
}

const SYNTAX = /^\s*([A-Za-z_][A-Za-z0-9_.:-]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"\s*$/;

export class MatcherSyntaxError extends Error {
  override readonly name = 'MatcherSyntaxError';
}

export function parseMatcher(text: string): LabelMatcher {
  const match = SYNTAX.exec(text);
  if (!match) throw new MatcherSyntaxError(`"${text.slice(0, 100)}" is not a matcher like job="x", job!="x", severity=~"crit.*" or severity!~"info"`);
  const name = match[1]!;
  const op = match[2] as MatchOp;
  const value = match[3]!.replace(/\\(.)/g, '$1');
  let regex: RegExp | null = null;
  if (op === '=~' || op === '!~') {
    try {
      regex = new RegExp(`^(?:${value})$`);
    } catch (error) {
      throw new MatcherSyntaxError(`"${text.slice(0, 100)}": invalid regular expression: ${(error as Error).message}`);
    }
  }
  return {
    name,
    op,
    value,
    text: text.trim(),
    test(labels) {
      const actual = labels[name] ?? '';
      switch (op) {
        case '=':
          return actual === value;
        case '!=':
          return actual !== value;
        case '=~':
          return regex!.test(actual);
        case '!~':
          return !regex!.test(actual);
      }
    },
  };
}

/** A zod schema for one matcher string that reports the syntax problem on that string. */
export const matcherSchema = z.string().superRefine((text, ctx) => {
  try {
    parseMatcher(text);
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: (error as Error).message });
  }
});

/** All matchers must hold (an empty list never matches: a silence must say what it silences). */
export function matchesAll(matchers: readonly LabelMatcher[], labels: Readonly<Record<string, string>>): boolean {
  return matchers.length > 0 && matchers.every((matcher) => matcher.test(labels));
}
