/**
 * A minimal metric registry for the Prometheus exporter: counters, gauges and histograms with
 * labels, rendered in the text exposition format (version 0.0.4). Label values are bounded: past
 * `maxSeries` label sets a metric folds new ones into one series whose labels are all `_other`.
 */
export type Labels = Readonly<Record<string, string>>;

type Kind = 'counter' | 'gauge' | 'histogram';

interface Series {
  labels: Labels;
  value: number;
  /** Histogram only: cumulative counts per bucket, and the sum. */
  buckets?: number[];
  sum?: number;
}

export const OTHER = '_other';

export class Metric {
  readonly #series = new Map<string, Series>();

  constructor(
    readonly name: string,
    readonly kind: Kind,
    readonly help: string,
    readonly labelNames: readonly string[],
    readonly maxSeries: number,
    readonly bucketBounds: readonly number[] = [],
  ) {}

  #get(labels: Labels): Series {
    const values = this.labelNames.map((n) => labels[n] ?? '');
    let id = values.join('\u0000');
    let series = this.#series.get(id);
    if (series) return series;
    let bounded = labels;
    if (this.#series.size >= this.maxSeries) {
      bounded = Object.fromEntries(this.labelNames.map((n) => [n, OTHER]));
      id = this.labelNames.map(() => OTHER).join('\u0000');
      series = this.#series.get(id);
      if (series) return series;
    }
    series = {
      labels: Object.fromEntries(this.labelNames.map((n) => [n, bounded[n] ?? ''])),
      value: 0,
      ...(this.kind === 'histogram' ? { buckets: this.bucketBounds.map(() => 0), sum: 0 } : {}),
    };
    this.#series.set(id, series);
    return series;
  }

  inc(labels: Labels, by = 1): void {
    this.#get(labels).value += by;
  }

  set(labels: Labels, value: number): void {
    this.#get(labels).value = value;
  }

  observe(labels: Labels, value: number): void {
    const s = this.#get(labels);
    s.value += 1;
    s.sum = (s.sum ?? 0) + value;
    const buckets = s.buckets ?? [];
    for (let i = 0; i < this.bucketBounds.length; i++) {
      if (value <= (this.bucketBounds[i] as number)) buckets[i] = (buckets[i] ?? 0) + 1;
    }
  }

  /** The value of one series (tests, and gauges computed from counters). */
  value(labels: Labels = {}): number {
    const id = this.labelNames.map((n) => labels[n] ?? '').join('\u0000');
    return this.#series.get(id)?.value ?? 0;
  }

  render(): string {
    const lines = [`# HELP ${this.name} ${escapeHelp(this.help)}`, `# TYPE ${this.name} ${this.kind}`];
    for (const s of this.#series.values()) {
      if (this.kind !== 'histogram') {
        lines.push(`${this.name}${labelText(s.labels)} ${numberText(s.value)}`);
        continue;
      }
      this.bucketBounds.forEach((le, i) => {
        lines.push(
          `${this.name}_bucket${labelText({ ...s.labels, le: numberText(le) })} ${s.buckets?.[i] ?? 0}`,
        );
      });
      lines.push(`${this.name}_bucket${labelText({ ...s.labels, le: '+Inf' })} ${s.value}`);
      lines.push(`${this.name}_sum${labelText(s.labels)} ${numberText(s.sum ?? 0)}`);
      lines.push(`${this.name}_count${labelText(s.labels)} ${s.value}`);
    }
    return lines.join('\n');
  }
}

function escapeHelp(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function labelText(labels: Labels): string {
  const entries = Object.entries(labels);
  if (entries.length === 0) return '';
  return `{${entries.map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(',')}}`;
}

function numberText(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (n === Number.POSITIVE_INFINITY) return '+Inf';
  if (n === Number.NEGATIVE_INFINITY) return '-Inf';
  return String(n);
}
