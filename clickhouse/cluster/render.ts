// Renders the single-node migrations for a sharded, replicated ClickHouse cluster, one
// statement at a time (the `render` hook of clickhouse/migrate.ts). The migrations stay
// the single source of truth; nothing here is a second schema.
//
// For every table of the MergeTree family, `CREATE TABLE db.t (…) ENGINE = XMergeTree(…)`
// becomes two statements, both `ON CLUSTER`:
//   db.t_local  ENGINE = ReplicatedXMergeTree('<zk path per shard>', '{replica}', …)
//   db.t        ENGINE = Distributed(cluster, db, t_local, <sharding key>)
// so every reader and writer keeps using the name it always used (`runs`, `rollup_*`),
// now the Distributed table. The sharding key is a function of the sorting key: every
// version of one identity lands on one shard, where ReplacingMergeTree folds them.
//
// Everything else is created on every node (`ON CLUSTER`): plain views read the
// Distributed tables by their usual names; a materialized view is attached to the
// *local* table of its source (it fires once, on the shard that stores the rows, however
// they arrived) and writes into the Distributed table of its target (which reshards).
// Node-local engines (TinyLog, Memory, Null, Buffer…) stay node-local. What this file
// cannot map faithfully (the Kafka engine, CREATE … AS SELECT) is an error
// naming the statement, never a silently single-node table.
import { shardingKeyFor } from './sharding.ts';

export interface ClusterLayout {
  /** The <remote_servers> name. */
  cluster: string;
  /** Replicated tables live at `${zooKeeperPrefix}/{shard}/<db>/<table>_local`. */
  zooKeeperPrefix: string;
}

export const LOCAL_SUFFIX = '_local';

/** Where `migrate --cluster` and the local cluster keep the Replicated tables in ZooKeeper. */
export const DEFAULT_ZOOKEEPER_PREFIX = '/runlens/tables';

export class ClusterRenderError extends Error {
  override readonly name = 'ClusterRenderError';
}

type TableKind = 'sharded' | 'node-local' | 'view';

export interface ClusterRenderer {
  render(statement: string): string[];
  /** What a table name is in the cluster, from the statements seen so far. */
  kindOf(database: string, table: string): TableKind | undefined;
}

/**
 * `known` are every statement of every migration (applied or not), so that an ALTER in
 * migration 12 knows that migration 1 made its table sharded even when migration 1 is
 * not rendered again in this run.
 */
export function createClusterRenderer(layout: ClusterLayout, known: readonly string[] = []): ClusterRenderer {
  if (!IDENT.test(layout.cluster)) throw new ClusterRenderError(`cluster name "${layout.cluster}" must be a plain identifier`);
  const kinds = new Map<string, TableKind>();
  const learn = (statement: string) => {
    const sql = stripComments(statement);
    const table = /^CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?(\w+)\.(\w+)/i.exec(sql);
    if (table) kinds.set(`${table[1]}.${table[2]}`, isMergeTreeFamily(engineName(sql)) ? 'sharded' : 'node-local');
    const view = /^CREATE\s+(?:MATERIALIZED\s+)?VIEW\s+(?:IF\s+NOT\s+EXISTS\s+)?(\w+)\.(\w+)/i.exec(sql);
    if (view) kinds.set(`${view[1]}.${view[2]}`, 'view');
    // RENAME gives the new name the old one's kind. The old name keeps its kind: `known`
    // holds statements of migrations not yet run, and a name renamed away is usually
    // renamed back to (RENAME t TO t_old, t_new TO t) or dropped.
    const rename = /^RENAME\s+TABLE\s+([\s\S]+)$/i.exec(sql);
    for (const [from, to] of rename ? renamePairs(rename[1]!) ?? [] : []) {
      const kind = kinds.get(from);
      if (kind && !kinds.has(to)) kinds.set(to, kind);
    }
  };
  for (const statement of known) learn(statement);
  const kindOf = (database: string, table: string) => kinds.get(`${database}.${table}`);
  return {
    kindOf,
    render(statement) {
      learn(statement);
      return renderStatement(stripComments(statement), layout, kindOf);
    },
  };
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

function renderStatement(sql: string, layout: ClusterLayout, kindOf: ClusterRenderer['kindOf']): string[] {
  const onCluster = `ON CLUSTER ${layout.cluster}`;
  let m: RegExpExecArray | null;

  if ((m = /^CREATE\s+DATABASE\s+(IF\s+NOT\s+EXISTS\s+)?(\w+)\s*$/i.exec(sql))) {
    return [`CREATE DATABASE ${m[1] ?? ''}${m[2]} ${onCluster}`];
  }

  if ((m = /^CREATE\s+TABLE\s+(IF\s+NOT\s+EXISTS\s+)?(\w+)\.(\w+)\s*/i.exec(sql))) {
    const [head, ifNotExists = '', database, table] = m as unknown as [string, string | undefined, string, string];
    const rest = sql.slice(head.length);
    if (!rest.startsWith('(')) {
      throw unsupported(sql, 'CREATE TABLE … AS … / without a column list: give the table its own columns');
    }
    const columnsEnd = matchingParen(rest, 0);
    const columns = rest.slice(0, columnsEnd + 1);
    const tail = rest.slice(columnsEnd + 1).trim();
    const engine = engineName(sql);
    if (engine === 'Kafka') {
      throw unsupported(sql, 'the Kafka engine is not used on 18.16 (see clickhouse/kafka-engine-on-18.16.md); the sink writes through the Distributed tables');
    }
    if (/\bAS\s+SELECT\b/i.test(tail)) throw unsupported(sql, 'CREATE TABLE … AS SELECT');
    if (!isMergeTreeFamily(engine)) {
      // Null, Memory, TinyLog, Buffer, Distributed…: the same table on every node.
      return [`CREATE TABLE ${ifNotExists}${database}.${table} ${onCluster}\n${columns}\n${tail}`];
    }
    const local = `${table}${LOCAL_SUFFIX}`;
    const zooKeeperPath = `${layout.zooKeeperPrefix}/{shard}/${database}/${local}`;
    if (orderByColumns(tail).length === 0) {
      // Old syntax MergeTree(date, (key), 8192[, ver]): its arguments are the table's layout,
      // not the engine's parameters, and 18.16 is the last server that accepts it anyway.
      throw unsupported(sql, 'a MergeTree table without ORDER BY (old syntax?): use PARTITION BY / ORDER BY');
    }
    const clause = engineClause(tail);
    if (clause === null) throw unsupported(sql, 'expected ENGINE = … right after the column list');
    const extra = clause.args.trim() !== '' ? `, ${clause.args.trim()}` : '';
    const replicatedTail = `ENGINE = Replicated${engine}('${zooKeeperPath}', '{replica}'${extra})${tail.slice(clause.end)}`;
    const shardingKey = shardingKeyFor({ engine, orderBy: orderByColumns(tail) });
    return [
      `CREATE TABLE ${ifNotExists}${database}.${local} ${onCluster}\n${columns}\n${replicatedTail}`,
      `CREATE TABLE ${ifNotExists}${database}.${table} ${onCluster} AS ${database}.${local}\n` +
        `ENGINE = Distributed(${layout.cluster}, ${database}, ${local}, ${shardingKey})`,
    ];
  }

  if ((m = /^CREATE\s+MATERIALIZED\s+VIEW\s+(IF\s+NOT\s+EXISTS\s+)?(\w+)\.(\w+)\s+/i.exec(sql))) {
    const [head, ifNotExists = '', database, view] = m as unknown as [string, string | undefined, string, string];
    let rest = sql.slice(head.length);
    if (!/^TO\s+\w+\.\w+/i.test(rest)) {
      throw unsupported(sql, 'a materialized view without TO: give it a target table (which is then sharded like any other)');
    }
    // The view fires where its source's rows are stored: on the local table of a sharded
    // source. Its TO target stays the Distributed table, which routes by the target's key.
    rest = rest.replace(/\bFROM\s+(\w+)\.(\w+)\b/i, (all, db: string, source: string) =>
      kindOf(db, source) === 'sharded' ? `FROM ${db}.${source}${LOCAL_SUFFIX}` : all,
    );
    return [`CREATE MATERIALIZED VIEW ${ifNotExists}${database}.${view} ${onCluster} ${rest}`];
  }

  if ((m = /^CREATE\s+VIEW\s+(IF\s+NOT\s+EXISTS\s+)?(\w+)\.(\w+)\s+/i.exec(sql))) {
    // A local view on every node over the Distributed tables: it reads the whole cluster.
    const [head, ifNotExists = '', database, view] = m as unknown as [string, string | undefined, string, string];
    return [`CREATE VIEW ${ifNotExists}${database}.${view} ${onCluster} ${sql.slice(head.length)}`];
  }

  if ((m = /^ALTER\s+TABLE\s+(\w+)\.(\w+)\s+/i.exec(sql))) {
    const [head, database, table] = m as unknown as [string, string, string];
    const actions = sql.slice(head.length);
    if (kindOf(database, table) !== 'sharded') return [`ALTER TABLE ${database}.${table} ${onCluster} ${actions}`];
    const local = `ALTER TABLE ${database}.${table}${LOCAL_SUFFIX} ${onCluster} ${actions}`;
    // Column changes apply to both tables (the Distributed one has its own column list);
    // partitions, mutations and the rest concern the data, which only the local tables hold.
    const columnsOnly = splitTopLevel(actions).every((action) => /^(ADD|DROP|MODIFY|COMMENT|CLEAR)\s+COLUMN\b/i.test(action.trim()));
    if (!columnsOnly) return [local];
    const forDistributed = splitTopLevel(actions).filter((action) => !/^CLEAR\s+COLUMN\b/i.test(action.trim())).join(', ');
    return forDistributed === '' ? [local] : [local, `ALTER TABLE ${database}.${table} ${onCluster} ${forDistributed}`];
  }

  if ((m = /^DROP\s+(TABLE|VIEW)\s+(IF\s+EXISTS\s+)?(\w+)\.(\w+)\s*$/i.exec(sql))) {
    const [, what, ifExists = '', database, table] = m as unknown as [string, string, string | undefined, string, string];
    const drop = (name: string) => `DROP ${what.toUpperCase()} ${ifExists}${database}.${name} ${onCluster}`;
    return kindOf(database, table) === 'sharded' ? [drop(table), drop(`${table}${LOCAL_SUFFIX}`)] : [drop(table)];
  }

  if ((m = /^RENAME\s+TABLE\s+([\s\S]+)$/i.exec(sql))) {
    // Sharded tables: only the local tables are renamed. The Distributed table `t` names
    // its local table `t_local`, so after `RENAME t TO t_old, t_new TO t` it reads the new
    // one; the Distributed table of `t_new` is left pointing at nothing (drop it with
    // DROP TABLE IF EXISTS db.t_new, which renders for both tables).
    const pairs = renamePairs(m[1]!);
    if (!pairs) throw unsupported(sql, 'expected RENAME TABLE db.a TO db.b[, db.c TO db.d]');
    const sharded = pairs.map(([from]) => kindOf(...(from.split('.') as [string, string])) === 'sharded');
    if (sharded.some((value) => value !== sharded[0])) throw unsupported(sql, 'renames sharded and other tables in one statement');
    const suffix = sharded[0] ? LOCAL_SUFFIX : '';
    return [`RENAME TABLE ${pairs.map(([from, to]) => `${from}${suffix} TO ${to}${suffix}`).join(', ')} ${onCluster}`];
  }

  if ((m = /^OPTIMIZE\s+TABLE\s+(\w+)\.(\w+)\b/i.exec(sql))) {
    const [head, database, table] = m as unknown as [string, string, string];
    const target = kindOf(database, table) === 'sharded' ? `${table}${LOCAL_SUFFIX}` : table;
    return [`OPTIMIZE TABLE ${database}.${target} ${onCluster}${sql.slice(head.length)}`];
  }

  // Data statements go through the Distributed tables exactly as written.
  if (/^(INSERT|SELECT)\b/i.test(sql)) return [sql];

  throw unsupported(sql, 'no cluster rendering for this kind of statement');
}

/** `db.a TO db.b, db.c TO db.d` → [['db.a', 'db.b'], …], or null when it is not that shape. */
function renamePairs(list: string): [string, string][] | null {
  const pairs: [string, string][] = [];
  for (const part of list.split(',')) {
    const pair = /^\s*(\w+\.\w+)\s+TO\s+(\w+\.\w+)\s*$/i.exec(part);
    if (!pair) return null;
    pairs.push([pair[1]!, pair[2]!]);
  }
  return pairs;
}

function unsupported(sql: string, why: string): ClusterRenderError {
  return new ClusterRenderError(`cluster mode cannot render \`${sql.split('\n')[0]?.slice(0, 120)}\`: ${why} (clickhouse/cluster/render.ts)`);
}

/** Drops `--` comments (outside string literals) and blank lines, and trims. */
export function stripComments(statement: string): string {
  let out = '';
  let quote: string | null = null;
  for (let i = 0; i < statement.length; i++) {
    const c = statement[i]!;
    if (quote) {
      out += c;
      if (c === '\\') out += statement[++i] ?? '';
      else if (c === quote) quote = null;
    } else if (c === '-' && statement[i + 1] === '-') {
      i = endOfLine(statement, i) - 1;
    } else {
      if (c === "'" || c === '`' || c === '"') quote = c;
      out += c;
    }
  }
  return out
    .split('\n')
    .map((line) => line.trimEnd())
    .filter((line) => line.trim() !== '')
    .join('\n')
    .trim();
}

function engineName(sql: string): string {
  return /\bENGINE\s*=\s*(\w+)/i.exec(sql)?.[1] ?? '';
}

/** `ENGINE = Name(args)` at the start of `tail`: its arguments ('' if none) and where it ends. */
function engineClause(tail: string): { args: string; end: number } | null {
  const m = /^ENGINE\s*=\s*\w+/i.exec(tail);
  if (!m) return null;
  const open = /^\s*\(/.exec(tail.slice(m[0].length));
  if (!open) return { args: '', end: m[0].length };
  const at = m[0].length + open[0].length - 1;
  const close = matchingParen(tail, at);
  return { args: tail.slice(at + 1, close), end: close + 1 };
}

function isMergeTreeFamily(engine: string): boolean {
  return /MergeTree$/.test(engine) && !engine.startsWith('Replicated');
}

/** The sorting key's top-level expressions: `ORDER BY (a, f(b))` → ['a', 'f(b)']. */
export function orderByColumns(tail: string): string[] {
  const m = /\bORDER\s+BY\s+/i.exec(tail);
  if (!m) return [];
  const start = m.index + m[0].length;
  if (tail[start] === '(') return splitTopLevel(tail.slice(start + 1, matchingParen(tail, start))).map((c) => c.trim()).filter((c) => c !== '');
  const end = /\s(PARTITION\s+BY|PRIMARY\s+KEY|SAMPLE\s+BY|SETTINGS)\b|$/i.exec(tail.slice(start));
  return [tail.slice(start, start + (end?.index ?? tail.length)).trim()];
}

function matchingParen(text: string, open: number): number {
  let depth = 0;
  let quote: string | null = null;
  for (let i = open; i < text.length; i++) {
    const c = text[i]!;
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = null;
      continue;
    }
    if (c === '-' && text[i + 1] === '-') i = endOfLine(text, i);
    else if (c === "'" || c === '`' || c === '"') quote = c;
    else if (c === '(') depth++;
    else if (c === ')' && --depth === 0) return i;
  }
  throw new ClusterRenderError(`unbalanced parentheses in: ${text.slice(open, open + 80)}`);
}

function splitTopLevel(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quote: string | null = null;
  let from = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = null;
      continue;
    }
    if (c === '-' && text[i + 1] === '-') i = endOfLine(text, i);
    else if (c === "'" || c === '`' || c === '"') quote = c;
    else if (c === '(' || c === '[') depth++;
    else if (c === ')' || c === ']') depth--;
    else if (c === ',' && depth === 0) {
      parts.push(text.slice(from, i));
      from = i + 1;
    }
  }
  parts.push(text.slice(from));
  return parts;
}

/** A `--` comment runs to the end of its line: an apostrophe in it opens no string. */
function endOfLine(text: string, from: number): number {
  const newline = text.indexOf('\n', from);
  return newline === -1 ? text.length : newline;
}
