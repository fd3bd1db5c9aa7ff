// Two headroom instances writing to one PostgreSQL at the same time, the same installations, and every
// report sent to both (overlapping report ids): each report is stored once, every acknowledged one is
// there, and each installation's latest report is its newest.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import knex from 'knex';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startExporter, type RunningCli } from '../scripts/processes.js';
import { startPostgres, type TempPostgres } from './helpers/postgres.js';

const INSTALLATIONS = 20;
const REPORTS_PER_INSTALLATION = 40;
const CONCURRENCY = 16;

let postgres: TempPostgres | undefined;
const writers: RunningCli[] = [];
const scratch = mkdtempSync(path.join(os.tmpdir(), 'headroom-two-writers-'));

test.before(async () => {
  postgres = await startPostgres();
  const admin = knex({ client: 'pg', connection: postgres.url, pool: { min: 0, max: 1 } });
  await admin.raw('create database shared_statistics');
  await admin.destroy();
  for (const name of ['a', 'b']) {
    writers.push(await startExporter([`--database.url=${postgres.urlFor('shared_statistics')}`, '--statistics.rate-limit=0', `--data.dir=${path.join(scratch, name)}`]));
  }
});

test.after(async () => {
  for (const writer of writers) await writer.stop();
  await postgres?.remove();
  rmSync(scratch, { recursive: true, force: true });
});

test('every report sent to both writers at once: stored once, none acknowledged and lost, latest reports right', async () => {
  const reports = Array.from({ length: INSTALLATIONS * REPORTS_PER_INSTALLATION }, (_, index) => ({
    report_id: `shared-${index}`,
    installation_id: `installation-${index % INSTALLATIONS}`,
    active_users: index,
    app_version: '1.0.0',
    platform: 'linux',
    reported_at: new Date(Date.UTC(2026, 10, 30, 0, 0, 0, 0) + index * 1000).toISOString(),
  }));
  // Each report goes to both writers, in a shuffled order, CONCURRENCY requests in flight per writer.
  const jobs = reports.flatMap((report) => writers.map((writer) => ({ writer, report })));
  for (let index = jobs.length - 1; index > 0; index -= 1) {
    const other = (index * 7919) % (index + 1);
    [jobs[index], jobs[other]] = [jobs[other]!, jobs[index]!];
  }
  const answers = new Map<string, number[]>();
  let next = 0;
  await Promise.all(Array.from({ length: CONCURRENCY * writers.length }, async () => {
    while (next < jobs.length) {
      const { writer, report } = jobs[next++]!;
      const response = await fetch(`${writer.url}/statistics`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(report) });
      await response.arrayBuffer();
      answers.set(report.report_id, [...(answers.get(report.report_id) ?? []), response.status]);
    }
  }));
  const statuses = [...answers.values()].flat();
  assert.equal([...new Set(statuses)].sort(), [200, 201], 'every answer is 201 (stored) or 200 (already stored)');
  for (const [id, pair] of answers) assert.equal(pair.sort(), [200, 201], `${id}: stored by one writer, a duplicate for the other`);

  const db = knex({ client: 'pg', connection: postgres!.urlFor('shared_statistics'), pool: { min: 0, max: 1 } });
  try {
    const rows = await db('usage_reports').select('report_id');
    assert.is(rows.length, reports.length, 'one row per report');
    assert.is(new Set(rows.map((row) => row.report_id as string)).size, reports.length, 'no duplicate');
    // Each installation's latest report is its newest stored one (received_at, then id), whichever writer
    // committed last.
    const latest = await db('latest_reports').select('installation_id', 'report_row_id').orderBy('installation_id');
    const newest = await db.from(db('usage_reports').select('id', 'installation_id')
      .select(db.raw('row_number() over (partition by installation_id order by received_at desc, id desc) as recency')).as('ranked'))
      .where('recency', 1).select('installation_id', 'id').orderBy('installation_id');
    assert.is(latest.length, INSTALLATIONS);
    assert.equal(latest.map((row) => [row.installation_id, Number(row.report_row_id)]), newest.map((row) => [row.installation_id, Number(row.id)]));
  } finally {
    await db.destroy();
  }
});

test.run();
