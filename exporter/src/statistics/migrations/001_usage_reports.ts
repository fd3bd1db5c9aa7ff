// The usage reports table. Times are epoch milliseconds in BIGINT columns, the same on SQLite and PostgreSQL.
import type { Knex } from 'knex';

export const name = '001_usage_reports';

export async function up(db: Knex): Promise<void> {
  await db.schema.createTable('usage_reports', (table) => {
    table.increments('id').primary();
    table.string('report_id', 64).notNullable().unique();
    table.string('installation_id', 128).notNullable();
    table.integer('active_users').notNullable();
    table.string('app_version', 64).notNullable();
    table.string('platform', 64).notNullable();
    table.text('metrics_json');
    table.bigInteger('reported_at');
    table.bigInteger('received_at').notNullable();
    table.index(['received_at']);
    table.index(['installation_id', 'received_at']);
  });
}

export async function down(db: Knex): Promise<void> {
  await db.schema.dropTable('usage_reports');
}
