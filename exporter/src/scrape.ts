// One scrape: resolve the cgroup once, run every collector, record each one's success and duration.
// Concurrent callers share the scrape in flight, so two Prometheus servers cost one read of the kernel files.
import type { Logger } from 'pino';
import type { Metric } from 'prom-client';
import { locateCgroup, type CgroupLocation } from './cgroup/resolve.js';
import type { Collector, ScrapeContext, ScrapeSummary } from './collectors/collector.js';
import { readCgroupPids } from './collectors/tasks.js';
import type { CollectorMetrics } from './metrics.js';

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

export class Scraper {
  private inFlight: Promise<ScrapeResult> | undefined;
  last: ScrapeResult | undefined;

  constructor(
    private readonly collectors: readonly Collector[],
    private readonly metrics: CollectorMetrics,
    private readonly target: TargetOptions,
    private readonly log: Logger,
  ) {}

  scrape(): Promise<ScrapeResult> {
    this.inFlight ??= this.run().finally(() => { this.inFlight = undefined; });
    return this.inFlight;
  }

  private async run(): Promise<ScrapeResult> {
    const { procfs, sysfs } = this.target;
    let locationPromise: Promise<CgroupLocation> | undefined;
    let pidsPromise: Promise<number[]> | undefined;
    const context: ScrapeContext = {
      procfs,
      summary: {},
      location: () => (locationPromise ??= locateCgroup({ procfs, sysfs, pid: this.target.pid ?? process.pid, explicitPath: this.target.cgroupPath })),
      pids: () => (pidsPromise ??= context.location().then((location) => readCgroupPids(location, procfs))),
    };
    this.metrics.cgroupInfo.reset();
    const outcomes = await Promise.all(this.collectors.map((collector) => this.runCollector(collector, context)));
    const result: ScrapeResult = { collectors: Object.fromEntries(outcomes), summary: context.summary };
    try {
      result.location = await context.location();
      this.metrics.cgroupInfo.set({ path: result.location.path, mode: result.location.mode }, 1);
    } catch {
      // Already reported by every collector that needed it.
    }
    this.last = result;
    return result;
  }

  /** Empties a metric. prom-client's reset() seeds an unlabelled metric with 0, which would publish a failed read as a real zero. */
  private static clear(metric: Metric): void {
    metric.reset();
    (metric as unknown as { hashMap: Record<string, unknown> }).hashMap = {};
  }

  private async runCollector(collector: Collector, context: ScrapeContext): Promise<[string, CollectorOutcome]> {
    const started = performance.now();
    for (const metric of collector.metrics) Scraper.clear(metric);
    let outcome: CollectorOutcome;
    try {
      await collector.collect(context);
      outcome = { success: true, durationSeconds: (performance.now() - started) / 1000 };
    } catch (error) {
      for (const metric of collector.metrics) Scraper.clear(metric); // nothing half-collected
      const message = error instanceof Error ? error.message : String(error);
      this.log.warn({ collector: collector.name, err: message }, 'collector failed');
      outcome = { success: false, durationSeconds: (performance.now() - started) / 1000, error: message };
    }
    this.metrics.collectorSuccess.set({ collector: collector.name }, outcome.success ? 1 : 0);
    this.metrics.collectorDuration.set({ collector: collector.name }, outcome.durationSeconds);
    return [collector.name, outcome];
  }
}
