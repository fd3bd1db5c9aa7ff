// The metric model: a family (name, help, type, label names) and its samples (labels, value), made afresh
// by whoever owns the figures each time they are read: node_exporter's constant metrics. Nothing is set on
// a long-lived metric object.

export type Labels = Readonly<Record<string, string>>;
export type MetricType = 'gauge' | 'counter';

export interface FamilySpec {
  name: string;
  help: string;
  type: MetricType;
  /** The family's own label names (a target's labels come first and are not listed here). */
  labelNames: readonly string[];
}

export interface Sample {
  labels: Labels;
  value: number;
}

export function gauge(name: string, help: string, labelNames: readonly string[] = []): FamilySpec {
  return { name, help, type: 'gauge', labelNames };
}

export function counter(name: string, help: string, labelNames: readonly string[] = []): FamilySpec {
  return { name, help, type: 'counter', labelNames };
}

/** One sample a family: for constant and single-value families. */
export function single(value: number, labels: Labels = {}): Sample[] {
  return [{ labels, value }];
}

/** Counts of events by label set, kept by their owner (routes, decisions) and rendered by its family. */
export class Tally {
  private readonly counts = new Map<string, { labels: Labels; value: number }>();

  add(labels: Labels = {}, by = 1): void {
    const key = JSON.stringify(labels);
    const entry = this.counts.get(key);
    if (entry === undefined) this.counts.set(key, { labels, value: by });
    else entry.value += by;
  }

  /** Zero for `labels` when nothing was counted yet: the series exists before its first event, so increase() sees that one. */
  declare(labels: Labels): void {
    this.add(labels, 0);
  }

  value(labels: Labels = {}): number {
    return this.counts.get(JSON.stringify(labels))?.value ?? 0;
  }

  samples(): Sample[] {
    return [...this.counts.values()].map(({ labels, value }) => ({ labels, value }));
  }
}
