// Alerting's tables in ClickHouse (migrations 0020–0023): transitions (history, current
// state and notification outbox), delivery attempts, API rules and API silences.
// Writes go through the writer client (the ingest user); reads through the reader (the
// API's user). Every value reaches SQL through clickhouse/sql.ts.
import type { ClickHouseClient } from '@clickhouse/client';
import { toClickHouseError } from '../../clickhouse/clickhouse-error.ts';
import { ident, join, num, sql, str, type SqlFragment } from '../../clickhouse/sql.ts';
import type { AlertStateName, InstanceState, Notice } from './alert-state.ts';

export interface AlertEventRow {
  atMs: number;
  seq: number;
  rule: string;
  fingerprint: string;
  labels: Readonly<Record<string, string>>;
  kind: 'transition' | 'repeat';
  fromState: AlertStateName;
  toState: AlertStateName;
  value: number | null;
  severity: string;
  annotations: Readonly<Record<string, string>>;
  activeSinceMs: number;
  firingSinceMs: number;
  lastNotifiedMs: number;
  error: string;
  silenced: boolean;
  dedupKey: string;
  channels: readonly string[];
  writer: string;
}

export interface DeliveryRow {
  atMs: number;
  dedupKey: string;
  channel: string;
  channelType: string;
  rule: string;
  fingerprint: string;
  kind: Notice;
  attempt: number;
  status: 'delivered' | 'retrying' | 'gave_up';
  httpStatus: number;
  error: string;
  durationMs: number;
  writer: string;
}

export interface StoredRule {
  name: string;
  ruleJson: string;
  updatedAtMs: number;
  updatedBy: string;
}

export interface StoredSilence {
  id: string;
  matchers: string[];
  startsAtMs: number;
  endsAtMs: number;
  comment: string;
  createdBy: string;
  createdAtMs: number;
}

export interface HistoryQuery {
  rule?: string;
  fromMs?: number;
  toMs?: number;
  limit: number;
}

const EVENT_COLUMNS = [
  'at', 'at_ms', 'version', 'rule', 'fingerprint', 'labels.key', 'labels.value', 'kind', 'from_state', 'to_state', 'value',
  'severity', 'annotations.key', 'annotations.value', 'active_since_ms', 'firing_since_ms', 'last_notified_ms', 'error',
  'silenced', 'dedup_key', 'channels', 'writer',
];
const DELIVERY_COLUMNS = [
  'at', 'at_ms', 'dedup_key', 'channel', 'channel_type', 'rule', 'fingerprint', 'kind', 'attempt', 'status', 'http_status', 'error', 'duration_ms', 'writer',
];

type RawEvent = {
  at_ms: string | number; rule: string; fingerprint: string; 'labels.key': string[]; 'labels.value': string[]; kind: string;
  from_state: string; to_state: string; value: number | null; severity: string; 'annotations.key': string[]; 'annotations.value': string[];
  active_since_ms: string | number; firing_since_ms: string | number; last_notified_ms: string | number; error: string; silenced: number;
  dedup_key: string; channels: string[]; writer: string;
};

export interface StoredEvent extends Omit<AlertEventRow, 'seq'> {}

export class AlertStore {
  private readonly db: SqlFragment;

  constructor(
    private readonly writer: ClickHouseClient,
    private readonly reader: ClickHouseClient,
    readonly database: string,
  ) {
    this.db = ident(database, [database]);
  }

  private table(name: 'alert_events' | 'alert_deliveries' | 'alert_rules' | 'alert_silences'): string {
    return `${this.database}.${name}`;
  }

  async writeEvents(rows: readonly AlertEventRow[]): Promise<void> {
    if (rows.length === 0) return;
    await this.insert('alert_events', EVENT_COLUMNS, rows.map((row) => ({
      at: Math.floor(row.atMs / 1000),
      at_ms: row.atMs,
      version: row.atMs * 1000 + (row.seq % 1000),
      rule: row.rule,
      fingerprint: row.fingerprint,
      'labels.key': Object.keys(row.labels),
      'labels.value': Object.values(row.labels),
      kind: row.kind,
      from_state: row.fromState,
      to_state: row.toState,
      value: row.value,
      severity: row.severity,
      'annotations.key': Object.keys(row.annotations),
      'annotations.value': Object.values(row.annotations),
      active_since_ms: row.activeSinceMs,
      firing_since_ms: row.firingSinceMs,
      last_notified_ms: row.lastNotifiedMs,
      error: row.error.slice(0, 4_000),
      silenced: row.silenced ? 1 : 0,
      dedup_key: row.dedupKey,
      channels: row.channels,
      writer: row.writer,
    })));
  }

  async logDelivery(row: DeliveryRow): Promise<void> {
    await this.insert('alert_deliveries', DELIVERY_COLUMNS, [{
      at: Math.floor(row.atMs / 1000),
      at_ms: row.atMs,
      dedup_key: row.dedupKey,
      channel: row.channel,
      channel_type: row.channelType,
      rule: row.rule,
      fingerprint: row.fingerprint,
      kind: row.kind,
      attempt: row.attempt,
      status: row.status,
      http_status: row.httpStatus,
      error: row.error.slice(0, 2_000),
      duration_ms: Math.round(row.durationMs),
      writer: row.writer,
    }]);
  }

  /**
   * The newest row per instance: pending, firing and error instances, and resolved ones
   * younger than `resolvedRetentionMs`. The leader loads this before evaluating.
   */
  async currentStates(nowMs: number, resolvedRetentionMs: number, client: 'reader' | 'writer' = 'reader'): Promise<InstanceState[]> {
    const rows = await this.select<RawEvent>(client, sql`
      SELECT * FROM (
        SELECT at_ms, rule, fingerprint, labels.key, labels.value, kind, from_state, to_state, value, severity,
               annotations.key, annotations.value, active_since_ms, firing_since_ms, last_notified_ms, error, silenced,
               dedup_key, channels, writer
        FROM ${this.db}.alert_events
        ORDER BY rule, fingerprint, version DESC
        LIMIT 1 BY rule, fingerprint
      )
      WHERE to_state IN ('pending', 'firing', 'error')
         OR (to_state = 'resolved' AND at_ms >= ${num(Math.max(0, nowMs - resolvedRetentionMs))})
      ORDER BY rule, fingerprint`);
    return rows.map((raw) => {
      const event = toEvent(raw);
      return {
        rule: event.rule,
        fingerprint: event.fingerprint,
        labels: event.labels,
        state: event.toState,
        value: event.value,
        activeSinceMs: event.activeSinceMs,
        firingSinceMs: event.firingSinceMs,
        // Unknown after a takeover; "now" errs on the side of firing a little longer.
        lastMetMs: event.toState === 'firing' || event.toState === 'pending' ? nowMs : 0,
        lastNotifiedMs: event.lastNotifiedMs,
        annotations: event.annotations,
        changedAtMs: event.kind === 'transition' ? event.atMs : event.firingSinceMs || event.atMs,
        error: event.error,
      };
    });
  }

  async history(query: HistoryQuery): Promise<StoredEvent[]> {
    const where: SqlFragment[] = [sql`kind = 'transition'`];
    if (query.rule !== undefined) where.push(sql`rule = ${str(query.rule)}`);
    if (query.fromMs !== undefined) where.push(sql`at >= ${num(Math.floor(query.fromMs / 1000))} AND at_ms >= ${num(query.fromMs)}`);
    if (query.toMs !== undefined) where.push(sql`at <= ${num(Math.ceil(query.toMs / 1000))} AND at_ms < ${num(query.toMs)}`);
    const rows = await this.select<RawEvent>('reader', sql`
      SELECT at_ms, rule, fingerprint, labels.key, labels.value, kind, from_state, to_state, value, severity,
             annotations.key, annotations.value, active_since_ms, firing_since_ms, last_notified_ms, error, silenced,
             dedup_key, channels, writer
      FROM ${this.db}.alert_events
      WHERE ${join(where, ' AND ')}
      ORDER BY version DESC
      LIMIT ${num(query.limit)}`);
    return rows.map(toEvent);
  }

  /** Notifications written by a leader but never finally delivered (delivered or given up). */
  async undeliveredNotifications(sinceMs: number): Promise<Array<StoredEvent & { channel: string }>> {
    const since = num(Math.floor(sinceMs / 1000));
    const rows = await this.select<RawEvent & { channel: string }>('writer', sql`
      SELECT at_ms, rule, fingerprint, labels.key, labels.value, kind, from_state, to_state, value, severity,
             annotations.key, annotations.value, active_since_ms, firing_since_ms, last_notified_ms, error, silenced,
             dedup_key, channels, writer, channel
      FROM ${this.db}.alert_events
      ARRAY JOIN channels AS channel
      WHERE at >= ${since} AND dedup_key != ''
        AND (dedup_key, channel) NOT IN (
          SELECT dedup_key, channel FROM ${this.db}.alert_deliveries
          WHERE at >= ${since} AND status IN ('delivered', 'gave_up'))
      ORDER BY version`);
    return rows.map((raw) => ({ ...toEvent(raw), channel: raw.channel }));
  }

  async deliveries(query: { rule?: string; dedupKey?: string; limit: number }): Promise<DeliveryRow[]> {
    const where: SqlFragment[] = [sql`1`];
    if (query.rule !== undefined) where.push(sql`rule = ${str(query.rule)}`);
    if (query.dedupKey !== undefined) where.push(sql`dedup_key = ${str(query.dedupKey)}`);
    const rows = await this.select<Record<string, string | number>>('reader', sql`
      SELECT at_ms, dedup_key, channel, channel_type, rule, fingerprint, kind, attempt, status, http_status, error, duration_ms, writer
      FROM ${this.db}.alert_deliveries
      WHERE ${join(where, ' AND ')}
      ORDER BY at_ms DESC, attempt DESC
      LIMIT ${num(query.limit)}`);
    return rows.map((row) => ({
      atMs: Number(row.at_ms),
      dedupKey: String(row.dedup_key),
      channel: String(row.channel),
      channelType: String(row.channel_type),
      rule: String(row.rule),
      fingerprint: String(row.fingerprint),
      kind: String(row.kind) as Notice,
      attempt: Number(row.attempt),
      status: String(row.status) as DeliveryRow['status'],
      httpStatus: Number(row.http_status),
      error: String(row.error),
      durationMs: Number(row.duration_ms),
      writer: String(row.writer),
    }));
  }

  async storedRules(client: 'reader' | 'writer' = 'reader'): Promise<StoredRule[]> {
    const rows = await this.select<{ name: string; rule_json: string; updated_at: string; updated_by: string; version: string }>(client, sql`
      SELECT name, rule_json, toUInt64(updated_at) AS updated_at, updated_by, version
      FROM ${this.db}.alert_rules FINAL WHERE deleted = 0 ORDER BY name`);
    return rows.map((row) => ({ name: row.name, ruleJson: row.rule_json, updatedAtMs: Number(row.updated_at) * 1000, updatedBy: row.updated_by }));
  }

  async putRule(name: string, ruleJson: string, updatedBy: string, nowMs: number, deleted = false): Promise<void> {
    await this.insert('alert_rules', ['name', 'rule_json', 'updated_at', 'updated_by', 'deleted', 'version'], [{
      name, rule_json: ruleJson, updated_at: Math.floor(nowMs / 1000), updated_by: updatedBy, deleted: deleted ? 1 : 0, version: nowMs,
    }]);
  }

  async storedSilences(nowMs: number, client: 'reader' | 'writer' = 'reader'): Promise<StoredSilence[]> {
    const rows = await this.select<Record<string, unknown>>(client, sql`
      SELECT id, matchers, starts_at_ms, ends_at_ms, comment, created_by, toUInt64(created_at) AS created_at
      FROM ${this.db}.alert_silences FINAL WHERE ends_at_ms > ${num(nowMs)} ORDER BY starts_at_ms`);
    return rows.map((row) => ({
      id: String(row.id),
      matchers: (row.matchers as string[]) ?? [],
      startsAtMs: Number(row.starts_at_ms),
      endsAtMs: Number(row.ends_at_ms),
      comment: String(row.comment),
      createdBy: String(row.created_by),
      createdAtMs: Number(row.created_at) * 1000,
    }));
  }

  async putSilence(silence: StoredSilence, nowMs: number): Promise<void> {
    await this.insert('alert_silences', ['id', 'matchers', 'starts_at_ms', 'ends_at_ms', 'comment', 'created_by', 'created_at', 'version'], [{
      id: silence.id,
      matchers: silence.matchers,
      starts_at_ms: silence.startsAtMs,
      ends_at_ms: silence.endsAtMs,
      comment: silence.comment,
      created_by: silence.createdBy,
      created_at: Math.floor(silence.createdAtMs / 1000),
      version: nowMs,
    }]);
  }

  private async insert(table: Parameters<AlertStore['table']>[0], columns: string[], values: Record<string, unknown>[]): Promise<void> {
    try {
      // Explicit columns: 18.16 applies DEFAULTs only then.
      await this.writer.insert({ table: this.table(table), values, format: 'JSONEachRow', columns: columns as [string, ...string[]] });
    } catch (error) {
      throw toClickHouseError(error, `writing ${table}`);
    }
  }

  private async select<T>(client: 'reader' | 'writer', query: SqlFragment): Promise<T[]> {
    try {
      // No clickhouse_settings: the reader may be a readonly=1 user.
      const result = await (client === 'reader' ? this.reader : this.writer).query({ query: query.text, format: 'JSONEachRow' });
      return await result.json<T>();
    } catch (error) {
      throw toClickHouseError(error, 'reading alerting tables');
    }
  }
}

function zip(keys: readonly string[], values: readonly string[]): Record<string, string> {
  return Object.fromEntries(keys.map((key, index) => [key, values[index] ?? '']));
}

function toEvent(raw: RawEvent): StoredEvent {
  return {
    atMs: Number(raw.at_ms),
    rule: raw.rule,
    fingerprint: raw.fingerprint,
    labels: zip(raw['labels.key'], raw['labels.value']),
    kind: raw.kind as StoredEvent['kind'],
    fromState: raw.from_state as AlertStateName,
    toState: raw.to_state as AlertStateName,
    value: raw.value === null ? null : Number(raw.value),
    severity: raw.severity,
    annotations: zip(raw['annotations.key'], raw['annotations.value']),
    activeSinceMs: Number(raw.active_since_ms),
    firingSinceMs: Number(raw.firing_since_ms),
    lastNotifiedMs: Number(raw.last_notified_ms),
    error: raw.error,
    silenced: Number(raw.silenced) === 1,
    dedupKey: raw.dedup_key,
    channels: raw.channels,
    writer: raw.writer,
  };
}
