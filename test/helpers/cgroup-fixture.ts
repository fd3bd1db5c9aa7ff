// Fake host roots for --path.procfs / --path.sysfs, written in the kernel's documented formats
// (Documentation/admin-guide/cgroup-v2.rst, cgroup-v1/memory.rst, proc(5)).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** No pid on Linux can be this large (pid_max is at most 2^22), so the processes collector never finds a real one. */
export const FIXTURE_PID = 999_999_999;

export const HOST_MEMORY_BYTES = 16 * 1024 ** 3;
export const HOST_AVAILABLE_BYTES = 12 * 1024 ** 3;
export const HOST_CPUS = 4;

export interface FixtureRoot {
  root: string;
  procfs: string;
  sysfs: string;
  write(relative: string, content: string): void;
  remove(relative: string): void;
  cleanup(): void;
}

export function createFixtureRoot(): FixtureRoot {
  const root = mkdtempSync(path.join(os.tmpdir(), 'headroom-fixture-'));
  const fixture: FixtureRoot = {
    root,
    procfs: path.join(root, 'proc'),
    sysfs: path.join(root, 'sys'),
    write(relative, content) {
      const file = path.join(root, relative);
      mkdirSync(path.dirname(file), { recursive: true });
      writeFileSync(file, content);
    },
    remove(relative) {
      rmSync(path.join(root, relative), { recursive: true, force: true });
    },
    cleanup() {
      rmSync(root, { recursive: true, force: true });
    },
  };
  writeHostProc(fixture);
  return fixture;
}

/** Runs a test on a fresh fake host root and removes it afterwards. */
export function withFixture(run: (fixture: FixtureRoot) => Promise<void>): () => Promise<void> {
  return async () => {
    const fixture = createFixtureRoot();
    try {
      await run(fixture);
    } finally {
      fixture.cleanup();
    }
  };
}

function writeHostProc(fixture: FixtureRoot): void {
  const kB = (bytes: number) => `${String(bytes / 1024).padStart(8)} kB`;
  fixture.write('proc/meminfo', [
    `MemTotal:       ${kB(HOST_MEMORY_BYTES)}`,
    `MemFree:        ${kB(8 * 1024 ** 3)}`,
    `MemAvailable:   ${kB(HOST_AVAILABLE_BYTES)}`,
    `Buffers:        ${kB(256 * 1024 ** 2)}`,
    `Cached:         ${kB(3 * 1024 ** 3)}`,
    `AnonPages:      ${kB(2 * 1024 ** 3)}`,
    '',
  ].join('\n'));
  const cpuLines = Array.from({ length: HOST_CPUS }, (_, index) => `cpu${index} 2500 0 1250 100000 10 0 5 0 0 0`);
  fixture.write('proc/stat', [`cpu  10000 0 5000 400000 40 0 20 0 0 0`, ...cpuLines, 'intr 1', 'ctxt 1', 'btime 1700000000', 'processes 10', 'procs_running 1', 'procs_blocked 0', ''].join('\n'));
  fixture.write('proc/vmstat', 'nr_free_pages 100\noom_kill 7\n');
  fixture.write(`proc/${FIXTURE_PID}/stat`, `${FIXTURE_PID} (app) S 1 1 1 0 -1 4194560 100 0 0 0 10 5 0 0 20 0 1 0 100 1000000 100 18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0\n`);
  writeProcessFiles(fixture, FIXTURE_PID, { name: 'app', threads: 3, openFiles: 3, nofile: [1024, 4096] });
}

/** A process's status, limits and open descriptors (`fd/0`...), as proc(5) shows them. */
export interface FixtureProcess {
  name: string;
  threads: number;
  openFiles: number;
  /** Soft and hard RLIMIT_NOFILE. */
  nofile: [number, number];
  /** Soft and hard RLIMIT_NPROC, 'unlimited' by default. */
  nproc?: [number | 'unlimited', number | 'unlimited'];
  uid?: number;
}

/** /proc/<pid>/limits in the kernel's layout (fs/proc/base.c: proc_pid_limits). */
export function limitsText(nofile: [number, number], nproc: [number | 'unlimited', number | 'unlimited'] = ['unlimited', 'unlimited']): string {
  const line = (name: string, soft: number | string, hard: number | string, units: string) => `${name.padEnd(25)} ${String(soft).padEnd(20)} ${String(hard).padEnd(20)} ${units.padEnd(10)}\n`;
  return [
    line('Limit', 'Soft Limit', 'Hard Limit', 'Units'),
    line('Max cpu time', 'unlimited', 'unlimited', 'seconds'),
    line('Max file size', 'unlimited', 'unlimited', 'bytes'),
    line('Max stack size', 8388608, 'unlimited', 'bytes'),
    line('Max processes', nproc[0], nproc[1], 'processes'),
    line('Max open files', nofile[0], nofile[1], 'files'),
    line('Max locked memory', 8388608, 8388608, 'bytes'),
    line('Max pending signals', 63354, 63354, 'signals'),
  ].join('');
}

export function writeProcessFiles(fixture: FixtureRoot, pid: number, files: FixtureProcess): void {
  const uid = files.uid ?? 0;
  fixture.write(`proc/${pid}/comm`, `${files.name}\n`);
  fixture.write(`proc/${pid}/status`, `Name:\t${files.name}\nUid:\t${uid}\t${uid}\t${uid}\t${uid}\nThreads:\t${files.threads}\nCapEff:\t${uid === 0 ? '000001ffffffffff' : '0000000000000000'}\n`);
  fixture.write(`proc/${pid}/limits`, limitsText(files.nofile, files.nproc));
  fixture.remove(`proc/${pid}/fd`);
  for (let fd = 0; fd < files.openFiles; fd += 1) fixture.write(`proc/${pid}/fd/${fd}`, '');
}

/** A mountinfo line (proc(5)); the fstype's super options list v1 controllers. */
export function mountinfoLine(id: number, root: string, mountPoint: string, fsType: 'cgroup' | 'cgroup2', superOptions: string): string {
  return `${id} 25 0:${id} ${root} ${mountPoint} rw,nosuid,nodev,noexec,relatime shared:${id} - ${fsType} ${fsType} ${superOptions}`;
}

export const PSI = (someTotal: number, fullTotal?: number) =>
  `some avg10=0.00 avg60=0.00 avg300=0.00 total=${someTotal}\n` + (fullTotal === undefined ? '' : `full avg10=0.00 avg60=0.00 avg300=0.00 total=${fullTotal}\n`);

export interface V2CgroupFiles {
  current: number;
  inactiveFile: number;
  anon: number;
  file: number;
  max: number | 'max';
  low?: number;
  oomKills?: number;
  usageUsec: number;
  cpuMax: string;
  throttle?: { periods: number; throttled: number; throttledUsec: number };
  procs?: number[];
  threads?: number;
  pressure?: boolean;
  /** pids.current and pids.max (default: the threads, no limit). */
  pids?: { current: number; max: number | 'max' };
}

export function writeV2Cgroup(fixture: FixtureRoot, dir: string, files: V2CgroupFiles): void {
  const at = (name: string) => path.join(dir, name);
  fixture.write(at('memory.current'), `${files.current}\n`);
  fixture.write(at('memory.stat'), [
    `anon ${files.anon}`, `file ${files.file}`, 'kernel_stack 16384', 'sock 0', 'shmem 0',
    `active_anon ${files.anon}`, `inactive_anon 0`, `active_file ${files.file - files.inactiveFile}`, `inactive_file ${files.inactiveFile}`,
    'unevictable 0', 'pgfault 1000', 'pgmajfault 0', '',
  ].join('\n'));
  fixture.write(at('memory.max'), `${files.max}\n`);
  fixture.write(at('memory.low'), `${files.low ?? 0}\n`);
  fixture.write(at('memory.events'), `low 0\nhigh 0\nmax 3\noom ${files.oomKills ?? 0}\noom_kill ${files.oomKills ?? 0}\noom_group_kill 0\n`);
  const throttle = files.throttle ?? { periods: 0, throttled: 0, throttledUsec: 0 };
  fixture.write(at('cpu.stat'), [
    `usage_usec ${files.usageUsec}`, `user_usec ${Math.floor(files.usageUsec * 0.7)}`, `system_usec ${files.usageUsec - Math.floor(files.usageUsec * 0.7)}`,
    `nr_periods ${throttle.periods}`, `nr_throttled ${throttle.throttled}`, `throttled_usec ${throttle.throttledUsec}`, 'nr_bursts 0', 'burst_usec 0', '',
  ].join('\n'));
  fixture.write(at('cpu.max'), `${files.cpuMax}\n`);
  const procs = files.procs ?? [FIXTURE_PID];
  fixture.write(at('cgroup.procs'), procs.map((pid) => `${pid}\n`).join(''));
  fixture.write(at('cgroup.threads'), Array.from({ length: files.threads ?? procs.length }, (_, index) => `${(procs[0] ?? 1) + index}\n`).join(''));
  const pids = files.pids ?? { current: files.threads ?? procs.length, max: 'max' };
  fixture.write(at('pids.current'), `${pids.current}\n`);
  fixture.write(at('pids.max'), `${pids.max}\n`);
  if (files.pressure !== false) {
    fixture.write(at('cpu.pressure'), PSI(2_500_000, 1_000_000));
    fixture.write(at('memory.pressure'), PSI(500_000, 250_000));
    fixture.write(at('io.pressure'), PSI(4_000_000, 3_000_000));
  }
}

export interface V1MemoryFiles { usage: number; totalInactiveFile: number; totalRss: number; totalCache: number; limit: string; softLimit: string; oomKills: number }

export function writeV1Memory(fixture: FixtureRoot, dir: string, files: V1MemoryFiles): void {
  const at = (name: string) => path.join(dir, name);
  fixture.write(at('memory.usage_in_bytes'), `${files.usage}\n`);
  fixture.write(at('memory.limit_in_bytes'), `${files.limit}\n`);
  fixture.write(at('memory.soft_limit_in_bytes'), `${files.softLimit}\n`);
  fixture.write(at('memory.oom_control'), `oom_kill_disable 0\nunder_oom 0\noom_kill ${files.oomKills}\n`);
  fixture.write(at('memory.stat'), [
    `cache ${files.totalCache}`, `rss ${files.totalRss}`, 'rss_huge 0', 'shmem 0', 'mapped_file 0',
    `hierarchical_memory_limit ${files.limit}`,
    `total_cache ${files.totalCache}`, `total_rss ${files.totalRss}`, `total_inactive_anon 0`, `total_active_anon ${files.totalRss}`,
    `total_inactive_file ${files.totalInactiveFile}`, `total_active_file ${files.totalCache - files.totalInactiveFile}`, 'total_unevictable 0', '',
  ].join('\n'));
  fixture.write(at('cgroup.procs'), `${FIXTURE_PID}\n`);
  fixture.write(at('tasks'), `${FIXTURE_PID}\n${FIXTURE_PID + 1}\n`);
}

export interface V1CpuFiles { usageNs: number; quota: number; period: number; periods: number; throttled: number; throttledNs: number }

/** A combined `cpu,cpuacct` directory, as most v1 hosts mount them. */
export function writeV1Cpu(fixture: FixtureRoot, dir: string, files: V1CpuFiles): void {
  const at = (name: string) => path.join(dir, name);
  fixture.write(at('cpuacct.usage'), `${files.usageNs}\n`);
  fixture.write(at('cpu.cfs_quota_us'), `${files.quota}\n`);
  fixture.write(at('cpu.cfs_period_us'), `${files.period}\n`);
  fixture.write(at('cpu.stat'), `nr_periods ${files.periods}\nnr_throttled ${files.throttled}\nthrottled_time ${files.throttledNs}\n`);
  fixture.write(at('cgroup.procs'), `${FIXTURE_PID}\n`);
  fixture.write(at('tasks'), `${FIXTURE_PID}\n${FIXTURE_PID + 1}\n`);
}
