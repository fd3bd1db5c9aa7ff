// What every collector implements, and the per-scrape context they share.
import type { Metric } from 'prom-client';
import type { CgroupLocation } from '../cgroup/resolve.js';

export interface ScrapeSummary {
  cpuPercent?: number;
  memoryPercent?: number;
  memoryAvailableBytes?: number;
  memoryWorkingSetBytes?: number;
  memoryLimitBytes?: number;
  cpuLimitCores?: number;
}

export interface ScrapeContext {
  procfs: string;
  /** The cgroup location, resolved once per scrape. */
  location(): Promise<CgroupLocation>;
  /** Pids of the watched cgroup (all host processes where there is no cgroup), read once per scrape. */
  pids(): Promise<number[]>;
  /** Values /health reports, filled in by the collectors that measure them. */
  summary: ScrapeSummary;
}

export interface Collector {
  name: string;
  /** The metrics this collector sets; they are cleared before it runs so a failure leaves no stale values. */
  metrics: Metric[];
  collect(context: ScrapeContext): Promise<void>;
}
