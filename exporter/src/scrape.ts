// One scrape: the targets of this scrape (the sidecar's one cgroup, or host mode's containers), each
// collector run over each of them, each collector's success and duration recorded. Concurrent callers
// share the scrape in flight, so two Prometheus servers cost one read of the kernel files.
import type { Logger } from 'pino';
import type { Collector, ScrapeContext, ScrapeSummary } from './collectors/collector.js';
import { locateCgroup, type CgroupLocation } from './kernel/cgroup.js';
import { readPids } from './kernel/processes.js';
import { startSharedReadings } from './kernel/read.js';
import { emptyMetric, removeSeries, type ScrapeMetrics } from './metrics.js';

export interface CollectorOutcome { success: boolean; durationSeconds: number; error?: string }

export interface ScrapeResult {
  collectors: Record<string, CollectorOutcome>;
  /** The first target's figures (the sidecar's only one), for /health. */
  summary: ScrapeSummary;
  location?: CgroupLocation;
  /** Every target's labels and figures (host mode: one per running container). */
  targets: Array<{ labels: Record<string, string>; summary: ScrapeSummary }>;
}

/** One watched cgroup, as a target source describes it for a scrape. */
export interface Target {
  key: string;
  labels: Record<string, string>;
  /** How to find the cgroup; called at most once per scrape. */
  locate(): CgroupLocation;
  declaredMemoryReservationBytes?: number;
  declaredCpuReservationCores?: number;
  /** After a failed read: whether the cgroup is gone (a container removed mid-scrape), which is no failure. */
  isGone?(): boolean;
}

export interface TargetSource {
  /** The names of the labels every target carries. */
  labelNames: readonly string[];
  targets(): Target[] | Promise<Target[]>;
}

export interface ProcessTargetOptions {
  procfs: string;
  sysfs: string;
  /** Defaults to the exporter's own pid. */
  pid?: number;
  cgroupPath?: string;
  declaredMemoryReservationBytes: number;
  declaredCpuReservationCores: number;
}

/** The sidecar's one target: a process's cgroup (the exporter's own by default), or an explicit cgroup path. */
export function processTarget(options: ProcessTargetOptions): TargetSource {
  const target: Target = {
    key: '',
    labels: {},
    locate: () => locateCgroup({ procfs: options.procfs, sysfs: options.sysfs, pid: options.pid ?? process.pid, explicitPath: options.cgroupPath }),
    declaredMemoryReservationBytes: options.declaredMemoryReservationBytes,
    declaredCpuReservationCores: options.declaredCpuReservationCores,
  };
  return { labelNames: [], targets: () => [target] };
}

/** Computes a value once, on first use; a failure is thrown again to every later caller. */
function once<T>(compute: () => T): () => T {
  let outcome: { value: T } | { error: unknown } | undefined;
  return () => {
    if (outcome === undefined) {
      try {
        outcome = { value: compute() };
      } catch (error) {
        outcome = { error };
      }
    }
    if ('error' in outcome) throw outcome.error;
    return outcome.value;
  };
}

function contextOf(target: Target, procfs: string): ScrapeContext {
  const location = once(target.locate);
  const context: ScrapeContext = { procfs, key: target.key, labels: target.labels, summary: {}, location, pids: once(() => readPids(location(), procfs)) };
  if (target.declaredMemoryReservationBytes !== undefined) context.declaredMemoryReservationBytes = target.declaredMemoryReservationBytes;
  if (target.declaredCpuReservationCores !== undefined) context.declaredCpuReservationCores = target.declaredCpuReservationCores;
  return context;
}

/** Told of each scrape's result before its callers get it; what it returns is awaited (it must be quick). */
export type ScrapeListener = (result: ScrapeResult) => void | Promise<void>;

export class Scraper {
  private inFlight: Promise<ScrapeResult> | undefined;
  private readonly listeners: ScrapeListener[] = [];
  private last: { result: ScrapeResult; atMs: number } | undefined;

  constructor(
    private readonly collectors: readonly Collector[],
    private readonly metrics: ScrapeMetrics,
    private readonly source: TargetSource,
    private readonly procfs: string,
    private readonly log: Logger,
  ) {}

  scrape(): Promise<ScrapeResult> {
    this.inFlight ??= this.run().then((result) => this.tell(result)).finally(() => { this.inFlight = undefined; });
    return this.inFlight;
  }

  /** The last result when it is at most maxAgeMs old, else a scrape (joining one under way). */
  result(maxAgeMs: number): Promise<ScrapeResult> {
    if (this.last && performance.now() - this.last.atMs <= maxAgeMs) return Promise.resolve(this.last.result);
    return this.scrape();
  }

  onResult(listener: ScrapeListener): void {
    this.listeners.push(listener);
  }

  private async tell(result: ScrapeResult): Promise<ScrapeResult> {
    this.last = { result, atMs: performance.now() };
    for (const listener of this.listeners) {
      try {
        await listener(result);
      } catch (error) {
        this.log.warn({ err: error instanceof Error ? error.message : String(error) }, 'a scrape listener failed');
      }
    }
    return result;
  }

  private async run(): Promise<ScrapeResult> {
    startSharedReadings();
    const targets = await this.source.targets();
    const contexts = targets.map((target) => contextOf(target, this.procfs));
    const gone = new Map(targets.map((target, index) => [contexts[index]!, target.isGone]));
    const outcomes: [string, CollectorOutcome][] = [];
    for (const collector of this.collectors) outcomes.push([collector.name, await this.runCollector(collector, contexts, gone)]);
    emptyMetric(this.metrics.cgroupInfo);
    // Host mode's containers have headroom_container_info instead (the budget is 30 series a container).
    for (const context of contexts.filter((candidate) => Object.keys(candidate.labels).length === 0)) {
      try {
        const location = context.location();
        this.metrics.cgroupInfo.set({ ...context.labels, path: location.path, mode: location.mode, cpu_usage: location.cpuUsage }, 1);
      } catch {
        // Already reported by every collector that needed it.
      }
    }
    const first = contexts[0];
    const result: ScrapeResult = { collectors: Object.fromEntries(outcomes), summary: first?.summary ?? {}, targets: contexts.map((context) => ({ labels: context.labels, summary: context.summary })) };
    try {
      if (first) result.location = first.location();
    } catch {
      // as above
    }
    return result;
  }

  private async runCollector(collector: Collector, contexts: readonly ScrapeContext[], gone: ReadonlyMap<ScrapeContext, (() => boolean) | undefined>): Promise<CollectorOutcome> {
    const started = performance.now();
    for (const metric of collector.metrics) emptyMetric(metric);
    const errors: string[] = [];
    for (const context of contexts) {
      try {
        await collector.collect(context);
      } catch (error) {
        for (const metric of collector.metrics) removeSeries(metric, context.labels); // nothing half-collected
        if (gone.get(context)?.()) continue; // removed mid-scrape: its series go, nothing failed
        const message = error instanceof Error ? error.message : String(error);
        const where = context.labels.container === undefined ? '' : `${context.labels.container}: `;
        this.log.warn({ collector: collector.name, ...context.labels, err: message }, 'collector failed');
        errors.push(`${where}${message}`);
      }
    }
    const outcome: CollectorOutcome = { success: errors.length === 0, durationSeconds: (performance.now() - started) / 1000 };
    if (errors.length > 0) outcome.error = errors.join('; ');
    this.metrics.collectorSuccess.set({ collector: collector.name }, outcome.success ? 1 : 0);
    this.metrics.collectorDuration.set({ collector: collector.name }, outcome.durationSeconds);
    return outcome;
  }
}
