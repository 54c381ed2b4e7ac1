// What the SQL console accepts before anything reaches ClickHouse: one read statement,
// without FORMAT (the console picks the wire format) or SETTINGS/INTO OUTFILE. The `sql`
// ClickHouse user is readonly=1 and is the real boundary; this check gives the common
// mistakes a clear message, and keeps a console pointed at a user without readonly
// (the tests' admin) read-only as well.
import { badRequest } from '../http/api-error.ts';

export const MAX_QUERY_CHARS = 100_000;

/** First keywords of statements that only read. */
const READ_STATEMENTS = new Set(['SELECT', 'WITH', 'SHOW', 'DESC', 'DESCRIBE', 'EXISTS', 'EXPLAIN']);
const WRITE_STATEMENTS = new Set(['INSERT', 'CREATE', 'DROP', 'ALTER', 'TRUNCATE', 'RENAME', 'OPTIMIZE', 'ATTACH', 'DETACH', 'KILL', 'SET', 'SYSTEM', 'USE', 'GRANT', 'REVOKE', 'DELETE', 'UPDATE', 'CHECK', 'WATCH']);

export interface CheckedStatement {
  /** The statement without trailing semicolons and whitespace. */
  text: string;
  keyword: string;
}

/** Words outside strings, quoted identifiers and comments, upper-cased, with `;` kept as a word. */
export function topLevelWords(text: string): string[] {
  const words: string[] = [];
  let i = 0;
  while (i < text.length) {
    const ch = text[i]!;
    if (ch === "'" || ch === '"' || ch === '`') {
      i++;
      while (i < text.length && text[i] !== ch) i += text[i] === '\\' ? 2 : 1;
      i++;
    } else if (ch === '-' && text[i + 1] === '-') {
      while (i < text.length && text[i] !== '\n') i++;
    } else if (ch === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      i = end < 0 ? text.length : end + 2;
    } else if (/[A-Za-z_]/.test(ch)) {
      const start = i;
      while (i < text.length && /[A-Za-z0-9_]/.test(text[i]!)) i++;
      words.push(text.slice(start, i).toUpperCase());
    } else {
      if (ch === ';') words.push(';');
      i++;
    }
  }
  return words;
}

export function checkStatement(raw: string): CheckedStatement {
  const text = raw.replace(/[\s;]+$/, '');
  const words = topLevelWords(text);
  const keyword = words[0];
  if (keyword === undefined) throw badRequest('the query is empty');
  if (words.includes(';')) throw badRequest('one statement at a time: remove everything after the first `;`');
  if (!READ_STATEMENTS.has(keyword) && !WRITE_STATEMENTS.has(keyword)) {
    throw badRequest(`syntax error: a statement cannot start with ${keyword} (expected ${[...READ_STATEMENTS].join(', ')})`);
  }
  if (!READ_STATEMENTS.has(keyword)) {
    throw badRequest(`read-only: the SQL console runs ${[...READ_STATEMENTS].join(', ')} statements, not ${keyword}`);
  }
  for (let index = 1; index < words.length; index++) {
    const word = words[index]!;
    if (word === 'FORMAT') throw badRequest('remove the FORMAT clause: the console chooses the result format');
    if (word === 'SETTINGS') throw badRequest('read-only: SETTINGS cannot be changed from the console (the limits are fixed by the sql user)');
    if (word === 'INTO' && words[index + 1] === 'OUTFILE') throw badRequest('read-only: INTO OUTFILE is not allowed');
  }
  return { text, keyword };
}
