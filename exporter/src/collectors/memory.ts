// memory: usage, working set, limit, reservation and memory_percent of the watched cgroup (v1 or v2), or of the host.
import type { CollectorDefinition } from '../scrape/collector.js';
import { readMemory } from '../kernel/memory.js';
import { gauge } from '../scrape/samples.js';

export const MEMORY_PERCENT = gauge('headroom_memory_percent', 'Working set as a percent (0-100) of the effective memory limit, or of host memory where there is none.');
export const MEMORY_AVAILABLE = gauge('headroom_memory_available_bytes', 'Effective memory limit minus working set; with no limit, the host\'s MemAvailable.');
const USAGE = gauge('headroom_memory_usage_bytes', 'Memory charged to the cgroup, page cache included.');
export const MEMORY_WORKING_SET = gauge('headroom_memory_working_set_bytes', 'Memory usage minus inactive file cache: what the kernel cannot reclaim easily.');
const RSS = gauge('headroom_memory_rss_bytes', 'Anonymous memory (RSS) of the cgroup.');
const CACHE = gauge('headroom_memory_cache_bytes', 'Page cache of the cgroup.');
export const MEMORY_LIMIT = gauge('headroom_memory_limit_bytes', 'Effective memory limit: the smallest on the way up the cgroup tree, or host memory where there is none.');
export const MEMORY_RESERVATION = gauge('headroom_memory_reservation_bytes', 'Memory reservation: the cgroup\'s soft limit (v1) or memory.low (v2), else the declared MEMORY_RESERVATION.');
export const MEMORY_LIMIT_ENFORCED = gauge('headroom_memory_limit_enforced', 'Whether a cgroup memory limit applies (1) or host memory stands in for it (0).');

export const memoryCollector: CollectorDefinition = {
  name: 'memory',
  description: 'Memory usage, working set, limit and reservation of the cgroup; memory_percent of the limit.',
  families: [MEMORY_PERCENT, MEMORY_AVAILABLE, USAGE, MEMORY_WORKING_SET, RSS, CACHE, MEMORY_LIMIT, MEMORY_RESERVATION, MEMORY_LIMIT_ENFORCED],
  create: () => (reading, out) => {
    const figures = readMemory(reading.location(), reading.procfs, reading.readings);
    out.add(MEMORY_PERCENT, figures.percent);
    out.add(MEMORY_AVAILABLE, figures.availableBytes);
    out.add(USAGE, figures.usageBytes);
    out.add(MEMORY_WORKING_SET, figures.workingSetBytes);
    out.add(RSS, figures.rssBytes);
    out.add(CACHE, figures.cacheBytes);
    out.add(MEMORY_LIMIT, figures.effectiveLimitBytes);
    const reservationBytes = figures.reservationBytes ?? reading.target.declared.memoryReservationBytes;
    if (reservationBytes !== undefined) out.add(MEMORY_RESERVATION, reservationBytes);
    out.add(MEMORY_LIMIT_ENFORCED, figures.limitEnforced ? 1 : 0);
  },
};
