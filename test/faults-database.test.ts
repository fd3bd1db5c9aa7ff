// The statistics database under faults: kill -9 in the middle of 1,000 concurrent writes, a full disk, a read-only file system.
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { Agent, request } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import knex from 'knex';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SQLITE_FILE_NAME } from '../exporter/src/statistics/database.js';
import { run, startExporter } from '../scripts/processes.js';

const report = (id: string) => JSON.stringify({ report_id: `fault-${id}`, installation_id: 'install-faults', active_users: 2, app_version: '2.0.0', platform: 'linux', metrics: { uptime_seconds: 3600 } });

function post(agent: Agent, port: number, body: string): Promise<number | string> {
  return new Promise((resolve) => {
    const outgoing = request({ host: '127.0.0.1', port, method: 'POST', path: '/statistics', agent, headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) } }, (response) => {
      response.resume();
      response.on('end', () => resolve(response.statusCode!));
      response.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
    });
    outgoing.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
    outgoing.end(body);
  });
}

async function inspect(dataDir: string): Promise<{ integrity: string; reportIds: Set<string> }> {
  const db = knex({ client: 'sqlite3', connection: { filename: path.join(dataDir, SQLITE_FILE_NAME) }, useNullAsDefault: true });
  try {
    const [check] = await db.raw('PRAGMA integrity_check') as Array<{ integrity_check: string }>;
    const rows: Array<{ report_id: string }> = await db('usage_reports').select('report_id');
    return { integrity: check!.integrity_check, reportIds: new Set(rows.map((row) => row.report_id)) };
  } finally {
    await db.destroy();
  }
}

test('kill -9 in the middle of 1,000 concurrent writes: every 201 is there after a restart, the database opens cleanly', async () => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'headroom-kill-'));
  const args = [`--data.dir=${dataDir}`, '--statistics.rate-limit=0'];
  const first = await startExporter(args);
  try {
    const agent = new Agent({ keepAlive: true, maxSockets: 1000 });
    const acknowledged: string[] = [];
    const outcomes = new Map<string, number>();
    let killed = false;
    await Promise.all(Array.from({ length: 1000 }, async (_, index) => {
      const id = `kill-${index}`;
      const status = await post(agent, first.port, report(id));
      outcomes.set(String(status), (outcomes.get(String(status)) ?? 0) + 1);
      if (status !== 201) return;
      acknowledged.push(`fault-${id}`);
      if (acknowledged.length === 300 && !killed) {
        killed = true;
        first.child.kill('SIGKILL');
      }
    }));
    agent.destroy();
    assert.ok(killed, `300 writes were acknowledged before the kill: ${JSON.stringify(Object.fromEntries(outcomes))}`);
    assert.ok(acknowledged.length < 1000, `the kill came mid-way: ${JSON.stringify(Object.fromEntries(outcomes))}`);
    await first.stop();
    assert.is(first.child.signalCode, 'SIGKILL');

    const second = await startExporter(args);
    try {
      const health = await (await fetch(`${second.url}/health`)).json() as { checks: { database: { status: string } } };
      assert.is(health.checks.database.status, 'ok', 'the database opens cleanly after the kill');
      assert.is(await post(new Agent(), second.port, report('after-restart')), 201);
      const { integrity, reportIds } = await inspect(dataDir);
      assert.is(integrity, 'ok');
      const lost = acknowledged.filter((id) => !reportIds.has(id));
      assert.equal(lost, [], `${lost.length} of ${acknowledged.length} acknowledged reports lost`);
      console.log(`kill -9: ${acknowledged.length} acknowledged before the kill, ${reportIds.size - 1} stored, all acknowledged present; outcomes ${JSON.stringify(Object.fromEntries(outcomes))}`);
    } finally {
      assert.is(await second.stop(), 0);
    }
  } finally {
    await first.stop('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  }
});

/** Fills the file system holding `dir` until the kernel says ENOSPC. */
function fill(dir: string): string {
  const filler = path.join(dir, 'filler');
  const descriptor = openSync(filler, 'w');
  const chunk = Buffer.alloc(64 * 1024, 1);
  try {
    for (;;) {
      try {
        writeSync(descriptor, chunk);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOSPC') break;
        throw error;
      }
    }
    for (;;) {
      try {
        writeSync(descriptor, Buffer.alloc(512, 1)); // the last partial blocks
      } catch {
        break;
      }
    }
  } finally {
    closeSync(descriptor);
  }
  return filler;
}

/** Unmounts the test's own file system, then removes its directory: never through a mount still in place. */
async function unmountAndRemove(mountPoint: string, dir: string): Promise<void> {
  const unmounted = await run('umount', [mountPoint]);
  if (unmounted.code !== 0) throw new Error(`umount ${mountPoint}: ${unmounted.stderr}; ${dir} is left`);
  rmSync(dir, { recursive: true, force: true });
}

test('a full disk: writes get 503, /health says why, scrapes go on, and it recovers without a restart', async () => {
  const mountPoint = mkdtempSync(path.join(os.tmpdir(), 'headroom-full-'));
  const mounted = await run('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', mountPoint]);
  assert.is(mounted.code, 0, `mounting a 2 MB tmpfs needs root: ${mounted.stderr}`);
  const dataDir = path.join(mountPoint, 'data');
  mkdirSync(dataDir);
  const exporter = await startExporter([`--data.dir=${dataDir}`, '--statistics.rate-limit=0']);
  const agent = new Agent({ keepAlive: true });
  try {
    for (let index = 0; index < 5; index += 1) assert.is(await post(agent, exporter.port, report(`full-before-${index}`)), 201);
    const filler = fill(mountPoint);

    // SQLite may still have room in pages it already holds; the disk shows once those are used.
    let attempts = 0;
    let status: number | string = 201;
    while (status !== 503 && attempts < 2000) status = await post(agent, exporter.port, report(`full-${(attempts += 1)}`));
    assert.is(status, 503, `a write on a full disk is answered 503 (after ${attempts} attempts)`);
    for (let index = 0; index < 5; index += 1) assert.is(await post(agent, exporter.port, report(`full-again-${index}`)), 503);

    const health = await fetch(`${exporter.url}/health`);
    const body = await health.json() as { status: string; checks: { database: { status: string; message: string } } };
    assert.is(health.status, 503, JSON.stringify(body));
    assert.is(body.checks.database.status, 'failing');
    assert.match(body.checks.database.message, /full|SQLITE_FULL|no space/i);
    console.log(`disk full after ${attempts} more writes; /health database: ${body.checks.database.message}`);

    const metrics = await fetch(`${exporter.url}/metrics`);
    assert.is(metrics.status, 200, 'scrapes go on');
    assert.match(await metrics.text(), /headroom_memory_working_set_bytes/);

    rmSync(filler);
    const healthy = await fetch(`${exporter.url}/health`);
    assert.is(healthy.status, 200, '/health sees the room come back by itself (it probes with a write)');
    assert.is((await healthy.json() as { checks: { database: { status: string } } }).checks.database.status, 'ok');
    for (let index = 0; index < 5; index += 1) assert.is(await post(agent, exporter.port, report(`recovered-${index}`)), 201, 'writes succeed again');
    assert.is(exporter.child.exitCode, null, 'the same process: no restart');
  } finally {
    agent.destroy();
    await exporter.stop();
    await unmountAndRemove(mountPoint, mountPoint);
  }
});

test('a file system gone read-only under the open database: writes get 503, /health says why, scrapes go on', async () => {
  // ext4 mounted with errors=remount-ro, then a file-system error triggered by hand: the kernel turns it
  // read-only with the database open, as it would after a disk error. (A plain `mount -o remount,ro` is
  // refused while files are open for writing, and root ignores file modes.) The kernel allows it back
  // read-write only after an unmount, so recovery here is a restart, not covered by this test.
  const dir = mkdtempSync(path.join(os.tmpdir(), 'headroom-rofs-'));
  const image = path.join(dir, 'image');
  const mountPoint = path.join(dir, 'mnt');
  mkdirSync(mountPoint);
  closeSync(openSync(image, 'w'));
  assert.is((await run('truncate', ['-s', '16M', image])).code, 0);
  const formatted = await run('mkfs.ext4', ['-q', '-F', image]);
  assert.is(formatted.code, 0, formatted.stderr);
  const mounted = await run('mount', ['-o', 'loop,errors=remount-ro', image, mountPoint]);
  assert.is(mounted.code, 0, `mounting a loop device needs root: ${mounted.stderr}`);
  let exporter: Awaited<ReturnType<typeof startExporter>> | undefined;
  const agent = new Agent({ keepAlive: true });
  try {
    const device = path.basename((await run('findmnt', ['-no', 'SOURCE', mountPoint])).stdout.trim());
    const trigger = `/sys/fs/ext4/${device}/trigger_fs_error`;
    exporter = await startExporter([`--data.dir=${path.join(mountPoint, 'data')}`, '--statistics.rate-limit=0']);
    for (let index = 0; index < 3; index += 1) assert.is(await post(agent, exporter.port, report(`ro-before-${index}`)), 201);

    writeFileSync(trigger, 'headroom fault test\n');
    assert.match((await run('findmnt', ['-no', 'OPTIONS', mountPoint])).stdout, /\bro\b|emergency_ro/, 'the file system is read-only now');

    for (let index = 0; index < 5; index += 1) assert.is(await post(agent, exporter.port, report(`ro-${index}`)), 503);
    const health = await fetch(`${exporter.url}/health`);
    const body = await health.json() as { checks: { database: { status: string; message: string } } };
    assert.is(health.status, 503, JSON.stringify(body));
    assert.is(body.checks.database.status, 'failing');
    assert.match(body.checks.database.message, /READONLY|read-only|IOERR|disk I\/O/i, body.checks.database.message);
    console.log(`read-only file system; /health database: ${body.checks.database.message}`);
    const metrics = await fetch(`${exporter.url}/metrics`);
    assert.is(metrics.status, 200, 'scrapes go on');
    assert.match(await metrics.text(), /headroom_memory_working_set_bytes/);
    assert.is(exporter.child.exitCode, null, 'the process is alive');
  } finally {
    agent.destroy();
    await exporter?.stop();
    await unmountAndRemove(mountPoint, dir);
  }
});

test.run();
