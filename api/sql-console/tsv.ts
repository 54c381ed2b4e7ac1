// TabSeparatedWithNamesAndTypes, parsed a line at a time: the one streamable text format
// 18.16 has with column types, so the console can stop reading at its row cap.
// https://clickhouse.com/docs/en/interfaces/formats#tabseparated (escapes: \t \n \\ \N …)

export type Cell = string | number | null;

const ESCAPES: Record<string, string> = { b: '\b', f: '\f', r: '\r', n: '\n', t: '\t', '0': '\0', "'": "'", '\\': '\\', '"': '"' };

export function splitTsvLine(line: string): Array<string | null> {
  const cells: Array<string | null> = [];
  let current = '';
  let nullCell = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (ch === '\t') {
      cells.push(nullCell ? null : current);
      current = '';
      nullCell = false;
    } else if (ch === '\\' && i + 1 < line.length) {
      const next = line[++i]!;
      if (next === 'N' && current === '') nullCell = true;
      else current += ESCAPES[next] ?? next;
    } else {
      current += ch;
    }
  }
  cells.push(nullCell ? null : current);
  return cells;
}

/** Numbers become numbers (UInt64 beyond 2^53 loses precision: it is for reading and charting). */
export function isNumericType(type: string): boolean {
  const inner = type.replace(/^(Nullable|LowCardinality)\((.*)\)$/, '$2').replace(/^(Nullable|LowCardinality)\((.*)\)$/, '$2');
  return /^(U?Int(8|16|32|64)|Float(32|64)|Decimal(32|64|128)?\(.*\))$/.test(inner);
}

export function convertCell(text: string | null, numeric: boolean): Cell {
  if (text === null) return null;
  if (!numeric) return text;
  if (text === 'nan' || text === 'inf' || text === '-inf') return null;
  const value = Number(text);
  return Number.isFinite(value) ? value : text;
}
