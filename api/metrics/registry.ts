// A small Prometheus registry: counters, histograms and gauges read at scrape time.
// Other parts of the process (the spool, the consumer) register their gauges through
// registerGauge, so /metrics is the one place an operator looks. Text format 0.0.4:
// https://prometheus.io/docs/instrumenting/exposition_formats/
export type Labels = Record<string, string>;
export interface GaugeSample { labels?: Labels; value: number }

type Series = Map<string, { labels: Labels; value: number }>;

export class Counter {
  readonly series: Series = new Map();
  constructor(readonly name: string, readonly help: string) {}
  inc(labels: Labels = {}, by = 1): void {
    const id = labelText(labels);
    const entry = this.series.get(id) ?? { labels, value: 0 };
    entry.value += by;
    this.series.set(id, entry);
  }
  render(): string[] {
    return [...this.series.values()].map(({ labels, value }) => `${this.name}${labelText(labels)} ${value}`);
  }
}

export class Histogram {
  private readonly series = new Map<string, { labels: Labels; counts: number[]; sum: number; count: number }>();
  constructor(readonly name: string, readonly help: string, readonly buckets: readonly number[]) {}
  observe(labels: Labels, value: number): void {
    const id = labelText(labels);
    const entry = this.series.get(id) ?? { labels, counts: this.buckets.map(() => 0), sum: 0, count: 0 };
    this.buckets.forEach((bound, index) => {
      if (value <= bound) entry.counts[index] = (entry.counts[index] ?? 0) + 1;
    });
    entry.sum += value;
    entry.count += 1;
    this.series.set(id, entry);
  }
  render(): string[] {
    const lines: string[] = [];
    for (const { labels, counts, sum, count } of this.series.values()) {
      this.buckets.forEach((bound, index) => lines.push(`${this.name}_bucket${labelText({ ...labels, le: String(bound) })} ${counts[index] ?? 0}`));
      lines.push(`${this.name}_bucket${labelText({ ...labels, le: '+Inf' })} ${count}`);
      lines.push(`${this.name}_sum${labelText(labels)} ${sum}`);
      lines.push(`${this.name}_count${labelText(labels)} ${count}`);
    }
    return lines;
  }
}

interface Gauge { name: string; help: string; collect: () => number | GaugeSample[] }

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

export class MetricsRegistry {
  private readonly metrics = new Map<string, Counter | Histogram | Gauge>();

  counter(name: string, help: string): Counter {
    return this.add(name, new Counter(name, help));
  }

  histogram(name: string, help: string, buckets: readonly number[] = SECONDS_BUCKETS): Histogram {
    return this.add(name, new Histogram(name, help, buckets));
  }

  /** A gauge whose value is read at each scrape; `collect` must be cheap and must not throw. */
  registerGauge(name: string, help: string, collect: () => number | GaugeSample[]): void {
    this.add(name, { name, help, collect });
  }

  render(): string {
    const lines: string[] = [];
    for (const metric of this.metrics.values()) {
      const type = metric instanceof Counter ? 'counter' : metric instanceof Histogram ? 'histogram' : 'gauge';
      lines.push(`# HELP ${metric.name} ${metric.help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`, `# TYPE ${metric.name} ${type}`);
      if (metric instanceof Counter || metric instanceof Histogram) {
        lines.push(...metric.render());
        continue;
      }
      let samples: GaugeSample[];
      try {
        const value = metric.collect();
        samples = typeof value === 'number' ? [{ value }] : value;
      } catch {
        // A broken collector must not take /metrics down; NaN shows it is broken.
        samples = [{ value: Number.NaN }];
      }
      for (const sample of samples) lines.push(`${metric.name}${labelText(sample.labels ?? {})} ${sample.value}`);
    }
    return `${lines.join('\n')}\n`;
  }

  private add<T extends Counter | Histogram | Gauge>(name: string, metric: T): T {
    if (!NAME.test(name)) throw new Error(`metric name ${JSON.stringify(name)} is not a legal Prometheus name`);
    if (this.metrics.has(name)) throw new Error(`metric ${name} is registered twice`);
    this.metrics.set(name, metric);
    return metric;
  }
}

export const SECONDS_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30] as const;

function labelText(labels: Labels): string {
  const entries = Object.entries(labels).sort(([a], [b]) => a.localeCompare(b));
  if (entries.length === 0) return '';
  const escape = (value: string) => value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
  return `{${entries.map(([key, value]) => `${key}="${escape(value)}"`).join(',')}}`;
}
