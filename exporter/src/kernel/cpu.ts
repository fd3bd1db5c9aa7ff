// CPU of a cgroup (v1 or v2), or of the host where there is none: usage, limit and CFS throttling.
import path from 'node:path';
import { smallestLimitUpTheTree, type CgroupLocation, type Hierarchy } from './cgroup.js';
import { readHostCpu } from './host.js';
import { parseFlatKeyed, parseInteger, parseV1CpuLimit, parseV2CpuMax, requireKey, USER_HZ } from './parse.js';
import { readCgroupProcs, readProcessStats } from './processes.js';
import { readKernelFile, readParsed, type Readings } from './read.js';

export interface Throttling { periods: number; throttledPeriods: number; throttledSeconds: number }

export interface CpuFigures {
  usageSeconds: number;
  /** The cgroup's quota in cores, or the host's CPU count where there is none (then `limitEnforced` is false). */
  effectiveLimitCores: number;
  limitEnforced: boolean;
  /** undefined: the kernel keeps no CFS statistics for this cgroup. */
  throttling?: Throttling;
}

function readAccountedUsage(hierarchy: Hierarchy): number {
  if (hierarchy.version === 1) return readParsed(hierarchy.dir, 'cpuacct.usage', parseInteger) / 1e9;
  return requireKey(readParsed(hierarchy.dir, 'cpu.stat', parseFlatKeyed), 'usage_usec', 'cpu.stat') / 1e6;
}

/**
 * CPU time of the processes in a cgroup: their own and that of the children they waited for, so the sum does
 * not drop when a child exits. It drops when a process exits that nothing in the cgroup waits for: Prometheus
 * takes that as a counter reset.
 */
function readProcessesUsage(hierarchy: Hierarchy, procfs: string): number {
  const ticks = readProcessStats(procfs, readCgroupProcs(hierarchy)).reduce((sum, stat) => sum + stat.cpuTicks + stat.childCpuTicks, 0);
  return ticks / USER_HZ;
}

function readQuota(hierarchy: Hierarchy, readings: Readings): { limitCores: number | null; throttling?: Throttling } {
  const stat = readParsed(hierarchy.dir, 'cpu.stat', parseFlatKeyed);
  const has = stat.has('nr_periods');
  if (hierarchy.version === 1) {
    const limitCores = smallestLimitUpTheTree(hierarchy, (at) => parseV1CpuLimit(readKernelFile(`${at}/cpu.cfs_quota_us`), readKernelFile(`${at}/cpu.cfs_period_us`)), 'cpu.cfs_quota_us', readings);
    if (!has) return { limitCores };
    return { limitCores, throttling: { periods: stat.get('nr_periods')!, throttledPeriods: requireKey(stat, 'nr_throttled', 'cpu.stat'), throttledSeconds: requireKey(stat, 'throttled_time', 'cpu.stat') / 1e9 } };
  }
  const limitCores = smallestLimitUpTheTree(hierarchy, (at) => readParsed(at, 'cpu.max', parseV2CpuMax), 'cpu.max', readings);
  if (!has) return { limitCores };
  return { limitCores, throttling: { periods: stat.get('nr_periods')!, throttledPeriods: requireKey(stat, 'nr_throttled', 'cpu.stat'), throttledSeconds: requireKey(stat, 'throttled_usec', 'cpu.stat') / 1e6 } };
}

/** The watched cgroup's CPU against its quota (see CgroupLocation.cpuUsage); the host's where no controller applies. */
export function readCpu(location: CgroupLocation, procfs: string, readings: Readings = {}): CpuFigures {
  const { cpuacct, cpu } = location.controllers;
  if (!cpuacct) {
    const host = readHostCpu(procfs);
    return { usageSeconds: host.busySeconds, effectiveLimitCores: host.cpuCount, limitEnforced: false };
  }
  const usageSeconds = location.cpuUsage === 'processes' && cpu ? readProcessesUsage(cpu, procfs) : readAccountedUsage(cpuacct);
  const quota = cpu ? readQuota(cpu, readings) : { limitCores: null };
  const effectiveLimitCores = quota.limitCores ?? readHostCpu(procfs).cpuCount;
  const figures: CpuFigures = { usageSeconds, effectiveLimitCores, limitEnforced: quota.limitCores !== null };
  if (quota.throttling) figures.throttling = quota.throttling;
  return figures;
}
