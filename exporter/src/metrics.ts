// What the collectors share: the scrape's own metrics, and two ways around prom-client's model.
import { Gauge, type Counter, type Metric, type Registry } from 'prom-client';

export function createScrapeMetrics(registry: Registry, targetLabelNames: readonly string[] = []) {
  const gauge = (name: string, help: string, labelNames: string[]) => new Gauge({ name, help, labelNames, registers: [registry] });
  return {
    collectorSuccess: gauge('headroom_scrape_collector_success', 'Whether a collector succeeded (1) or failed (0) in this scrape.', ['collector']),
    collectorDuration: gauge('headroom_scrape_collector_duration_seconds', 'Time a collector took in this scrape.', ['collector']),
    cgroupInfo: gauge('headroom_cgroup_info', 'The watched cgroup: its path, the host\'s cgroup mode (v1, v2, hybrid, none) and where CPU usage is read (cgroup: its accounting counter; processes: summed from its processes, when v1 cpu and cpuacct place them in different cgroups). Always 1.', [...targetLabelNames, 'path', 'mode', 'cpu_usage']),
  };
}

export type ScrapeMetrics = ReturnType<typeof createScrapeMetrics>;

/** Sets a counter to a value read from the kernel (prom-client counters only increase; the scrape emptied it first). */
export function setCounter(counter: Counter, value: number, labels: Record<string, string> = {}): void {
  counter.inc(labels, Math.max(0, value));
}

/** The prom-client release emptyMetric() was checked against; a test fails when the installed one differs. */
export const PROM_CLIENT_VERSION_CHECKED = '15.1.3';

/**
 * Empties a metric. prom-client's reset() seeds an unlabelled metric with 0, which would publish a failed read
 * as a real zero; its values live in the private `hashMap`, emptied here.
 */
export function emptyMetric(metric: Metric): void {
  metric.reset();
  (metric as unknown as { hashMap: Record<string, unknown> }).hashMap = {};
}

/** Removes every series of a metric whose labels include all of `labels` (all of them for `{}`). */
export function removeSeries(metric: Metric, labels: Record<string, string>): void {
  const state = metric as unknown as { hashMap: Record<string, { labels: Record<string, string | number> }> };
  for (const [hash, entry] of Object.entries(state.hashMap)) {
    if (Object.entries(labels).every(([name, value]) => entry.labels[name] === value)) delete state.hashMap[hash];
  }
}
