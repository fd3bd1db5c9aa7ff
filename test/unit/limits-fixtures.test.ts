// File descriptors, tasks and RLIMIT_NPROC against fake host roots: which process holds the worst share, the
// pids.max that binds, what RLIMIT_NPROC counts, and the faults (a listed process gone, no pids controller)
// that fail nothing else and are named under /health. Real kernels: test/limits-*.test.ts.
import { chownSync } from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { valueOf } from '../helpers/metrics-text.js';
import { createFixtureRoot, FIXTURE_PID, mountinfoLine, writeProcessFiles, writeV1Cpu, writeV1Memory, writeV2Cgroup, withFixture, type FixtureRoot } from '../helpers/cgroup-fixture.js';
import { COLLECTOR_NAMES, collectorSuccesses, scrapeFixture } from '../helpers/fixture-exporter.js';

const MiB = 1024 ** 2;
const CGROUP = 'sys/fs/cgroup/app';


/** A cgroup v2 host with the watched process in /app, and `procs` besides it in the same cgroup. */
function v2Host(fixture: FixtureRoot, procs: number[], pids: { current: number; max: number | 'max' } = { current: 1 + procs.length, max: 'max' }): void {
  fixture.write(`proc/${FIXTURE_PID}/cgroup`, '0::/app\n');
  fixture.write('proc/self/mountinfo', ['22 1 0:21 / / rw,relatime shared:1 - ext4 /dev/vda rw', mountinfoLine(30, '/', '/sys/fs/cgroup', 'cgroup2', 'rw,nsdelegate'), ''].join('\n'));
  fixture.write('sys/fs/cgroup/cgroup.controllers', 'cpuset cpu io memory pids\n');
  writeV2Cgroup(fixture, CGROUP, { current: 100 * MiB, inactiveFile: 0, anon: 100 * MiB, file: 0, max: 400 * MiB, usageUsec: 1, cpuMax: 'max 100000', procs: [FIXTURE_PID, ...procs], pids });
}

const allSucceeded = (samples: Parameters<typeof collectorSuccesses>[0]) => assert.equal(collectorSuccesses(samples), Object.fromEntries(COLLECTOR_NAMES.map((name) => [name, 1])));

test('processes with different soft RLIMIT_NOFILE: the worst share is the right process\'s, with its command; the total sums them all', withFixture(async (fixture) => {
  v2Host(fixture, [101, 102, 103]);
  // The most descriptors is not the worst share: 900 of 65536 (1.4 %) against 60 of 64 (93.8 %).
  writeProcessFiles(fixture, 101, { name: 'nginx', threads: 1, openFiles: 900, nofile: [65536, 65536] });
  writeProcessFiles(fixture, 102, { name: 'legacy-daemon', threads: 2, openFiles: 60, nofile: [64, 4096] });
  writeProcessFiles(fixture, 103, { name: 'cron', threads: 1, openFiles: 5, nofile: [1024, 1024] });
  const { samples, health } = await scrapeFixture(fixture);
  allSucceeded(samples);
  assert.is(valueOf(samples, 'headroom_fds_open'), 3 + 900 + 60 + 5);
  assert.is(valueOf(samples, 'headroom_fds_percent'), 60 / 64 * 100);
  const limits = samples.filter((sample) => sample.name === 'headroom_fds_limit');
  assert.equal(limits.map((sample) => [sample.labels.command, sample.value]), [['legacy-daemon', 64]], 'one series: the worst process\'s soft limit and command');
  assert.is(health.checks.resources?.message.includes('fds warning (legacy-daemon, soft limit 64)'), true, health.checks.resources?.message);
  const levels = (health.checks.resources?.details as { levels: Record<string, string> }).levels;
  assert.equal(levels, { cpu: 'info', memory: 'info', fds: 'warning', pids: 'info', nproc: 'info' });
}));

test('fds at the limit: 100 % and danger; a soft limit lowered below the open count reads above 100', withFixture(async (fixture) => {
  v2Host(fixture, [101]);
  writeProcessFiles(fixture, 101, { name: 'server', threads: 1, openFiles: 256, nofile: [256, 256] });
  let { samples, health } = await scrapeFixture(fixture);
  assert.is(valueOf(samples, 'headroom_fds_percent'), 100);
  assert.is(valueOf(samples, 'headroom_resource_level', { resource: 'fds' }), 3);
  assert.is(health.checks.resources?.status, 'failing');
  writeProcessFiles(fixture, 101, { name: 'server', threads: 1, openFiles: 300, nofile: [256, 1024] });
  ({ samples } = await scrapeFixture(fixture));
  assert.is(valueOf(samples, 'headroom_fds_percent'), 300 / 256 * 100);
}));

test('pids.max: the cgroup\'s own limit, none where it is max, and an ancestor\'s when that one is fuller', withFixture(async (fixture) => {
  v2Host(fixture, [], { current: 61, max: 64 });
  let { samples, health } = await scrapeFixture(fixture);
  assert.is(valueOf(samples, 'headroom_pids_limit'), 64);
  assert.is(valueOf(samples, 'headroom_pids_percent'), 61 / 64 * 100);
  assert.is(valueOf(samples, 'headroom_resource_level', { resource: 'pids' }), 2, 'critical above 95 %');
  assert.is(health.checks.resources?.message.includes('pids critical'), true);

  v2Host(fixture, [], { current: 61, max: 'max' });
  ({ samples } = await scrapeFixture(fixture));
  assert.is(valueOf(samples, 'headroom_pids_limit'), undefined, 'no limit: no series');
  assert.is(valueOf(samples, 'headroom_pids_percent'), undefined);
  assert.is(valueOf(samples, 'headroom_resource_level', { resource: 'pids' }), 0);

  // The parent holds 100 of 100 tasks (its other children hold the rest): the next fork in /app fails too.
  fixture.write(`proc/${FIXTURE_PID}/cgroup`, '0::/parent/app\n');
  writeV2Cgroup(fixture, 'sys/fs/cgroup/parent/app', { current: 100 * MiB, inactiveFile: 0, anon: 100 * MiB, file: 0, max: 400 * MiB, usageUsec: 1, cpuMax: 'max 100000', pids: { current: 30, max: 500 } });
  fixture.write('sys/fs/cgroup/parent/pids.max', '100\n');
  fixture.write('sys/fs/cgroup/parent/pids.current', '100\n');
  ({ samples } = await scrapeFixture(fixture));
  assert.is(valueOf(samples, 'headroom_pids_limit'), 100);
  assert.is(valueOf(samples, 'headroom_pids_percent'), 100);
  // The parent at 40 of 100 is still fuller than /app at 30 of 500 (6 %); at 40 of 1000 /app binds.
  fixture.write('sys/fs/cgroup/parent/pids.current', '40\n');
  ({ samples } = await scrapeFixture(fixture));
  assert.equal([valueOf(samples, 'headroom_pids_limit'), valueOf(samples, 'headroom_pids_percent')], [100, 40]);
  fixture.write('sys/fs/cgroup/parent/pids.max', '1000\n');
  ({ samples } = await scrapeFixture(fixture));
  assert.equal([valueOf(samples, 'headroom_pids_limit'), valueOf(samples, 'headroom_pids_percent')], [500, 6]);
}));

test('no pids controller (cgroup v1 without a pids hierarchy): pids fails alone and /health names it; the scrape answers 200', withFixture(async (fixture) => {
  fixture.write(`proc/${FIXTURE_PID}/cgroup`, '11:memory:/docker/abc\n4:cpu,cpuacct:/docker/abc\n1:name=systemd:/docker/abc\n');
  fixture.write('proc/self/mountinfo', [
    '22 1 0:21 / / rw,relatime shared:1 - ext4 /dev/vda rw',
    mountinfoLine(33, '/', '/sys/fs/cgroup/memory', 'cgroup', 'rw,memory'),
    mountinfoLine(34, '/', '/sys/fs/cgroup/cpu,cpuacct', 'cgroup', 'rw,cpu,cpuacct'),
    '',
  ].join('\n'));
  writeV1Memory(fixture, 'sys/fs/cgroup/memory/docker/abc', { usage: 100 * MiB, totalInactiveFile: 0, totalRss: 100 * MiB, totalCache: 0, limit: String(400 * MiB), softLimit: '9223372036854771712', oomKills: 0 });
  writeV1Cpu(fixture, 'sys/fs/cgroup/cpu,cpuacct/docker/abc', { usageNs: 1, quota: -1, period: 100000, periods: 0, throttled: 0, throttledNs: 0 });
  const { status, samples, health } = await scrapeFixture(fixture);
  assert.is(status, 200);
  assert.equal(collectorSuccesses(samples), Object.fromEntries(COLLECTOR_NAMES.map((name) => [name, name === 'pids' ? 0 : 1])));
  assert.is(valueOf(samples, 'headroom_fds_open'), 3, 'the other per-process figures are there');
  assert.is(health.status, 'ok', 'pids is not essential');
  assert.is(health.checks.collectors?.status, 'degraded');
  assert.match(health.checks.collectors!.message, 'pids: no pids controller for cgroup /docker/abc (no cgroup v1 pids hierarchy is mounted)');
}));

test('a process listed in the cgroup but gone from /proc (it exited mid-scrape): nothing fails, /health names it and stays ok', withFixture(async (fixture) => {
  v2Host(fixture, [101, 4242]);
  writeProcessFiles(fixture, 101, { name: 'worker', threads: 1, openFiles: 10, nofile: [1024, 1024] });
  // 4242 is in cgroup.procs and has no /proc/4242 at all.
  const { samples, health } = await scrapeFixture(fixture);
  allSucceeded(samples);
  assert.is(valueOf(samples, 'headroom_fds_open'), 13);
  assert.is(health.checks.collectors?.status, 'ok', 'a process that exited took its descriptors with it: nothing is missing');
  const notes = (health.checks.collectors?.details as { notes?: string[] }).notes ?? [];
  assert.ok(notes.includes('fds: 1 process exited while open file descriptors were read: 4242'), JSON.stringify(notes));
}));

test('RLIMIT_NPROC: the tasks of the process\'s user on the whole host against its soft limit; root and unlimited processes are not watched', withFixture(async (fixture) => {
  v2Host(fixture, [101, 102, 103]);
  // 101 runs as uid 1000 with a soft limit of 50; uid 1000 has 40 tasks on the host: two processes outside the cgroup (10 and 25 threads) and 101's 5.
  writeProcessFiles(fixture, 101, { name: 'worker', threads: 5, openFiles: 4, nofile: [1024, 1024], nproc: [50, 100], uid: 1000 });
  writeProcessFiles(fixture, 201, { name: 'elsewhere', threads: 10, openFiles: 1, nofile: [1024, 1024], uid: 1000 });
  writeProcessFiles(fixture, 202, { name: 'elsewhere', threads: 25, openFiles: 1, nofile: [1024, 1024], uid: 1000 });
  // 102 (uid 2000) is unlimited; 103 runs as root with a tiny limit, which root is exempt from.
  writeProcessFiles(fixture, 102, { name: 'free', threads: 1, openFiles: 4, nofile: [1024, 1024], uid: 2000 });
  writeProcessFiles(fixture, 103, { name: 'rooted', threads: 1, openFiles: 4, nofile: [1024, 1024], nproc: [2, 2] });
  for (const [pid, uid] of [[101, 1000], [201, 1000], [202, 1000], [102, 2000]] as const) chownSync(path.join(fixture.procfs, String(pid)), uid, uid);
  const { samples } = await scrapeFixture(fixture);
  allSucceeded(samples);
  assert.is(valueOf(samples, 'headroom_nproc_percent'), 40 / 50 * 100);
  assert.equal(samples.filter((sample) => sample.name === 'headroom_nproc_limit').map((sample) => [sample.labels.uid, sample.value]), [['1000', 50]]);
  assert.is(valueOf(samples, 'headroom_resource_level', { resource: 'nproc' }), 0, '80 % is not above 80 %');
}));

test.run();
