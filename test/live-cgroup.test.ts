// Real cgroups with real limits, children that allocate and spin in them, and the exporter pointed at a
// child with --target.pid.
import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ALLOCATE_AND_SPIN, createCpuOnlyCgroup, createLiveCgroup, anonymousResidentBytes, SPIN } from './helpers/live-cgroup.js';
import { start, startExporter, waitFor } from '../scripts/processes.js';
import { scrape, valueOf } from './helpers/metrics-text.js';

const MiB = 1024 ** 2;

/** utime + stime + cutime + cstime of a process, in seconds (USER_HZ 100). */
function processCpuSeconds(pid: number): number {
  const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return fields.slice(11, 15).reduce((sum, field) => sum + Number(field), 0) / 100;
}

test('limits, reservation, memory percent and CPU percent of a real cgroup', async () => {
  assert.is(process.getuid?.(), 0, 'creating cgroups needs root');
  const cgroup = createLiveCgroup(`headroom-live-${process.pid}`, { memoryBytes: 256 * MiB, memoryReservationBytes: 64 * MiB, cpuCores: 0.5 });
  const child = start(process.execPath, ['-e', ALLOCATE_AND_SPIN], { stdio: ['pipe', 'pipe', 'pipe'] });
  let exporter: Awaited<ReturnType<typeof startExporter>> | undefined;
  try {
    const pid = child.child.pid!;
    cgroup.addProcess(pid);
    child.child.stdin!.write('128\n');
    await waitFor('the child to allocate', async () => child.output().includes('ready'));
    exporter = await startExporter([`--target.pid=${pid}`]);
    // The CPU percent averages since the exporter's first sample; give it a few seconds of spinning.
    const [startSeconds, startedAt] = [processCpuSeconds(pid), performance.now()];
    await new Promise((resolve) => setTimeout(resolve, 4000));
    const samples = await scrape(`${exporter.url}/metrics`);
    const ownPercent = ((processCpuSeconds(pid) - startSeconds) / ((performance.now() - startedAt) / 1000) / 0.5) * 100;
    const rss = anonymousResidentBytes(pid);

    assert.is(valueOf(samples, 'headroom_memory_limit_bytes'), 256 * MiB);
    assert.is(valueOf(samples, 'headroom_memory_reservation_bytes'), 64 * MiB, 'the soft limit / memory.low, not the declared 512M');
    assert.is(valueOf(samples, 'headroom_cpu_limit_cores'), 0.5);
    assert.is(valueOf(samples, 'headroom_memory_limit_enforced'), 1);
    assert.is(valueOf(samples, 'headroom_processes'), 1);

    const expectedPercent = (rss / (256 * MiB)) * 100;
    const memoryPercent = valueOf(samples, 'headroom_memory_percent')!;
    assert.ok(expectedPercent > 50, `the child holds at least 128 MiB (RssAnon ${rss})`);
    assert.ok(Math.abs(memoryPercent - expectedPercent) < 10, `memory percent ${memoryPercent} near RssAnon/limit ${expectedPercent.toFixed(1)}`);

    // The quota caps it near 100 %; on a busy machine it may get less, and it must read what it got.
    const cpuPercent = valueOf(samples, 'headroom_cpu_percent')!;
    assert.ok(cpuPercent > 0 && cpuPercent < 115, `cpu percent ${cpuPercent} of the 0.5-core limit`);
    assert.ok(Math.abs(cpuPercent - ownPercent) < 20, `cpu percent ${cpuPercent} is what the child used: ${ownPercent.toFixed(1)} %`);
    assert.ok(valueOf(samples, 'headroom_cpu_cfs_throttled_periods_total')! > 0, 'a spinning child at 0.5 cores is throttled');

    const health = await (await fetch(`${exporter.url}/health`)).json() as { cpu_percent: number; memory_percent: number; memory_available_bytes: number };
    assert.ok(Math.abs(health.cpu_percent - ownPercent) < 25, `/health cpu_percent ${health.cpu_percent}`);
    assert.ok(Math.abs(health.memory_percent - expectedPercent) < 10, `/health memory_percent ${health.memory_percent}`);
    assert.ok(health.memory_available_bytes < 128 * MiB, 'available is limit minus working set, not the host');
  } finally {
    await exporter?.stop();
    await child.stop('SIGKILL');
    await cgroup.remove();
  }
});

test('v1 cpu and cpuacct mounted apart, a process in a cpu cgroup only: CPU percent of its own quota, not the host\'s usage', async () => {
  assert.is(process.getuid?.(), 0, 'creating cgroups needs root');
  const cgroup = createCpuOnlyCgroup(`headroom-split-${process.pid}`, 0.25);
  const watched = start(process.execPath, ['-e', SPIN]);
  // A busy neighbour in the same cpuacct cgroup: its CPU must not count as the watched cgroup's.
  const neighbour = start(process.execPath, ['-e', SPIN]);
  let exporter: Awaited<ReturnType<typeof startExporter>> | undefined;
  try {
    const pid = watched.child.pid!;
    cgroup.addProcess(pid);
    exporter = await startExporter([`--target.pid=${pid}`]);
    // The exporter took its first sample before it answered; what the process used from here is what it must report.
    const [startSeconds, startedAt] = [processCpuSeconds(pid), performance.now()];
    await new Promise((resolve) => setTimeout(resolve, 5000));
    const samples = await scrape(`${exporter.url}/metrics`);
    const ownSeconds = processCpuSeconds(pid);
    const ownPercent = ((ownSeconds - startSeconds) / ((performance.now() - startedAt) / 1000) / 0.25) * 100;
    assert.is(valueOf(samples, 'headroom_cpu_limit_cores'), 0.25);
    assert.ok(samples.some((sample) => sample.name === 'headroom_cgroup_info' && sample.labels.cpu_usage === 'processes'), 'headroom_cgroup_info says where usage is read');
    const usage = valueOf(samples, 'headroom_cpu_usage_seconds_total')!;
    assert.ok(Math.abs(usage - ownSeconds) < 0.5, `usage ${usage} s is the watched process's ${ownSeconds} s`);
    // The quota caps it near 100 %; on a busy machine it may get less, and it must read what it got.
    const cpuPercent = valueOf(samples, 'headroom_cpu_percent')!;
    assert.ok(cpuPercent > 0 && cpuPercent < 115, `cpu percent ${cpuPercent} of the 0.25-core quota (the cpuacct cgroup also holds a spinning neighbour)`);
    assert.ok(Math.abs(cpuPercent - ownPercent) < 20, `cpu percent ${cpuPercent} is what the process used: ${ownPercent.toFixed(1)} %`);
    assert.ok(valueOf(samples, 'headroom_cpu_cfs_throttled_periods_total')! > 0, 'throttled at its quota');
    const health = await (await fetch(`${exporter.url}/health`)).json() as { checks: { collectors: { details: { cpu_usage?: string } } } };
    assert.match(health.checks.collectors.details.cpu_usage ?? '', 'summed from the processes of the cpu cgroup');
  } finally {
    await exporter?.stop();
    await watched.stop('SIGKILL');
    await neighbour.stop('SIGKILL');
    await cgroup.remove();
  }
});

test.run();
