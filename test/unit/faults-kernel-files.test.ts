// Kernel files that are missing, empty, truncated, enormous or garbage, and a /proc/<pid> that vanishes
// mid-scrape: the collector that reads them fails alone, and /metrics still answers 200.
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { RunningExporter } from '../../exporter/src/serve.js';
import { MAX_KERNEL_FILE_BYTES } from '../../exporter/src/kernel/read.js';
import { valueOf, type Sample } from '../helpers/metrics-text.js';
import { createFixtureRoot, FIXTURE_PID, mountinfoLine, writeProcessFiles, writeV2Cgroup, type FixtureRoot } from '../helpers/cgroup-fixture.js';
import { COLLECTOR_NAMES, collectorOf, collectorSuccesses, withFixtureExporter } from '../helpers/fixture-exporter.js';

const MiB = 1024 ** 2;

setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;
const CGROUP = 'sys/fs/cgroup/app';
/** Pids listed in cgroup.procs besides the watched one, so a /proc entry can come and go. */
const SIBLINGS = [FIXTURE_PID - 1, FIXTURE_PID - 2, FIXTURE_PID - 3];

/** A cgroup v2 host root: the watched process in /app, with limits. */
function v2Fixture(): FixtureRoot {
  const fixture = createFixtureRoot();
  fixture.write(`proc/${FIXTURE_PID}/cgroup`, '0::/app\n');
  fixture.write('proc/self/mountinfo', ['22 1 0:21 / / rw,relatime shared:1 - ext4 /dev/vda rw', mountinfoLine(30, '/', '/sys/fs/cgroup', 'cgroup2', 'rw,nsdelegate'), ''].join('\n'));
  fixture.write('sys/fs/cgroup/cgroup.controllers', 'cpuset cpu io memory pids\n');
  writeV2Cgroup(fixture, CGROUP, {
    current: 300 * MiB, inactiveFile: 44 * MiB, anon: 200 * MiB, file: 90 * MiB, max: 512 * MiB, low: 128 * MiB, oomKills: 1,
    usageUsec: 5_000_000, cpuMax: '100000 100000', procs: [FIXTURE_PID, ...SIBLINGS], threads: 6,
  });
  for (const pid of SIBLINGS) writeProcess(fixture, pid);
  return fixture;
}

function writeProcess(fixture: FixtureRoot, pid: number): void {
  writeProcessFiles(fixture, pid, { name: 'worker', threads: 1, openFiles: 4, nofile: [1024, 1024] });
  fixture.write(`proc/${pid}/stat`, `${pid} (worker) S 1 1 1 0 -1 4194560 100 0 0 0 10 5 0 0 20 0 1 0 100 1000000 100 18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0\n`);
}

async function withExporter(fixture: FixtureRoot, body: (scrape: () => Promise<{ status: number; samples: Sample[] }>, exporter: RunningExporter) => Promise<void>): Promise<void> {
  try {
    await withFixtureExporter(fixture, [], (client) => body(client.metrics, client.exporter));
  } finally {
    fixture.cleanup();
  }
}

const successes = collectorSuccesses;

/** Every collector succeeded except those named, and a failed one publishes none of its metrics. */
function onlyFailed(samples: Sample[], failed: readonly string[], what: string): void {
  const expected = Object.fromEntries(COLLECTOR_NAMES.map((collector) => [collector, failed.includes(collector) ? 0 : 1]));
  assert.equal(successes(samples), expected, what);
  const leftOver = samples.filter((sample) => failed.includes(collectorOf(sample.name) ?? '')).map((sample) => sample.name);
  assert.equal(leftOver, [], `${what}: a failed collector's metrics are gone`);
}

test('the intact fixture: every collector succeeds', async () => {
  await withExporter(v2Fixture(), async (scrape) => {
    const { status, samples } = await scrape();
    assert.is(status, 200);
    onlyFailed(samples, [], 'intact');
    assert.is(valueOf(samples, 'headroom_memory_working_set_bytes'), 256 * MiB);
    assert.is(valueOf(samples, 'headroom_processes'), 4);
  });
});

/** One broken file at a time: which collectors it may take down with it. */
const BREAKAGES: Array<{ file: string; breaks: string[] }> = [
  { file: 'memory.stat', breaks: ['memory'] },
  { file: 'memory.current', breaks: ['memory'] },
  { file: 'memory.max', breaks: ['memory'] },
  { file: 'memory.events', breaks: ['memory_oom'] },
  { file: 'cpu.stat', breaks: ['cpu'] },
  { file: 'cpu.max', breaks: ['cpu'] },
  { file: 'cgroup.threads', breaks: ['processes'] },
  { file: 'memory.pressure', breaks: ['pressure'] },
];

const DAMAGE: Record<string, (fixture: FixtureRoot, file: string) => void> = {
  missing: (fixture, file) => fixture.remove(file),
  empty: (fixture, file) => fixture.write(file, ''),
  truncated: (fixture, file) => fixture.write(file, file.endsWith('.stat') || file.endsWith('.events') || file.endsWith('.pressure') ? 'anon 1\nsome avg10=0.00 tot' : ''),
  garbage: (fixture, file) => fixture.write(file, randomBytes(4096).toString('latin1')),
  'text garbage': (fixture, file) => fixture.write(file, 'this is not a kernel file\n'),
};

for (const [damage, apply] of Object.entries(DAMAGE)) {
  test(`${damage} files: the collector that reads them fails alone, the scrape answers 200, and it recovers`, async () => {
    const fixture = v2Fixture();
    await withExporter(fixture, async (scrape) => {
      for (const { file, breaks } of BREAKAGES) {
        // memory.pressure missing is normal (kernels without PSI): nothing to fail.
        if (damage === 'missing' && file === 'memory.pressure') continue;
        const relative = path.join(CGROUP, file);
        const original = readFileSync(path.join(fixture.root, relative));
        apply(fixture, relative);
        const broken = await scrape();
        assert.is(broken.status, 200, `${damage} ${file}`);
        onlyFailed(broken.samples, breaks, `${damage} ${file}`);
        fixture.write(relative, original.toString('utf8'));
        onlyFailed((await scrape()).samples, [], `after ${damage} ${file} is repaired`);
      }
    });
  });
}

/** Writes `bytes` of `line` repeated, without holding them in memory. */
function writeEnormous(file: string, line: string, bytes: number, tail = ''): void {
  const chunk = Buffer.from(line.repeat(Math.ceil(MiB / line.length)));
  const descriptor = openSync(file, 'w');
  try {
    for (let written = 0; written < bytes; written += chunk.length) writeSync(descriptor, chunk);
    writeSync(descriptor, tail);
  } finally {
    closeSync(descriptor);
  }
}

test('a 50 MB memory.stat and a 50 MB cgroup.procs: the scrape answers 200, nothing else fails, memory stays bounded', async () => {
  const fixture = v2Fixture();
  await withExporter(fixture, async (scrape) => {
    collectGarbage();
    const before = process.memoryUsage().heapUsed;
    writeEnormous(path.join(fixture.root, CGROUP, 'memory.stat'), 'x'.repeat(1023) + ' ', 50 * MiB);
    const single = await scrape();
    assert.is(single.status, 200);
    onlyFailed(single.samples, ['memory'], 'one 50 MB line of garbage');
    writeEnormous(path.join(fixture.root, CGROUP, 'memory.stat'), 'pgfault 1\n', 50 * MiB, 'anon 1\nfile 1\ninactive_file 1\n');
    const repeated = await scrape();
    assert.is(repeated.status, 200);
    for (const collector of ['cpu', 'memory_oom', 'pressure', 'processes', 'process_group']) assert.is(successes(repeated.samples)[collector], 1, collector);
    writeEnormous(path.join(fixture.root, CGROUP, 'cgroup.procs'), 'abcdefghi\n', 50 * MiB);
    const procs = await scrape();
    assert.is(procs.status, 200);
    assert.is(successes(procs.samples).cpu, 1);
    assert.is(successes(procs.samples).processes, 0);
    // The file is read whole, so the peak is large (see docs/security.md); what must hold is that it is all released.
    collectGarbage();
    const grown = process.memoryUsage().heapUsed - before;
    assert.ok(grown < 32 * MiB, `heap grew by ${Math.round(grown / MiB)} MiB and stayed`);
  });
});

test('a /proc/<pid> that vanishes mid-scrape: every scrape answers 200, no collector fails, process_group counts what is there', async () => {
  const fixture = v2Fixture();
  await withExporter(fixture, async (scrape) => {
    let churning = true;
    const seen = new Set<number>();
    const churn = (async () => {
      for (let round = 0; churning; round += 1) {
        const pid = SIBLINGS[round % SIBLINGS.length]!;
        fixture.remove(`proc/${pid}`);
        await new Promise((resolve) => setImmediate(resolve));
        writeProcess(fixture, pid);
        await new Promise((resolve) => setImmediate(resolve));
      }
    })();
    try {
      for (let index = 0; index < 100; index += 1) {
        const { status, samples } = await scrape();
        assert.is(status, 200);
        onlyFailed(samples, [], `scrape ${index}`);
        const grouped = samples.filter((sample) => sample.name === 'headroom_process_group_processes').reduce((sum, sample) => sum + sample.value, 0);
        assert.ok(grouped >= 1 && grouped <= 1 + SIBLINGS.length, `process_group counted ${grouped} processes in scrape ${index}`);
        seen.add(grouped);
      }
    } finally {
      churning = false;
      await churn;
    }
    assert.ok(seen.size > 1, `the churn was seen: process counts ${[...seen].join(', ')}`);
  });
});

test('a /proc/<pid>/stat or /proc/<pid>/cgroup over the 1 MiB cap is refused, not read into memory', async () => {
  const fixture = v2Fixture();
  await withExporter(fixture, async (scrape) => {
    const sibling = SIBLINGS[0]!;
    // A well-formed stat line with a command name past the cap: read whole, it would parse.
    fixture.write(`proc/${sibling}/stat`, `${sibling} (${'x'.repeat(MAX_KERNEL_FILE_BYTES)}) S 1 1 1 0 -1 4194560 100 0 0 0 10 5 0 0 20 0 1 0 100 1000000 100 1\n`);
    const bigStat = await scrape();
    assert.is(bigStat.status, 200);
    onlyFailed(bigStat.samples, ['process_group'], 'a stat over the cap');
    writeProcess(fixture, sibling);
    // A valid /proc/<pid>/cgroup line repeated past the cap.
    writeEnormous(path.join(fixture.procfs, String(FIXTURE_PID), 'cgroup'), '0::/app\n', MAX_KERNEL_FILE_BYTES + MiB);
    const bigCgroup = await scrape();
    assert.is(bigCgroup.status, 200);
    assert.equal(Object.values(successes(bigCgroup.samples)), COLLECTOR_NAMES.map(() => 0), 'no collector can locate the cgroup');
    fixture.write(`proc/${FIXTURE_PID}/cgroup`, '0::/app\n');
    onlyFailed((await scrape()).samples, [], 'back under the cap');
  });
});

test('the watched process itself vanishes: /metrics answers 200 with its collectors failed, and recovers when it is back', async () => {
  const fixture = v2Fixture();
  await withExporter(fixture, async (scrape, exporter) => {
    fixture.remove(`proc/${FIXTURE_PID}`);
    const gone = await scrape();
    assert.is(gone.status, 200);
    assert.equal(Object.values(successes(gone.samples)), COLLECTOR_NAMES.map(() => 0), 'every collector failed');
    assert.is(valueOf(gone.samples, 'headroom_memory_percent'), undefined, 'no stale value');
    const health = await fetch(`http://127.0.0.1:${exporter.address.port}/health`);
    assert.is(health.status, 503, '/health says the exporter cannot see its target');
    assert.match(JSON.stringify(await health.json()), /memory:/);
    fixture.write(`proc/${FIXTURE_PID}/cgroup`, '0::/app\n');
    onlyFailed((await scrape()).samples, [], 'back again');
  });
});

test.run();
