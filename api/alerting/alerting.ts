// createAlerting: the scheduler, the leader election and the notifier, wired together for
// the API process. Every instance loads the rules and serves the alerting routes; only the
// elected one evaluates and notifies.
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import type { ClickHouseClient } from '@clickhouse/client';
import { z } from 'zod';
import { toClickHouseError } from '../../clickhouse/clickhouse-error.ts';
import { str, sql } from '../../clickhouse/sql.ts';
import type { Kafka } from '../../ingest/kafka/index.ts';
import { AlertStore, type StoredSilence } from './alert-store.ts';
import type { AlertingConfig } from './config.ts';
import { Evaluator, noticeOf, payloadOf, type RuleHealth } from './evaluator.ts';
import { LeaderElection, type LeaderStatus } from './leader-election.ts';
import { toAlertRule, toSilence, type AlertRule, type Channel, type Silence } from './model.ts';
import { Notifier } from './notifier.ts';
import { RuleFolder, type FileStatus } from './rule-folder.ts';
import { formatProblem, parseRuleDocument, type RuleProblem } from './rule-files.ts';
import { ruleSpecSchema, silenceSpecSchema } from './rule-schema.ts';

export interface AlertingDeps {
  config: AlertingConfig;
  /** The database `{{database}}` stands for in rule SQL, and where alerting's tables are. */
  database: string;
  /** Runs rule SQL: the read-only `sql` user in production. */
  ruleClient: ClickHouseClient;
  /** Writes alerting's tables and KILLs timed-out rule queries (the ingest user). */
  writer: ClickHouseClient;
  /** Reads alerting's tables for the routes (the API's user); defaults to the writer. */
  reader?: ClickHouseClient;
  kafka: Kafka;
  clock?: () => number;
  log?: (line: string) => void;
  fetch?: typeof fetch;
  /** Names this instance in logs, events and deliveries. */
  instanceId?: string;
}

/** A request the alerting module refuses; routes turn it into the HTTP status. */
export class AlertingInputError extends Error {
  override readonly name = 'AlertingInputError';
  constructor(readonly status: 400 | 404 | 409, message: string, readonly problems: readonly RuleProblem[] = []) {
    super(message);
  }
}

export interface RuleView {
  name: string;
  source: AlertRule['source'];
  enabled: boolean;
  severity: string;
  sql: string;
  condition: AlertRule['condition'];
  everyMs: number;
  forMs: number;
  keepFiringForMs: number;
  timeoutMs: number;
  repeatIntervalMs: number;
  labels: Readonly<Record<string, string>>;
  annotations: Readonly<Record<string, string>>;
  channels: readonly string[];
  /** Known on the leader only. */
  health: RuleHealth | null;
}

export interface SilenceView {
  id: string;
  matchers: string[];
  startsAt: string;
  endsAt: string;
  comment: string;
  createdBy: string;
  source: 'file' | 'api';
}

export interface AlertingStatus {
  instanceId: string;
  enabled: boolean;
  leader: LeaderStatus;
  files: Array<{ file: string; status: FileStatus; rules: number }>;
  problems: string[];
  rules: number;
  pendingDeliveries: number;
}

export interface Alerting {
  readonly instanceId: string;
  readonly store: AlertStore;
  start(): Promise<void>;
  stop(): Promise<void>;
  isLeader(): boolean;
  status(): AlertingStatus;
  rules(): RuleView[];
  silences(): SilenceView[];
  putRule(name: string, body: string, by: string): Promise<RuleView>;
  deleteRule(name: string): Promise<void>;
  createSilence(body: string, by: string): Promise<SilenceView>;
  expireSilence(id: string): Promise<void>;
  /** Re-reads the rules folder now (the watcher does it on change). */
  reloadRules(): void;
  /** Waits until queued notifications are delivered or given up (tests, shutdown). */
  deliveriesIdle(): Promise<void>;
}

/** How far back a new leader looks for notifications its predecessor did not finish. */
const OUTBOX_WINDOW_MS = 24 * 3_600_000;

export function createAlerting(deps: AlertingDeps): Alerting {
  const { config } = deps;
  const clock = deps.clock ?? Date.now;
  const log = deps.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const instanceId = deps.instanceId ?? `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
  const store = new AlertStore(deps.writer, deps.reader ?? deps.writer, deps.database);
  const folder = new RuleFolder({ dir: config.rulesDir, defaults: config.defaults, debounceMs: config.reloadDebounceMs, log, clock });

  let apiRules: AlertRule[] = [];
  let apiRuleProblems: RuleProblem[] = [];
  let apiSilences: Silence[] = [];
  let syncTimer: NodeJS.Timeout | null = null;
  let started = false;

  const channels = (): ReadonlyMap<string, Channel> => folder.state().channels;
  const allRules = (): AlertRule[] => {
    const fileNames = new Set(folder.state().rules.map((rule) => rule.name));
    return [...folder.state().rules, ...apiRules.filter((rule) => !fileNames.has(rule.name))];
  };
  const allSilences = (): Silence[] => [...folder.state().silences, ...apiSilences];

  const notifier = new Notifier({
    channels,
    secret: config.webhookSecret,
    timeoutMs: config.delivery.timeoutMs,
    maxAttempts: config.delivery.maxAttempts,
    backoff: config.delivery.backoff,
    concurrency: config.delivery.concurrency,
    logDelivery: (row) => store.logDelivery(row),
    log,
    clock,
    writer: instanceId,
    ...(deps.fetch ? { fetch: deps.fetch } : {}),
  });

  const evaluator = new Evaluator({
    ruleClient: deps.ruleClient,
    store,
    notifier,
    database: deps.database,
    writer: instanceId,
    clock,
    log,
    resolvedRetentionMs: config.resolvedRetentionMs,
    silences: allSilences,
    killQuery: async (queryId) => {
      try {
        await deps.writer.command({ query: sql`KILL QUERY WHERE query_id = ${str(queryId)} ASYNC`.text });
      } catch (error) {
        throw toClickHouseError(error, 'killing a timed-out rule query');
      }
    },
  });

  let currentTerm = 0;
  const election = new LeaderElection({
    kafka: deps.kafka,
    brokers: config.leader.brokers,
    topic: config.leader.topic,
    groupId: config.leader.groupId,
    sessionTimeoutMs: config.leader.sessionTimeoutMs,
    heartbeatIntervalMs: config.leader.heartbeatIntervalMs,
    log,
    clock,
    onElected: (term) => {
      currentTerm = term;
      void takeOver(term);
    },
    onDeposed: () => {
      currentTerm = 0;
      evaluator.deactivate();
      notifier.stop();
    },
  });

  /** Loads stored state and the predecessor's unfinished notifications, then evaluates. */
  async function takeOver(term: number): Promise<void> {
    for (let attempt = 1; currentTerm === term; attempt++) {
      try {
        await syncStored();
        if (currentTerm !== term) return;
        notifier.start();
        await evaluator.activate(term, allRules());
        if (currentTerm !== term) return;
        const unfinished = await store.undeliveredNotifications(clock() - OUTBOX_WINDOW_MS);
        if (currentTerm !== term) return;
        for (const event of unfinished) {
          const notice = noticeOf(event.dedupKey);
          if (notice) notifier.enqueue({ channel: event.channel, fingerprint: event.fingerprint, payload: payloadOf(event, notice) });
        }
        if (unfinished.length > 0) log(`alerting: re-queued ${unfinished.length} notification(s) a previous leader did not finish`);
        return;
      } catch (error) {
        evaluator.deactivate();
        notifier.stop();
        log(`alerting: taking over as evaluator failed (attempt ${attempt}), retrying: ${(error as Error).message}`);
        await new Promise((resolve) => setTimeout(resolve, Math.min(10_000, 500 * attempt)));
      }
    }
  }

  /** API rules and silences live in ClickHouse so every instance sees the same ones. */
  async function syncStored(): Promise<void> {
    const now = clock();
    const [storedRules, storedSilences] = await Promise.all([store.storedRules('writer'), store.storedSilences(now, 'writer')]);
    const rules: AlertRule[] = [];
    const problems: RuleProblem[] = [];
    for (const stored of storedRules) {
      const parsed = parseApiRule(stored.name, stored.ruleJson);
      if (!parsed.ok) {
        problems.push(...parsed.problems);
        continue;
      }
      const unknown = parsed.spec.channels.filter((channel) => !channels().has(channel));
      if (unknown.length > 0) {
        problems.push({ file: `api:${stored.name}`, line: 1, column: 1, field: 'channels', message: `unknown channel(s) ${unknown.join(', ')}` });
        continue;
      }
      rules.push(toAlertRule(parsed.spec, { kind: 'api', updatedAtMs: stored.updatedAtMs, updatedBy: stored.updatedBy }, config.defaults));
    }
    const fileNames = new Set(folder.state().rules.map((rule) => rule.name));
    for (const rule of rules) {
      if (fileNames.has(rule.name)) problems.push({ file: `api:${rule.name}`, line: 1, column: 1, field: 'name', message: 'a rule file defines the same name; the file wins' });
    }
    apiRules = rules;
    apiRuleProblems = problems;
    apiSilences = storedSilences.map(toApiSilence);
    evaluator.setRules(allRules());
  }

  function toApiSilence(stored: StoredSilence): Silence {
    return toSilence({ matchers: stored.matchers, startsAt: stored.startsAtMs, endsAt: stored.endsAtMs, comment: stored.comment, createdBy: stored.createdBy }, stored.id, 'api', clock());
  }

  function viewOf(rule: AlertRule): RuleView {
    return {
      name: rule.name, source: rule.source, enabled: rule.enabled, severity: rule.severity, sql: rule.sql, condition: rule.condition,
      everyMs: rule.everyMs, forMs: rule.forMs, keepFiringForMs: rule.keepFiringForMs, timeoutMs: rule.timeoutMs, repeatIntervalMs: rule.repeatIntervalMs,
      labels: rule.labels, annotations: rule.annotations, channels: rule.channels,
      health: evaluator.isActive() ? evaluator.ruleHealth(rule.name) : null,
    };
  }

  function silenceView(silence: Silence): SilenceView {
    return {
      id: silence.id, matchers: silence.matchers.map((matcher) => matcher.text), startsAt: new Date(silence.startsAtMs).toISOString(),
      endsAt: new Date(silence.endsAtMs).toISOString(), comment: silence.comment, createdBy: silence.createdBy, source: silence.source,
    };
  }

  return {
    instanceId,
    store,
    async start() {
      if (started) return;
      started = true;
      folder.load();
      folder.watch(() => evaluator.setRules(allRules()));
      if (!config.enabled) return;
      await syncStored().catch((error: Error) => log(`alerting: reading API rules and silences failed (retried): ${error.message}`));
      syncTimer = setInterval(() => {
        syncStored().catch((error: Error) => log(`alerting: reading API rules and silences failed: ${error.message}`));
      }, config.syncIntervalMs);
      await election.start();
    },
    async stop() {
      if (!started) return;
      started = false;
      folder.close();
      if (syncTimer) clearInterval(syncTimer);
      syncTimer = null;
      await election.stop();
      evaluator.deactivate();
      notifier.stop();
      await evaluator.settle();
    },
    isLeader: () => election.isLeader() && evaluator.isActive(),
    status() {
      const state = folder.state();
      return {
        instanceId,
        enabled: config.enabled,
        leader: election.status(),
        files: state.files,
        problems: [...state.problems, ...apiRuleProblems].map(formatProblem),
        rules: allRules().length,
        pendingDeliveries: notifier.pending(),
      };
    },
    rules: () => allRules().map(viewOf),
    silences: () => allSilences().filter((silence) => silence.endsAtMs > clock()).map(silenceView),
    async putRule(name, body, by) {
      const parsed = parseApiRule(name, body);
      if (!parsed.ok) throw new AlertingInputError(400, `invalid rule: ${parsed.problems.map(formatProblem).join('; ')}`, parsed.problems);
      const file = folder.state().rules.find((rule) => rule.name === name);
      if (file && file.source.kind === 'file') throw new AlertingInputError(409, `rule "${name}" is defined in the rule file ${file.source.file}: edit the file instead`);
      const unknown = parsed.spec.channels.filter((channel) => !channels().has(channel));
      if (unknown.length > 0) throw new AlertingInputError(400, `unknown channel(s) ${unknown.join(', ')}; channels are defined in the rule files (defined: ${[...channels().keys()].join(', ') || 'none'})`);
      await store.putRule(name, JSON.stringify(parsed.document), by, clock());
      await syncStored();
      const rule = allRules().find((candidate) => candidate.name === name);
      if (!rule) throw new Error(`rule ${name} was stored but does not read back`);
      return viewOf(rule);
    },
    async deleteRule(name) {
      const rule = allRules().find((candidate) => candidate.name === name);
      if (rule?.source.kind === 'file') throw new AlertingInputError(409, `rule "${name}" is defined in the rule file ${rule.source.file}: remove it there`);
      const stored = (await store.storedRules('writer')).find((candidate) => candidate.name === name);
      if (!stored) throw new AlertingInputError(404, `no API rule named "${name}"`);
      await store.putRule(name, stored.ruleJson, '', clock(), true);
      await syncStored();
    },
    async createSilence(body, by) {
      const parsed = parseRuleDocument('silence', body, silenceSpecSchema);
      if (!parsed.ok) throw new AlertingInputError(400, `invalid silence: ${parsed.problems.map(formatProblem).join('; ')}`, parsed.problems);
      const now = clock();
      const spec = parsed.value;
      if (spec.endsAt <= now) throw new AlertingInputError(400, 'endsAt must be in the future');
      const stored: StoredSilence = {
        id: spec.id ?? randomUUID(), matchers: spec.matchers, startsAtMs: spec.startsAt ?? now, endsAtMs: spec.endsAt,
        comment: spec.comment, createdBy: spec.createdBy || by, createdAtMs: now,
      };
      await store.putSilence(stored, now);
      await syncStored();
      return silenceView(toApiSilence(stored));
    },
    async expireSilence(id) {
      if (folder.state().silences.some((silence) => silence.id === id)) throw new AlertingInputError(409, `silence "${id}" comes from a rule file: remove it there`);
      const now = clock();
      const stored = (await store.storedSilences(now, 'writer')).find((candidate) => candidate.id === id);
      if (!stored) throw new AlertingInputError(404, `no active silence "${id}"`);
      await store.putSilence({ ...stored, endsAtMs: now }, now);
      await syncStored();
    },
    reloadRules() {
      folder.load();
      evaluator.setRules(allRules());
    },
    deliveriesIdle: () => notifier.idle(),
  };
}

/** An API rule body: the rule's fields; `name` may be left out (the path names it). */
function parseApiRule(name: string, text: string):
  | { ok: true; spec: z.output<typeof ruleSpecSchema>; document: unknown }
  | { ok: false; problems: RuleProblem[] } {
  const schema = z.preprocess((value) => (typeof value === 'object' && value !== null && !Array.isArray(value) && !('name' in value) ? { name, ...value } : value), ruleSpecSchema);
  const parsed = parseRuleDocument(`api:${name}`, text, schema);
  if (!parsed.ok) return parsed;
  if (parsed.value.name !== name) {
    return { ok: false, problems: [{ file: `api:${name}`, line: 1, column: 1, field: 'name', message: `the body names "${parsed.value.name}", the path "${name}"` }] };
  }
  const document = parsed.located.value as Record<string, unknown>;
  return { ok: true, spec: parsed.value, document: { name, ...document } };
}
