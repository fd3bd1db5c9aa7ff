// memory: usage, working set, limit, reservation and memory_percent of the watched cgroup (v1 or v2), or of the host.
import { readMemory } from '../kernel/memory.js';
import type { CollectorDefinition } from './collector.js';

export const memoryCollector: CollectorDefinition = {
  name: 'memory',
  description: 'Memory usage, working set, limit and reservation of the cgroup; memory_percent of the limit.',
  define(metric) {
    const percent = metric.gauge('headroom_memory_percent', 'Working set as a percent (0-100) of the effective memory limit, or of host memory where there is none.');
    const available = metric.gauge('headroom_memory_available_bytes', 'Effective memory limit minus working set; with no limit, the host\'s MemAvailable.');
    const usage = metric.gauge('headroom_memory_usage_bytes', 'Memory charged to the cgroup, page cache included.');
    const workingSet = metric.gauge('headroom_memory_working_set_bytes', 'Memory usage minus inactive file cache: what the kernel cannot reclaim easily.');
    const rss = metric.gauge('headroom_memory_rss_bytes', 'Anonymous memory (RSS) of the cgroup.');
    const cache = metric.gauge('headroom_memory_cache_bytes', 'Page cache of the cgroup.');
    const limit = metric.gauge('headroom_memory_limit_bytes', 'Effective memory limit: the smallest on the way up the cgroup tree, or host memory where there is none.');
    const reservation = metric.gauge('headroom_memory_reservation_bytes', 'Memory reservation: the cgroup\'s soft limit (v1) or memory.low (v2), else the declared MEMORY_RESERVATION.');
    const limitEnforced = metric.gauge('headroom_memory_limit_enforced', 'Whether a cgroup memory limit applies (1) or host memory stands in for it (0).');
    return (context) => {
      const figures = readMemory(context.location(), context.procfs);
      const { labels } = context;
      usage.set(labels, figures.usageBytes);
      workingSet.set(labels, figures.workingSetBytes);
      rss.set(labels, figures.rssBytes);
      cache.set(labels, figures.cacheBytes);
      limit.set(labels, figures.effectiveLimitBytes);
      const reservationBytes = figures.reservationBytes ?? context.declaredMemoryReservationBytes;
      if (reservationBytes !== undefined) reservation.set(labels, reservationBytes);
      available.set(labels, figures.availableBytes);
      percent.set(labels, figures.percent);
      limitEnforced.set(labels, figures.limitEnforced ? 1 : 0);
      Object.assign(context.summary, { memoryPercent: figures.percent, memoryAvailableBytes: figures.availableBytes });
    };
  },
};
