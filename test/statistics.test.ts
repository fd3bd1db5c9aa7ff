// The usage-statistics store, run twice: against SQLite and against a real PostgreSQL started for the test.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import knex, { type Knex } from 'knex';
import sqlite3 from 'sqlite3';
import pino from 'pino';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parseServeCommandLine, type ServeConfig } from '../exporter/src/config.js';
import { startExporter, type RunningExporter } from '../exporter/src/serve.js';
import { databaseLocation, openDatabase } from '../exporter/src/statistics/database.js';
import { DATABASE_CHECK_TIMEOUT_MS, statisticsExtension } from '../exporter/src/statistics/extension.js';
import { migrateToLatest, migratorConfig, MIGRATIONS, MIGRATIONS_TABLE, SchemaAheadError } from '../exporter/src/statistics/migrations/index.js';
import { Pruner } from '../exporter/src/statistics/retention.js';
import { MAX_BODY_BYTES, MAX_EXTRA_METRICS } from '../exporter/src/statistics/schema.js';
import { DAY_MS, HOUR_MS, StatisticsStore } from '../exporter/src/statistics/store.js';
import { parseExposition, valueOf } from './helpers/metrics-text.js';
import { startPostgres, type TempPostgres } from './helpers/postgres.js';
import { freePort, waitFor } from '../scripts/processes.js';

const silent = pino({ level: 'silent' });

interface Backend {
  name: string;
  setup(): Promise<void>;
  /** A fresh, empty database. */
  newDatabaseUrl(): Promise<string>;
  /** Takes the database of `url` away from a running exporter. */
  takeAway(url: string): Promise<void>;
  /** Another client takes the strongest lock it can on the reports table; returns its release. */
  lock(url: string): Promise<() => Promise<void>>;
  /** Undoes takeAway where that is possible. */
  bringBack(): Promise<void>;
  teardown(): Promise<void>;
}

function sqliteBackend(): Backend {
  let dir = '';
  let count = 0;
  return {
    name: 'sqlite',
    async setup() { dir = mkdtempSync(path.join(os.tmpdir(), 'headroom-statistics-')); },
    async newDatabaseUrl() {
      count += 1;
      return `sqlite://${path.join(dir, `db-${count}`, 'statistics.sqlite')}`;
    },
    // The data directory is deleted under the open connection (an unmounted volume, a wrong cleanup).
    async takeAway(url) { rmSync(path.dirname(url.slice('sqlite://'.length)), { recursive: true, force: true }); },
    async bringBack() {},
    // A writer's lock: in WAL mode it blocks other writers, never readers.
    async lock(url) {
      const connection = new sqlite3.Database(url.slice('sqlite://'.length));
      const exec = (sql: string) => new Promise<void>((resolve, reject) => connection.exec(sql, (error) => (error ? reject(error) : resolve())));
      await exec('PRAGMA busy_timeout = 5000; BEGIN IMMEDIATE; DELETE FROM usage_reports WHERE id < 0;');
      return async () => {
        await exec('ROLLBACK');
        await new Promise<void>((resolve) => connection.close(() => resolve()));
      };
    },
    async teardown() { if (dir) rmSync(dir, { recursive: true, force: true }); },
  };
}

function postgresBackend(): Backend {
  let cluster: TempPostgres | undefined;
  let admin: Knex | undefined;
  let count = 0;
  return {
    name: 'postgres',
    async setup() {
      cluster = await startPostgres();
      admin = knex({ client: 'pg', connection: cluster.url, pool: { min: 0, max: 1 } });
    },
    async newDatabaseUrl() {
      count += 1;
      await admin!.raw(`create database statistics_${count}`);
      return cluster!.urlFor(`statistics_${count}`);
    },
    // The server stops: every connection of the pool breaks, new ones are refused.
    async takeAway() { await cluster!.stop(); },
    async bringBack() { await cluster!.start(); },
    // ACCESS EXCLUSIVE blocks every reader and writer of the table until the transaction ends.
    async lock(url) {
      const client = knex({ client: 'pg', connection: url, pool: { min: 0, max: 1 } });
      const transaction = await client.transaction();
      await transaction.raw('lock table usage_reports in access exclusive mode');
      return async () => {
        await transaction.rollback();
        await client.destroy();
      };
    },
    async teardown() {
      await admin?.destroy();
      await cluster?.remove();
    },
  };
}

const report = (overrides: Record<string, unknown> = {}) => ({
  report_id: `report-${Math.random().toString(36).slice(2, 12)}`,
  installation_id: 'installation-a',
  active_users: 3,
  app_version: '1.4.0',
  platform: 'linux/amd64',
  ...overrides,
});

async function openStore(url: string): Promise<StatisticsStore> {
  const open = await openDatabase(databaseLocation(url, '/nonexistent'));
  await migrateToLatest(open.db);
  return new StatisticsStore(open);
}

function serveConfig(port: number, databaseUrl: string, extra: string[] = []): ServeConfig {
  return parseServeCommandLine([`--web.listen-address=127.0.0.1:${port}`, `--database.url=${databaseUrl}`, '--log.level=silent', ...extra], {}).config;
}

async function startServing(databaseUrl: string, extra: string[] = []): Promise<{ exporter: RunningExporter; url: string }> {
  const port = await freePort();
  const exporter = await startExporter(serveConfig(port, databaseUrl, extra), [statisticsExtension], silent);
  return { exporter, url: `http://127.0.0.1:${port}` };
}

/** `contentType` null sends none (a string body would otherwise go as text/plain). */
function post(url: string, body: string, contentType: string | null = 'application/json'): Promise<Response> {
  const headers: Record<string, string> = contentType === null ? {} : { 'content-type': contentType };
  return fetch(`${url}/statistics`, { method: 'POST', body: new TextEncoder().encode(body), headers });
}

/** Every stored row, to compare a table before and after a request. */
async function snapshot(db: Knex): Promise<unknown[]> {
  const rows = [...await db('usage_reports').select('*').orderBy('id'), ...await db('latest_reports').select('*').orderBy('installation_id')];
  return rows.map((row: Record<string, unknown>) => Object.fromEntries(Object.entries(row).map(([key, value]) => [key, value === null ? null : String(value)])));
}

function defineSuite(backend: Backend): void {
  const test = suite(`statistics on ${backend.name}`);
  test.before(async () => {
    try {
      await backend.setup();
    } catch (error) {
      console.error(`cannot set up ${backend.name}:`, error);
      throw error;
    }
  });
  test.after(async () => { await backend.teardown(); });

  test('migrations run up, down and up again', async () => {
    const open = await openDatabase(databaseLocation(await backend.newDatabaseUrl(), '/nonexistent'));
    try {
      assert.not.ok(await open.db.schema.hasTable('usage_reports'));
      await migrateToLatest(open.db);
      assert.ok(await open.db.schema.hasTable('usage_reports'));
      const applied = await open.db(MIGRATIONS_TABLE).select('name').orderBy('id');
      assert.equal(applied.map((row: { name: string }) => row.name), MIGRATIONS.map((migration) => migration.name));
      const appliedCount = async () => Number((await open.db(MIGRATIONS_TABLE).count({ n: '*' }).first())?.n);
      await migrateToLatest(open.db);
      assert.is(await appliedCount(), MIGRATIONS.length, 'a second run applies nothing');
      await open.db.migrate.rollback(migratorConfig, true);
      assert.not.ok(await open.db.schema.hasTable('usage_reports'));
      assert.is(await appliedCount(), 0);
      await migrateToLatest(open.db);
      assert.ok(await open.db.schema.hasTable('usage_reports'));
    } finally {
      await open.db.destroy();
    }
  });

  test('migration 002 fills latest_reports from the reports already stored; with 003 an older report committed later leaves it', async () => {
    const open = await openDatabase(databaseLocation(await backend.newDatabaseUrl(), '/nonexistent'));
    try {
      await open.db.migrate.up(migratorConfig);
      assert.not.ok(await open.db.schema.hasTable('latest_reports'));
      const row = (report_id: string, installation_id: string, active_users: number, received_at: number) =>
        ({ report_id, installation_id, active_users, app_version: `v${active_users}`, platform: 'linux', received_at });
      await open.db('usage_reports').insert([row('r1', 'a', 1, 1000), row('r2', 'a', 5, 3000), row('r3', 'b', 2, 2000), row('r4', 'a', 9, 2000)]);
      await migrateToLatest(open.db);
      const latest = await open.db('latest_reports').select('installation_id', 'active_users', 'app_version').orderBy('installation_id');
      assert.equal(latest.map((entry: Record<string, unknown>) => [entry.installation_id, Number(entry.active_users), entry.app_version]), [['a', 5, 'v5'], ['b', 2, 'v2']]);
      // Migration 003: a report older than the latest one (another writer's, committed later) leaves it; a newer one replaces it.
      await open.db('usage_reports').insert(row('r5', 'a', 7, 2500));
      await open.db('usage_reports').insert(row('r6', 'b', 8, 2001));
      const after = await open.db('latest_reports').select('installation_id', 'active_users').orderBy('installation_id');
      assert.equal(after.map((entry: Record<string, unknown>) => [entry.installation_id, Number(entry.active_users)]), [['a', 5], ['b', 8]]);
    } finally {
      await open.db.destroy();
    }
  });

  test('a database with migrations this code does not know is refused', async () => {
    const url = await backend.newDatabaseUrl();
    const store = await openStore(url);
    await store.db(MIGRATIONS_TABLE).insert({ name: '002_from_a_newer_headroom', batch: 2, migration_time: new Date() });
    try {
      await migrateToLatest(store.db);
      assert.unreachable('migrated a database that is ahead');
    } catch (error) {
      assert.instance(error, SchemaAheadError);
      assert.match((error as Error).message, '002_from_a_newer_headroom');
      assert.not.match((error as Error).message, '\n');
    } finally {
      await store.close();
    }
    try {
      const { exporter } = await startServing(url);
      await exporter.close();
      assert.unreachable('the exporter started on a database that is ahead');
    } catch (error) {
      assert.match((error as Error).message, 'ahead of this headroom');
    }
  });

  test('a report is stored once per report_id; another installation reusing it is a conflict', async () => {
    const store = await openStore(await backend.newDatabaseUrl());
    try {
      const first = report({ report_id: 'same-id-0001' });
      const created = await store.insert(first, Date.now());
      assert.is(created.kind, 'created');
      const again = await store.insert({ ...first, active_users: 99 }, Date.now());
      assert.equal(again, { kind: 'duplicate', id: created.id });
      const conflict = await store.insert({ ...first, installation_id: 'installation-b' }, Date.now());
      assert.equal(conflict, { kind: 'conflict', id: created.id });
      assert.is(await store.count(), 1);
      const [row] = await store.db('usage_reports').select('*');
      assert.is(Number(row.active_users), 3, 'the first write wins');
      const other = await store.insert(report({ metrics: { rooms: 4, load: 0.5 }, reported_at: '2026-01-02T03:04:05Z' }), Date.now());
      assert.is(other.kind, 'created');
      assert.is.not(other.id, created.id);
      const stored = await store.db('usage_reports').first('*').where({ id: other.id });
      assert.equal(JSON.parse(stored.metrics_json), { rooms: 4, load: 0.5 });
      assert.is(Number(stored.reported_at), Date.parse('2026-01-02T03:04:05Z'));
    } finally {
      await store.close();
    }
  });

  test('the summary counts installations by their latest report', async () => {
    const store = await openStore(await backend.newDatabaseUrl());
    const now = Date.UTC(2026, 5, 1, 12);
    try {
      // a: reported 3 days ago (5 users, 1.3.0) and 1 hour ago (8 users, 1.4.0): active in both windows.
      await store.insert(report({ installation_id: 'a', active_users: 5, app_version: '1.3.0' }), now - 3 * DAY_MS);
      await store.insert(report({ installation_id: 'a', active_users: 8, app_version: '1.4.0' }), now - HOUR_MS);
      // b: only 2 days ago: active in 7 d, not 24 h.
      await store.insert(report({ installation_id: 'b', active_users: 2, app_version: '1.4.0', platform: 'linux/arm64' }), now - 2 * DAY_MS);
      // c: 10 days ago: in neither window.
      await store.insert(report({ installation_id: 'c', active_users: 40, app_version: '1.0.0' }), now - 10 * DAY_MS);
      // d: 2 hours ago, 0 users.
      await store.insert(report({ installation_id: 'd', active_users: 0, app_version: '1.3.0' }), now - 2 * HOUR_MS);
      const summary = await store.summary(now);
      assert.is(summary.installationsActive24h, 2);
      assert.is(summary.installationsActive7d, 3);
      assert.is(summary.activeUsers, 8 + 2 + 0);
      assert.is(summary.reportsStored, 5);
      assert.equal(summary.versions, [{ app_version: '1.4.0', installations: 2 }, { app_version: '1.3.0', installations: 1 }]);
      assert.equal(summary.platforms, [{ platform: 'linux/amd64', installations: 2 }, { platform: 'linux/arm64', installations: 1 }]);
      const empty = await openStore(await backend.newDatabaseUrl());
      try {
        assert.equal(await empty.summary(now), { installationsActive24h: 0, installationsActive7d: 0, activeUsers: 0, reportsStored: 0, versions: [], platforms: [] });
      } finally {
        await empty.close();
      }
    } finally {
      await store.close();
    }
  });

  test('pruning deletes reports older than the retention, at start and throttled after inserts', async () => {
    const url = await backend.newDatabaseUrl();
    const store = await openStore(url);
    const now = Date.now();
    try {
      await store.insert(report({ report_id: 'old-report-1' }), now - 40 * DAY_MS);
      await store.insert(report({ report_id: 'kept-report-1' }), now - 20 * DAY_MS);
      const pruner = new Pruner(store, 30 * DAY_MS, silent);
      assert.is(pruner.intervalMs, HOUR_MS);
      pruner.afterInsert(now);
      await pruner.settled();
      assert.equal((await store.db('usage_reports').select('report_id')).map((row: { report_id: string }) => row.report_id), ['kept-report-1']);
      await store.insert(report({ report_id: 'old-report-2' }), now - 40 * DAY_MS);
      pruner.afterInsert(now + HOUR_MS / 2);
      await pruner.settled();
      assert.is(await store.count(), 2, 'within the interval of the last prune nothing runs');
      pruner.afterInsert(now + HOUR_MS);
      await pruner.settled();
      assert.is(await store.count(), 1);
      await store.insert(report({ report_id: 'old-report-3' }), now - 40 * DAY_MS);
    } finally {
      await store.close();
    }
    const { exporter } = await startServing(url, ['--statistics.retention=30d']);
    await exporter.close();
    const reopened = await openStore(url);
    try {
      assert.equal((await reopened.db('usage_reports').select('report_id')).map((row: { report_id: string }) => row.report_id), ['kept-report-1'], 'pruned at start');
    } finally {
      await reopened.close();
    }
  });

  test('POST answers 201 {id}, a resend 200 with the same id; GET summarises; metrics follow', async () => {
    const databaseUrl = await backend.newDatabaseUrl();
    const { exporter, url } = await startServing(databaseUrl);
    try {
      const body = report({ installation_id: 'inst-1', active_users: 7, metrics: { rooms: 2 } });
      const created = await post(url, JSON.stringify(body));
      assert.is(created.status, 201);
      const { id } = await created.json() as { id: number };
      assert.type(id, 'number');
      const resent = await post(url, JSON.stringify(body), 'application/json; charset=utf-8');
      assert.is(resent.status, 200);
      assert.equal(await resent.json(), { id, duplicate: true });
      const second = await post(url, JSON.stringify(report({ installation_id: 'inst-2', active_users: 4, app_version: '2.0.0', platform: 'windows' })), 'application/vnd.headroom+json');
      assert.is(second.status, 201);
      const summaryResponse = await fetch(`${url}/statistics`);
      assert.is(summaryResponse.status, 200);
      const summary = await summaryResponse.json() as Record<string, unknown>;
      assert.equal(summary.installations_active, { '24h': 2, '7d': 2 });
      assert.is(summary.active_users, 11);
      assert.is(summary.reports_stored, 2);
      assert.equal(summary.versions, [{ app_version: '1.4.0', installations: 1 }, { app_version: '2.0.0', installations: 1 }]);
      assert.equal(summary.platforms, [{ platform: 'linux/amd64', installations: 1 }, { platform: 'windows', installations: 1 }]);
      const metrics = await fetch(`${url}/metrics`);
      assert.is(metrics.status, 200);
      const samples = parseExposition(await metrics.text());
      assert.is(valueOf(samples, 'headroom_statistics_reports_received_total'), 2);
      assert.is(valueOf(samples, 'headroom_statistics_reports_duplicate_total'), 1);
      assert.is(valueOf(samples, 'headroom_statistics_installations_active', { window: '24h' }), 2);
      assert.is(valueOf(samples, 'headroom_statistics_installations_active', { window: '7d' }), 2);
      assert.is(valueOf(samples, 'headroom_statistics_active_users'), 11);
      assert.is(valueOf(samples, 'headroom_statistics_reports_rejected_total', { reason: 'invalid' }), 0);
      assert.is(valueOf(samples, 'headroom_health_status', { component: 'database' }), 1);
      const health = await fetch(`${url}/health`);
      const healthBody = await health.json() as { checks: Record<string, { status: string; required: boolean }> };
      assert.is(healthBody.checks.database?.status, 'ok');
      assert.is(healthBody.checks.database?.required, true);
    } finally {
      await exporter.close();
    }
  });

  test('every rejection answers its status and field, counts its reason, and stores nothing', async () => {
    const databaseUrl = await backend.newDatabaseUrl();
    const { exporter, url } = await startServing(databaseUrl);
    const store = await openStore(databaseUrl);
    try {
      const taken = report({ report_id: 'taken-by-a-0001', installation_id: 'installation-a' });
      assert.is((await post(url, JSON.stringify(taken))).status, 201);
      const before = await snapshot(store.db);
      const manyMetrics = Object.fromEntries(Array.from({ length: MAX_EXTRA_METRICS + 1 }, (_, index) => [`m${index}`, index]));
      const withoutField = (field: string) => { const body: Record<string, unknown> = report(); delete body[field]; return JSON.stringify(body); };
      const cases: Array<{ what: string; send: () => Promise<Response>; status: number; field: string | null; reason: string }> = [
        { what: 'text/plain', send: () => post(url, JSON.stringify(report()), 'text/plain'), status: 415, field: null, reason: 'unsupported_media_type' },
        { what: 'no content type', send: () => post(url, JSON.stringify(report()), null), status: 415, field: null, reason: 'unsupported_media_type' },
        { what: 'form encoded', send: () => post(url, 'report_id=abc', 'application/x-www-form-urlencoded'), status: 415, field: null, reason: 'unsupported_media_type' },
        { what: 'unsupported charset', send: () => post(url, JSON.stringify(report()), 'application/json; charset=latin-9000'), status: 415, field: null, reason: 'unsupported_media_type' },
        { what: 'malformed JSON', send: () => post(url, '{"report_id": "abc', 'application/json'), status: 400, field: null, reason: 'malformed_json' },
        { what: 'body over the limit', send: () => post(url, JSON.stringify(report({ metrics: { pad: 1 }, app_version: 'x'.repeat(MAX_BODY_BYTES) }))), status: 413, field: null, reason: 'too_large' },
        {
          what: 'chunked body over the limit',
          send: () => fetch(`${url}/statistics`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: new ReadableStream({ start(controller) { for (let index = 0; index < 5; index += 1) controller.enqueue(new TextEncoder().encode(' '.repeat(MAX_BODY_BYTES / 4))); controller.enqueue(new TextEncoder().encode(JSON.stringify(report()))); controller.close(); } }),
            duplex: 'half',
          } as RequestInit),
          status: 413, field: null, reason: 'too_large',
        },
        { what: 'an array', send: () => post(url, JSON.stringify([report()])), status: 400, field: null, reason: 'invalid' },
        { what: 'empty body', send: () => post(url, ''), status: 400, field: 'report_id', reason: 'invalid' },
        ...['report_id', 'installation_id', 'active_users', 'app_version', 'platform'].map((field) => ({ what: `missing ${field}`, send: () => post(url, withoutField(field)), status: 400, field, reason: 'invalid' })),
        { what: 'active_users as a string', send: () => post(url, JSON.stringify(report({ active_users: '3' }))), status: 400, field: 'active_users', reason: 'invalid' },
        { what: 'negative active_users', send: () => post(url, JSON.stringify(report({ active_users: -1 }))), status: 400, field: 'active_users', reason: 'invalid' },
        { what: 'fractional active_users', send: () => post(url, JSON.stringify(report({ active_users: 2.5 }))), status: 400, field: 'active_users', reason: 'invalid' },
        { what: 'short report_id', send: () => post(url, JSON.stringify(report({ report_id: 'abc' }))), status: 400, field: 'report_id', reason: 'invalid' },
        { what: 'report_id with spaces', send: () => post(url, JSON.stringify(report({ report_id: 'has spaces in it' }))), status: 400, field: 'report_id', reason: 'invalid' },
        { what: 'empty platform', send: () => post(url, JSON.stringify(report({ platform: '' }))), status: 400, field: 'platform', reason: 'invalid' },
        { what: 'control characters in app_version', send: () => post(url, JSON.stringify(report({ app_version: '1.0\n2.0' }))), status: 400, field: 'app_version', reason: 'invalid' },
        { what: 'unknown top-level field', send: () => post(url, JSON.stringify(report({ users_online: 4 }))), status: 400, field: 'users_online', reason: 'invalid' },
        { what: 'non-numeric metric', send: () => post(url, JSON.stringify(report({ metrics: { rooms: 'four' } }))), status: 400, field: 'metrics.rooms', reason: 'invalid' },
        { what: 'infinite metric', send: () => post(url, JSON.stringify(report()).replace(/}$/, ',"metrics":{"huge":1e999}}')), status: 400, field: 'metrics.huge', reason: 'invalid' },
        { what: 'bad metric name', send: () => post(url, JSON.stringify(report({ metrics: { 'bad-name': 1 } }))), status: 400, field: 'metrics.bad-name', reason: 'invalid' },
        { what: 'too many metrics', send: () => post(url, JSON.stringify(report({ metrics: manyMetrics }))), status: 400, field: 'metrics', reason: 'invalid' },
        { what: 'metrics not an object', send: () => post(url, JSON.stringify(report({ metrics: [1, 2] }))), status: 400, field: 'metrics', reason: 'invalid' },
        { what: 'reported_at not a timestamp', send: () => post(url, JSON.stringify(report({ reported_at: 'yesterday' }))), status: 400, field: 'reported_at', reason: 'invalid' },
        { what: 'report_id of another installation', send: () => post(url, JSON.stringify({ ...taken, installation_id: 'installation-b' })), status: 409, field: 'report_id', reason: 'conflict' },
      ];
      const expectedByReason: Record<string, number> = {};
      for (const { what, send, status, field, reason } of cases) {
        const response = await send();
        const text = await response.text();
        assert.is(response.status, status, `${what}: ${text}`);
        const body = JSON.parse(text) as { error: unknown; field: unknown };
        assert.type(body.error, 'string', what);
        assert.is(body.field, field, `${what}: ${text}`);
        assert.equal(await snapshot(store.db), before, `${what} changed the table`);
        expectedByReason[reason] = (expectedByReason[reason] ?? 0) + 1;
      }
      const samples = parseExposition(await (await fetch(`${url}/metrics`)).text());
      for (const [reason, count] of Object.entries(expectedByReason)) {
        assert.is(valueOf(samples, 'headroom_statistics_reports_rejected_total', { reason }), count, reason);
      }
      assert.is(valueOf(samples, 'headroom_statistics_reports_received_total'), 1);
    } finally {
      await store.close();
      await exporter.close();
    }
  });

  test('a lock held by another client: readers go on (SQLite WAL) or the check times out in time (PostgreSQL)', async () => {
    const databaseUrl = await backend.newDatabaseUrl();
    const { exporter, url } = await startServing(databaseUrl);
    let release: (() => Promise<void>) | undefined;
    try {
      assert.is((await post(url, JSON.stringify(report()))).status, 201);
      release = await backend.lock(databaseUrl);
      if (backend.name === 'sqlite') {
        assert.is((await fetch(`${url}/health`)).status, 200, 'WAL: a writer does not block the health query');
        let settled = false;
        const pending = post(url, JSON.stringify(report())).finally(() => { settled = true; });
        await new Promise((resolve) => setTimeout(resolve, 1000));
        assert.not.ok(settled, 'the POST waits for the lock (busy timeout) instead of failing at once');
        await release();
        release = undefined;
        assert.is((await pending).status, 201);
      } else {
        const health = await fetch(`${url}/health`, { signal: AbortSignal.timeout(DATABASE_CHECK_TIMEOUT_MS * 5) });
        const body = await health.json() as { checks: Record<string, { status: string; message: string }> };
        assert.is(health.status, 503);
        assert.equal(body.checks.database, { ...body.checks.database, status: 'failing', message: `no answer within ${DATABASE_CHECK_TIMEOUT_MS} ms` });
        const metrics = await fetch(`${url}/metrics`);
        assert.is(metrics.status, 200);
        assert.is(valueOf(parseExposition(await metrics.text()), 'headroom_health_status', { component: 'database' }), 0);
        await release();
        release = undefined;
        await waitFor('/health to recover', async () => (await fetch(`${url}/health`)).status === 200);
      }
      const store = await openStore(databaseUrl);
      try {
        assert.is(await store.count(), backend.name === 'sqlite' ? 2 : 1);
      } finally {
        await store.close();
      }
    } finally {
      await release?.();
      await exporter.close();
    }
  });

  // Last: on PostgreSQL it stops the shared server (and starts it again).
  test('a database that goes away makes /health 503 and its gauge 0 while /metrics still serves', async () => {
    const databaseUrl = await backend.newDatabaseUrl();
    const { exporter, url } = await startServing(databaseUrl);
    try {
      assert.is((await post(url, JSON.stringify(report()))).status, 201);
      assert.is((await fetch(`${url}/health`)).status, 200);
      await backend.takeAway(databaseUrl);
      const health = await fetch(`${url}/health`);
      const body = await health.json() as { status: string; checks: Record<string, { status: string; message: string }> };
      assert.is(health.status, 503, JSON.stringify(body));
      assert.is(body.status, 'failing');
      assert.is(body.checks.database?.status, 'failing');
      assert.ok(body.checks.database!.message.length > 0);
      assert.is(body.checks.collectors?.status, 'ok', 'the other checks still run');
      const metrics = await fetch(`${url}/metrics`);
      assert.is(metrics.status, 200);
      const samples = parseExposition(await metrics.text());
      assert.is(valueOf(samples, 'headroom_health_status', { component: 'database' }), 0);
      assert.is(valueOf(samples, 'headroom_health_status', { component: 'collectors' }), 1);
      assert.ok(Number.isNaN(valueOf(samples, 'headroom_statistics_active_users')), 'active users unknown, not 0');
      assert.ok((valueOf(samples, 'headroom_cpu_usage_seconds_total') ?? 0) > 0, 'container metrics still served');
      const refused = await post(url, JSON.stringify(report()));
      assert.is(refused.status, 503);
      assert.is((await fetch(`${url}/statistics`)).status, 503);
      if (backend.name === 'postgres') {
        await backend.bringBack();
        await waitFor('/health to recover', async () => (await fetch(`${url}/health`)).status === 200);
        assert.is((await post(url, JSON.stringify(report()))).status, 201);
      }
    } finally {
      await backend.bringBack();
      await exporter.close();
    }
  });

  test.run();
}

defineSuite(sqliteBackend());
defineSuite(postgresBackend());
