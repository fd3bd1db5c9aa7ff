// Which cgroup directories hold a process's limits and counters: pure resolution from
// `/proc/<pid>/cgroup` and `/proc/self/mountinfo`, then a reader that does the I/O.
import path from 'node:path';
import { parseCgroupMounts, parseProcCgroup, type Mount, type ProcCgroupEntry } from './parse.js';
import { readKernelFile, readOptionalKernelFile, readThrough, type Readings } from './read.js';

export type Controller = 'memory' | 'cpu' | 'cpuacct' | 'pids';
export const CONTROLLERS: readonly Controller[] = ['memory', 'cpu', 'cpuacct', 'pids'];

export interface Hierarchy {
  version: 1 | 2;
  /** The watched cgroup's directory. */
  dir: string;
  /** The cgroup's path as the kernel names it in /proc/<pid>/cgroup. */
  path: string;
  /** The mount point: walking up for an ancestor's limit stops here. */
  mountPoint: string;
}

export interface CgroupLocation {
  /** Per controller, where its files are; absent when the host has no such controller mounted. */
  controllers: Partial<Record<Controller, Hierarchy>>;
  /** The v2 hierarchy, also on hybrid hosts (pressure files live there). */
  unified?: Hierarchy;
  /** 'none' on a host without cgroups. */
  mode: 'v1' | 'v2' | 'hybrid' | 'none';
  /** The watched cgroup's path as the kernel names it (the v2 path, else the memory controller's). */
  path: string;
  /**
   * Where CPU usage comes from. 'cgroup': the accounting controller's own counter, in the cgroup whose quota
   * limits it. 'processes': v1 `cpu` and `cpuacct` are mounted apart and the process sits in different cgroups
   * of the two (a hand-made `cpu` cgroup, cgexec); the accounting cgroup's counter then covers other processes
   * than the quota, so usage is summed from the /proc/<pid>/stat times of the processes in the `cpu` cgroup.
   */
  cpuUsage: 'cgroup' | 'processes';
}

/** Map a mount point seen in mountinfo (`/sys/fs/cgroup/memory`) under another sysfs root. */
export function underSysfs(mountPoint: string, sysfsRoot: string): string {
  if (sysfsRoot === '/sys') return mountPoint;
  if (mountPoint === '/sys' || mountPoint.startsWith('/sys/')) return path.join(sysfsRoot, mountPoint.slice('/sys'.length));
  return mountPoint;
}

/** The directory of `cgroupPath` within a mount whose root field is `mountRoot`. */
export function cgroupDir(mountPoint: string, mountRoot: string, cgroupPath: string): string {
  let relative = cgroupPath;
  if (mountRoot !== '/' && (cgroupPath === mountRoot || cgroupPath.startsWith(`${mountRoot}/`))) relative = cgroupPath.slice(mountRoot.length);
  const dir = path.join(mountPoint, relative);
  return dir.length > 1 && dir.endsWith('/') ? dir.slice(0, -1) : dir;
}

export function resolveLocation(
  entries: ProcCgroupEntry[],
  mounts: Mount[],
  sysfsRoot: string,
  unifiedControllers: (mountPoint: string) => string[],
  explicitPath?: string,
): CgroupLocation {
  const controllers: Partial<Record<Controller, Hierarchy>> = {};
  let unified: Hierarchy | undefined;
  const v2Entry = entries.find((entry) => entry.hierarchyId === 0 && entry.controllers.length === 0);
  const v2Mount = mounts.find((mount) => mount.fsType === 'cgroup2');
  if (v2Entry && v2Mount) {
    const mountPoint = underSysfs(v2Mount.mountPoint, sysfsRoot);
    const cgroupPath = explicitPath ?? v2Entry.path;
    unified = { version: 2, mountPoint, dir: cgroupDir(mountPoint, v2Mount.root, cgroupPath), path: cgroupPath };
  }
  for (const controller of CONTROLLERS) {
    const mount = mounts.find((candidate) => candidate.fsType === 'cgroup' && candidate.superOptions.includes(controller));
    const entry = entries.find((candidate) => candidate.controllers.includes(controller));
    if (mount && entry) {
      const mountPoint = underSysfs(mount.mountPoint, sysfsRoot);
      const cgroupPath = explicitPath ?? entry.path;
      controllers[controller] = { version: 1, mountPoint, dir: cgroupDir(mountPoint, mount.root, cgroupPath), path: cgroupPath };
    }
  }
  const anyV1 = Object.keys(controllers).length > 0;
  if (unified) {
    const enabled = unifiedControllers(unified.mountPoint);
    for (const controller of CONTROLLERS) {
      // v2 has no cpuacct: usage is in cpu.stat, which every v2 cgroup has.
      const v2Name = controller === 'cpuacct' ? 'cpu' : controller;
      if (!controllers[controller] && (enabled.includes(v2Name) || controller === 'cpuacct')) controllers[controller] = unified;
    }
  }
  const mode = anyV1 && unified ? 'hybrid' : anyV1 ? 'v1' : unified ? 'v2' : 'none';
  const kernelPath = explicitPath ?? v2Entry?.path ?? entries.find((entry) => entry.controllers.includes('memory'))?.path ?? '/';
  const { cpu, cpuacct } = controllers;
  const cpuUsage = cpu && cpuacct && cpu.path !== cpuacct.path ? 'processes' : 'cgroup';
  return { controllers, unified, mode, path: mode === 'none' ? '' : kernelPath, cpuUsage };
}

/** The directories from `hierarchy.dir` up to its mount point, nearest first. */
export function ancestry(hierarchy: Hierarchy): string[] {
  const dirs: string[] = [];
  let dir = hierarchy.dir;
  for (;;) {
    dirs.push(dir);
    if (dir === hierarchy.mountPoint || !dir.startsWith(`${hierarchy.mountPoint}/`)) break;
    dir = dir.slice(0, dir.lastIndexOf('/')) || '/';
  }
  return dirs;
}

export interface ResolveOptions {
  procfs: string;
  sysfs: string;
  pid: number;
  explicitPath?: string;
}

const readIfPresent = (file: string) => readOptionalKernelFile(file, { allowEmpty: true });

/** Reads `/proc/<pid>/cgroup` and the mount table; a host without either has mode 'none'. */
export function locateCgroup(options: ResolveOptions): CgroupLocation {
  const cgroupText = readIfPresent(path.join(options.procfs, String(options.pid), 'cgroup'));
  const mountinfoText = readIfPresent(path.join(options.procfs, 'self', 'mountinfo'));
  if (cgroupText === undefined) {
    // A process that is gone must fail the collectors, not look like a host without cgroups.
    const processExists = readIfPresent(path.join(options.procfs, String(options.pid), 'stat'));
    if (processExists === undefined) throw new Error(`process ${options.pid} not found under ${options.procfs}`);
  }
  if (cgroupText === undefined || mountinfoText === undefined || cgroupText.trim() === '') {
    return { controllers: {}, mode: 'none', path: '', cpuUsage: 'cgroup' };
  }
  return hostLayout(cgroupText, mountinfoText, options.sysfs)(options.explicitPath);
}

/**
 * Resolves cgroup paths against one process's view of the cgroups (its /proc/<pid>/cgroup says which
 * hierarchies exist) and one mount table: `(path) => location`, or the process's own cgroup without a path.
 */
function hostLayout(cgroupText: string, mountinfoText: string, sysfs: string): (explicitPath?: string) => CgroupLocation {
  const entries = parseProcCgroup(cgroupText);
  const mounts = parseCgroupMounts(mountinfoText);
  const enabledByMount = new Map<string, string[]>();
  for (const mount of mounts.filter((candidate) => candidate.fsType === 'cgroup2')) {
    const mountPoint = underSysfs(mount.mountPoint, sysfs);
    const text = readIfPresent(path.join(mountPoint, 'cgroup.controllers'));
    enabledByMount.set(mountPoint, text === undefined ? [] : text.trim().split(/\s+/).filter(Boolean));
  }
  return (explicitPath) => resolveLocation(entries, mounts, sysfs, (mountPoint) => enabledByMount.get(mountPoint) ?? [], explicitPath);
}

/**
 * The host's cgroup layout, from its init process (/proc/1 under --path.procfs: the host's, also when the
 * exporter runs in a container with the host's /proc mounted), for locating other cgroups by path.
 */
export function readHostLayout(procfs: string, sysfs: string): (cgroupPath: string) => CgroupLocation {
  const cgroupText = readKernelFile(path.join(procfs, '1', 'cgroup'));
  const mountinfoText = readKernelFile(path.join(procfs, '1', 'mountinfo'));
  const layout = hostLayout(cgroupText, mountinfoText, sysfs);
  return (cgroupPath) => layout(cgroupPath);
}

/**
 * The smallest limit on the way from the cgroup up to its mount point.
 * `readLimit` returns null for "unlimited"; a directory without the file (a namespace's view ends) is skipped.
 */
export function smallestLimitUpTheTree(hierarchy: Hierarchy, readLimit: (dir: string) => number | null, kind: string, readings: Readings = {}): number | null {
  let smallest: number | null = null;
  for (const dir of ancestry(hierarchy)) {
    let limit: number | null;
    try {
      // The parents are the same for many targets (host mode's containers): read once per scrape.
      limit = readThrough(dir === hierarchy.dir ? readings.limits : readings.shared, `${kind} ${dir}`, () => readLimit(dir));
    } catch (error) {
      // The watched cgroup's own file must be readable, but the root of a v2 hierarchy has no memory.max or cpu.max.
      const isRootOrAncestor = dir !== hierarchy.dir || dir === hierarchy.mountPoint;
      if (isRootOrAncestor && (error as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw error;
    }
    if (limit !== null && (smallest === null || limit < smallest)) smallest = limit;
  }
  return smallest;
}
