// Open file descriptors of a process against its own soft RLIMIT_NOFILE, and the processes of a cgroup
// summed: the total and the process nearest its limit. Every path is under --path.procfs, so the pids of a
// container seen through the host's /proc are read there.
import { readdirSync, statfsSync, statSync } from 'node:fs';
import { processLimits } from './rlimits.js';
import { isGoneError, isPermissionError, readProcessFile, type ReadingCache } from './read.js';

const PROC_SUPER_MAGIC = 0x9fa0;
const sizeCounts = new Map<string, boolean>();

/**
 * Whether stat() of /proc/<pid>/fd gives the number of open descriptors as its size: Linux 6.2 and later
 * (fs/proc/fd.c, proc_fd_getattr), on a real procfs. One stat then replaces a listing of the directory, and
 * needs no permission to list it. Checked once per procfs on the exporter's own descriptors, which are never none.
 */
function countsBySize(procfs: string): boolean {
  let known = sizeCounts.get(procfs);
  if (known === undefined) {
    try {
      known = statfsSync(procfs).type === PROC_SUPER_MAGIC && statSync(`${procfs}/self/fd`).size > 0;
    } catch {
      known = false;
    }
    sizeCounts.set(procfs, known);
  }
  return known;
}

/**
 * A process's open file descriptors; undefined when it exited meanwhile. Throws when they cannot be read
 * (a listing of another user's process without root on kernels before 6.2, a procfs mounted with hidepid).
 */
export function countOpenDescriptors(procfs: string, pid: number): number | undefined {
  const dir = `${procfs}/${pid}/fd`;
  try {
    if (countsBySize(procfs)) return statSync(dir, { throwIfNoEntry: false })?.size;
    return readdirSync(dir).length;
  } catch (error) {
    if (isGoneError(error)) return undefined;
    throw error;
  }
}

/** A process's command name (/proc/<pid>/comm), or `unknown` once it exited. */
export function readCommand(procfs: string, pid: number): string {
  return readProcessFile(`${procfs}/${pid}/comm`, { oneRead: true, allowEmpty: true })?.trim() || 'unknown';
}

export interface WorstDescriptors { pid: number; open: number; softLimit: number }

export interface DescriptorCensus {
  /** Open descriptors of every process read. */
  open: number;
  /** The process with the largest share of its own soft limit (more open descriptors first on a tie). */
  worst?: WorstDescriptors;
  /** Processes listed in the cgroup that exited before they were read: their descriptors are gone with them. */
  exited: number[];
  /** Processes that could not be read, and why: the figures leave them out. */
  unreadable: Array<{ pid: number; reason: string }>;
}

/** Whether `candidate` holds a larger share of its limit than `worst`. */
export function isWorse(candidate: WorstDescriptors, worst: WorstDescriptors | undefined): boolean {
  if (worst === undefined) return true;
  // Compared as cross products: no division, so equal shares compare equal.
  const difference = candidate.open * worst.softLimit - worst.open * candidate.softLimit;
  return difference > 0 || (difference === 0 && candidate.open > worst.open);
}

/** Counts the descriptors of `pids` and finds the one nearest its soft limit; limits are read through `shared`. */
export function readDescriptorCensus(procfs: string, pids: readonly number[], shared?: ReadingCache): DescriptorCensus {
  const census: DescriptorCensus = { open: 0, exited: [], unreadable: [] };
  for (const pid of pids) {
    let open: number | undefined;
    let softLimit: number | null | undefined;
    try {
      open = countOpenDescriptors(procfs, pid);
      // None open (a kernel thread, a zombie): no share of any limit, and no need to read it.
      if (open === 0) continue;
      softLimit = open === undefined ? undefined : processLimits(procfs, pid, shared)?.openFiles.soft;
    } catch (error) {
      if (!isPermissionError(error)) throw error;
      census.unreadable.push({ pid, reason: (error as Error).message });
      continue;
    }
    if (open === undefined || softLimit === undefined) {
      census.exited.push(pid);
      continue;
    }
    census.open += open;
    // RLIMIT_NOFILE cannot be unlimited (it is capped by fs.nr_open); a process without one has no ratio.
    if (softLimit === null || softLimit === 0) continue;
    const candidate = { pid, open, softLimit };
    if (isWorse(candidate, census.worst)) census.worst = candidate;
  }
  return census;
}
