// A process's resource limits (/proc/<pid>/limits), and RLIMIT_NPROC: the tasks of a process's real user on
// the whole host against its soft limit, as the kernel counts them (kernel/fork.c, copy_process): every task
// (threads too) of the user, zombies until they are reaped, across every cgroup and container; root (real
// uid 0 of the initial user namespace) and holders of CAP_SYS_ADMIN or CAP_SYS_RESOURCE are exempt.
import { readdirSync, statSync } from 'node:fs';
import { parseProcessIdentity, parseProcessLimits, type ProcessIdentity, type ProcessLimits } from './parse.js';
import { isPermissionError, readProcessFile, readThrough, type ReadingCache } from './read.js';

function parsedProcessFile<T>(file: string, parse: (text: string) => T): T | undefined {
  const text = readProcessFile(file, { oneRead: true });
  if (text === undefined) return undefined;
  try {
    return parse(text);
  } catch (error) {
    throw new Error(`${file}: ${(error as Error).message}`);
  }
}

/** A process's limits, read once per scrape through `shared` (the fds and nproc collectors both need them); undefined once it exited. */
export function processLimits(procfs: string, pid: number, shared?: ReadingCache): ProcessLimits | undefined {
  const file = `${procfs}/${pid}/limits`;
  return readThrough(shared, file, () => parsedProcessFile(file, parseProcessLimits));
}

/** A process's real uid, threads and exempting capabilities; undefined once it exited. */
export function processIdentity(procfs: string, pid: number): ProcessIdentity | undefined {
  return parsedProcessFile(`${procfs}/${pid}/status`, parseProcessIdentity);
}

/** Whether the kernel lets this process fork past its RLIMIT_NPROC. */
export function isExemptFromNproc(identity: ProcessIdentity): boolean {
  return identity.realUid === 0 || identity.exemptByCapability;
}

export interface TasksByUser {
  /** Tasks (threads) by real uid, of every process under procfs. */
  tasks: Map<number, number>;
  /** Processes whose status could not be read: the counts leave them out. */
  unreadable: number;
}

/** Every process's real uid and thread count, summed by uid: what RLIMIT_NPROC counts. */
export function readTasksByUser(procfs: string): TasksByUser {
  const counted: TasksByUser = { tasks: new Map(), unreadable: 0 };
  for (const entry of readdirSync(procfs)) {
    const first = entry.charCodeAt(0);
    if (first < 48 || first > 57) continue;
    let identity: ProcessIdentity | undefined;
    try {
      identity = processIdentity(procfs, Number(entry));
    } catch (error) {
      if (!isPermissionError(error)) throw error;
      counted.unreadable += 1;
      continue;
    }
    if (identity !== undefined) counted.tasks.set(identity.realUid, (counted.tasks.get(identity.realUid) ?? 0) + identity.threads);
  }
  return counted;
}

export interface WorstNproc { pid: number; uid: number; tasks: number; softLimit: number }

export interface NprocCensus {
  /** The process whose user is nearest that process's soft RLIMIT_NPROC, where any is limited and not exempt. */
  worst?: WorstNproc;
  exited: number[];
  unreadable: Array<{ pid: number; reason: string }>;
  /** Host processes whose user could not be read (the user counts are a lower bound). */
  uncountedHostProcesses: number;
}

/**
 * Whether /proc/<pid> belongs to root: the process runs with effective uid 0 (or is not dumpable). One stat,
 * against a read of its status: a container of root's processes costs no more than that.
 */
function ownedByRoot(procfs: string, pid: number): boolean {
  return statSync(`${procfs}/${pid}`, { throwIfNoEntry: false })?.uid === 0;
}

/**
 * RLIMIT_NPROC of `pids`: the host's tasks are counted once per scrape through `shared`, and only when a
 * process needs them. Processes whose /proc directory root owns are taken as root's, which is exempt: a
 * setuid-root program that another user runs, or a process that made itself not dumpable, is not watched.
 */
export function readNprocCensus(procfs: string, pids: readonly number[], shared?: ReadingCache): NprocCensus {
  const census: NprocCensus = { exited: [], unreadable: [], uncountedHostProcesses: 0 };
  for (const pid of pids) {
    let softLimit: number | null | undefined;
    let identity: ProcessIdentity | undefined;
    try {
      if (ownedByRoot(procfs, pid)) continue;
      softLimit = processLimits(procfs, pid, shared)?.processes.soft;
      // Unlimited (or 0, which forbids every fork): no share to watch, and no need to know the user.
      if (softLimit === null || softLimit === 0) continue;
      identity = softLimit === undefined ? undefined : processIdentity(procfs, pid);
    } catch (error) {
      if (!isPermissionError(error)) throw error;
      census.unreadable.push({ pid, reason: (error as Error).message });
      continue;
    }
    if (softLimit === undefined || identity === undefined) {
      census.exited.push(pid);
      continue;
    }
    if (isExemptFromNproc(identity)) continue;
    const host = readThrough(shared, `tasks by user ${procfs}`, () => readTasksByUser(procfs));
    census.uncountedHostProcesses = host.unreadable;
    const tasks = host.tasks.get(identity.realUid) ?? identity.threads;
    const worst = census.worst;
    if (worst === undefined || tasks * worst.softLimit > worst.tasks * softLimit) census.worst = { pid, uid: identity.realUid, tasks, softLimit };
  }
  return census;
}
