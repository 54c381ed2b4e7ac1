// The one audited place where values become SQL text. ClickHouse 18.16 has no server-side
// query parameters, so every literal is escaped here and nowhere else.
//
// Queries are written with the `sql` tag. Interpolating anything but a SqlFragment throws,
// so a raw string from a request cannot reach the query text by accident:
//   sql`SELECT count() FROM runs WHERE key = ${str(key)} AND run_date >= ${date(from)}`
// Identifiers (tables, columns, functions, units) never come from input: pick them from a
// fixed list with `ident(name, allowed)`.

export class SqlFragment {
  /** Only this module constructs fragments; the text is trusted SQL. */
  private constructor(readonly text: string) {}
  static trusted(text: string): SqlFragment {
    return new SqlFragment(text);
  }
  toString(): string {
    return this.text;
  }
}

export class SqlValueError extends Error {
  override readonly name = 'SqlValueError';
}

export function sql(strings: TemplateStringsArray, ...values: SqlFragment[]): SqlFragment {
  let text = strings[0] ?? '';
  values.forEach((value, index) => {
    if (!(value instanceof SqlFragment)) {
      throw new SqlValueError(`sql: interpolation ${index} is a ${typeof value}, not a SqlFragment: escape it with str()/num()/…`);
    }
    text += value.text + (strings[index + 1] ?? '');
  });
  return SqlFragment.trusted(text);
}

/**
 * A string literal. ClickHouse reads backslash escapes inside quotes, so the backslash
 * and the quote are escaped; NUL is written as \0 so the text stays printable.
 * Everything else (newlines, unicode, control characters) is taken literally.
 */
export function str(value: string): SqlFragment {
  if (typeof value !== 'string') throw new SqlValueError(`str: expected a string, got ${typeof value}`);
  const escaped = value.replace(/\\/g, '\\\\').replace(/'/g, "\\'").replace(/\0/g, '\\0');
  return SqlFragment.trusted(`'${escaped}'`);
}

/** A finite number literal; integers stay integers (no 1e21 notation for big values). */
export function num(value: number | bigint): SqlFragment {
  if (typeof value === 'bigint') return SqlFragment.trusted(value.toString());
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new SqlValueError(`num: expected a finite number, got ${String(value)}`);
  if (Number.isInteger(value)) {
    if (!Number.isSafeInteger(value)) throw new SqlValueError(`num: ${value} is beyond the safe integer range`);
    return SqlFragment.trusted(value.toString());
  }
  return SqlFragment.trusted(value.toString());
}

/** A Date literal from YYYY-MM-DD; anything else is refused. */
export function date(value: string): SqlFragment {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(value) || Number.isNaN(Date.parse(`${value}T00:00:00Z`))) {
    throw new SqlValueError(`date: expected YYYY-MM-DD, got ${JSON.stringify(value).slice(0, 40)}`);
  }
  return SqlFragment.trusted(`toDate('${value}')`);
}

/** A DateTime literal from epoch milliseconds (second precision, as 18.16's DateTime). */
export function dateTime(epochMs: number): SqlFragment {
  if (!Number.isFinite(epochMs) || epochMs < 0) throw new SqlValueError(`dateTime: expected epoch milliseconds ≥ 0, got ${epochMs}`);
  return SqlFragment.trusted(`toDateTime(${Math.floor(epochMs / 1000)})`);
}

/** `(a, b, c)` for IN; an empty list is refused because `IN ()` is a syntax error. */
export function list(values: readonly SqlFragment[]): SqlFragment {
  if (values.length === 0) throw new SqlValueError('list: IN () needs at least one value');
  return SqlFragment.trusted(`(${values.map((value) => value.text).join(', ')})`);
}

/** An identifier chosen from a fixed list of allowed names; never from input directly. */
export function ident<T extends string>(name: T, allowed: readonly T[]): SqlFragment {
  if (!allowed.includes(name) || !/^[A-Za-z_][A-Za-z0-9_.]*$/.test(name)) {
    throw new SqlValueError(`ident: ${JSON.stringify(name).slice(0, 60)} is not one of the allowed identifiers`);
  }
  return SqlFragment.trusted(name.includes('.') ? name.split('.').map((part) => `\`${part}\``).join('.') : `\`${name}\``);
}

/** Joins fragments with a separator (e.g. ' AND '). */
export function join(fragments: readonly SqlFragment[], separator: string): SqlFragment {
  return SqlFragment.trusted(fragments.map((fragment) => fragment.text).join(separator));
}

/** A LIKE pattern matching values that start with `prefix`, with % and _ escaped. */
export function likePrefix(prefix: string): SqlFragment {
  return str(`${prefix.replace(/\\/g, '\\\\').replace(/[%_]/g, (c) => `\\${c}`)}%`);
}
