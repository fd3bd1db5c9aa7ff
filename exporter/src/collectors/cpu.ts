// CPU usage, limit, throttling and cpu_percent of the watched cgroup (v1 or v2), or of the host.
import { parseV1CpuLimit, parseV2CpuMax, requireKey } from '../cgroup/parse.js';
import { readFlatKeyed, readInteger, readParsed, readText, smallestLimitUpTheTree } from '../cgroup/files.js';
import type { CgroupLocation } from '../cgroup/resolve.js';
import { setCounter, type CollectorMetrics } from '../metrics.js';
import type { Collector } from './collector.js';
import { readHostCpu } from './host.js';
import { RateWindow } from './rate-window.js';
import path from 'node:path';

export const CPU_PERCENT_WINDOW_SECONDS = 60;

export interface Throttling { periods: number; throttledPeriods: number; throttledSeconds: number }

export interface CpuReading {
  usageSeconds: number;
  /** null: no quota. */
  limitCores: number | null;
  /** undefined: the kernel keeps no CFS statistics for this cgroup. */
  throttling?: Throttling;
}

export async function readCgroupCpu(location: CgroupLocation): Promise<CpuReading | undefined> {
  const usage = location.controllers.cpuacct;
  const quota = location.controllers.cpu;
  if (!usage) return undefined;
  let usageSeconds: number;
  if (usage.version === 1) usageSeconds = (await readInteger(usage.dir, 'cpuacct.usage')) / 1e9;
  else usageSeconds = requireKey(await readFlatKeyed(usage.dir, 'cpu.stat'), 'usage_usec', 'cpu.stat') / 1e6;
  if (!quota) return { usageSeconds, limitCores: null };
  let limitCores: number | null;
  let throttling: Throttling | undefined;
  const stat = await readFlatKeyed(quota.dir, 'cpu.stat');
  if (quota.version === 1) {
    limitCores = await smallestLimitUpTheTree(quota, async (at) => parseV1CpuLimit(await readText(path.join(at, 'cpu.cfs_quota_us')), await readText(path.join(at, 'cpu.cfs_period_us'))));
    if (stat.has('nr_periods')) {
      throttling = { periods: stat.get('nr_periods')!, throttledPeriods: requireKey(stat, 'nr_throttled', 'cpu.stat'), throttledSeconds: requireKey(stat, 'throttled_time', 'cpu.stat') / 1e9 };
    }
  } else {
    limitCores = await smallestLimitUpTheTree(quota, (at) => readParsed(at, 'cpu.max', parseV2CpuMax));
    if (stat.has('nr_periods')) {
      throttling = { periods: stat.get('nr_periods')!, throttledPeriods: requireKey(stat, 'nr_throttled', 'cpu.stat'), throttledSeconds: requireKey(stat, 'throttled_usec', 'cpu.stat') / 1e6 };
    }
  }
  return throttling ? { usageSeconds, limitCores, throttling } : { usageSeconds, limitCores };
}

export function cpuCollector(metrics: CollectorMetrics, declaredReservationCores: number, now: () => number = () => performance.timeOrigin / 1000 + performance.now() / 1000): Collector {
  const window = new RateWindow(CPU_PERCENT_WINDOW_SECONDS);
  let windowKey = '';
  return {
    name: 'cpu',
    metrics: [metrics.cpuPercent, metrics.cpuUsage, metrics.cpuLimit, metrics.cpuReservation, metrics.cpuPeriods, metrics.cpuThrottledPeriods, metrics.cpuThrottledSeconds],
    async collect(context) {
      const location = await context.location();
      const cgroupReading = await readCgroupCpu(location);
      let reading: CpuReading;
      let hostCpuCount: (() => Promise<number>);
      if (cgroupReading) {
        reading = cgroupReading;
        hostCpuCount = async () => (await readHostCpu(context.procfs)).cpuCount;
      } else {
        const host = await readHostCpu(context.procfs);
        reading = { usageSeconds: host.busySeconds, limitCores: null };
        hostCpuCount = async () => host.cpuCount;
      }
      const limitCores = reading.limitCores ?? (await hostCpuCount());
      const key = `${location.mode}:${location.controllers.cpuacct?.dir ?? ''}`;
      if (key !== windowKey) { window.reset(); windowKey = key; }
      const coresUsed = window.observe({ atSeconds: now(), value: reading.usageSeconds });
      setCounter(metrics.cpuUsage, reading.usageSeconds);
      metrics.cpuLimit.set(limitCores);
      metrics.cpuReservation.set(declaredReservationCores);
      metrics.limitEnforced.set({ resource: 'cpu' }, reading.limitCores !== null ? 1 : 0);
      if (reading.throttling) {
        setCounter(metrics.cpuPeriods, reading.throttling.periods);
        setCounter(metrics.cpuThrottledPeriods, reading.throttling.throttledPeriods);
        setCounter(metrics.cpuThrottledSeconds, reading.throttling.throttledSeconds);
      }
      context.summary.cpuLimitCores = limitCores;
      if (coresUsed !== undefined) {
        const percent = (coresUsed / limitCores) * 100;
        metrics.cpuPercent.set(percent);
        context.summary.cpuPercent = percent;
      }
    },
  };
}
