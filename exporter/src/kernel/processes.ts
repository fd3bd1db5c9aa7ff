// The processes of a cgroup (or of the host where there is none): their pids, their thread count and
// each one's /proc/<pid>/stat. /proc shows the exporter's own PID namespace: share the watched
// application's (compose `pid: service:NAME`) to see its processes.
import { readdirSync, readlinkSync } from 'node:fs';
import path from 'node:path';
import type { CgroupLocation, Controller, Hierarchy } from './cgroup.js';
import { FormatError, parseIdList, parseProcCgroup, parseProcessStat, parseThreadCount, type ProcessStat } from './parse.js';
import { isPermissionError, readParsed, readProcessFile, readThrough, type ReadingCache } from './read.js';

/** The hierarchy whose cgroup.procs lists the watched processes. */
export function tasksHierarchy(location: CgroupLocation): Hierarchy | undefined {
  return location.controllers.pids ?? location.controllers.memory ?? location.controllers.cpuacct ?? location.unified;
}

/** Pids in a cgroup's cgroup.procs. */
export function readCgroupProcs(hierarchy: Hierarchy): number[] {
  return readParsed(hierarchy.dir, 'cgroup.procs', parseIdList, { allowEmpty: true, oneRead: false });
}

const sameNamespace = new Map<string, boolean>();

/**
 * Whether the pids the kernel writes into cgroup files, which are translated into the exporter's own pid
 * namespace, name the processes under procfs. Not when the exporter runs in a pid namespace of its own with
 * the host's /proc mounted (a container without `pid: host`): cgroup.procs then leaves out every process
 * outside that namespace, and the processes must be found through procfs itself.
 */
export function sharesPidNamespace(procfs: string): boolean {
  let same = sameNamespace.get(procfs);
  if (same === undefined) {
    try {
      same = readlinkSync(`${procfs}/self`) === String(process.pid);
    } catch {
      same = true; // not a procfs with a `self` link (a fixture tree): take its pids as they are
    }
    sameNamespace.set(procfs, same);
  }
  return same;
}

/** The controller whose line of /proc/<pid>/cgroup places a process in `hierarchy` ('' for the v2 line). */
function controllerOf(location: CgroupLocation, hierarchy: Hierarchy): Controller | '' {
  if (hierarchy.version === 2) return '';
  return (['pids', 'memory', 'cpuacct'] as const).find((controller) => location.controllers[controller] === hierarchy) ?? '';
}

/** Every process under procfs by its cgroups, as `controller:path` ('' for v2's controller), from each /proc/<pid>/cgroup. */
export function readProcessesByCgroup(procfs: string): Map<string, number[]> {
  const byCgroup = new Map<string, number[]>();
  for (const entry of readdirSync(procfs)) {
    const first = entry.charCodeAt(0);
    if (first < 48 || first > 57) continue;
    let text: string | undefined;
    try {
      text = readProcessFile(`${procfs}/${entry}/cgroup`, { oneRead: true });
    } catch (error) {
      if (isPermissionError(error)) continue; // hidepid: a process the exporter may not see is not watched
      throw error;
    }
    if (text === undefined) continue;
    for (const line of parseProcCgroup(text)) {
      for (const controller of line.controllers.length === 0 ? [''] : line.controllers) {
        const key = `${controller}:${line.path}`;
        let pids = byCgroup.get(key);
        if (pids === undefined) byCgroup.set(key, (pids = []));
        pids.push(Number(entry));
      }
    }
  }
  return byCgroup;
}

/**
 * Pids of the watched cgroup, as procfs numbers them; every pid under procfs where there is none. Where the
 * exporter's pid namespace is not procfs's, they are found by scanning procfs, once per scrape through `shared`.
 */
export function readPids(location: CgroupLocation, procfs: string, shared?: ReadingCache): number[] {
  const hierarchy = tasksHierarchy(location);
  if (hierarchy && sharesPidNamespace(procfs)) return readCgroupProcs(hierarchy);
  if (hierarchy) {
    const byCgroup = readThrough(shared, `processes by cgroup ${procfs}`, () => readProcessesByCgroup(procfs));
    return byCgroup.get(`${controllerOf(location, hierarchy)}:${hierarchy.path}`) ?? [];
  }
  return readdirSync(procfs).filter((entry) => /^\d+$/.test(entry)).map(Number);
}

/**
 * Threads of the watched cgroup (v1 tasks, v2 cgroup.threads); the sum over `pids` where there is none, or
 * where the cgroup's files leave out processes of another pid namespace.
 */
export function readThreadCount(location: CgroupLocation, procfs: string, pids: readonly number[]): number {
  const hierarchy = tasksHierarchy(location);
  if (hierarchy && sharesPidNamespace(procfs)) {
    const file = hierarchy.version === 1 ? 'tasks' : 'cgroup.threads';
    const threads = readParsed(hierarchy.dir, file, parseIdList, { allowEmpty: true, oneRead: false }).length;
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

/**
 * /proc/<pid>/stat of each pid; a process that exited between the listing and the read is left out, and so is
 * one the exporter may not read when `unreadable` is given (it is recorded there), else that throws.
 */
export function readProcessStats(procfs: string, pids: readonly number[], unreadable?: Array<{ pid: number; reason: string }>): ProcessStat[] {
  const stats: ProcessStat[] = [];
  for (const pid of pids) {
    const file = `${procfs}/${pid}/stat`;
    let text: string | undefined;
    try {
      text = readProcessFile(file, { oneRead: true });
    } catch (error) {
      if (unreadable === undefined || !isPermissionError(error)) throw error;
      unreadable.push({ pid, reason: (error as Error).message });
      continue;
    }
    if (text === undefined) continue;
    try {
      stats.push(parseProcessStat(text));
    } catch (error) {
      throw new Error(`${file}: ${(error as Error).message}`);
    }
  }
  return stats;
}
