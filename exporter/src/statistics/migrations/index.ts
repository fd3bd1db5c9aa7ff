// Migrations are listed in code, not discovered on disk, so they run the same from the sources and from dist/.
import type { Knex } from 'knex';
import * as usageReports from './001_usage_reports.js';
import * as latestReports from './002_latest_reports.js';
import * as latestReportsNewest from './003_latest_reports_newest.js';
import * as autosizeDecisions from './004_autosize_decisions.js';

export interface Migration { name: string; up: (db: Knex) => Promise<void>; down: (db: Knex) => Promise<void> }

export const MIGRATIONS: readonly Migration[] = [usageReports, latestReports, latestReportsNewest, autosizeDecisions];

export const MIGRATIONS_TABLE = 'headroom_migrations';

export const migrationSource: Knex.MigrationSource<Migration> = {
  getMigrations: async () => [...MIGRATIONS],
  getMigrationName: (migration) => migration.name,
  getMigration: async (migration) => migration,
};

export const migratorConfig: Knex.MigratorConfig = { migrationSource, tableName: MIGRATIONS_TABLE };

export class SchemaAheadError extends Error {}

/** Refuses a database whose applied migrations this code does not know (written by a newer headroom). */
export async function assertSchemaKnown(db: Knex): Promise<void> {
  if (!(await db.schema.hasTable(MIGRATIONS_TABLE))) return;
  const applied: Array<{ name: string }> = await db(MIGRATIONS_TABLE).select('name').orderBy('id');
  const known = new Set(MIGRATIONS.map((migration) => migration.name));
  const unknown = applied.map((row) => row.name).filter((name) => !known.has(name));
  if (unknown.length > 0) {
    throw new SchemaAheadError(`statistics database is ahead of this headroom: it has migrations ${unknown.join(', ')} that this version does not know; run a newer headroom or point --database.url elsewhere`);
  }
}

/** Brings the schema up to date, after refusing a database that is ahead. */
export async function migrateToLatest(db: Knex): Promise<void> {
  await assertSchemaKnown(db);
  await db.migrate.latest(migratorConfig);
}
