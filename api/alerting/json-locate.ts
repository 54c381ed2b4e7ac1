// A JSON parser that also remembers where every value starts, so a schema error on
// `rules[2].condition.op` can name the line and column of that field in the file.
// JSON.parse gives neither value positions nor (on Node 20) line numbers for syntax errors.

export interface Position {
  line: number;
  column: number;
}

export interface LocatedJson {
  value: unknown;
  /** Path key (see pathKey) → where the value at that path starts. */
  positions: Map<string, Position>;
}

export class JsonSyntaxError extends Error {
  override readonly name = 'JsonSyntaxError';
  constructor(message: string, readonly position: Position) {
    super(message);
  }
}

export function pathKey(path: readonly PropertyKey[]): string {
  return path.map((part) => String(part)).join('\u0000');
}

/** Where `path` is; for a missing field, the nearest enclosing value that exists. */
export function locate(located: LocatedJson, path: readonly PropertyKey[]): Position {
  for (let length = path.length; length >= 0; length--) {
    const found = located.positions.get(pathKey(path.slice(0, length)));
    if (found) return found;
  }
  return { line: 1, column: 1 };
}

/** `rules[2].condition.op` */
export function formatPath(path: readonly PropertyKey[]): string {
  let text = '';
  for (const part of path) text += typeof part === 'number' ? `[${part}]` : text === '' ? String(part) : `.${String(part)}`;
  return text || '(document)';
}

export function parseLocatedJson(text: string): LocatedJson {
  const positions = new Map<string, Position>();
  let index = 0;
  // Line starts, to turn an offset into line:column.
  const lineStarts = [0];
  for (let i = 0; i < text.length; i++) if (text[i] === '\n') lineStarts.push(i + 1);
  const positionOf = (offset: number): Position => {
    let low = 0;
    let high = lineStarts.length - 1;
    while (low < high) {
      const middle = (low + high + 1) >> 1;
      if (lineStarts[middle]! <= offset) low = middle;
      else high = middle - 1;
    }
    return { line: low + 1, column: offset - lineStarts[low]! + 1 };
  };
  const fail = (message: string, at = index): never => {
    throw new JsonSyntaxError(message, positionOf(at));
  };
  const skipSpace = () => {
    while (index < text.length && ' \t\n\r'.includes(text[index]!)) index++;
  };
  const describe = () => (index >= text.length ? 'end of file' : JSON.stringify(text[index]));

  const parseString = (): string => {
    const start = index;
    index++; // opening quote
    while (index < text.length && text[index] !== '"') {
      if (text[index] === '\\') index++;
      else if (text.charCodeAt(index) < 0x20) fail('control character in a string (write \\n for a newline)');
      index++;
    }
    if (index >= text.length) fail('unterminated string', start);
    index++;
    try {
      return JSON.parse(text.slice(start, index)) as string;
    } catch {
      return fail('invalid escape in string', start);
    }
  };

  const parseValue = (path: PropertyKey[]): unknown => {
    skipSpace();
    positions.set(pathKey(path), positionOf(index));
    const char = text[index];
    if (char === '{') {
      index++;
      const object: Record<string, unknown> = {};
      skipSpace();
      if (text[index] === '}') {
        index++;
        return object;
      }
      for (;;) {
        skipSpace();
        if (text[index] !== '"') fail(`expected a "quoted" property name, found ${describe()}`);
        const keyAt = index;
        const key = parseString();
        if (Object.hasOwn(object, key)) fail(`duplicate property "${key}"`, keyAt);
        skipSpace();
        if (text[index] !== ':') fail(`expected ':' after property "${key}", found ${describe()}`);
        index++;
        // defineProperty: a "__proto__" key stays a plain property.
        Object.defineProperty(object, key, { value: parseValue([...path, key]), enumerable: true, writable: true, configurable: true });
        skipSpace();
        if (text[index] === ',') {
          index++;
          skipSpace();
          if (text[index] === '}') fail('trailing comma before }');
          continue;
        }
        if (text[index] === '}') {
          index++;
          return object;
        }
        fail(`expected ',' or '}' after the value of "${key}", found ${describe()}`);
      }
    }
    if (char === '[') {
      index++;
      const array: unknown[] = [];
      skipSpace();
      if (text[index] === ']') {
        index++;
        return array;
      }
      for (;;) {
        array.push(parseValue([...path, array.length]));
        skipSpace();
        if (text[index] === ',') {
          index++;
          skipSpace();
          if (text[index] === ']') fail('trailing comma before ]');
          continue;
        }
        if (text[index] === ']') {
          index++;
          return array;
        }
        fail(`expected ',' or ']' in a list, found ${describe()}`);
      }
    }
    if (char === '"') return parseString();
    const literal = /^(?:true|false|null|-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?)/.exec(text.slice(index, index + 400));
    if (!literal) return fail(`expected a value, found ${describe()}`);
    index += literal[0].length;
    return JSON.parse(literal[0]) as unknown;
  };

  const value = parseValue([]);
  skipSpace();
  if (index < text.length) fail(`unexpected ${describe()} after the end of the document`);
  return { value, positions };
}
