// The statistics store through the real `headroom` process: a 201 survives kill -9, a database ahead is refused.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { databaseLocation, openDatabase } from '../exporter/src/statistics/database.js';
import { migrateToLatest, MIGRATIONS_TABLE } from '../exporter/src/statistics/migrations/index.js';
import { CLI, run, startExporter } from '../scripts/processes.js';

function tempDir(): string {
  return mkdtempSync(path.join(os.tmpdir(), 'headroom-statistics-cli-'));
}

const report = (index: number) => ({
  report_id: `durable-${index}-${Math.random().toString(36).slice(2, 10)}`,
  installation_id: `installation-${index}`,
  active_users: index,
  app_version: '1.0.0',
  platform: 'linux/amd64',
});

async function storedReportIds(dataDir: string): Promise<Set<string>> {
  const open = await openDatabase(databaseLocation(undefined, dataDir));
  try {
    const rows: Array<{ report_id: string }> = await open.db('usage_reports').select('report_id');
    return new Set(rows.map((row) => row.report_id));
  } finally {
    await open.db.destroy();
  }
}

test('every report answered 201 survives kill -9 of the exporter right after the answer', async () => {
  const dataDir = tempDir();
  try {
    const first = await startExporter([`--data.dir=${dataDir}`, '--statistics.rate-limit=0']);
    const acknowledged: string[] = [];
    try {
      // Many reports in flight; the process is killed from inside the handler of the 10th 201,
      // while others are still being written.
      const bodies = Array.from({ length: 40 }, (_, index) => report(index));
      let killed = false;
      await Promise.allSettled(bodies.map(async (body) => {
        const response = await fetch(`${first.url}/statistics`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
        if (response.status !== 201) return;
        acknowledged.push(body.report_id);
        if (acknowledged.length === 10 && !killed) {
          killed = true;
          first.child.kill('SIGKILL');
        }
      }));
      assert.ok(killed, `10 reports were acknowledged before the kill (got ${acknowledged.length}): ${first.output()}`);
      await first.stop();
      assert.is(first.child.signalCode, 'SIGKILL');
    } finally {
      await first.stop('SIGKILL');
    }
    const stored = await storedReportIds(dataDir);
    const lost = acknowledged.filter((id) => !stored.has(id));
    assert.equal(lost, [], 'acknowledged reports missing after kill -9');

    const second = await startExporter([`--data.dir=${dataDir}`]);
    try {
      const summary = await (await fetch(`${second.url}/statistics`)).json() as { reports_stored: number; installations_active: Record<string, number> };
      assert.ok(summary.reports_stored >= acknowledged.length, JSON.stringify(summary));
      assert.is(summary.reports_stored, stored.size);
      const resent = await fetch(`${second.url}/statistics`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ...report(0), report_id: acknowledged[0] }) });
      assert.ok(resent.status === 200 || resent.status === 409, `resending an acknowledged report stores nothing new (got ${resent.status})`);
      const after = await (await fetch(`${second.url}/statistics`)).json() as { reports_stored: number };
      assert.is(after.reports_stored, stored.size);
    } finally {
      await second.stop();
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('a database ahead of the code: the exporter refuses to start, one line, non-zero exit', async () => {
  const dataDir = tempDir();
  try {
    const open = await openDatabase(databaseLocation(undefined, dataDir));
    try {
      await migrateToLatest(open.db);
      await open.db(MIGRATIONS_TABLE).insert({ name: '002_from_a_newer_headroom', batch: 2, migration_time: new Date() });
    } finally {
      await open.db.destroy();
    }
    const result = await run(process.execPath, [CLI, '--web.listen-address=127.0.0.1:0', `--data.dir=${dataDir}`]);
    assert.is(result.code, 1, result.stdout + result.stderr);
    const lines = (result.stdout + result.stderr).split('\n').filter((line) => line.includes('002_from_a_newer_headroom'));
    assert.is(lines.length, 1, result.stdout + result.stderr);
    assert.match(lines[0]!, 'ahead of this headroom');
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('a --database.url that is neither postgres:// nor sqlite:// is a flag error naming it', async () => {
  const result = await run(process.execPath, [CLI, '--web.listen-address=127.0.0.1:0', '--database.url=mysql://user:secret@127.0.0.1/db']);
  assert.is(result.code, 2, result.stdout + result.stderr);
  assert.match(result.stderr, '--database.url');
  assert.not.match(result.stderr, 'secret');
  assert.is(result.stderr.trim().split('\n').length, 1, result.stderr);
});

test.run();
