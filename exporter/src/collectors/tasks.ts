// Processes and threads in the watched cgroup (all of the host's where there is no cgroup).
import path from 'node:path';
import { parseIdList, parseThreadCount } from '../cgroup/parse.js';
import { readOptionalText, readParsed } from '../cgroup/files.js';
import type { CgroupLocation, Hierarchy } from '../cgroup/resolve.js';
import type { CollectorMetrics } from '../metrics.js';
import type { Collector } from './collector.js';
import { readdir } from 'node:fs/promises';

/** The hierarchy whose cgroup.procs lists the watched processes. */
export function tasksHierarchy(location: CgroupLocation): Hierarchy | undefined {
  return location.controllers.pids ?? location.controllers.memory ?? location.controllers.cpuacct ?? location.unified;
}

export async function readCgroupPids(location: CgroupLocation, procfs: string): Promise<number[]> {
  const hierarchy = tasksHierarchy(location);
  if (!hierarchy) {
    const entries = await readdir(procfs);
    return entries.filter((entry) => /^\d+$/.test(entry)).map(Number);
  }
  return readParsed(hierarchy.dir, 'cgroup.procs', parseIdList);
}

async function countThreads(location: CgroupLocation, procfs: string, pids: number[]): Promise<number> {
  const hierarchy = tasksHierarchy(location);
  if (hierarchy) return (await readParsed(hierarchy.dir, hierarchy.version === 1 ? 'tasks' : 'cgroup.threads', parseIdList)).length;
  let threads = 0;
  for (const pid of pids) {
    const status = await readOptionalText(path.join(procfs, String(pid), 'status'));
    if (status !== undefined) threads += parseThreadCount(status); // a process that exited meanwhile counts for nothing
  }
  return threads;
}

export function tasksCollector(metrics: CollectorMetrics): Collector {
  return {
    name: 'tasks',
    metrics: [metrics.processes, metrics.threads],
    async collect(context) {
      const location = await context.location();
      const pids = await context.pids();
      metrics.processes.set(pids.length);
      metrics.threads.set(await countThreads(location, context.procfs, pids));
    },
  };
}

