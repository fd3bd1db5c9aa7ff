// Automatic sizing's audit trail on both databases: migration 004 on SQLite and on a real PostgreSQL (up, down,
// up again), decisions recorded and listed newest first, and the applied changes the cooldown and the daily
// limit count.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { AutosizeStore, type Decision } from '../exporter/src/autosize/store.js';
import { databaseLocation, openDatabase, type OpenDatabase } from '../exporter/src/statistics/database.js';
import { migrateToLatest, migratorConfig } from '../exporter/src/statistics/migrations/index.js';
import { startPostgres, type TempPostgres } from './helpers/postgres.js';

const scratch = mkdtempSync(path.join(os.tmpdir(), 'headroom-autosize-store-'));
let postgres: TempPostgres | undefined;
const opened: OpenDatabase[] = [];
const NOW = Date.parse('2026-11-30T12:00:00Z');
const HOUR = 3_600_000;

function decision(container: string, result: Decision['result'], decidedAt: number, reason = 'why'): Decision {
  return {
    decidedAt, host: '', container, composeProject: 'headroom', composeService: 'demo', direction: 'up', result, reason, trigger: 'HeadroomMemoryHigh critical',
    fromMemoryBytes: 1024 ** 3, fromCpus: 1, toSize: result === 'refused' ? null : 'medium', toMemoryBytes: result === 'refused' ? null : 2 * 1024 ** 3, toCpus: result === 'refused' ? null : 2,
  };
}

test.before(async () => {
  postgres = await startPostgres();
});

test.after(async () => {
  for (const open of opened) await open.db.destroy();
  await postgres?.remove();
  rmSync(scratch, { recursive: true, force: true });
});

for (const client of ['sqlite', 'postgres'] as const) {
  test(`${client}: migration 004 goes up, down and up; decisions are listed newest first; cooldown and daily count see applied changes only`, async () => {
    const open = await openDatabase(client === 'sqlite' ? databaseLocation(undefined, scratch) : databaseLocation(postgres!.url, scratch));
    opened.push(open);
    await migrateToLatest(open.db);
    assert.ok(await open.db.schema.hasTable('autosize_decisions'));
    await open.db.migrate.down(migratorConfig);
    assert.not.ok(await open.db.schema.hasTable('autosize_decisions'), 'down drops the table');
    assert.ok(await open.db.schema.hasTable('usage_reports'), 'and only that table');
    await migrateToLatest(open.db);

    const store = new AutosizeStore(open.db);
    await store.record(decision('web', 'applied', NOW - 30 * HOUR, 'raised yesterday'));
    await store.record(decision('web', 'applied', NOW - 2 * HOUR, 'raised to medium'));
    await store.record(decision('web', 'refused', NOW - HOUR, 'cooldown: resized 1.0 h ago'));
    await store.record(decision('web', 'failed', NOW - 30 * 60_000, 'engine: 500'));
    await store.record(decision('db', 'refused', NOW - 10 * 60_000, 'not opted in'));
    const all = await store.list(10);
    assert.equal(all.map((row) => row.reason), ['not opted in', 'engine: 500', 'cooldown: resized 1.0 h ago', 'raised to medium', 'raised yesterday']);
    const latest = all[3]!;
    assert.equal({ ...latest, id: 0 }, { ...decision('web', 'applied', NOW - 2 * HOUR, 'raised to medium'), id: 0 }, 'every field comes back as it went in (bigints as numbers)');
    assert.equal((await store.list(2, 'web')).map((row) => row.reason), ['engine: 500', 'cooldown: resized 1.0 h ago']);
    // The failed decision counts too: its update may have reached the engine.
    assert.equal(await store.recentChanges('', 'web', NOW), { lastAppliedAt: NOW - 30 * 60_000, appliedInLastDay: 2 });
    assert.equal(await store.recentChanges('', 'db', NOW), { lastAppliedAt: undefined, appliedInLastDay: 0 });
    assert.equal(await store.recentChanges('web-2', 'web', NOW), { lastAppliedAt: undefined, appliedInLastDay: 0 }, 'another host\'s web is another container');
    assert.is(await store.prune(NOW - 24 * HOUR), 1);
    assert.is((await store.list(10)).length, 4);
  });
}

test.run();
