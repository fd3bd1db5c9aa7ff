// One scrape: resolve the cgroup once, run every collector, record each one's success and duration.
// Concurrent callers share the scrape in flight, so two Prometheus servers cost one read of the kernel files.
import type { Logger } from 'pino';
import type { Collector, ScrapeContext, ScrapeSummary } from './collectors/collector.js';
import { locateCgroup, type CgroupLocation } from './kernel/cgroup.js';
import { readPids } from './kernel/processes.js';
import { emptyMetric, type ScrapeMetrics } from './metrics.js';

export interface CollectorOutcome { success: boolean; durationSeconds: number; error?: string }

export interface ScrapeResult {
  collectors: Record<string, CollectorOutcome>;
  summary: ScrapeSummary;
  location?: CgroupLocation;
}

export interface TargetOptions {
  procfs: string;
  sysfs: string;
  /** Defaults to the exporter's own pid. */
  pid?: number;
  cgroupPath?: string;
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

export class Scraper {
  private inFlight: Promise<ScrapeResult> | undefined;

  constructor(
    private readonly collectors: readonly Collector[],
    private readonly metrics: ScrapeMetrics,
    private readonly target: TargetOptions,
    private readonly log: Logger,
  ) {}

  scrape(): Promise<ScrapeResult> {
    this.inFlight ??= this.run().finally(() => { this.inFlight = undefined; });
    return this.inFlight;
  }

  private async run(): Promise<ScrapeResult> {
    const { procfs, sysfs } = this.target;
    const location = once(() => locateCgroup({ procfs, sysfs, pid: this.target.pid ?? process.pid, explicitPath: this.target.cgroupPath }));
    const context: ScrapeContext = { procfs, summary: {}, location, pids: once(() => readPids(location(), procfs)) };
    this.metrics.cgroupInfo.reset();
    const outcomes: [string, CollectorOutcome][] = [];
    for (const collector of this.collectors) outcomes.push([collector.name, await this.runCollector(collector, context)]);
    const result: ScrapeResult = { collectors: Object.fromEntries(outcomes), summary: context.summary };
    try {
      result.location = location();
      this.metrics.cgroupInfo.set({ path: result.location.path, mode: result.location.mode, cpu_usage: result.location.cpuUsage }, 1);
    } catch {
      // Already reported by every collector that needed it.
    }
    return result;
  }

  private async runCollector(collector: Collector, context: ScrapeContext): Promise<CollectorOutcome> {
    const started = performance.now();
    for (const metric of collector.metrics) emptyMetric(metric);
    let outcome: CollectorOutcome;
    try {
      await collector.collect(context);
      outcome = { success: true, durationSeconds: (performance.now() - started) / 1000 };
    } catch (error) {
      for (const metric of collector.metrics) emptyMetric(metric); // nothing half-collected
      const message = error instanceof Error ? error.message : String(error);
      this.log.warn({ collector: collector.name, err: message }, 'collector failed');
      outcome = { success: false, durationSeconds: (performance.now() - started) / 1000, error: message };
    }
    this.metrics.collectorSuccess.set({ collector: collector.name }, outcome.success ? 1 : 0);
    this.metrics.collectorDuration.set({ collector: collector.name }, outcome.durationSeconds);
    return outcome;
  }
}
