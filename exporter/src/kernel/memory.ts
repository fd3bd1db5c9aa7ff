// Memory of a cgroup (v1 or v2), or of the host where there is none: usage, working set, limit, reservation, OOM kills.
import { smallestLimitUpTheTree, type CgroupLocation, type Hierarchy } from './cgroup.js';
import { readHostMemory, readHostOomKills, type HostMemory } from './host.js';
import { parseFlatKeyed, parseInteger, parseV1MemoryLimit, parseV2MemoryLimit, requireKey } from './parse.js';
import { readParsed, readThrough, type Readings } from './read.js';

export interface CgroupMemory {
  usageBytes: number;
  workingSetBytes: number;
  rssBytes: number;
  cacheBytes: number;
  /** null: no cgroup limit. */
  limitBytes: number | null;
  /** null: the cgroup carries none. */
  reservationBytes: number | null;
}

/** Where each figure lives in the two cgroup versions (the kernel's cgroup-v1/memory.rst and cgroup-v2.rst). */
const MEMORY_FILES = {
  1: { usage: 'memory.usage_in_bytes', limit: 'memory.limit_in_bytes', reservation: 'memory.soft_limit_in_bytes', parseLimit: parseV1MemoryLimit, inactiveFile: 'total_inactive_file', rss: 'total_rss', cache: 'total_cache' },
  2: { usage: 'memory.current', limit: 'memory.max', reservation: 'memory.low', parseLimit: parseV2MemoryLimit, inactiveFile: 'inactive_file', rss: 'anon', cache: 'file' },
} as const;

export function readCgroupMemory(hierarchy: Hierarchy, readings: Readings = {}): CgroupMemory {
  const files = MEMORY_FILES[hierarchy.version];
  const usageBytes = readParsed(hierarchy.dir, files.usage, parseInteger);
  const stat = readParsed(hierarchy.dir, 'memory.stat', parseFlatKeyed);
  const limitBytes = smallestLimitUpTheTree(hierarchy, (at) => readParsed(at, files.limit, files.parseLimit), files.limit, readings);
  const reservation = readThrough(readings.limits, files.reservation, () => readParsed(hierarchy.dir, files.reservation, files.parseLimit));
  return {
    usageBytes,
    workingSetBytes: Math.max(0, usageBytes - requireKey(stat, files.inactiveFile, 'memory.stat')),
    rssBytes: requireKey(stat, files.rss, 'memory.stat'),
    cacheBytes: requireKey(stat, files.cache, 'memory.stat'),
    limitBytes,
    // v2's memory.low is 0 when unset, v1's soft limit the unlimited sentinel: neither is a reservation.
    reservationBytes: reservation === 0 ? null : reservation,
  };
}

export interface MemoryFigures extends CgroupMemory {
  /** The cgroup's limit, or host memory where there is none (then `limitEnforced` is false). */
  effectiveLimitBytes: number;
  limitEnforced: boolean;
  /** Effective limit minus working set; with no limit, the host's MemAvailable. */
  availableBytes: number;
  /** Working set as a percent of the effective limit. */
  percent: number;
}

/** The watched cgroup's memory against its limit; the host's where no memory controller applies. */
export function readMemory(location: CgroupLocation, procfs: string, readings: Readings = {}): MemoryFigures {
  const hierarchy = location.controllers.memory;
  let hostReading: HostMemory | undefined;
  const hostMemory = () => (hostReading ??= readHostMemory(procfs));
  let reading: CgroupMemory;
  if (hierarchy) {
    reading = readCgroupMemory(hierarchy, readings);
  } else {
    const host = hostMemory();
    reading = { usageBytes: host.totalBytes - host.freeBytes, workingSetBytes: host.totalBytes - host.availableBytes, rssBytes: host.anonBytes, cacheBytes: host.cacheBytes, limitBytes: null, reservationBytes: null };
  }
  let effectiveLimitBytes: number;
  let availableBytes: number;
  if (reading.limitBytes !== null) {
    effectiveLimitBytes = reading.limitBytes;
    availableBytes = Math.max(0, reading.limitBytes - reading.workingSetBytes);
  } else {
    const host = hostMemory();
    effectiveLimitBytes = host.totalBytes;
    availableBytes = host.availableBytes;
  }
  return { ...reading, effectiveLimitBytes, limitEnforced: reading.limitBytes !== null, availableBytes, percent: (reading.workingSetBytes / effectiveLimitBytes) * 100 };
}

/** Processes the OOM killer killed in the cgroup (v1 memory.oom_control, v2 memory.events), or on the host. */
export function readOomKills(location: CgroupLocation, procfs: string): number {
  const hierarchy = location.controllers.memory;
  if (!hierarchy) return readHostOomKills(procfs);
  const file = hierarchy.version === 1 ? 'memory.oom_control' : 'memory.events';
  return requireKey(readParsed(hierarchy.dir, file, parseFlatKeyed), 'oom_kill', file);
}
