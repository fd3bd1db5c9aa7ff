// The pure parsers of kernel file formats, including what they must reject.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  parseFlatKeyed, parseIdList, parseInteger, parseMeminfo, parseMountinfo, parsePidsMax, parsePressure, parseProcCgroup, parseProcessIdentity, parseProcessLimits,
  parseV1CpuLimit, parseV1MemoryLimit, parseV2CpuMax, parseV2MemoryLimit,
} from '../../exporter/src/kernel/parse.js';
import { limitsText } from '../helpers/cgroup-fixture.js';
import { ancestry, cgroupDir, resolveLocation, underSysfs } from '../../exporter/src/kernel/cgroup.js';

test('/proc/PID/cgroup lines, v1 and v2', () => {
  assert.equal(parseProcCgroup('4:cpu,cpuacct:/docker/abc\n0::/system.slice/x.scope\n'), [
    { hierarchyId: 4, controllers: ['cpu', 'cpuacct'], path: '/docker/abc' },
    { hierarchyId: 0, controllers: [], path: '/system.slice/x.scope' },
  ]);
  assert.throws(() => parseProcCgroup('garbage\n'));
  assert.throws(() => parseProcCgroup(''));
});

test('/proc/PID/limits: soft and hard RLIMIT_NOFILE and RLIMIT_NPROC, unlimited as null; garbage refused', () => {
  assert.equal(parseProcessLimits(limitsText([1024, 4096], [63354, 'unlimited'])), { openFiles: { soft: 1024, hard: 4096 }, processes: { soft: 63354, hard: null } });
  assert.throws(() => parseProcessLimits('Max open files 1024 4096 files\n'), /header/);
  assert.throws(() => parseProcessLimits(limitsText([1024, 4096]).replace('Max open files', 'Max open fools')), /Max open files/);
  assert.throws(() => parseProcessLimits(limitsText([1024, 4096]).replace('1024', 'lots')), /not a limit/);
});

test('/proc/PID/status: the real uid, threads, and whether CAP_SYS_ADMIN or CAP_SYS_RESOURCE exempt it from RLIMIT_NPROC', () => {
  const status = (uid: string, capabilities: string) => `Name:\tnode\nUmask:\t0022\nState:\tS (sleeping)\nUid:\t${uid}\nGid:\t1000\t1000\t1000\t1000\nThreads:\t7\nCapInh:\t0000000000000000\nCapEff:\t${capabilities}\n`;
  assert.equal(parseProcessIdentity(status('1000\t0\t0\t0', '0000000000000000')), { realUid: 1000, threads: 7, exemptByCapability: false }, 'the real uid is the first');
  assert.is(parseProcessIdentity(status('1000\t1000\t1000\t1000', '0000000001000000')).exemptByCapability, true, 'CAP_SYS_RESOURCE (bit 24)');
  assert.is(parseProcessIdentity(status('1000\t1000\t1000\t1000', '0000000000200000')).exemptByCapability, true, 'CAP_SYS_ADMIN (bit 21)');
  assert.is(parseProcessIdentity(status('1000\t1000\t1000\t1000', '00000000a80425fb')).exemptByCapability, false, 'Docker\'s default set holds neither');
  assert.throws(() => parseProcessIdentity('Name:\tx\nThreads:\t1\n'), /Uid/);
});

test('pids.max: a number, or max', () => {
  assert.is(parsePidsMax('64\n'), 64);
  assert.is(parsePidsMax('max\n'), null);
  assert.throws(() => parsePidsMax('many\n'));
});

test('mountinfo: optional fields, octal escapes, super options', () => {
  const [mount] = parseMountinfo('35 25 0:32 /docker/a\\040b /sys/fs/cgroup/memory rw,nosuid shared:14 master:2 - cgroup cgroup rw,memory\n');
  assert.equal(mount, { root: '/docker/a b', mountPoint: '/sys/fs/cgroup/memory', fsType: 'cgroup', superOptions: ['rw', 'memory'] });
  assert.throws(() => parseMountinfo('1 2 3\n'));
});

test('limits: v1 sentinel, v2 max, CFS quota and cpu.max', () => {
  assert.is(parseV1MemoryLimit('9223372036854771712\n'), null);
  assert.is(parseV1MemoryLimit('268435456\n'), 268435456);
  assert.is(parseV2MemoryLimit('max\n'), null);
  assert.is(parseV2MemoryLimit('1048576\n'), 1048576);
  assert.throws(() => parseV2MemoryLimit('lots\n'));
  assert.is(parseV1CpuLimit('-1\n', '100000\n'), null);
  assert.is(parseV1CpuLimit('150000\n', '100000\n'), 1.5);
  assert.throws(() => parseV1CpuLimit('1\n', '0\n'));
  assert.is(parseV2CpuMax('max 100000\n'), null);
  assert.is(parseV2CpuMax('50000 100000\n'), 0.5);
  assert.throws(() => parseV2CpuMax('50000\n'));
});

test('flat keyed files, integers, id lists, pressure, meminfo', () => {
  assert.equal([...parseFlatKeyed('nr_periods 5\nnr_throttled 1\n')], [['nr_periods', 5], ['nr_throttled', 1]]);
  assert.throws(() => parseFlatKeyed('nr_periods five\n'));
  assert.throws(() => parseFlatKeyed(''));
  assert.is(parseInteger(' 42\n'), 42);
  assert.throws(() => parseInteger('4 2'));
  assert.equal(parseIdList('1\n22\n'), [1, 22]);
  assert.throws(() => parseIdList('1\nx\n'));
  assert.equal(parsePressure('some avg10=0.00 avg60=0.10 avg300=0.20 total=1234\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=99\n'), { someTotalMicroseconds: 1234, fullTotalMicroseconds: 99 });
  assert.equal(parsePressure('some avg10=0.00 avg60=0.10 avg300=0.20 total=1234\n'), { someTotalMicroseconds: 1234 });
  assert.throws(() => parsePressure('full avg10=0.00 avg60=0.00 avg300=0.00 total=99\n'));
  const meminfo = parseMeminfo('MemTotal:       16384 kB\nMemAvailable:    8192 kB\nHugePages_Total:       0\n');
  assert.is(meminfo.get('MemTotal'), 16384 * 1024);
  assert.is(meminfo.get('HugePages_Total'), 0);
  assert.throws(() => parseMeminfo('nothing\n'));
});

test('resolution: paths through mount roots, sysfs roots, ancestry', () => {
  assert.is(underSysfs('/sys/fs/cgroup/memory', '/fake/sys'), '/fake/sys/fs/cgroup/memory');
  assert.is(underSysfs('/cgroup', '/fake/sys'), '/cgroup');
  assert.is(cgroupDir('/sys/fs/cgroup/memory', '/docker/abc', '/docker/abc'), '/sys/fs/cgroup/memory');
  assert.is(cgroupDir('/sys/fs/cgroup/memory', '/docker/abc', '/docker/abc/child'), '/sys/fs/cgroup/memory/child');
  assert.is(cgroupDir('/sys/fs/cgroup', '/', '/app'), '/sys/fs/cgroup/app');
  assert.equal(ancestry({ version: 2, mountPoint: '/sys/fs/cgroup', dir: '/sys/fs/cgroup/a/b', path: '/a/b' }), ['/sys/fs/cgroup/a/b', '/sys/fs/cgroup/a', '/sys/fs/cgroup']);
  const location = resolveLocation(
    parseProcCgroup('11:memory:/m\n0::/u\n4:cpu,cpuacct:/c\n'),
    parseMountinfo([
      '33 25 0:33 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory',
      '34 25 0:34 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct',
      '36 25 0:36 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw',
    ].join('\n')),
    '/sys',
    () => [],
  );
  assert.is(location.mode, 'hybrid');
  assert.is(location.controllers.memory?.dir, '/sys/fs/cgroup/memory/m');
  assert.is(location.controllers.cpuacct?.dir, '/sys/fs/cgroup/cpu,cpuacct/c');
  assert.is(location.controllers.pids, undefined, 'no pids controller: not invented from the empty v2 hierarchy');
  assert.is(location.unified?.dir, '/sys/fs/cgroup/unified/u');
  assert.is(location.cpuUsage, 'cgroup', 'cpu and cpuacct mounted together: one cgroup');
});

test('resolution: v1 cpu and cpuacct mounted apart, the process in a cpu cgroup of its own: usage from its processes', () => {
  const mounts = parseMountinfo([
    '33 25 0:33 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory',
    '34 25 0:34 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu',
    '35 25 0:35 / /sys/fs/cgroup/cpuacct rw - cgroup cgroup rw,cpuacct',
  ].join('\n'));
  const apart = resolveLocation(parseProcCgroup('4:memory:/m\n2:cpuacct:/\n1:cpu:/limited\n'), mounts, '/sys', () => []);
  assert.is(apart.controllers.cpu?.dir, '/sys/fs/cgroup/cpu/limited');
  assert.is(apart.controllers.cpuacct?.dir, '/sys/fs/cgroup/cpuacct');
  assert.is(apart.cpuUsage, 'processes');
  const together = resolveLocation(parseProcCgroup('4:memory:/m\n2:cpuacct:/svc\n1:cpu:/svc\n'), mounts, '/sys', () => []);
  assert.is(together.cpuUsage, 'cgroup', 'the same cgroup in both: its own counter');
  const explicit = resolveLocation(parseProcCgroup('4:memory:/m\n2:cpuacct:/\n1:cpu:/limited\n'), mounts, '/sys', () => [], '/svc');
  assert.is(explicit.cpuUsage, 'cgroup', '--target.cgroup names one cgroup for every controller');
});

test.run();
