// The processes of a cgroup (or of the host where there is none): their pids, their thread count and
// each one's /proc/<pid>/stat. /proc shows the exporter's own PID namespace: share the watched
// application's (compose `pid: service:NAME`) to see its processes.
import { readdirSync } from 'node:fs';
import path from 'node:path';
import type { CgroupLocation, Hierarchy } from './cgroup.js';
import { FormatError, parseIdList, parseProcessStat, parseThreadCount, type ProcessStat } from './parse.js';
import { readParsed, readProcessFile } from './read.js';

/** The hierarchy whose cgroup.procs lists the watched processes. */
export function tasksHierarchy(location: CgroupLocation): Hierarchy | undefined {
  return location.controllers.pids ?? location.controllers.memory ?? location.controllers.cpuacct ?? location.unified;
}

/** Pids in a cgroup's cgroup.procs. */
export function readCgroupProcs(hierarchy: Hierarchy): number[] {
  return readParsed(hierarchy.dir, 'cgroup.procs', parseIdList, { allowEmpty: true });
}

/** Pids of the watched cgroup; every pid under procfs where there is none. */
export function readPids(location: CgroupLocation, procfs: string): number[] {
  const hierarchy = tasksHierarchy(location);
  if (hierarchy) return readCgroupProcs(hierarchy);
  return readdirSync(procfs).filter((entry) => /^\d+$/.test(entry)).map(Number);
}

/** Threads of the watched cgroup (v1 tasks, v2 cgroup.threads); the sum over `pids` where there is none. */
export function readThreadCount(location: CgroupLocation, procfs: string, pids: readonly number[]): number {
  const hierarchy = tasksHierarchy(location);
  if (hierarchy) {
    const file = hierarchy.version === 1 ? 'tasks' : 'cgroup.threads';
    const threads = readParsed(hierarchy.dir, file, parseIdList, { allowEmpty: true }).length;
    // Empty while cgroup.procs listed processes: they exited meanwhile (a container stopping), unless they are still listed.
    if (threads === 0 && pids.length > 0 && readCgroupProcs(hierarchy).length > 0) {
      throw new FormatError(`${path.join(hierarchy.dir, file)} is empty while cgroup.procs lists ${pids.length} processes`);
    }
    return threads;
  }
  let threads = 0;
  for (const pid of pids) {
    const status = readProcessFile(path.join(procfs, String(pid), 'status'));
    if (status !== undefined) threads += parseThreadCount(status); // a process that exited meanwhile counts for nothing
  }
  return threads;
}

/** /proc/<pid>/stat of each pid; a process that exited between the listing and the read is left out. */
export function readProcessStats(procfs: string, pids: readonly number[]): ProcessStat[] {
  const stats: ProcessStat[] = [];
  for (const pid of pids) {
    const file = `${procfs}/${pid}/stat`;
    const text = readProcessFile(file, { oneRead: true });
    if (text === undefined) continue;
    try {
      stats.push(parseProcessStat(text));
    } catch (error) {
      throw new Error(`${file}: ${(error as Error).message}`);
    }
  }
  return stats;
}
