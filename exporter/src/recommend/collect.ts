// Reads the recommender's usage figures for each instance from Prometheus.
import type { Usage } from './decide.js';
import type { PrometheusClient, Sample } from './prometheus.js';
import { formatDuration } from '../duration.js';
import { instanceSelector, usageQueries } from './queries.js';

export class NoDataError extends Error {}

function byInstance(samples: Sample[]): Map<string, number> {
  return new Map(samples.map((sample) => [sample.labels.instance ?? '', sample.value]));
}

/** increase() extrapolates; any increase is at least one kill. */
function killCount(increase: number): number {
  return increase > 0 ? Math.max(1, Math.round(increase)) : 0;
}

/** Usage of every instance with data in the window (or of `instance` alone), evaluated at `time` (default: now). */
export async function collectUsage(client: PrometheusClient, windowSeconds: number, instance?: string, time?: number): Promise<Usage[]> {
  const queries = usageQueries(instanceSelector(instance), formatDuration(windowSeconds));
  const names = Object.keys(queries) as (keyof typeof queries)[];
  const evaluationTime = time ?? Date.now() / 1000;
  const results = await Promise.all(names.map(async (name) => [name, byInstance(await client.query(queries[name], evaluationTime))] as const));
  const values = Object.fromEntries(results) as Record<keyof typeof queries, Map<string, number>>;

  const instances = [...values.memoryPeakBytes.keys()].filter((key) => values.cpuP95Cores.has(key)).sort();
  if (instances.length === 0) {
    throw new NoDataError(`no headroom CPU and memory history${instance ? ` for instance ${JSON.stringify(instance)}` : ''} in the last ${formatDuration(windowSeconds)}`);
  }
  const finite = (value: number | undefined): number | null => (value === undefined || !Number.isFinite(value) ? null : value);
  return instances.map((key) => ({
    instance: key,
    windowSeconds,
    historySeconds: Math.max(0, evaluationTime - (values.firstSampleTimestamp.get(key) ?? evaluationTime)),
    cpuP95Cores: values.cpuP95Cores.get(key)!,
    cpuPeakCores: finite(values.cpuPeakCores.get(key)) ?? 0,
    memoryPeakBytes: values.memoryPeakBytes.get(key)!,
    oomKills: killCount(finite(values.oomKills.get(key)) ?? 0),
    throttledSeconds: finite(values.throttledSeconds.get(key)) ?? 0,
    throttledPeriodsRatio: finite(values.throttledPeriodsRatio.get(key)),
    activeUsers: finite(values.activeUsers.get(key)),
    cpuLimitCores: finite(values.cpuLimitCores.get(key)),
    memoryLimitBytes: finite(values.memoryLimitBytes.get(key)),
  }));
}
