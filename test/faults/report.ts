// The fault suite's outcome table: every case appends one row; the suite's teardown renders
// them as the markdown table quoted in README ("What we promise and how we test it").
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { repoRoot } from '../../stack/config.ts';

export const reportJsonl = join(repoRoot, 'test-results', 'faults-report.jsonl');
export const reportMarkdown = join(repoRoot, 'test-results', 'faults-report.md');

export interface FaultOutcome {
  family: 'fault' | 'bad input' | 'load' | 'security';
  what: string;
  load: string;
  expected: number;
  found: number;
  lost: number;
  duplicated: number;
  outcome: string;
}

export function recordOutcome(row: FaultOutcome): void {
  mkdirSync(dirname(reportJsonl), { recursive: true });
  appendFileSync(reportJsonl, `${JSON.stringify(row)}\n`);
}

export function startReport(): void {
  mkdirSync(dirname(reportJsonl), { recursive: true });
  writeFileSync(reportJsonl, '');
}

export function renderReport(): string {
  const rows: FaultOutcome[] = existsSync(reportJsonl)
    ? readFileSync(reportJsonl, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line) as FaultOutcome)
    : [];
  const lines = [
    '| family | injected / tried | load held | runs expected | found | lost | duplicated | outcome |',
    '| --- | --- | --- | ---: | ---: | ---: | ---: | --- |',
    ...rows.map((row) => `| ${row.family} | ${row.what} | ${row.load} | ${row.expected} | ${row.found} | ${row.lost} | ${row.duplicated} | ${row.outcome} |`),
  ];
  const markdown = `${lines.join('\n')}\n`;
  writeFileSync(reportMarkdown, markdown);
  return markdown;
}
