// cpu: usage, limit, throttling and cpu_percent of the watched cgroup (v1 or v2), or of the host.
import type { CollectorDefinition } from '../scrape/collector.js';
import { readCpu } from '../kernel/cpu.js';
import { counter, gauge } from '../scrape/samples.js';
import { RateWindow } from './rate-window.js';

export const CPU_PERCENT_WINDOW_SECONDS = 60;

export const CPU_PERCENT = gauge('headroom_cpu_percent', `CPU used as a percent (0-100) of the effective CPU limit (of the host's CPUs where there is none), averaged over the last ${CPU_PERCENT_WINDOW_SECONDS} s of scrapes (since the first scrape until ${CPU_PERCENT_WINDOW_SECONDS} s have passed); independent of how many servers scrape.`);
export const CPU_USAGE = counter('headroom_cpu_usage_seconds_total', 'CPU time consumed by the cgroup (see headroom_cgroup_info\'s cpu_usage label for where it is read).');
export const CPU_LIMIT = gauge('headroom_cpu_limit_cores', 'Effective CPU limit in cores (CFS quota / period, the smallest up the tree), or the host\'s CPU count where there is none.');
export const CPU_RESERVATION = gauge('headroom_cpu_reservation_cores', 'CPU reservation in cores: the declared CPU_RESERVATION (no cgroup file carries it).');
export const CPU_PERIODS = counter('headroom_cpu_cfs_periods_total', 'Elapsed CFS enforcement periods.');
export const CPU_THROTTLED_PERIODS = counter('headroom_cpu_cfs_throttled_periods_total', 'CFS periods in which the cgroup was throttled.');
const THROTTLED_SECONDS = counter('headroom_cpu_cfs_throttled_seconds_total', 'Total time the cgroup was throttled.');
export const CPU_LIMIT_ENFORCED = gauge('headroom_cpu_limit_enforced', 'Whether a CFS quota applies (1) or the host\'s CPU count stands in for it (0).');

const wallClockSeconds = () => performance.timeOrigin / 1000 + performance.now() / 1000;

export const cpuCollector: CollectorDefinition = {
  name: 'cpu',
  description: 'CPU usage, limit and CFS throttling of the cgroup; cpu_percent of the limit.',
  families: [CPU_PERCENT, CPU_USAGE, CPU_LIMIT, CPU_RESERVATION, CPU_PERIODS, CPU_THROTTLED_PERIODS, THROTTLED_SECONDS, CPU_LIMIT_ENFORCED],
  create(options) {
    const now = options.now ?? wallClockSeconds;
    /** Per target: its rate window and the cgroup it was read from. */
    const windows = new Map<string, { window: RateWindow; source: string; seenAt: number }>();
    return (reading, out) => {
      const location = reading.location();
      const figures = readCpu(location, reading.procfs, reading.readings);
      const atSeconds = now();
      // Another cgroup, or another way of reading it, is another counter: start the window over.
      const source = `${location.mode}:${location.controllers.cpuacct?.dir ?? ''}:${location.cpuUsage}`;
      const key = reading.target.key;
      let entry = windows.get(key);
      if (entry?.source !== source) {
        entry = { window: new RateWindow(CPU_PERCENT_WINDOW_SECONDS), source, seenAt: atSeconds };
        windows.set(key, entry);
      }
      entry.seenAt = atSeconds;
      // Targets not seen for two windows are gone (host mode: removed containers).
      for (const [other, { seenAt }] of windows) if (atSeconds - seenAt > 2 * CPU_PERCENT_WINDOW_SECONDS) windows.delete(other);
      const coresUsed = entry.window.observe({ atSeconds, value: figures.usageSeconds });
      out.add(CPU_USAGE, figures.usageSeconds);
      out.add(CPU_LIMIT, figures.effectiveLimitCores);
      const reservation = reading.target.declared.cpuReservationCores;
      if (reservation !== undefined) out.add(CPU_RESERVATION, reservation);
      out.add(CPU_LIMIT_ENFORCED, figures.limitEnforced ? 1 : 0);
      if (figures.throttling) {
        out.add(CPU_PERIODS, figures.throttling.periods);
        out.add(CPU_THROTTLED_PERIODS, figures.throttling.throttledPeriods);
        out.add(THROTTLED_SECONDS, figures.throttling.throttledSeconds);
      }
      if (coresUsed !== undefined) out.add(CPU_PERCENT, (coresUsed / figures.effectiveLimitCores) * 100);
    };
  },
};
