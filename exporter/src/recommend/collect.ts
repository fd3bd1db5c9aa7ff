// Reads the recommender's usage figures for each instance (and, in host mode, each container) from Prometheus.
import type { Usage } from './decide.js';
import type { LimitUse } from './limits.js';
import type { PrometheusClient, Sample } from './prometheus.js';
import { formatDuration } from '../duration.js';
import { usageQueries, type SeriesFilter } from './queries.js';

export class NoDataError extends Error {}

/** What tells the sized series apart: the instance, and the container in host mode. */
function keyOf(labels: Record<string, string>): string {
  return JSON.stringify([labels.instance ?? '', labels.container ?? '']);
}

function byTarget(samples: Sample[]): Map<string, number> {
  return new Map(samples.map((sample) => [keyOf(sample.labels), sample.value]));
}

/** increase() extrapolates; any increase is at least one kill. */
function killCount(increase: number): number {
  return increase > 0 ? Math.max(1, Math.round(increase)) : 0;
}

function describe(filter: SeriesFilter): string {
  const parts = [
    filter.instance ? `instance ${JSON.stringify(filter.instance)}` : '',
    filter.container ? `container ${JSON.stringify(filter.container)}` : '',
    filter.composeService ? `compose service ${JSON.stringify(filter.composeService)}` : '',
    filter.composeProject ? `compose project ${JSON.stringify(filter.composeProject)}` : '',
  ].filter(Boolean);
  return parts.length === 0 ? '' : ` for ${parts.join(', ')}`;
}

/** Usage of every instance (and container) with data in the window, or of those the filter names, evaluated at `time` (default: now). */
export async function collectUsage(client: PrometheusClient, windowSeconds: number, filter: SeriesFilter = {}, time?: number): Promise<Usage[]> {
  const queries = usageQueries(filter, formatDuration(windowSeconds));
  const names = Object.keys(queries) as (keyof typeof queries)[];
  const evaluationTime = time ?? Date.now() / 1000;
  const results = await Promise.all(names.map(async (name) => [name, await client.query(queries[name], evaluationTime)] as const));
  const samples = Object.fromEntries(results) as Record<keyof typeof queries, Sample[]>;
  const values = Object.fromEntries(Object.entries(samples).map(([name, list]) => [name, byTarget(list)])) as Record<keyof typeof queries, Map<string, number>>;
  // Active users are the exporter's own figure: one per instance, whatever the container.
  const activeUsers = new Map(samples.activeUsers.map((sample) => [sample.labels.instance ?? '', sample.value]));

  const keys = [...values.memoryPeakBytes.keys()].filter((key) => values.cpuP95Cores.has(key)).sort();
  if (keys.length === 0) {
    throw new NoDataError(`no headroom CPU and memory history${describe(filter)} in the last ${formatDuration(windowSeconds)}`);
  }
  const finite = (value: number | undefined): number | null => (value === undefined || !Number.isFinite(value) ? null : value);
  /** The limits with a figure in the window: the limit now, its peak share and what was used at the peak. */
  const limitUses = (key: string): LimitUse[] => {
    const uses: LimitUse[] = [];
    const fds = [finite(values.fdsLimit.get(key)), finite(values.fdsPeakPercent.get(key)), finite(values.fdsPeakOpen.get(key))] as const;
    if (fds[0] !== null && fds[1] !== null && fds[2] !== null) {
      const command = samples.fdsLimit.find((sample) => keyOf(sample.labels) === key)?.labels.command;
      uses.push({ resource: 'nofile', limit: fds[0], peakPercent: fds[1], peakUsed: fds[2], ...(command ? { command } : {}) });
    }
    const pids = [finite(values.pidsLimit.get(key)), finite(values.pidsPeakPercent.get(key)), finite(values.pidsPeakTasks.get(key))] as const;
    if (pids[0] !== null && pids[1] !== null && pids[2] !== null) uses.push({ resource: 'pids', limit: pids[0], peakPercent: pids[1], peakUsed: pids[2] });
    return uses;
  };
  const composeServices = new Map(samples.memoryPeakBytes.map((sample) => [keyOf(sample.labels), sample.labels.compose_service ?? '']));
  const composeProjects = new Map(samples.memoryPeakBytes.map((sample) => [keyOf(sample.labels), sample.labels.compose_project ?? '']));
  return keys.map((key) => {
    const [instance, container] = JSON.parse(key) as [string, string];
    const usage: Usage = {
      instance,
      windowSeconds,
      historySeconds: Math.max(0, evaluationTime - (values.firstSampleTimestamp.get(key) ?? evaluationTime)),
      cpuP95Cores: values.cpuP95Cores.get(key)!,
      cpuPeakCores: finite(values.cpuPeakCores.get(key)) ?? 0,
      memoryPeakBytes: values.memoryPeakBytes.get(key)!,
      oomKills: killCount(finite(values.oomKills.get(key)) ?? 0),
      throttledSeconds: finite(values.throttledSeconds.get(key)) ?? 0,
      throttledPeriodsRatio: finite(values.throttledPeriodsRatio.get(key)),
      activeUsers: finite(activeUsers.get(instance)),
      cpuLimitCores: finite(values.cpuLimitCores.get(key)),
      memoryLimitBytes: finite(values.memoryLimitBytes.get(key)),
      limits: limitUses(key),
    };
    const cpuEnforced = finite(values.cpuLimitEnforced.get(key));
    const memoryEnforced = finite(values.memoryLimitEnforced.get(key));
    if (cpuEnforced !== null || memoryEnforced !== null) usage.limitsEnforced = { cpu: cpuEnforced === null ? null : cpuEnforced === 1, memory: memoryEnforced === null ? null : memoryEnforced === 1 };
    if (container !== '') usage.container = container;
    const composeService = composeServices.get(key);
    if (composeService) usage.composeService = composeService;
    const composeProject = composeProjects.get(key);
    if (composeProject) usage.composeProject = composeProject;
    return usage;
  });
}
