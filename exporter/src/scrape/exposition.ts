// Families rendered through prom-client's registry, which formats whatever a metric's get() returns: each
// family reads its samples from its owner at exposition time (the scrape's result, the watcher, a store).
import type { Metric, Registry } from 'prom-client';
import type { FamilySpec, Sample } from './samples.js';

export type ReadSamples = () => readonly Sample[] | Promise<readonly Sample[]>;

/** The part of prom-client's metric interface the registry uses: name, help, type, get() and reset(). */
class Family {
  readonly name: string;
  readonly help: string;
  readonly type: string;

  constructor(spec: FamilySpec, private readonly readSamples: ReadSamples) {
    this.name = spec.name;
    this.help = spec.help;
    this.type = spec.type;
  }

  async get() {
    return { name: this.name, help: this.help, type: this.type, aggregator: 'sum', values: await this.readSamples() };
  }

  reset(): void {
    // Nothing to reset: the samples belong to their owner.
  }
}

/** Registers a family whose samples `read` returns each time /metrics is rendered. */
export function registerFamily(registry: Registry, spec: FamilySpec, read: ReadSamples): void {
  // registerMetric() is typed for prom-client's own classes; the registry only calls get() and reset().
  registry.registerMetric(new Family(spec, read) as unknown as Metric);
}
