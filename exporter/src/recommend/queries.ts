// The PromQL the recommender reads a window of history with. The recording rules and the dashboards use
// the same builders, so Grafana shows the figures the CLI prints.

/** The window the recommender and its recording rules look back over by default. */
export const DEFAULT_WINDOW_SECONDS = 7 * 86400;

/** Window of rate() under the P95: the usual 5m of recording rules. */
export const RATE_WINDOW = '5m';
/** Resolution of the subqueries over the window (one P95 sample a minute). */
export const SUBQUERY_STEP = '1m';
export const CPU_QUANTILE = 0.95;

/** Which series to size: one instance, one container (host mode), both, or none for all of them. */
export interface SeriesFilter { instance?: string | undefined; container?: string | undefined; composeService?: string | undefined; composeProject?: string | undefined; /** Many hosts in one store: the `host` label. */ host?: string | undefined }

/** A label selector body such as `instance="host:9477",container="web"`; empty selects every series. */
export function seriesSelector(filter: SeriesFilter, withContainer = true): string {
  const matchers: string[] = [];
  if (filter.host) matchers.push(`host=${JSON.stringify(filter.host)}`);
  if (filter.instance) matchers.push(`instance=${JSON.stringify(filter.instance)}`);
  if (withContainer && filter.container) matchers.push(`container=${JSON.stringify(filter.container)}`);
  if (withContainer && filter.composeService) matchers.push(`compose_service=${JSON.stringify(filter.composeService)}`);
  if (withContainer && filter.composeProject) matchers.push(`compose_project=${JSON.stringify(filter.composeProject)}`);
  return matchers.join(',');
}

export interface UsageQueries {
  cpuP95Cores: string;
  cpuPeakCores: string;
  memoryPeakBytes: string;
  oomKills: string;
  throttledSeconds: string;
  throttledPeriodsRatio: string;
  activeUsers: string;
  firstSampleTimestamp: string;
  cpuLimitCores: string;
  memoryLimitBytes: string;
  /** 1 where a CFS quota (a memory limit) applies; 0 where the host's CPUs (memory) stand in for one. */
  cpuLimitEnforced: string;
  memoryLimitEnforced: string;
  /** The largest share of its soft RLIMIT_NOFILE a process held in the window, 0-100. */
  fdsPeakPercent: string;
  /** The descriptors of the process nearest its limit, at their peak. */
  fdsPeakOpen: string;
  /** The last soft limit of the process nearest it, with its command. */
  fdsLimit: string;
  pidsPeakPercent: string;
  pidsPeakTasks: string;
  pidsLimit: string;
}

/** `name{selector}`, or the bare name when the selector is empty. */
export function series(name: string, selector: string): string {
  return selector === '' ? name : `${name}{${selector}}`;
}

/**
 * Queries over `window` (a PromQL duration) for the series of `filter`. Each returns one sample per instance,
 * and per container in host mode; active users, the exporter's own, one per instance.
 */
export function usageQueries(filter: SeriesFilter, window: string): UsageQueries {
  const selector = seriesSelector(filter);
  const exporterSelector = seriesSelector(filter, false);
  const cpuRate = `rate(${series('headroom_cpu_usage_seconds_total', selector)}[${RATE_WINDOW}])`;
  return {
    cpuP95Cores: `quantile_over_time(${CPU_QUANTILE}, ${cpuRate}[${window}:${SUBQUERY_STEP}])`,
    cpuPeakCores: `max_over_time(${cpuRate}[${window}:${SUBQUERY_STEP}])`,
    memoryPeakBytes: `max_over_time(${series('headroom_memory_working_set_bytes', selector)}[${window}])`,
    // Host mode's count of the engine (across restarts, a kill of PID 1 included) where there is one, else the cgroup's.
    oomKills: `increase(${series('headroom_container_oom_kills_total', selector)}[${window}]) or increase(${series('headroom_memory_oom_kills_total', selector)}[${window}])`,
    throttledSeconds: `increase(${series('headroom_cpu_cfs_throttled_seconds_total', selector)}[${window}])`,
    throttledPeriodsRatio: `increase(${series('headroom_cpu_cfs_throttled_periods_total', selector)}[${window}]) / increase(${series('headroom_cpu_cfs_periods_total', selector)}[${window}])`,
    activeUsers: `max by (instance) (max_over_time(${series('headroom_statistics_active_users', exporterSelector)}[${window}]))`,
    firstSampleTimestamp: `min_over_time(timestamp(${series('headroom_memory_working_set_bytes', selector)})[${window}:${SUBQUERY_STEP}])`,
    cpuLimitCores: `${series('headroom_cpu_limit_cores', selector)}`,
    memoryLimitBytes: `${series('headroom_memory_limit_bytes', selector)}`,
    cpuLimitEnforced: `${series('headroom_cpu_limit_enforced', selector)}`,
    memoryLimitEnforced: `${series('headroom_memory_limit_enforced', selector)}`,
    fdsPeakPercent: `max_over_time(${series('headroom_fds_percent', selector)}[${window}])`,
    fdsPeakOpen: `max_over_time((${series('headroom_fds_percent', selector)} / 100 * ignoring (command) ${series('headroom_fds_limit', selector)})[${window}:${SUBQUERY_STEP}])`,
    fdsLimit: `last_over_time(${series('headroom_fds_limit', selector)}[${window}])`,
    pidsPeakPercent: `max_over_time(${series('headroom_pids_percent', selector)}[${window}])`,
    pidsPeakTasks: `max_over_time((${series('headroom_pids_percent', selector)} / 100 * ${series('headroom_pids_limit', selector)})[${window}:${SUBQUERY_STEP}])`,
    pidsLimit: `last_over_time(${series('headroom_pids_limit', selector)}[${window}])`,
  };
}
