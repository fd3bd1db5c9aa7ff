// Memory usage, working set, limit and reservation of the watched cgroup (v1 or v2), or of the host.
import { parseV1MemoryLimit, parseV2MemoryLimit, requireKey } from '../cgroup/parse.js';
import { readFlatKeyed, readInteger, readParsed, smallestLimitUpTheTree } from '../cgroup/files.js';
import type { Hierarchy } from '../cgroup/resolve.js';
import type { CollectorMetrics } from '../metrics.js';
import type { Collector } from './collector.js';
import { readHostMemory } from './host.js';

export interface MemoryReading {
  usageBytes: number;
  workingSetBytes: number;
  rssBytes: number;
  cacheBytes: number;
  /** null: no cgroup limit. */
  limitBytes: number | null;
  /** null: the cgroup carries none. */
  reservationBytes: number | null;
}

export async function readCgroupMemory(hierarchy: Hierarchy): Promise<MemoryReading> {
  const { dir, version } = hierarchy;
  if (version === 1) {
    const [usageBytes, stat, limitBytes, softLimit] = await Promise.all([
      readInteger(dir, 'memory.usage_in_bytes'),
      readFlatKeyed(dir, 'memory.stat'),
      smallestLimitUpTheTree(hierarchy, (at) => readParsed(at, 'memory.limit_in_bytes', parseV1MemoryLimit)),
      readParsed(dir, 'memory.soft_limit_in_bytes', parseV1MemoryLimit),
    ]);
    const inactiveFile = requireKey(stat, 'total_inactive_file', 'memory.stat');
    return {
      usageBytes,
      workingSetBytes: Math.max(0, usageBytes - inactiveFile),
      rssBytes: requireKey(stat, 'total_rss', 'memory.stat'),
      cacheBytes: requireKey(stat, 'total_cache', 'memory.stat'),
      limitBytes,
      reservationBytes: softLimit,
    };
  }
  const [usageBytes, stat, limitBytes, low] = await Promise.all([
    readInteger(dir, 'memory.current'),
    readFlatKeyed(dir, 'memory.stat'),
    smallestLimitUpTheTree(hierarchy, (at) => readParsed(at, 'memory.max', parseV2MemoryLimit)),
    readParsed(dir, 'memory.low', parseV2MemoryLimit),
  ]);
  const inactiveFile = requireKey(stat, 'inactive_file', 'memory.stat');
  return {
    usageBytes,
    workingSetBytes: Math.max(0, usageBytes - inactiveFile),
    rssBytes: requireKey(stat, 'anon', 'memory.stat'),
    cacheBytes: requireKey(stat, 'file', 'memory.stat'),
    limitBytes,
    reservationBytes: low === null || low === 0 ? null : low,
  };
}

export function memoryCollector(metrics: CollectorMetrics, declaredReservationBytes: number): Collector {
  return {
    name: 'memory',
    metrics: [metrics.memoryPercent, metrics.memoryAvailable, metrics.memoryUsage, metrics.memoryWorkingSet, metrics.memoryRss, metrics.memoryCache, metrics.memoryLimit, metrics.memoryReservation],
    async collect(context) {
      const hierarchy = (await context.location()).controllers.memory;
      let reading: MemoryReading;
      let availableWithoutLimit: () => Promise<{ limitBytes: number; availableBytes: number }>;
      if (hierarchy) {
        reading = await readCgroupMemory(hierarchy);
        availableWithoutLimit = async () => {
          const host = await readHostMemory(context.procfs);
          return { limitBytes: host.totalBytes, availableBytes: host.availableBytes };
        };
      } else {
        const host = await readHostMemory(context.procfs);
        const workingSetBytes = host.totalBytes - host.availableBytes;
        reading = { usageBytes: host.totalBytes - host.freeBytes, workingSetBytes, rssBytes: host.anonBytes, cacheBytes: host.cacheBytes, limitBytes: null, reservationBytes: null };
        availableWithoutLimit = async () => ({ limitBytes: host.totalBytes, availableBytes: host.availableBytes });
      }
      const { limitBytes, availableBytes } = reading.limitBytes !== null
        ? { limitBytes: reading.limitBytes, availableBytes: Math.max(0, reading.limitBytes - reading.workingSetBytes) }
        : await availableWithoutLimit();
      const percent = (reading.workingSetBytes / limitBytes) * 100;
      metrics.memoryUsage.set(reading.usageBytes);
      metrics.memoryWorkingSet.set(reading.workingSetBytes);
      metrics.memoryRss.set(reading.rssBytes);
      metrics.memoryCache.set(reading.cacheBytes);
      metrics.memoryLimit.set(limitBytes);
      metrics.memoryReservation.set(reading.reservationBytes ?? declaredReservationBytes);
      metrics.memoryAvailable.set(availableBytes);
      metrics.memoryPercent.set(percent);
      metrics.limitEnforced.set({ resource: 'memory' }, reading.limitBytes !== null ? 1 : 0);
      Object.assign(context.summary, { memoryPercent: percent, memoryAvailableBytes: availableBytes, memoryWorkingSetBytes: reading.workingSetBytes, memoryLimitBytes: limitBytes });
    },
  };
}
