// The exposition against its golden file and the metrics reference (docs/metrics.md): names, types and help.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseServeCommandLine } from '../../exporter/src/config.js';
import { startExporter } from '../../exporter/src/serve.js';
import { statisticsExtension } from '../../exporter/src/statistics/extension.js';
import { REPO_ROOT } from '../../scripts/processes.js';
import { createFixtureRoot, FIXTURE_PID, mountinfoLine, writeV2Cgroup } from '../helpers/cgroup-fixture.js';
import { assertGolden, goldenFamilies } from '../helpers/golden.js';

test('the sidecar\'s exposition (every collector, the statistics store) has the golden families, help and types', async () => {
  const fixture = createFixtureRoot();
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'headroom-golden-'));
  try {
    fixture.write(`proc/${FIXTURE_PID}/cgroup`, '0::/app\n');
    fixture.write('proc/self/mountinfo', `${mountinfoLine(30, '/', '/sys/fs/cgroup', 'cgroup2', 'rw')}\n`);
    fixture.write('sys/fs/cgroup/cgroup.controllers', 'cpu io memory pids\n');
    writeV2Cgroup(fixture, 'sys/fs/cgroup/app', { current: 300 * 1024 ** 2, inactiveFile: 20 * 1024 ** 2, anon: 250 * 1024 ** 2, file: 40 * 1024 ** 2, max: 512 * 1024 ** 2, usageUsec: 5_000_000, cpuMax: '50000 100000', procs: [FIXTURE_PID] });
    const { config } = parseServeCommandLine(['--web.listen-address=127.0.0.1:0', `--path.procfs=${fixture.procfs}`, `--path.sysfs=${fixture.sysfs}`, `--target.pid=${FIXTURE_PID}`, `--data.dir=${dataDir}`, '--log.level=silent'], {});
    const exporter = await startExporter(config, [statisticsExtension], pino({ level: 'silent' }));
    try {
      const text = await (await fetch(`http://127.0.0.1:${exporter.address.port}/metrics`)).text();
      assertGolden('sidecar.txt', text);
    } finally {
      await exporter.close();
    }
  } finally {
    fixture.cleanup();
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('docs/metrics.md lists every family of the golden expositions, with its type, and no other', () => {
  const table = readFileSync(path.join(REPO_ROOT, 'docs', 'metrics.md'), 'utf8');
  const documented = new Map([...table.matchAll(/^\| `(headroom_\w+)` \| (gauge|counter) \|/gm)].map((match) => [match[1]!, match[2]!]));
  assert.equal(Object.fromEntries([...documented].sort()), Object.fromEntries([...goldenFamilies()].sort()));
});

test.run();
