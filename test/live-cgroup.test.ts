// A real cgroup with a 256 MiB memory limit and 0.5 CPU, a child that allocates and spins in it,
// and the exporter pointed at the child with --target.pid.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ALLOCATE_AND_SPIN, createLiveCgroup, anonymousResidentBytes } from './helpers/live-cgroup.js';
import { start, startExporter, waitFor } from './helpers/processes.js';
import { scrape, valueOf } from './helpers/metrics-text.js';

const MiB = 1024 ** 2;

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
    await new Promise((resolve) => setTimeout(resolve, 4000));
    const samples = await scrape(`${exporter.url}/metrics`);
    const rss = anonymousResidentBytes(pid);

    assert.is(valueOf(samples, 'headroom_memory_limit_bytes'), 256 * MiB);
    assert.is(valueOf(samples, 'headroom_memory_reservation_bytes'), 64 * MiB, 'the soft limit / memory.low, not the declared 512M');
    assert.is(valueOf(samples, 'headroom_cpu_limit_cores'), 0.5);
    assert.is(valueOf(samples, 'headroom_cgroup_limit_enforced', { resource: 'memory' }), 1);
    assert.is(valueOf(samples, 'headroom_processes'), 1);

    const expectedPercent = (rss / (256 * MiB)) * 100;
    const memoryPercent = valueOf(samples, 'headroom_memory_percent')!;
    assert.ok(expectedPercent > 50, `the child holds at least 128 MiB (RssAnon ${rss})`);
    assert.ok(Math.abs(memoryPercent - expectedPercent) < 10, `memory percent ${memoryPercent} near RssAnon/limit ${expectedPercent.toFixed(1)}`);

    const cpuPercent = valueOf(samples, 'headroom_cpu_percent')!;
    assert.ok(cpuPercent > 80 && cpuPercent < 115, `cpu percent ${cpuPercent} near 100 % of the 0.5-core limit`);
    assert.ok(valueOf(samples, 'headroom_cpu_cfs_throttled_periods_total')! > 0, 'a spinning child at 0.5 cores is throttled');

    const health = await (await fetch(`${exporter.url}/health`)).json() as { cpu_percent: number; memory_percent: number; memory_available_bytes: number };
    assert.ok(health.cpu_percent > 80, `/health cpu_percent ${health.cpu_percent}`);
    assert.ok(Math.abs(health.memory_percent - expectedPercent) < 10, `/health memory_percent ${health.memory_percent}`);
    assert.ok(health.memory_available_bytes < 128 * MiB, 'available is limit minus working set, not the host');
  } finally {
    await exporter?.stop();
    await child.stop('SIGKILL');
    await cgroup.remove();
  }
});

test.run();
