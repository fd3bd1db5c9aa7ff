// A real cgroup with real limits (root only), on cgroup v1, hybrid or v2 hosts.
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseMountinfo } from '../../exporter/src/kernel/parse.js';

export interface LiveCgroupLimits {
  memoryBytes: number;
  memoryReservationBytes: number;
  cpuCores: number;
  /** pids.max; none leaves it at max. */
  pidsMax?: number;
}

export interface LiveCgroup {
  version: 1 | 2;
  /** The cgroup's path as the kernel names it (--target.cgroup). */
  path: string;
  /** One directory per hierarchy (v1: memory, cpu, cpuacct, pids; v2: one). */
  dirs: string[];
  addProcess(pid: number): void;
  /** SIGKILLs every process in the cgroup (children a test's processes left behind included). */
  killAll(): void;
  remove(): Promise<void>;
}

const PERIOD_US = 100_000;

function write(file: string, value: string): void {
  writeFileSync(file, value);
}

export function createLiveCgroup(name: string, limits: LiveCgroupLimits): LiveCgroup {
  const mounts = parseMountinfo(readFileSync('/proc/self/mountinfo', 'utf8'));
  const v2 = mounts.find((mount) => mount.fsType === 'cgroup2');
  const v1 = (controller: string) => mounts.find((mount) => mount.fsType === 'cgroup' && mount.superOptions.includes(controller));
  const v1Memory = v1('memory');
  if (v1Memory) {
    const hierarchies = new Map<string, string[]>();
    for (const controller of ['memory', 'cpu', 'cpuacct', 'pids']) {
      const mount = v1(controller);
      if (!mount) throw new Error(`no v1 ${controller} controller mounted`);
      hierarchies.set(mount.mountPoint, [...(hierarchies.get(mount.mountPoint) ?? []), controller]);
    }
    const dirs = [...hierarchies.keys()].map((mountPoint) => path.join(mountPoint, name));
    makeDirs(dirs);
    const memoryDir = path.join(v1Memory.mountPoint, name);
    write(path.join(memoryDir, 'memory.limit_in_bytes'), String(limits.memoryBytes));
    write(path.join(memoryDir, 'memory.soft_limit_in_bytes'), String(limits.memoryReservationBytes));
    const cpuDir = path.join(v1('cpu')!.mountPoint, name);
    write(path.join(cpuDir, 'cpu.cfs_period_us'), String(PERIOD_US));
    write(path.join(cpuDir, 'cpu.cfs_quota_us'), String(Math.round(limits.cpuCores * PERIOD_US)));
    if (limits.pidsMax !== undefined) write(path.join(v1('pids')!.mountPoint, name, 'pids.max'), String(limits.pidsMax));
    return {
      version: 1,
      path: `/${name}`,
      dirs,
      killAll: () => killProcesses(dirs[0]!),
      addProcess: (pid) => { for (const dir of dirs) write(path.join(dir, 'cgroup.procs'), String(pid)); },
      remove: () => removeDirs(dirs),
    };
  }
  if (!v2 || !existsSync(path.join(v2.mountPoint, 'cgroup.controllers'))) throw new Error('no cgroup v1 memory controller and no cgroup v2 hierarchy');
  const parent = v2.mountPoint;
  const enabled = readFileSync(path.join(parent, 'cgroup.subtree_control'), 'utf8');
  for (const controller of ['memory', 'cpu', 'pids']) {
    if (!enabled.split(/\s+/).includes(controller)) write(path.join(parent, 'cgroup.subtree_control'), `+${controller}`);
  }
  const dir = path.join(parent, name);
  makeDirs([dir]);
  write(path.join(dir, 'memory.max'), String(limits.memoryBytes));
  write(path.join(dir, 'memory.low'), String(limits.memoryReservationBytes));
  write(path.join(dir, 'cpu.max'), `${Math.round(limits.cpuCores * PERIOD_US)} ${PERIOD_US}`);
  if (limits.pidsMax !== undefined) write(path.join(dir, 'pids.max'), String(limits.pidsMax));
  return {
    version: 2,
    path: `/${name}`,
    dirs: [dir],
    killAll: () => killProcesses(dir),
    addProcess: (pid) => write(path.join(dir, 'cgroup.procs'), String(pid)),
    remove: () => removeDirs([dir]),
  };
}

/**
 * A cgroup in the v1 `cpu` hierarchy alone, on a host where `cpu` and `cpuacct` are mounted apart (as on the
 * machines here): a process moved in keeps its `cpuacct` cgroup, as with `cgexec -g cpu:NAME`.
 */
export function createCpuOnlyCgroup(name: string, cpuCores: number): { dir: string; addProcess(pid: number): void; remove(): Promise<void> } {
  const mounts = parseMountinfo(readFileSync('/proc/self/mountinfo', 'utf8'));
  const cpu = mounts.find((mount) => mount.fsType === 'cgroup' && mount.superOptions.includes('cpu'));
  const cpuacct = mounts.find((mount) => mount.fsType === 'cgroup' && mount.superOptions.includes('cpuacct'));
  if (!cpu || !cpuacct) throw new Error('this test needs cgroup v1 cpu and cpuacct controllers');
  if (cpu.mountPoint === cpuacct.mountPoint) throw new Error(`cpu and cpuacct are mounted together at ${cpu.mountPoint}: this test needs them apart`);
  const dir = path.join(cpu.mountPoint, name);
  makeDirs([dir]);
  write(path.join(dir, 'cpu.cfs_period_us'), String(PERIOD_US));
  write(path.join(dir, 'cpu.cfs_quota_us'), String(Math.round(cpuCores * PERIOD_US)));
  return { dir, addProcess: (pid) => write(path.join(dir, 'cgroup.procs'), String(pid)), remove: () => removeDirs([dir]) };
}

/**
 * Makes each cgroup, which must not exist yet: a cgroup of that name is someone else's, and remove() would take
 * it. When one cannot be made, those made before it are removed.
 */
function makeDirs(dirs: string[]): void {
  const made: string[] = [];
  try {
    for (const dir of dirs) { mkdirSync(dir); made.push(dir); }
  } catch (error) {
    for (const dir of made) rmdirSync(dir);
    throw error;
  }
}

function killProcesses(dir: string): void {
  for (const pid of readFileSync(path.join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // exited meanwhile
    }
  }
}

/** A child Node process that spins on one core until killed. */
export const SPIN = 'for (;;) {}';

async function removeDirs(dirs: string[]): Promise<void> {
  for (const dir of dirs) {
    // A cgroup can be removed once its last process has exited, which the kernel notices a moment later.
    for (let attempt = 0; ; attempt += 1) {
      try {
        if (existsSync(dir)) rmdirSync(dir);
        break;
      } catch (error) {
        if (attempt >= 50) throw error;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  }
}

/** A child Node process that waits to be placed in a cgroup, then allocates `allocateMiB` and spins on one core. */
export const ALLOCATE_AND_SPIN = `
process.stdin.once('data', (line) => {
  const mib = Number(String(line).trim());
  const blocks = [];
  for (let i = 0; i < mib; i++) blocks.push(Buffer.alloc(1024 * 1024, 1));
  globalThis.keep = blocks;
  process.stdout.write('ready\\n');
  const spin = () => { const end = Date.now() + 50; while (Date.now() < end) {} setImmediate(spin); };
  spin();
});
`;

/**
 * Anonymous resident memory (RssAnon) of a process: what it allocated itself. File pages it mapped
 * before it was moved into the cgroup stay charged to the cgroup it came from.
 */
export function anonymousResidentBytes(pid: number): number {
  const match = /^RssAnon:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!match) throw new Error(`no RssAnon for ${pid}`);
  return Number(match[1]) * 1024;
}
