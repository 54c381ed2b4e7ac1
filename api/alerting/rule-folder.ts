// The rules folder at run time: loads every file, keeps each file's last good version,
// and reloads on change (fs.watch, debounced: editors write a file in several steps).
import { watch, type FSWatcher } from 'node:fs';
import { formatProblem, listRuleFiles, mergeRuleFiles, parseRuleFile, type ParsedFile, type RuleProblem, type RuleSet } from './rule-files.ts';
import type { RuleDefaults } from './model.ts';

export type FileStatus = 'loaded' | 'rejected' | 'kept-previous';

export interface RuleFolderState extends RuleSet {
  files: Array<{ file: string; status: FileStatus; rules: number }>;
  problems: RuleProblem[];
  loadedAtMs: number;
}

export interface RuleFolderOptions {
  dir: string;
  defaults: RuleDefaults;
  debounceMs: number;
  log: (line: string) => void;
  clock: () => number;
}

export class RuleFolder {
  private readonly lastGood = new Map<string, Extract<ParsedFile, { ok: true }>>();
  private watcher: FSWatcher | null = null;
  private timer: NodeJS.Timeout | null = null;
  private current: RuleFolderState;

  constructor(private readonly options: RuleFolderOptions) {
    this.current = { rules: [], channels: new Map(), silences: [], files: [], problems: [], loadedAtMs: 0 };
  }

  state(): RuleFolderState {
    return this.current;
  }

  load(): RuleFolderState {
    const { dir, defaults, log, clock } = this.options;
    let names: string[];
    try {
      names = listRuleFiles(dir);
    } catch (error) {
      // A missing or unreadable folder: keep what was loaded, and say so.
      const problem = { file: dir, line: 1, column: 1, field: '(folder)', message: `cannot list the rules folder: ${(error as Error).message}` };
      log(`alerting: ${formatProblem(problem)}`);
      this.current = { ...this.current, problems: [problem] };
      return this.current;
    }
    for (const known of [...this.lastGood.keys()]) if (!names.includes(known)) this.lastGood.delete(known);
    const problems: RuleProblem[] = [];
    const statuses = new Map<string, FileStatus>();
    const usable: Array<Extract<ParsedFile, { ok: true }>> = [];
    for (const file of names) {
      const parsed = parseRuleFile(dir, file);
      if (parsed.ok) {
        this.lastGood.set(file, parsed);
        usable.push(parsed);
        statuses.set(file, 'loaded');
        continue;
      }
      problems.push(...parsed.problems);
      const previous = this.lastGood.get(file);
      if (previous) {
        usable.push(previous);
        statuses.set(file, 'kept-previous');
      } else {
        statuses.set(file, 'rejected');
      }
    }
    const merged = mergeRuleFiles(usable, defaults, clock());
    problems.push(...merged.problems);
    for (const file of merged.rejected) statuses.set(file, 'rejected');
    for (const problem of problems) log(`alerting: rule file rejected: ${formatProblem(problem)}${statuses.get(problem.file) === 'kept-previous' ? ' (keeping its previous version)' : ''}`);
    this.current = {
      rules: merged.rules,
      channels: merged.channels,
      silences: merged.silences,
      files: names.map((file) => ({
        file,
        status: statuses.get(file) ?? 'rejected',
        rules: merged.rules.filter((rule) => rule.source.kind === 'file' && rule.source.file === file).length,
      })),
      problems,
      loadedAtMs: clock(),
    };
    return this.current;
  }

  /** Reloads after changes settle; `onChange` gets every new state. */
  watch(onChange: (state: RuleFolderState) => void): void {
    if (this.watcher) return;
    this.watcher = watch(this.options.dir, () => {
      if (this.timer) clearTimeout(this.timer);
      this.timer = setTimeout(() => {
        this.timer = null;
        onChange(this.load());
      }, this.options.debounceMs);
    });
    this.watcher.on('error', (error) => this.options.log(`alerting: watching ${this.options.dir} failed: ${error.message}`));
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.watcher?.close();
    this.watcher = null;
  }
}
