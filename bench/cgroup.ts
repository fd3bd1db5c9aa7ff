// A fresh cgroup for the benchmark: one child of the benchmark's own cgroup in every hierarchy that headroom
// reads (memory, cpu, cpuacct, pids on v1; the unified one on v2 and hybrid hosts). headroom runs in it with
// default flags, so it watches it as it would watch its container; the sleeping children are moved into it.
import { closeSync, mkdirSync, openSync, realpathSync, rmdirSync, writeFileSync, writeSync, existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { locateCgroup } from '../exporter/src/kernel/cgroup.js';

export interface BenchCgroup {
  /** The cgroup's directory in each distinct hierarchy. */
  dirs: string[];
  /** Moves processes into the cgroup (in every hierarchy). */
  move: (pids: readonly number[]) => void;
  /** Removes the cgroup; it must be empty by then. */
  remove: () => Promise<void>;
}

/** On v2, children only get controllers their parent delegates; try to delegate them (a busy parent refuses). */
function delegateControllers(parentDir: string): void {
  const available = readFileSync(path.join(parentDir, 'cgroup.controllers'), 'utf8').trim().split(/\s+/);
  for (const controller of ['memory', 'cpu', 'pids']) {
    if (!available.includes(controller)) continue;
    try {
      writeFileSync(path.join(parentDir, 'cgroup.subtree_control'), `+${controller}`);
    } catch {
      // The parent holds processes itself: the child still holds the processes, without that controller's files.
    }
  }
}

export async function createBenchCgroup(name: string): Promise<BenchCgroup> {
  const location = await locateCgroup({ procfs: '/proc', sysfs: '/sys', pid: process.pid });
  if (location.mode === 'none') throw new Error('no cgroup hierarchy is mounted');
  const parents = new Set<string>();
  for (const hierarchy of [...Object.values(location.controllers), location.unified]) {
    if (hierarchy) parents.add(realpathSync(hierarchy.dir));
  }
  const dirs: string[] = [];
  try {
    for (const parent of parents) {
      if (existsSync(path.join(parent, 'cgroup.controllers'))) delegateControllers(parent);
      const dir = path.join(parent, name);
      mkdirSync(dir); // fails when it exists: then it is not this run's to remove
      dirs.push(dir);
    }
  } catch (error) {
    for (const dir of dirs) rmdirSync(dir);
    throw error;
  }
  return {
    dirs,
    move(pids) {
      for (const dir of dirs) {
        const fd = openSync(path.join(dir, 'cgroup.procs'), 'w');
        try {
          for (const pid of pids) writeSync(fd, `${pid}\n`); // the kernel takes one pid per write
        } finally {
          closeSync(fd);
        }
      }
    },
    async remove() {
      for (const dir of dirs) {
        // Killed processes leave the cgroup a moment after they exit.
        for (let attempt = 0; ; attempt += 1) {
          try {
            rmdirSync(dir);
            break;
          } catch (error) {
            if ((error as NodeJS.ErrnoException).code === 'ENOENT') break;
            if (attempt >= 50) throw error;
            await new Promise((resolve) => setTimeout(resolve, 100));
          }
        }
      }
    },
  };
}

/** The shell line that moves itself into the cgroup and then becomes `command` (same pid). */
export function enterCgroupScript(dirs: readonly string[]): string {
  const moves = dirs.map((dir) => `echo $$ > '${path.join(dir, 'cgroup.procs')}' || exit 97`).join('; ');
  return `${moves}; exec "$@"`;
}
