// cpu: usage, limit, throttling and cpu_percent of the watched cgroup (v1 or v2), or of the host.
import { readCpu } from '../kernel/cpu.js';
import { setCounter } from '../metrics.js';
import type { CollectorDefinition } from './collector.js';
import { RateWindow } from './rate-window.js';

export const CPU_PERCENT_WINDOW_SECONDS = 60;

const wallClockSeconds = () => performance.timeOrigin / 1000 + performance.now() / 1000;

export const cpuCollector: CollectorDefinition = {
  name: 'cpu',
  description: 'CPU usage, limit and CFS throttling of the cgroup; cpu_percent of the limit.',
  define(metric, options) {
    const percent = metric.gauge('headroom_cpu_percent', `CPU used as a percent (0-100) of the effective CPU limit (of the host's CPUs where there is none), averaged over the last ${CPU_PERCENT_WINDOW_SECONDS} s of scrapes (since the first scrape until ${CPU_PERCENT_WINDOW_SECONDS} s have passed); independent of how many servers scrape.`);
    const usage = metric.counter('headroom_cpu_usage_seconds_total', 'CPU time consumed by the cgroup (see headroom_cgroup_info\'s cpu_usage label for where it is read).');
    const limit = metric.gauge('headroom_cpu_limit_cores', 'Effective CPU limit in cores (CFS quota / period, the smallest up the tree), or the host\'s CPU count where there is none.');
    const reservation = metric.gauge('headroom_cpu_reservation_cores', 'CPU reservation in cores: the declared CPU_RESERVATION (no cgroup file carries it).');
    const periods = metric.counter('headroom_cpu_cfs_periods_total', 'Elapsed CFS enforcement periods.');
    const throttledPeriods = metric.counter('headroom_cpu_cfs_throttled_periods_total', 'CFS periods in which the cgroup was throttled.');
    const throttledSeconds = metric.counter('headroom_cpu_cfs_throttled_seconds_total', 'Total time the cgroup was throttled.');
    const limitEnforced = metric.gauge('headroom_cpu_limit_enforced', 'Whether a CFS quota applies (1) or the host\'s CPU count stands in for it (0).');
    const now = options.now ?? wallClockSeconds;
    /** Per target: its rate window and the cgroup it was read from. */
    const windows = new Map<string, { window: RateWindow; source: string; seenAt: number }>();
    return (context) => {
      const location = context.location();
      const figures = readCpu(location, context.procfs);
      const atSeconds = now();
      // Another cgroup, or another way of reading it, is another counter: start the window over.
      const source = `${location.mode}:${location.controllers.cpuacct?.dir ?? ''}:${location.cpuUsage}`;
      let entry = windows.get(context.key);
      if (entry?.source !== source) {
        entry = { window: new RateWindow(CPU_PERCENT_WINDOW_SECONDS), source, seenAt: atSeconds };
        windows.set(context.key, entry);
      }
      entry.seenAt = atSeconds;
      // Targets not seen for two windows are gone (host mode: removed containers).
      for (const [key, other] of windows) if (atSeconds - other.seenAt > 2 * CPU_PERCENT_WINDOW_SECONDS) windows.delete(key);
      const coresUsed = entry.window.observe({ atSeconds, value: figures.usageSeconds });
      const { labels } = context;
      setCounter(usage, figures.usageSeconds, labels);
      limit.set(labels, figures.effectiveLimitCores);
      if (context.declaredCpuReservationCores !== undefined) reservation.set(labels, context.declaredCpuReservationCores);
      limitEnforced.set(labels, figures.limitEnforced ? 1 : 0);
      if (figures.throttling) {
        setCounter(periods, figures.throttling.periods, labels);
        setCounter(throttledPeriods, figures.throttling.throttledPeriods, labels);
        setCounter(throttledSeconds, figures.throttling.throttledSeconds, labels);
      }
      if (coresUsed !== undefined) {
        const value = (coresUsed / figures.effectiveLimitCores) * 100;
        percent.set(labels, value);
        context.summary.cpuPercent = value;
      }
    };
  },
};
