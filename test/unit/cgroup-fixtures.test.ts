// The exporter against fake host roots of every cgroup layout it must understand.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { valueOf, type Sample } from '../helpers/metrics-text.js';
import {
  createFixtureRoot, FIXTURE_PID, HOST_AVAILABLE_BYTES, HOST_CPUS, HOST_MEMORY_BYTES, mountinfoLine, PSI,
  writeV1Cpu, writeV1Memory, writeV2Cgroup, withFixture, type FixtureRoot,
} from '../helpers/cgroup-fixture.js';
import { COLLECTOR_NAMES, scrapeFixture } from '../helpers/fixture-exporter.js';

const MiB = 1024 ** 2;
const V1_UNLIMITED = '9223372036854771712';


const success = (samples: Sample[], collector: string) => valueOf(samples, 'headroom_scrape_collector_success', { collector });

function v2Host(fixture: FixtureRoot, cgroupPath: string, mountRoot = '/'): void {
  fixture.write(`proc/${FIXTURE_PID}/cgroup`, `0::${cgroupPath}\n`);
  fixture.write('proc/self/mountinfo', [
    '22 1 0:21 / / rw,relatime shared:1 - ext4 /dev/vda rw',
    mountinfoLine(30, mountRoot, '/sys/fs/cgroup', 'cgroup2', 'rw,nsdelegate,memory_recursiveprot'),
    '',
  ].join('\n'));
  fixture.write('sys/fs/cgroup/cgroup.controllers', 'cpuset cpu io memory hugetlb pids rdma misc\n');
}

test('cgroup v2 with limits', withFixture(async (fixture) => {
  v2Host(fixture, '/system.slice/docker-abc.scope');
  writeV2Cgroup(fixture, 'sys/fs/cgroup/system.slice/docker-abc.scope', {
    current: 300 * MiB, inactiveFile: 44 * MiB, anon: 200 * MiB, file: 90 * MiB, max: 512 * MiB, low: 128 * MiB, oomKills: 2,
    usageUsec: 12_500_000, cpuMax: '50000 100000', throttle: { periods: 400, throttled: 30, throttledUsec: 1_500_000 }, procs: [FIXTURE_PID], threads: 3,
    pids: { current: 3, max: 64 },
  });
  const { status, samples, health } = await scrapeFixture(fixture);
  assert.is(status, 200);
  assert.is(valueOf(samples, 'headroom_memory_usage_bytes'), 300 * MiB);
  assert.is(valueOf(samples, 'headroom_memory_working_set_bytes'), 256 * MiB);
  assert.is(valueOf(samples, 'headroom_memory_limit_bytes'), 512 * MiB);
  assert.is(valueOf(samples, 'headroom_memory_percent'), 50);
  assert.is(valueOf(samples, 'headroom_memory_available_bytes'), 256 * MiB);
  assert.is(valueOf(samples, 'headroom_memory_rss_bytes'), 200 * MiB);
  assert.is(valueOf(samples, 'headroom_memory_cache_bytes'), 90 * MiB);
  assert.is(valueOf(samples, 'headroom_memory_reservation_bytes'), 128 * MiB, 'memory.low, where Docker writes the reservation');
  assert.is(valueOf(samples, 'headroom_memory_oom_kills_total'), 2);
  assert.is(valueOf(samples, 'headroom_cpu_usage_seconds_total'), 12.5);
  assert.is(valueOf(samples, 'headroom_cpu_limit_cores'), 0.5);
  assert.is(valueOf(samples, 'headroom_cpu_cfs_periods_total'), 400);
  assert.is(valueOf(samples, 'headroom_cpu_cfs_throttled_periods_total'), 30);
  assert.is(valueOf(samples, 'headroom_cpu_cfs_throttled_seconds_total'), 1.5);
  assert.is(valueOf(samples, 'headroom_memory_limit_enforced'), 1);
  assert.is(valueOf(samples, 'headroom_cpu_limit_enforced'), 1);
  assert.is(valueOf(samples, 'headroom_pressure_waiting_seconds_total', { resource: 'cpu' }), 2.5);
  assert.is(valueOf(samples, 'headroom_pressure_stalled_seconds_total', { resource: 'io' }), 3);
  assert.is(valueOf(samples, 'headroom_processes'), 1);
  assert.is(valueOf(samples, 'headroom_processes_threads'), 3);
  assert.is(valueOf(samples, 'headroom_pids_limit'), 64);
  assert.is(valueOf(samples, 'headroom_pids_percent'), 3 / 64 * 100);
  assert.is(valueOf(samples, 'headroom_fds_open'), 3);
  assert.is(valueOf(samples, 'headroom_fds_limit', { command: 'app' }), 1024);
  assert.is(valueOf(samples, 'headroom_fds_percent'), 3 / 1024 * 100);
  assert.is(valueOf(samples, 'headroom_nproc_percent'), undefined, 'root is exempt from RLIMIT_NPROC');
  assert.is(valueOf(samples, 'headroom_cgroup_info', { path: '/system.slice/docker-abc.scope', mode: 'v2', cpu_usage: 'cgroup' }), 1);
  assert.is(valueOf(samples, 'headroom_cpu_reservation_cores'), 0.5, 'declared default: no cgroup file holds it');
  for (const collector of COLLECTOR_NAMES) assert.is(success(samples, collector), 1, collector);
  assert.is(health.status, 'ok');
  assert.is(health.memory_percent, 50);
  assert.is(health.memory_available_bytes, 256 * MiB);
}));

test('cgroup v2 unlimited (max): host memory and CPUs stand in', withFixture(async (fixture) => {
  v2Host(fixture, '/app');
  writeV2Cgroup(fixture, 'sys/fs/cgroup/app', { current: 2 * 1024 * MiB, inactiveFile: 0, anon: 2 * 1024 * MiB, file: 0, max: 'max', usageUsec: 1_000_000, cpuMax: 'max 100000' });
  const { samples } = await scrapeFixture(fixture, ['--declared.memory-reservation=300M']);
  assert.is(valueOf(samples, 'headroom_memory_limit_bytes'), HOST_MEMORY_BYTES);
  assert.is(valueOf(samples, 'headroom_memory_percent'), 12.5);
  assert.is(valueOf(samples, 'headroom_memory_available_bytes'), HOST_AVAILABLE_BYTES, "the host's MemAvailable");
  assert.is(valueOf(samples, 'headroom_cpu_limit_cores'), HOST_CPUS);
  assert.is(valueOf(samples, 'headroom_memory_limit_enforced'), 0);
  assert.is(valueOf(samples, 'headroom_cpu_limit_enforced'), 0);
  assert.is(valueOf(samples, 'headroom_memory_reservation_bytes'), 300 * MiB, 'memory.low 0: the declared reservation');
  assert.is(valueOf(samples, 'headroom_declared_memory_reservation_bytes'), 300 * MiB);
}));

function v1Host(fixture: FixtureRoot, memoryPath: string, cpuPath: string, options: { unified?: boolean; mountRoot?: string } = {}): void {
  const lines = [
    '12:pids:/user.slice', `11:memory:${memoryPath}`, '10:devices:/', `4:cpu,cpuacct:${cpuPath}`, '1:name=systemd:/user.slice',
  ];
  if (options.unified) lines.splice(2, 0, '0::/user.slice/session-1.scope'); // on hybrid hosts the v2 line is not first
  fixture.write(`proc/${FIXTURE_PID}/cgroup`, `${lines.join('\n')}\n`);
  const root = options.mountRoot ?? '/';
  const mounts = [
    '22 1 0:21 / / rw,relatime shared:1 - ext4 /dev/vda rw',
    '25 22 0:23 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755',
    mountinfoLine(33, root, '/sys/fs/cgroup/memory', 'cgroup', 'rw,memory'),
    mountinfoLine(34, root, '/sys/fs/cgroup/cpu,cpuacct', 'cgroup', 'rw,cpu,cpuacct'),
    mountinfoLine(35, '/', '/sys/fs/cgroup/pids', 'cgroup', 'rw,pids'),
  ];
  if (options.unified) mounts.push(mountinfoLine(36, '/', '/sys/fs/cgroup/unified', 'cgroup2', 'rw,nsdelegate'));
  fixture.write('proc/self/mountinfo', `${mounts.join('\n')}\n`);
  fixture.write('sys/fs/cgroup/pids/user.slice/cgroup.procs', `${FIXTURE_PID}\n`);
  fixture.write('sys/fs/cgroup/pids/user.slice/tasks', `${FIXTURE_PID}\n${FIXTURE_PID + 1}\n`);
  fixture.write('sys/fs/cgroup/pids/user.slice/pids.current', '2\n');
  fixture.write('sys/fs/cgroup/pids/user.slice/pids.max', 'max\n');
}

test('cgroup v1 with limits (combined cpu,cpuacct mount)', withFixture(async (fixture) => {
  v1Host(fixture, '/docker/abc', '/docker/abc');
  writeV1Memory(fixture, 'sys/fs/cgroup/memory/docker/abc', { usage: 900 * MiB, totalInactiveFile: 100 * MiB, totalRss: 700 * MiB, totalCache: 200 * MiB, limit: String(1024 * MiB), softLimit: String(256 * MiB), oomKills: 1 });
  writeV1Cpu(fixture, 'sys/fs/cgroup/cpu,cpuacct/docker/abc', { usageNs: 3_000_000_000, quota: 150000, period: 100000, periods: 50, throttled: 5, throttledNs: 250_000_000 });
  const { samples } = await scrapeFixture(fixture);
  assert.is(valueOf(samples, 'headroom_memory_working_set_bytes'), 800 * MiB);
  assert.is(valueOf(samples, 'headroom_memory_limit_bytes'), 1024 * MiB);
  assert.is(valueOf(samples, 'headroom_memory_percent'), 78.125);
  assert.is(valueOf(samples, 'headroom_memory_reservation_bytes'), 256 * MiB, 'the soft limit');
  assert.is(valueOf(samples, 'headroom_memory_oom_kills_total'), 1);
  assert.is(valueOf(samples, 'headroom_cpu_usage_seconds_total'), 3);
  assert.is(valueOf(samples, 'headroom_cpu_limit_cores'), 1.5);
  assert.is(valueOf(samples, 'headroom_cpu_cfs_throttled_seconds_total'), 0.25);
  assert.is(valueOf(samples, 'headroom_processes'), 1);
  assert.is(valueOf(samples, 'headroom_processes_threads'), 2, 'v1 tasks');
  assert.is(valueOf(samples, 'headroom_cgroup_info', { path: '/docker/abc', mode: 'v1', cpu_usage: 'cgroup' }), 1);
  assert.is(valueOf(samples, 'headroom_pressure_waiting_seconds_total', { resource: 'cpu' }), undefined, 'no PSI offered: no series');
  assert.is(success(samples, 'pressure'), 1);
}));

test('v1 cpu and cpuacct mounted apart, the process in a cpu cgroup only: usage is its processes\', not the root\'s', withFixture(async (fixture) => {
  fixture.write(`proc/${FIXTURE_PID}/cgroup`, '5:pids:/\n4:memory:/limited\n3:cpuacct:/\n2:cpu:/limited\n1:name=systemd:/\n');
  fixture.write('proc/self/mountinfo', [
    '22 1 0:21 / / rw,relatime shared:1 - ext4 /dev/vda rw',
    mountinfoLine(32, '/', '/sys/fs/cgroup/cpu', 'cgroup', 'rw,cpu'),
    mountinfoLine(33, '/', '/sys/fs/cgroup/cpuacct', 'cgroup', 'rw,cpuacct'),
    mountinfoLine(34, '/', '/sys/fs/cgroup/memory', 'cgroup', 'rw,memory'),
    '',
  ].join('\n'));
  writeV1Memory(fixture, 'sys/fs/cgroup/memory/limited', { usage: 100 * MiB, totalInactiveFile: 0, totalRss: 100 * MiB, totalCache: 0, limit: String(512 * MiB), softLimit: V1_UNLIMITED, oomKills: 0 });
  // The root cpuacct cgroup counts every process of the host: 10,000 s.
  fixture.write('sys/fs/cgroup/cpuacct/cpuacct.usage', `${10_000 * 1e9}\n`);
  const sibling = FIXTURE_PID - 1;
  fixture.write('sys/fs/cgroup/cpu/limited/cgroup.procs', `${FIXTURE_PID}\n${sibling}\n`);
  fixture.write('sys/fs/cgroup/cpu/limited/cpu.cfs_quota_us', '25000\n');
  fixture.write('sys/fs/cgroup/cpu/limited/cpu.cfs_period_us', '100000\n');
  fixture.write('sys/fs/cgroup/cpu/limited/cpu.stat', 'nr_periods 40\nnr_throttled 30\nthrottled_time 2000000000\n');
  fixture.write('sys/fs/cgroup/cpu/cpu.cfs_quota_us', '-1\n');
  fixture.write('sys/fs/cgroup/cpu/cpu.cfs_period_us', '100000\n');
  // utime 200, stime 50, cutime 30, cstime 20 ticks; the watched process's own stat has 10 + 5.
  fixture.write(`proc/${sibling}/stat`, `${sibling} (worker) R 1 1 1 0 -1 4194560 100 0 0 0 200 50 30 20 20 0 1 0 100 1000000 100 18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0\n`);
  const { samples, health } = await scrapeFixture(fixture);
  assert.is(valueOf(samples, 'headroom_cpu_usage_seconds_total'), 3.15, 'utime + stime + cutime + cstime of the cgroup\'s processes at USER_HZ');
  assert.is(valueOf(samples, 'headroom_cpu_limit_cores'), 0.25);
  assert.is(valueOf(samples, 'headroom_cpu_cfs_throttled_periods_total'), 30, 'throttling is the cpu cgroup\'s own');
  assert.is(valueOf(samples, 'headroom_cgroup_info', { path: '/limited', mode: 'v1', cpu_usage: 'processes' }), 1);
  assert.match(String(health.checks.collectors?.details?.cpu_usage), 'summed from the processes of the cpu cgroup /limited');
}));

test('cgroup v1 unlimited sentinel and quota -1', withFixture(async (fixture) => {
  v1Host(fixture, '/docker/abc', '/docker/abc');
  writeV1Memory(fixture, 'sys/fs/cgroup/memory/docker/abc', { usage: 2048 * MiB, totalInactiveFile: 0, totalRss: 2048 * MiB, totalCache: 0, limit: V1_UNLIMITED, softLimit: V1_UNLIMITED, oomKills: 0 });
  writeV1Cpu(fixture, 'sys/fs/cgroup/cpu,cpuacct/docker/abc', { usageNs: 1, quota: -1, period: 100000, periods: 0, throttled: 0, throttledNs: 0 });
  // The ancestors up to the mount point are unlimited too.
  fixture.write('sys/fs/cgroup/memory/docker/memory.limit_in_bytes', `${V1_UNLIMITED}\n`);
  fixture.write('sys/fs/cgroup/memory/memory.limit_in_bytes', `${V1_UNLIMITED}\n`);
  const { samples } = await scrapeFixture(fixture);
  assert.is(valueOf(samples, 'headroom_memory_limit_bytes'), HOST_MEMORY_BYTES);
  assert.is(valueOf(samples, 'headroom_memory_percent'), 12.5);
  assert.is(valueOf(samples, 'headroom_memory_reservation_bytes'), 512 * MiB, 'unlimited soft limit: the declared default');
  assert.is(valueOf(samples, 'headroom_cpu_limit_cores'), HOST_CPUS);
  assert.is(valueOf(samples, 'headroom_memory_limit_enforced'), 0);
}));

test('hybrid: v1 controllers, empty v2 at /sys/fs/cgroup/unified (0:: not the first line), pressure from v2', withFixture(async (fixture) => {
  v1Host(fixture, '/docker/abc', '/docker/abc', { unified: true });
  writeV1Memory(fixture, 'sys/fs/cgroup/memory/docker/abc', { usage: 600 * MiB, totalInactiveFile: 88 * MiB, totalRss: 500 * MiB, totalCache: 100 * MiB, limit: String(1024 * MiB), softLimit: V1_UNLIMITED, oomKills: 0 });
  writeV1Cpu(fixture, 'sys/fs/cgroup/cpu,cpuacct/docker/abc', { usageNs: 5_000_000_000, quota: 200000, period: 100000, periods: 0, throttled: 0, throttledNs: 0 });
  fixture.write('sys/fs/cgroup/unified/cgroup.controllers', '\n');
  fixture.write('sys/fs/cgroup/unified/user.slice/session-1.scope/cpu.pressure', PSI(7_000_000, 0));
  fixture.write('sys/fs/cgroup/unified/user.slice/session-1.scope/memory.pressure', PSI(1_000_000, 500_000));
  fixture.write('sys/fs/cgroup/unified/user.slice/session-1.scope/io.pressure', PSI(3_000_000, 2_000_000));
  const { samples } = await scrapeFixture(fixture);
  assert.is(valueOf(samples, 'headroom_memory_limit_bytes'), 1024 * MiB, 'memory from v1 although v2 is mounted');
  assert.is(valueOf(samples, 'headroom_memory_percent'), 50);
  assert.is(valueOf(samples, 'headroom_cpu_limit_cores'), 2);
  assert.is(valueOf(samples, 'headroom_pressure_waiting_seconds_total', { resource: 'cpu' }), 7);
  assert.is(valueOf(samples, 'headroom_pressure_stalled_seconds_total', { resource: 'memory' }), 0.5);
  assert.is(valueOf(samples, 'headroom_cgroup_info', { path: '/user.slice/session-1.scope', mode: 'hybrid', cpu_usage: 'cgroup' }), 1);
  assert.is(valueOf(samples, 'headroom_processes'), 1, 'from the v1 pids controller');
}));

test('private cgroup namespace: path / and the mount is the container cgroup', withFixture(async (fixture) => {
  v2Host(fixture, '/');
  writeV2Cgroup(fixture, 'sys/fs/cgroup', { current: 100 * MiB, inactiveFile: 0, anon: 100 * MiB, file: 0, max: 400 * MiB, usageUsec: 1, cpuMax: '100000 100000' });
  const { samples } = await scrapeFixture(fixture);
  assert.is(valueOf(samples, 'headroom_memory_limit_bytes'), 400 * MiB);
  assert.is(valueOf(samples, 'headroom_memory_percent'), 25);
  assert.is(valueOf(samples, 'headroom_cpu_limit_cores'), 1);
  assert.is(valueOf(samples, 'headroom_cgroup_info', { path: '/', mode: 'v2', cpu_usage: 'cgroup' }), 1);
}));

test("v1 without a cgroup namespace: the mount's root field is the container's path", withFixture(async (fixture) => {
  v1Host(fixture, '/docker/abc', '/docker/abc', { mountRoot: '/docker/abc' });
  writeV1Memory(fixture, 'sys/fs/cgroup/memory', { usage: 100 * MiB, totalInactiveFile: 0, totalRss: 100 * MiB, totalCache: 0, limit: String(200 * MiB), softLimit: V1_UNLIMITED, oomKills: 0 });
  writeV1Cpu(fixture, 'sys/fs/cgroup/cpu,cpuacct', { usageNs: 1, quota: 25000, period: 100000, periods: 0, throttled: 0, throttledNs: 0 });
  const { samples } = await scrapeFixture(fixture);
  assert.is(valueOf(samples, 'headroom_memory_percent'), 50);
  assert.is(valueOf(samples, 'headroom_cpu_limit_cores'), 0.25);
}));

test('a limit on an ancestor: the smallest on the way up wins', withFixture(async (fixture) => {
  v2Host(fixture, '/parent/child');
  writeV2Cgroup(fixture, 'sys/fs/cgroup/parent/child', { current: 300 * MiB, inactiveFile: 0, anon: 300 * MiB, file: 0, max: 'max', usageUsec: 1, cpuMax: '300000 100000' });
  fixture.write('sys/fs/cgroup/parent/memory.max', `${600 * MiB}\n`);
  fixture.write('sys/fs/cgroup/parent/cpu.max', '150000 100000\n');
  const { samples } = await scrapeFixture(fixture);
  assert.is(valueOf(samples, 'headroom_memory_limit_bytes'), 600 * MiB);
  assert.is(valueOf(samples, 'headroom_memory_percent'), 50);
  assert.is(valueOf(samples, 'headroom_cpu_limit_cores'), 1.5);
  assert.is(valueOf(samples, 'headroom_memory_limit_enforced'), 1);
}));

test('no cgroup at all (plain host): host memory and CPU', withFixture(async (fixture) => {
  fixture.write('proc/self/mountinfo', '22 1 0:21 / / rw,relatime shared:1 - ext4 /dev/vda rw\n');
  const { status, samples } = await scrapeFixture(fixture);
  assert.is(status, 200);
  assert.is(valueOf(samples, 'headroom_memory_limit_bytes'), HOST_MEMORY_BYTES);
  assert.is(valueOf(samples, 'headroom_memory_working_set_bytes'), HOST_MEMORY_BYTES - HOST_AVAILABLE_BYTES);
  assert.is(valueOf(samples, 'headroom_memory_percent'), 25);
  assert.is(valueOf(samples, 'headroom_cpu_limit_cores'), HOST_CPUS);
  assert.is(valueOf(samples, 'headroom_cpu_usage_seconds_total'), 150.2, 'busy ticks of /proc/stat at USER_HZ 100');
  assert.is(valueOf(samples, 'headroom_memory_oom_kills_total'), 7, 'from /proc/vmstat');
  assert.is(valueOf(samples, 'headroom_cgroup_info', { path: '', mode: 'none', cpu_usage: 'cgroup' }), 1);
  for (const collector of COLLECTOR_NAMES) assert.is(success(samples, collector), 1, collector);
}));

test('--target.cgroup watches an explicit cgroup path instead of the process\'s', withFixture(async (fixture) => {
  v2Host(fixture, '/app');
  writeV2Cgroup(fixture, 'sys/fs/cgroup/app', { current: 100 * MiB, inactiveFile: 0, anon: 100 * MiB, file: 0, max: 400 * MiB, usageUsec: 1, cpuMax: 'max 100000' });
  writeV2Cgroup(fixture, 'sys/fs/cgroup/other/svc', { current: 300 * MiB, inactiveFile: 0, anon: 300 * MiB, file: 0, max: 1200 * MiB, usageUsec: 1, cpuMax: '200000 100000' });
  const { samples } = await scrapeFixture(fixture, ['--target.cgroup=/other/svc']);
  assert.is(valueOf(samples, 'headroom_memory_limit_bytes'), 1200 * MiB);
  assert.is(valueOf(samples, 'headroom_memory_percent'), 25);
  assert.is(valueOf(samples, 'headroom_cpu_limit_cores'), 2);
  assert.is(valueOf(samples, 'headroom_cgroup_info', { path: '/other/svc', mode: 'v2', cpu_usage: 'cgroup' }), 1);
}));

test('a missing file fails its collector alone; the scrape answers 200', withFixture(async (fixture) => {
  v2Host(fixture, '/app');
  writeV2Cgroup(fixture, 'sys/fs/cgroup/app', { current: 100 * MiB, inactiveFile: 0, anon: 100 * MiB, file: 0, max: 400 * MiB, oomKills: 1, usageUsec: 1, cpuMax: 'max 100000' });
  fixture.remove('sys/fs/cgroup/app/memory.stat');
  const { status, samples, health } = await scrapeFixture(fixture);
  assert.is(status, 200);
  assert.is(success(samples, 'memory'), 0);
  assert.is(valueOf(samples, 'headroom_memory_percent'), undefined, 'no stale or partial values');
  assert.is(valueOf(samples, 'headroom_memory_limit_enforced'), undefined, 'nothing the failed collector publishes');
  assert.is(success(samples, 'cpu'), 1);
  assert.is(success(samples, 'memory_oom'), 1);
  assert.is(valueOf(samples, 'headroom_memory_oom_kills_total'), 1);
  assert.is(health.status, 'failing', 'the memory collector is essential');
  assert.is(health.checks.collectors?.status, 'failing');
}));

test('a garbage file fails its collector alone; the scrape answers 200', withFixture(async (fixture) => {
  v2Host(fixture, '/app');
  writeV2Cgroup(fixture, 'sys/fs/cgroup/app', { current: 100 * MiB, inactiveFile: 0, anon: 100 * MiB, file: 0, max: 400 * MiB, usageUsec: 1, cpuMax: 'max 100000' });
  fixture.write('sys/fs/cgroup/app/io.pressure', '\u0000\u0001garbage that is not PSI\n');
  fixture.write('sys/fs/cgroup/app/cgroup.threads', 'twelve\n');
  const { status, samples, health } = await scrapeFixture(fixture);
  assert.is(status, 200);
  assert.is(success(samples, 'pressure'), 0);
  assert.is(success(samples, 'processes'), 0);
  assert.is(success(samples, 'memory'), 1);
  assert.is(valueOf(samples, 'headroom_memory_percent'), 25);
  assert.is(health.status, 'ok', 'non-essential collectors degrade, they do not fail /health');
  assert.is(health.checks.collectors?.status, 'degraded');
}));

test('a process that does not exist fails the cgroup collectors, not the scrape', withFixture(async (fixture) => {
  v2Host(fixture, '/app');
  const { status, samples } = await scrapeFixture(fixture, ['--target.pid=123456789']);
  assert.is(status, 200);
  assert.is(success(samples, 'memory'), 0);
  assert.is(success(samples, 'cpu'), 0);
  assert.is(valueOf(samples, 'headroom_declared_cpu_limit_cores'), 2, 'the rest of the scrape is served');
}));

test.run();
