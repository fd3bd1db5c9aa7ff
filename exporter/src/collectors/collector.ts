// What a collector is: a name, the metrics it creates, and a collect step that reads through the kernel
// layer and sets them. The metrics it clears before each run are exactly the ones it created.
import { Counter, Gauge, type Metric, type Registry } from 'prom-client';
import type { CgroupLocation } from '../kernel/cgroup.js';

export interface ScrapeSummary {
  cpuPercent?: number;
  memoryPercent?: number;
  memoryAvailableBytes?: number;
}

/** One watched cgroup in one scrape: the sidecar has one, host mode one per container. */
export interface ScrapeContext {
  procfs: string;
  /** Tells this target from the others across scrapes (per-target state such as the CPU rate window). */
  key: string;
  /** Labels on every series of the target: none for the sidecar, the container's in host mode. */
  labels: Record<string, string>;
  /** The cgroup location, resolved once per scrape (throws when it cannot be). */
  location(): CgroupLocation;
  /** Pids of the watched cgroup (all host processes where there is no cgroup), read once per scrape. */
  pids(): number[];
  /** Reservations no cgroup file carries: published where the cgroup has none (memory) or always (CPU). */
  declaredMemoryReservationBytes?: number;
  declaredCpuReservationCores?: number;
  /** Values /health reports, filled in by the collectors that measure them. */
  summary: ScrapeSummary;
}

export interface CollectorOptions {
  /** Names of the labels every target carries (ScrapeContext.labels), before each metric's own. */
  targetLabelNames: readonly string[];
  /** Process groups published by name; the rest are summed as "other". */
  processGroupTop: number;
  /** Wall-clock seconds (the CPU percent's window); tests pass their own clock. */
  now?: () => number;
}

export interface MetricFactory {
  gauge(name: string, help: string, labelNames?: readonly string[]): Gauge;
  counter(name: string, help: string, labelNames?: readonly string[]): Counter;
}

export type CollectStep = (context: ScrapeContext) => void | Promise<void>;

/** A collector as written in its file: node_exporter's collector/ layout, one file each, metrics beside the code that fills them. */
export interface CollectorDefinition {
  /** Also the prefix of its metrics (headroom_NAME_...) and the name in headroom_scrape_collector_success. */
  name: string;
  description: string;
  define(metric: MetricFactory, options: CollectorOptions): CollectStep;
}

export interface Collector {
  name: string;
  /** Every metric the collector created: cleared before it runs, so a failure leaves no stale values. */
  metrics: readonly Metric[];
  collect: CollectStep;
}

/** Creates a collector's metrics in `registry` and returns it ready to run. */
export function instantiateCollector(definition: CollectorDefinition, registry: Registry, options: CollectorOptions): Collector {
  const created: Metric[] = [];
  const metric: MetricFactory = {
    gauge(name, help, labelNames = []) {
      const gauge = new Gauge({ name, help, labelNames: [...options.targetLabelNames, ...labelNames], registers: [registry] });
      created.push(gauge);
      return gauge;
    },
    counter(name, help, labelNames = []) {
      const counter = new Counter({ name, help, labelNames: [...options.targetLabelNames, ...labelNames], registers: [registry] });
      created.push(counter);
      return counter;
    },
  };
  return { name: definition.name, metrics: created, collect: definition.define(metric, options) };
}
