// `headroom resize` against real containers in a private engine: the dry run changes nothing; --apply changes
// exactly what it printed, in place (same id, same StartedAt, the process still running), as docker inspect
// and the container's cgroup show; a CPU limit set as a quota stays a quota; bad flags exit 2, an unknown
// container 1, each with one line.
import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CLI_COMMAND, run } from '../scripts/processes.js';
import { startEngine, type DockerEngine } from '../scripts/docker-engine.js';
import { loadStandins, STANDIN_TAGS } from '../scripts/standin-images.js';
import { tierByName } from '../exporter/src/thresholds.js';

const MiB = 1024 ** 2;
const IMAGE = STANDIN_TAGS.nodeAlpine;
let engine: DockerEngine | undefined;

interface Limits { Memory: number; MemorySwap: number; MemoryReservation: number; NanoCpus: number; CpuQuota: number; CpuPeriod: number }
interface Inspected { Id: string; State: { StartedAt: string; Pid: number; Running: boolean }; HostConfig: Limits }

async function inspect(name: string): Promise<Inspected> {
  return JSON.parse((await engine!.docker(['inspect', '--format', '{{json .}}', name])).stdout) as Inspected;
}

function resize(args: string[]) {
  return run(CLI_COMMAND[0], [...CLI_COMMAND.slice(1), 'resize', ...args, `--target.docker=${engine!.host}`]);
}

/** The container's memory cgroup file, cgroup v1 under the cgroupfs driver (this machine). */
function cgroupFile(id: string, controller: string, file: string): string {
  return readFileSync(`/sys/fs/cgroup/${controller}/docker/${id}/${file}`, 'utf8').trim();
}

test.before(async () => {
  engine = await startEngine({ tmpfs: '2g' });
  await loadStandins(engine, [IMAGE]);
  const sleeper = ['node', '-e', 'setInterval(() => {}, 1 << 30)'];
  await engine.docker(['run', '--detach', '--name', 'web', '--memory=1024m', '--memory-swap=1024m', '--memory-reservation=256m', '--cpus=1', IMAGE, ...sleeper]);
  await engine.docker(['run', '--detach', '--name', 'quota', '--memory=512m', '--cpu-quota=50000', '--cpu-period=100000', IMAGE, ...sleeper]);
});

test.after(async () => {
  await engine?.stop();
});

test('a dry run prints the limits now and after and the update, and changes nothing', async () => {
  const before = await inspect('web');
  const result = await resize(['web', '--to=medium']);
  assert.is(result.code, 0, result.stderr);
  assert.match(result.stdout, /memory limit\s+1024M\s+2048M\s+\(changes\)/);
  assert.match(result.stdout, /cpus\s+1\.0\s+2\.0\s+\(changes\)/);
  assert.match(result.stdout, `update: POST /containers/${before.Id.slice(0, 12)}/update {"Memory":2147483648,"MemorySwap":2147483648,"MemoryReservation":536870912,"NanoCpus":2000000000}`);
  assert.match(result.stdout, 'dry run: nothing sent');
  assert.equal((await inspect('web')).HostConfig, before.HostConfig);
  assert.is(cgroupFile(before.Id, 'memory', 'memory.limit_in_bytes'), String(1024 * MiB));
});

test('--apply changes exactly what it printed, in place: same container, same start, the cgroup follows', async () => {
  const before = await inspect('web');
  const result = await resize(['web', '--to=medium', '--apply']);
  assert.is(result.code, 0, result.stderr + result.stdout);
  const printed = JSON.parse(/update: POST \S+ (\{.*\})/.exec(result.stdout)![1]!) as Partial<Limits>;
  assert.match(result.stdout, 'applied: docker inspect and the cgroup show the new limits');
  const after = await inspect('web');
  assert.equal(after.HostConfig, { ...before.HostConfig, ...printed }, 'exactly the printed fields changed');
  const medium = tierByName('medium')!;
  assert.equal([after.HostConfig.Memory, after.HostConfig.MemoryReservation, after.HostConfig.NanoCpus / 1e9], [medium.memoryLimitBytes, medium.memoryReservationBytes, medium.cpuLimitCores]);
  assert.equal([after.Id, after.State.StartedAt, after.State.Pid, after.State.Running], [before.Id, before.State.StartedAt, before.State.Pid, true], 'not restarted');
  assert.is(cgroupFile(after.Id, 'memory', 'memory.limit_in_bytes'), String(medium.memoryLimitBytes));
  assert.is(cgroupFile(after.Id, 'memory', 'memory.soft_limit_in_bytes'), String(medium.memoryReservationBytes));
  assert.is(Number(cgroupFile(after.Id, 'cpu', 'cpu.cfs_quota_us')) / Number(cgroupFile(after.Id, 'cpu', 'cpu.cfs_period_us')), medium.cpuLimitCores);
  const again = await resize(['web', '--to=medium', '--apply']);
  assert.is(again.code, 0);
  assert.match(again.stdout, 'nothing to change');
});

test('a CPU limit set as a quota is changed as a quota; a single figure changes only itself', async () => {
  const before = await inspect('quota');
  const result = await resize(['quota', '--cpus=1.5', '--apply']);
  assert.is(result.code, 0, result.stderr + result.stdout);
  const after = await inspect('quota');
  assert.equal(after.HostConfig, { ...before.HostConfig, CpuQuota: 150_000 });
  assert.is(cgroupFile(after.Id, 'cpu', 'cpu.cfs_quota_us'), '150000');
});

test('refusals: bad flags exit 2 with one line, an unknown container and an impossible size exit 1; nothing changes', async () => {
  const before = await inspect('web');
  for (const [args, pattern] of [
    [['web', '--to=huge'], /invalid value "huge" for flag --to/],
    [['web', '--memory=lots'], /invalid value "lots" for flag --memory/],
    [['web'], /nothing to change/],
    [['--to=small'], /name the container/],
    [['web', '--to=small', '--bogus'], /unknown flag --bogus/],
  ] as const) {
    const result = await resize([...args]);
    assert.is(result.code, 2, `${args.join(' ')}: ${result.stderr}`);
    assert.match(result.stderr, pattern);
    assert.is(result.stderr.trim().split('\n').length, 1, result.stderr);
  }
  const unknown = await resize(['no-such-container', '--to=small', '--apply']);
  assert.is(unknown.code, 1);
  assert.match(unknown.stderr, /404 No such container: no-such-container/);
  const impossible = await resize(['web', '--memory=256M', '--apply']);
  assert.is(impossible.code, 1);
  assert.match(impossible.stderr, /reservation \(512M\) must stay under the limit \(256M\)/);
  assert.equal((await inspect('web')).HostConfig, before.HostConfig);
});

test.run();
