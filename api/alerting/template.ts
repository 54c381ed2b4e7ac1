// Annotation templates: `{{ $labels.job }}` and `{{ $value }}`, nothing else. A fixed,
// tiny language on purpose: templates come from rule files and the API, and must not be
// able to run code. Unknown placeholders are refused when the rule is loaded.

const PLACEHOLDER = /\{\{\s*([^}]*?)\s*\}\}/g;
const LABEL = /^\$labels\.([A-Za-z_][A-Za-z0-9_.:-]*)$/;

/** The first placeholder that is not `$value` or `$labels.<name>`, or null. */
export function invalidPlaceholder(template: string): string | null {
  for (const match of template.matchAll(PLACEHOLDER)) {
    const inner = match[1] ?? '';
    if (inner !== '$value' && !LABEL.test(inner)) return match[0];
  }
  return null;
}

export function renderTemplate(template: string, labels: Readonly<Record<string, string>>, value: number | null): string {
  return template.replace(PLACEHOLDER, (whole, inner: string) => {
    if (inner === '$value') return formatValue(value);
    const label = LABEL.exec(inner);
    return label ? (labels[label[1]!] ?? '') : whole;
  });
}

/** Six significant digits, without a trailing ".000": 12.3457, 0.00123457, 1500. */
export function formatValue(value: number | null): string {
  if (value === null) return '';
  return String(Number(value.toPrecision(6)));
}
