// The pids controller: tasks (processes and threads, zombies until reaped) of a cgroup against pids.max.
// A fork fails when any cgroup on the way up is full, so the limit that binds is the fullest one.
import { ancestry, type CgroupLocation, type Hierarchy } from './cgroup.js';
import { parseInteger, parsePidsMax } from './parse.js';
import { readParsed, readThrough, type Readings } from './read.js';

export interface TaskLimit {
  /** Tasks in the cgroup whose limit binds (the watched one or an ancestor: pids.current counts its descendants). */
  tasks: number;
  limit: number;
  /** Where that limit is set. */
  dir: string;
}

export class NoPidsController extends Error {}

/** The pids hierarchy of a cgroup; throws where the cgroup has no pids controller (not mounted, or not enabled for it on v2). */
export function pidsHierarchy(location: CgroupLocation): Hierarchy {
  const hierarchy = location.controllers.pids;
  if (hierarchy === undefined) {
    const where = location.mode === 'v2' ? 'pids is not in the root\'s cgroup.controllers' : 'no cgroup v1 pids hierarchy is mounted';
    throw new NoPidsController(`no pids controller for cgroup ${location.path} (${where}): tasks cannot be limited there, and are not watched`);
  }
  return hierarchy;
}

/**
 * Of the cgroup and its ancestors that have a pids.max, the one whose tasks are the largest share of it;
 * null where none has a limit. The watched cgroup's pids.max is read through `readings.limits`, its
 * ancestors' files through `readings.shared`.
 */
export function readTaskLimit(hierarchy: Hierarchy, readings: Readings = {}): TaskLimit | null {
  let binding: TaskLimit | null = null;
  for (const dir of ancestry(hierarchy)) {
    const own = dir === hierarchy.dir;
    let limit: number | null;
    try {
      limit = readThrough(own ? readings.limits : readings.shared, `pids.max ${dir}`, () => readParsed(dir, 'pids.max', parsePidsMax));
    } catch (error) {
      // The root of a hierarchy has no pids.max; the watched cgroup must.
      if (!own || dir === hierarchy.mountPoint) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
      }
      throw error;
    }
    if (limit === null) continue;
    const tasks = own ? readParsed(dir, 'pids.current', parseInteger) : readThrough(readings.shared, `pids.current ${dir}`, () => readParsed(dir, 'pids.current', parseInteger));
    // Fuller first; on a tie the nearest (the cgroup's own limit, which its owner sets).
    if (binding === null || tasks * binding.limit > binding.tasks * limit) binding = { tasks, limit, dir };
  }
  return binding;
}
